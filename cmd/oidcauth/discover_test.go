package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

func TestDiscoverGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T) *oidctest.Provider
	}{
		{name: "ok", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetDiscovery(map[string]any{"scopes_supported": []string{"openid", "read", "write"}})
			return p
		}},
		{name: "warnings", setup: func(t *testing.T) *oidctest.Provider {
			p := mixedProvider(t)
			p.SetDiscovery(map[string]any{
				"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "HS256", "none", "RSA1_5"},
				"token_endpoint":                        "http://login.example.com/token", // never fetched
				"userinfo_endpoint":                     "https://login.example.com/userinfo",
				"service_documentation":                 "http://docs.example.com/",
				"mtls_endpoint_aliases":                 map[string]string{"token_endpoint": "https://mtls.example.com/token"},
			})
			return p
		}},
		{name: "trailing-slash", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetDiscovery(map[string]any{"issuer": p.Issuer() + "/"})
			return p
		}},
		{name: "other-issuer", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetDiscovery(map[string]any{"issuer": "https://evil.example"})
			return p
		}},
		{name: "no-jwks-uri", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetDiscovery(map[string]any{"jwks_uri": nil})
			return p
		}},
		{name: "rfc8414-fallback", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "EdDSA", IssuerPath: "/tenant1"})
			p.SetDiscoveryPaths(false, false, true)
			return p
		}},
		{name: "not-found", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetDiscoveryPaths(false, false, false)
			return p
		}},
		{name: "jwks-unusable", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			if err := p.RemoveKey("k1"); err != nil {
				t.Fatal(err)
			}
			p.AddRawJWK(map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})
			return p
		}},
		{name: "jwks-broken", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetJWKSFault(&oidctest.Fault{Status: 503})
			return p
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.setup(t)
			got := runCLI(t, "", "discover", p.Issuer())
			checkGolden(t, "discover-"+tt.name, got.replace(port(p)...).String())
		})
	}
}

func TestDiscoverUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string // prefix
	}{
		{"no issuer", nil, "oidcauth discover: want one ISSUER, got 0 arguments\n\nusage: oidcauth discover [flags] ISSUER\n"},
		{"two issuers", []string{"https://a.example", "https://b.example"}, "oidcauth discover: want one ISSUER, got 2 arguments\n"},
		// Refused before anything is fetched: tests never reach the internet.
		{"http", []string{"http://login.example.com"}, `oidcauth discover: issuer "http://login.example.com" uses http on a host that is not loopback: ` +
			"oidcauth refuses it, since anyone on the network path can change what it serves (use https, or --insecure-allow-http to look anyway)\n"},
		{"relative", []string{"login.example.com"}, `oidcauth discover: issuer "login.example.com" is not an absolute URL` + "\n"},
		// The library's rule (oidcauth.CheckURL), not a copy of it: user
		// info and fragments are refused as the Authorizer refuses them.
		{"user info", []string{"https://alice:secret@login.example.com"}, `oidcauth discover: issuer "https://alice:xxxxx@login.example.com" must not contain user info` + "\n"},
		{"fragment", []string{"https://login.example.com/#x"}, `oidcauth discover: issuer "https://login.example.com/#x" must not contain a fragment` + "\n"},
		{"ftp", []string{"ftp://login.example.com"}, `oidcauth discover: issuer "ftp://login.example.com" must use https` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"discover"}, tt.args...)...)
			if got.code != exitUsage {
				t.Errorf("exit code = %d, want %d", got.code, exitUsage)
			}
			if got.stdout != "" {
				t.Errorf("stdout = %q, want empty", got.stdout)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

// TestDiscoverRefusesRedirectToAnotherHost checks that the command uses the
// library's redirect policy (oidcauth.RestrictRedirects): metadata that
// redirects to another host is not fetched from there.
func TestDiscoverRefusesRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(other.Close)
	// Same port space, other host name: 127.0.0.1 redirects to localhost.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherURL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(issuer.Close)

	got := runCLI(t, "", "discover", issuer.URL)
	if got.code != exitInvalid {
		t.Errorf("exit code = %d, want %d; stderr %q", got.code, exitInvalid, got.stderr)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests, want 0", n)
	}
	if !strings.Contains(got.stdout, "redirect to another host or scheme refused") {
		t.Errorf("stdout = %q, want the refused redirect named", got.stdout)
	}
}
