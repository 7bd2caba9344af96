package main

import (
	"strings"
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
		{"relative", []string{"login.example.com"}, `oidcauth discover: issuer "login.example.com" is not an absolute URL (want https://host/...)` + "\n"},
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
