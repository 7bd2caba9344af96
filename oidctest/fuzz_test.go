package oidctest_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// FuzzRegistration: any body either registers a client whose answer keeps
// the rules (a client_id, redirect URIs that pass the URI rule, a secret
// exactly for confidential clients) or is refused with an RFC 7591 error.
func FuzzRegistration(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}`,
		`{"redirect_uris":["https://a.example/cb"]}`,
		`{"grant_types":["client_credentials"],"response_types":[]}`,
		`{"redirect_uris":[1]}`, `[]`, `null`, `{"client_secret":"x"}`, `{"redirect_uris":["http://[::1]/cb#"]}`,
	} {
		f.Add([]byte(s))
	}
	p := oidctest.New(f, oidctest.Options{Algorithm: "ES256"})
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := p.RegisterBody(body)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid_client_metadata: ") && !strings.HasPrefix(err.Error(), "invalid_redirect_uri: ") {
				t.Fatalf("error %q is not an RFC 7591 error", err)
			}
			return
		}
		if id, _ := m["client_id"].(string); id == "" {
			t.Fatalf("no client_id in %v", m)
		}
		uris, _ := m["redirect_uris"].([]any)
		for _, u := range uris {
			s, _ := u.(string)
			if oidctest.CheckRedirectURI(s) != nil {
				t.Fatalf("registered redirect URI %q breaks the rule", s)
			}
		}
		_, secret := m["client_secret"]
		if secret != (m["token_endpoint_auth_method"] != "none") {
			t.Fatalf("secret %v for method %v", secret, m["token_endpoint_auth_method"])
		}
	})
}

// FuzzURLRules: the client_id and redirect URI rules accept only absolute
// URLs without fragment or user info, which oidcauth.CheckURL accepts too
// (for http, only on loopback hosts).
func FuzzURLRules(f *testing.F) {
	for _, s := range []string{"https://a.example/c", "http://127.0.0.1:9/c", "http://[::1]/c", "https://u@a/c", "https://a/c#f", "https://a/../c", "HTTP://LOCALHOST/x", "https://a/%2e%2e/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, allow := range []bool{false, true} {
			if oidctest.CheckClientIDURL(raw, allow) == nil {
				if oidcauth.CheckURL("client_id", raw, false) != nil {
					t.Fatalf("client_id %q accepted, refused by oidcauth.CheckURL", raw)
				}
				u, _ := url.Parse(raw)
				if u.Scheme == "http" && !allow {
					t.Fatalf("http client_id %q accepted without AllowLoopbackHTTP", raw)
				}
			}
		}
		if oidctest.CheckRedirectURI(raw) == nil {
			u, err := url.Parse(raw)
			if err != nil || u.Fragment != "" || u.User != nil || !u.IsAbs() {
				t.Fatalf("redirect URI %q accepted", raw)
			}
			if oidcauth.CheckURL("redirect_uri", raw, false) != nil {
				t.Fatalf("redirect URI %q accepted, refused by oidcauth.CheckURL", raw)
			}
		}
	})
}
