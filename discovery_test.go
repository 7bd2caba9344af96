package oidcauth

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

func TestDiscoveryURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://idp.example", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/", []string{
			"https://idp.example/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/oauth2/default", []string{
			"https://idp.example/oauth2/default/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server/oauth2/default",
			"https://idp.example/oauth2/default/.well-known/oauth-authorization-server",
		}},
		{"https://idp.example/tenant/v2.0/", []string{
			"https://idp.example/tenant/v2.0/.well-known/openid-configuration",
			"https://idp.example/.well-known/oauth-authorization-server/tenant/v2.0",
			"https://idp.example/tenant/v2.0/.well-known/oauth-authorization-server",
		}},
	}
	for _, tt := range tests {
		got, err := discoveryURLs(tt.issuer)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("discoveryURLs(%q) = %q, %v; want %q", tt.issuer, got, err, tt.want)
		}
	}
}

// TestDiscoveryFallback serves metadata at only one of the three locations
// and checks that New finds it.
func TestDiscoveryFallback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		openid, inserted, appended bool
		wantErr                    bool
	}{
		{name: "openid-configuration", openid: true},
		{name: "RFC 8414 inserted", inserted: true},
		{name: "RFC 8414 appended (Okta)", appended: true},
		{name: "none", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.New(t, oidctest.Options{IssuerPath: "/oauth2/default"})
			p.SetDiscoveryPaths(tt.openid, tt.inserted, tt.appended)
			a, err := New(context.Background(), Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: discard})
			if tt.wantErr {
				if err == nil {
					a.Close()
					t.Fatal("New() succeeded with no metadata served")
				}
				if !strings.Contains(err.Error(), "discovery failed") || !strings.Contains(err.Error(), "status 404") {
					t.Errorf("New() error = %v, want each location's failure", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New() error = %v", err)
			}
			defer a.Close()
			tok := p.MustMint(t, map[string]any{"aud": "api"})
			if _, err := a.Validate(context.Background(), tok); err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
		})
	}
}

func TestParseMetadata(t *testing.T) {
	t.Parallel()
	const iss = "https://idp.example"
	tests := []struct {
		name, doc string
		wantErr   string
	}{
		{name: "ok", doc: `{"issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}`},
		{name: "issuer differs", doc: `{"issuer":"https://evil.example","jwks_uri":"https://idp.example/keys"}`, wantErr: "does not equal"},
		{name: "issuer trailing slash", doc: `{"issuer":"https://idp.example/","jwks_uri":"https://idp.example/keys"}`, wantErr: "does not equal"},
		{name: "issuer missing", doc: `{"jwks_uri":"https://idp.example/keys"}`, wantErr: "no \"issuer\""},
		{name: "issuer not a string", doc: `{"issuer":1,"jwks_uri":"https://idp.example/keys"}`, wantErr: "must be a string"},
		{name: "duplicate issuer", doc: `{"issuer":"https://evil.example","issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}`, wantErr: "duplicate"},
		{name: "jwks_uri missing", doc: `{"issuer":"https://idp.example"}`, wantErr: "no \"jwks_uri\""},
		{name: "jwks_uri http", doc: `{"issuer":"https://idp.example","jwks_uri":"http://idp.example/keys"}`, wantErr: "must use https"},
		{name: "jwks_uri relative", doc: `{"issuer":"https://idp.example","jwks_uri":"/keys"}`, wantErr: "not an absolute URL"},
		{name: "jwks_uri file", doc: `{"issuer":"https://idp.example","jwks_uri":"file:///etc/passwd"}`, wantErr: "not an absolute URL"},
		{name: "not JSON", doc: `<html>`, wantErr: "invalid metadata"},
	}
	for _, tt := range tests {
		_, err := parseMetadata([]byte(tt.doc), iss, false)
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: parseMetadata() error = %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// TestDiscoveryLeadsWithIssuerMismatch: when a metadata document names
// another issuer, the error leads with that mismatch, and the 404s of the
// fallback locations come last.
func TestDiscoveryLeadsWithIssuerMismatch(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{IssuerPath: "/oauth2/default"})
	// Only the last location tried answers (Okta's RFC 8414 appended
	// path); a trailing slash too many in Issuer gives the same URL, but
	// the document names the issuer without it.
	p.SetDiscoveryPaths(false, false, true)
	_, err := New(context.Background(), Config{Issuer: p.Issuer() + "/", Audiences: []string{"api"}, Logger: discard})
	if err == nil {
		t.Fatal("New() succeeded with a mismatching issuer")
	}
	msg := err.Error()
	mm, nf := strings.Index(msg, "does not equal the configured issuer"), strings.Index(msg, "status 404")
	if mm < 0 || nf < 0 || mm > nf {
		t.Fatalf("New() error = %q, want the issuer mismatch before the 404s", msg)
	}
	first, _, _ := strings.Cut(msg, "\n")
	if want := "oidcauth: fetching keys of " + p.Issuer() + "/: discovery failed: "; !strings.HasPrefix(first, want) || !strings.Contains(first, "metadata issuer") {
		t.Errorf("New() error's first line = %q, want %q and the issuer mismatch", first, want)
	}
}
