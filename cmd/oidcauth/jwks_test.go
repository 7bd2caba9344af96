package main

import (
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

func TestJWKSGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T) *oidctest.Provider
		arg   func(p *oidctest.Provider) string
	}{
		{name: "url", setup: mixedProvider, arg: (*oidctest.Provider).JWKSURL},
		{name: "issuer", setup: mixedProvider, arg: (*oidctest.Provider).Issuer},
		{name: "issuer-with-path", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "PS384", IssuerPath: "/realms/dev"})
			p.SetDiscoveryPaths(false, true, false)
			return p
		}, arg: (*oidctest.Provider).Issuer},
		{name: "none-usable", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			if err := p.RemoveKey("k1"); err != nil {
				t.Fatal(err)
			}
			p.AddRawJWK(map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"})
			p.AddRawJWK(map[string]any{"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256"})
			return p
		}, arg: (*oidctest.Provider).JWKSURL},
		{name: "empty", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			if err := p.RemoveKey("k1"); err != nil {
				t.Fatal(err)
			}
			return p
		}, arg: (*oidctest.Provider).JWKSURL},
		{name: "neither", setup: func(t *testing.T) *oidctest.Provider {
			return oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
		}, arg: func(p *oidctest.Provider) string { return p.Issuer() + "/nothing" }},
		{name: "jwks-uri-broken", setup: func(t *testing.T) *oidctest.Provider {
			p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			p.SetJWKSFault(&oidctest.Fault{Status: 500})
			return p
		}, arg: (*oidctest.Provider).Issuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.setup(t)
			got := runCLI(t, "", "jwks", tt.arg(p))
			checkGolden(t, "jwks-"+tt.name, got.replace(port(p)...).String())
		})
	}
}

func TestJWKSUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantStderr string // prefix
	}{
		{"no URL", nil, "oidcauth jwks: want one URL or ISSUER, got 0 arguments\n\nusage: oidcauth jwks [flags] URL | ISSUER\n"},
		{"http", []string{"http://login.example.com/jwks"}, `oidcauth jwks: URL "http://login.example.com/jwks" uses http on a host that is not loopback: `},
		{"flag after URL", []string{"https://a.example/jwks", "--insecure-allow-http"}, "oidcauth jwks: want one URL or ISSUER, got 2 arguments\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"jwks"}, tt.args...)...)
			if got.code != exitUsage {
				t.Errorf("exit code = %d, want %d", got.code, exitUsage)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
		})
	}
}
