package oidcauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// benchSetup starts a provider with a key of alg, an Authorizer for it
// with cfg (Issuer, Audiences and Logger filled in), and mints an RFC 9068
// access token that the Authorizer accepts.
func benchSetup(b *testing.B, alg string, cfg oidcauth.Config) (*oidcauth.Authorizer, string) {
	b.Helper()
	p := oidctest.New(b, oidctest.Options{Algorithm: alg})
	cfg.Issuer, cfg.Audiences, cfg.Logger = p.Issuer(), []string{"api"}, quietLogger()
	a, err := oidcauth.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	tok := p.MustMintToken(b, oidctest.Token{
		Header: map[string]any{"typ": "at+jwt"},
		Claims: map[string]any{"sub": "alice", "aud": "api", "client_id": "c1", "jti": "j1", "scope": "read write"},
	})
	if _, err := a.Validate(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	return a, tok
}

// BenchmarkValidate measures a cold validation (key cached, token not seen
// before by a token cache): signature, alg, iss, aud, exp/nbf/iat, typ.
func BenchmarkValidate(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			a, tok := benchSetup(b, alg, oidcauth.Config{TokenType: "at+jwt"})
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateCached measures a token seen before, with
// Config.TokenCacheSize set: no signature check, exp/nbf/iat re-checked.
func BenchmarkValidateCached(b *testing.B) {
	a, tok := benchSetup(b, "ES256", oidcauth.Config{TokenCacheSize: 10_000})
	ctx := context.Background()
	for b.Loop() {
		if _, err := a.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateParallel measures cold validation on all cores.
func BenchmarkValidateParallel(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			a, tok := benchSetup(b, alg, oidcauth.Config{})
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.Validate(context.Background(), tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRequired measures the middleware around an empty handler.
func BenchmarkRequired(b *testing.B) {
	a, tok := benchSetup(b, "EdDSA", oidcauth.Config{})
	h := a.Required(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
