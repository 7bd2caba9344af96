package oidcauth

import (
	"context"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

func introBenchAuthorizer(b *testing.B, ic IntrospectionConfig) (*Authorizer, string) {
	b.Helper()
	idp := oidctest.New(b, oidctest.Options{Algorithm: "ES256"})
	idp.EnableIntrospection("api", "secret")
	tok := idp.MustMintOpaque(b, map[string]any{"sub": "alice", "aud": "api", "scope": "read", "exp": time.Now().Add(time.Hour)})
	ic.ClientID, ic.ClientSecret = "api", "secret"
	a, err := New(context.Background(), Config{Issuer: idp.Issuer(), Audiences: []string{"api"}, Introspection: &ic})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a, tok
}

// BenchmarkIntrospectionCacheHit: an opaque token whose answer is cached.
func BenchmarkIntrospectionCacheHit(b *testing.B) {
	a, tok := introBenchAuthorizer(b, IntrospectionConfig{})
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

// BenchmarkIntrospectionMiss: one round trip to a loopback oidctest
// provider per call (CacheTTL < 0).
func BenchmarkIntrospectionMiss(b *testing.B) {
	a, tok := introBenchAuthorizer(b, IntrospectionConfig{CacheTTL: -1})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
