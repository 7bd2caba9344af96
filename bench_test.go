package oidcauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// BenchmarkValidate measures a cold validation (key cached, token not seen
// before by a token cache): signature, alg, iss, aud, exp/nbf/iat, typ.
func BenchmarkValidate(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			p := oidctest.New(b, oidctest.Options{Algorithm: alg})
			a, err := oidcauth.New(context.Background(), oidcauth.Config{
				Issuer: p.Issuer(), Audiences: []string{"api"}, TokenType: "at+jwt",
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			tok := p.MustMintToken(b, oidctest.Token{
				Header: map[string]any{"typ": "at+jwt"},
				Claims: map[string]any{"sub": "alice", "aud": "api", "client_id": "c1", "jti": "j1", "scope": "read write"},
			})
			ctx := context.Background()
			if _, err := a.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
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
	p := oidctest.New(b, oidctest.Options{Algorithm: "ES256"})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, TokenCacheSize: 10_000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	tok := p.MustMint(b, map[string]any{"sub": "alice", "aud": "api", "scope": "read write"})
	ctx := context.Background()
	if _, err := a.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
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
			p := oidctest.New(b, oidctest.Options{Algorithm: alg})
			a, err := oidcauth.New(context.Background(), oidcauth.Config{
				Issuer: p.Issuer(), Audiences: []string{"api"},
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			tok := p.MustMint(b, map[string]any{"sub": "alice", "aud": "api"})
			b.ReportAllocs()
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
	p := oidctest.New(b, oidctest.Options{Algorithm: "EdDSA"})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	tok := p.MustMint(b, map[string]any{"sub": "alice", "aud": "api"})
	h := a.Required(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
