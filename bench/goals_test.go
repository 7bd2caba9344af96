package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// newAuthorizer returns an oidcauth Authorizer for e's provider, configured
// as the oidcauth contender, with a token cache of cacheSize entries.
func newAuthorizer(tb testing.TB, issuer string, cacheSize int) *oidcauth.Authorizer {
	tb.Helper()
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: issuer, Audiences: []string{Audience}, TokenType: "at+jwt",
		TokenCacheSize: cacheSize, Logger: quiet,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// BenchmarkCachedHit is oidcauth validating a token it has seen before,
// with Config.TokenCacheSize set: no signature check; exp, nbf and iat
// checked again. Goal: under 1 µs, 0 allocations.
func BenchmarkCachedHit(b *testing.B) {
	s := suite(b)
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			a := newAuthorizer(b, s.Issuer, 10_000)
			tok := s.Tokens[alg].Good
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
		})
	}
}

// BenchmarkMiddleware compares Validate with Required around an empty
// handler, for the same token and Authorizer. Goal: Required costs at most
// 2 µs more. The cold pair has the difference within the noise of a
// signature check; the cached pair (token cache hit) isolates it.
func BenchmarkMiddleware(b *testing.B) {
	s := suite(b)
	for _, mode := range []string{"cold", "cached"} {
		b.Run(mode, func(b *testing.B) {
			size := 0
			if mode == "cached" {
				size = 10_000
			}
			a := newAuthorizer(b, s.Issuer, size)
			tok := s.Tokens["EdDSA"].Good
			ctx := context.Background()
			if _, err := a.Validate(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.Run("validate", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Validate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("required", func(b *testing.B) {
				var ran bool
				h := a.Required(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
				req := httptest.NewRequest(http.MethodGet, "/api", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if !ran || w.Code != http.StatusOK {
					b.Fatalf("Required: handler ran %v, status %d", ran, w.Code)
				}
				b.ReportAllocs()
				for b.Loop() {
					h.ServeHTTP(w, req)
				}
			})
		})
	}
}

// warm creates and closes an Authorizer for issuer, so that the HTTP
// connection to the provider is already in the client's pool (and so in
// every measurement alike) when heap is measured.
func warm(b *testing.B, issuer string) {
	b.Helper()
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: issuer, Audiences: []string{Audience}, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	a.Close()
}

// heapInUse returns the live heap after two full collections.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var (
	bigJWKSOnce sync.Once
	bigJWKS     [2]*oidctest.Provider // 1 key, 100 keys
	bigJWKSErr  error
)

// providers returns two RS256 providers, one publishing 1 key and one
// publishing 100 (RSA 2048: the largest keys a provider commonly serves).
func providers(b *testing.B) [2]*oidctest.Provider {
	bigJWKSOnce.Do(func() {
		for i, n := range []int{1, 100} {
			p, err := oidctest.Start(oidctest.Options{Algorithm: "RS256"})
			if err != nil {
				bigJWKSErr = err
				return
			}
			for range n - 1 {
				if _, err := p.AddKey("RS256"); err != nil {
					bigJWKSErr = err
					return
				}
			}
			bigJWKS[i] = p
		}
	})
	if bigJWKSErr != nil {
		b.Fatal(bigJWKSErr)
	}
	return bigJWKS
}

// BenchmarkMemory measures live heap with runtime.ReadMemStats after GC:
//
//   - jwks: an Authorizer (everything it retains) with a JWKS of 1 and of
//     100 RSA 2048 keys; key-B is the cost of one more key;
//   - token-cache: 10,000 distinct tokens validated through an Authorizer
//     with TokenCacheSize 10000. The cache is direct-mapped, so some
//     tokens evict others; "resident" counts the entries that stayed
//     (found by a reverse pass where a hit allocates nothing), entry-B is
//     the heap per resident entry (token string, claims, entry), table-B
//     the slot array allocated by New.
//
// It is measured once per run (use -benchtime 1x); ns/op means nothing.
func BenchmarkMemory(b *testing.B) {
	ctx := context.Background()
	b.Run("jwks", func(b *testing.B) {
		ps := providers(b)
		var d [2]float64
		for i, p := range ps {
			warm(b, p.Issuer())
			before := heapInUse()
			a := newAuthorizer(b, p.Issuer(), 0)
			d[i] = float64(heapInUse()) - float64(before)
			if n := len(a.Keys()); n != []int{1, 100}[i] {
				b.Fatalf("Authorizer has %d keys, want %d", n, []int{1, 100}[i])
			}
			runtime.KeepAlive(a)
		}
		for b.Loop() {
		}
		b.ReportMetric(d[0], "auth1-B")
		b.ReportMetric(d[1], "auth100-B")
		b.ReportMetric((d[1]-d[0])/99, "key-B")
	})
	b.Run("token-cache", func(b *testing.B) {
		const n = 10_000
		p, err := oidctest.Start(oidctest.Options{Algorithm: "EdDSA"})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		e := &Env{Provider: p, Issuer: p.Issuer()}
		toks := make([]string, n)
		for i := range toks {
			c := e.Claims(time.Now())
			c["jti"] = fmt.Sprintf("j%06d", i)
			toks[i], err = p.MintToken(oidctest.Token{Header: map[string]any{"typ": "at+jwt"}, Claims: c})
			if err != nil {
				b.Fatal(err)
			}
		}
		warm(b, p.Issuer())
		h0 := heapInUse()
		plain := newAuthorizer(b, p.Issuer(), 0)
		h1 := heapInUse()
		a := newAuthorizer(b, p.Issuer(), n)
		h2 := heapInUse()
		table := (float64(h2) - float64(h1)) - (float64(h1) - float64(h0))
		for _, t := range toks {
			// A fresh copy, as a token read from a request would be: the
			// cache keeps it alive.
			if _, err := a.Validate(ctx, strings.Clone(t)); err != nil {
				b.Fatal(err)
			}
		}
		grown := float64(heapInUse()) - float64(h2)
		// In reverse order the first token met for each slot is the one
		// that stayed in it; a hit allocates nothing.
		resident := 0
		var m0, m1 runtime.MemStats
		for i := n - 1; i >= 0; i-- {
			runtime.ReadMemStats(&m0)
			if _, err := a.Validate(ctx, toks[i]); err != nil {
				b.Fatal(err)
			}
			runtime.ReadMemStats(&m1)
			if m1.Mallocs == m0.Mallocs {
				resident++
			}
		}
		runtime.KeepAlive(plain)
		for b.Loop() {
		}
		b.ReportMetric(float64(len(toks[0])), "token-len")
		b.ReportMetric(table, "table-B")
		b.ReportMetric(grown, "entries-B")
		b.ReportMetric(float64(resident), "resident")
		if resident > 0 {
			b.ReportMetric(grown/float64(resident), "entry-B")
		}
	})
}
