package oidcauth_test

import (
	"context"
	"io"
	"log/slog"
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
