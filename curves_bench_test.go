package oidcauth

// Cost curves (issue 17): how the cost of one validation grows with the
// work behind it. Each benchmark has one sub-benchmark per size; read a
// curve down its sizes. The signed benchmarks use RS256, as
// BenchmarkValidate/RS256 does, so BenchmarkValidate/RS256 is the floor of
// every RS256 curve. Set-up is outside the timed loop and kept cheap: the
// whole file runs in seconds with -benchtime=1x.

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// curveAuthorizer is New for p with cfg (Issuer, Audiences, Logger filled
// in), closed at the end of the benchmark. Its keys are fetched from p, as
// in production.
func curveAuthorizer(b *testing.B, p *oidctest.Provider, cfg Config) *Authorizer {
	b.Helper()
	cfg.Issuer, cfg.Audiences, cfg.Logger = p.Issuer(), []string{"api"}, discard
	a, err := New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}

// fillerJWK is an RS256 public JWK with a random 2048-bit modulus: a key
// of the set that signs nothing. Generating real RSA keys would take
// minutes for 1000 of them; the lookup cost does not depend on the
// modulus.
func fillerJWK(b *testing.B, kid string) map[string]any {
	n := make([]byte, 256)
	if _, err := rand.Read(n); err != nil {
		b.Fatal(err)
	}
	n[0] |= 0x80
	n[255] |= 1
	enc := base64.RawURLEncoding.EncodeToString
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": enc(n), "e": "AQAB"}
}

// BenchmarkCurveJWKS measures a cold validation (no token cache: every
// iteration checks the RS256 signature) of one token against a fetched
// JWKS of 1, 10, 100 or 1000 RS256 keys, the signing key among them. The
// key is found by kid in a map, so the curve is expected flat, at
// BenchmarkValidate/RS256; only the JWKS fetch and parse at set-up grow
// with the set.
func BenchmarkCurveJWKS(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{Algorithm: "RS256"})
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run("keys="+strconv.Itoa(n), func(b *testing.B) {
			p.RemoveRawJWKs()
			for i := range n - 1 {
				p.AddRawJWK(fillerJWK(b, fmt.Sprintf("filler-%04d", i)))
			}
			a := curveAuthorizer(b, p, Config{})
			if got := len(a.keys.current(a.now()).keys); got != n {
				b.Fatalf("key set has %d keys, want %d", got, n)
			}
			loopValidate(b, a, p.MustMint(b, map[string]any{"aud": "api", "sub": "alice"}))
		})
	}
}

// BenchmarkCurveIssuers measures Issuers.Validate of an RS256 token of the
// last of 1, 10 or 1000 fixed issuers (static keys, no token cache). The issuer is
// picked by a map lookup of the token's iss, so the curve is expected
// flat: BenchmarkValidate/RS256 plus one strict decode of the claims to
// read iss.
func BenchmarkCurveIssuers(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{Algorithm: "RS256"})
	kid := p.ActiveKeyID()
	for _, n := range []int{1, 10, 1000} {
		b.Run("issuers="+strconv.Itoa(n), func(b *testing.B) {
			cfgs := make([]Config, n)
			for i := range cfgs {
				cfgs[i] = Config{Issuer: fmt.Sprintf("https://issuer-%04d.example", i), Audiences: []string{"api"},
					StaticKeys: map[string]crypto.PublicKey{kid: p.PublicKey(kid)}}
			}
			m, err := NewIssuers(context.Background(), IssuersConfig{Issuers: cfgs, Logger: discard})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			loopValidate(b, m, p.MustMint(b, map[string]any{"iss": cfgs[n-1].Issuer, "aud": "api", "sub": "alice"}))
		})
	}
}

// loopValidate validates tok once (so that a refusal fails the benchmark
// before timing), then once per iteration of b.Loop, reporting allocations.
func loopValidate(b *testing.B, v TokenValidator, tok string) {
	b.Helper()
	ctx := context.Background()
	if _, err := v.Validate(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Validate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// curveTenantID is the id of the i-th preloaded tenant.
func curveTenantID(i int) string { return fmt.Sprintf("tenant-%05d", i) }

// preloadTenants admits n tenants into f as a successful first fetch
// would (firstFetch: installLocked under mu), without the fetches: every
// tenant's Authorizer trusts the same parsed JWKS. Their refresh loops are
// not started, so no goroutine or request is made per tenant.
func preloadTenants(b *testing.B, f *tenantFamily, jwks []byte, n int) {
	b.Helper()
	var set *keySet
	for i := range n {
		id := curveTenantID(i)
		a, err := newAuthorizer(f.config(id))
		if err != nil {
			b.Fatal(err)
		}
		if set == nil {
			if set, _, err = parseJWKS(jwks, a.allowed); err != nil {
				b.Fatal(err)
			}
			set.fetched = time.Now()
		}
		a.keys.set.Store(set)
		f.mu.Lock()
		evicted := f.installLocked(id, a, f.now())
		f.mu.Unlock()
		if evicted != nil {
			b.Fatalf("tenant %s evicted while preloading %d tenants", evicted.a.issuer, n)
		}
	}
}

// BenchmarkCurveTenants measures Issuers.Validate of an RS256 token of one
// admitted tenant of a template holding 1, 100 or 10000 admitted tenants
// (MaxTenants = n, no token cache). The tenant is found by one lock-free
// load from the family's map and a once-a-second touch, so the curve is
// expected flat: BenchmarkValidate/RS256 plus the iss decode, as in
// BenchmarkCurveIssuers. Admitting a tenant is O(1) too (a sync.Map
// store), which is what keeps preloading 10000 of them fast.
func BenchmarkCurveTenants(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{Algorithm: "RS256"})
	const tmpl = "https://login.example/{tenant}/v2.0"
	for _, n := range []int{1, 100, 10000} {
		b.Run("tenants="+strconv.Itoa(n), func(b *testing.B) {
			m, err := NewIssuers(context.Background(), IssuersConfig{Logger: discard, Templates: []IssuerTemplate{{
				Template:    tmpl,
				AllowTenant: func(context.Context, string) bool { return true },
				MaxTenants:  n,
				Config:      Config{Audiences: []string{"api"}, JWKSURL: "https://login.example/{tenant}/jwks"},
			}}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { m.Close() })
			f := m.families[0]
			preloadTenants(b, f, p.JWKS(), n)
			if got := len(f.snapshot()); got != n {
				b.Fatalf("%d tenants admitted, want %d", got, n)
			}
			iss := strings.ReplaceAll(tmpl, "{tenant}", curveTenantID(n-1))
			loopValidate(b, m, p.MustMint(b, map[string]any{"iss": iss, "aud": "api", "sub": "alice"}))
			if got := f.firstFetchesTotal.Load(); got != 0 {
				b.Fatalf("%d first fetches, want 0: the tenant was not admitted", got)
			}
		})
	}
}

// paddedToken mints a token of p of at most size bytes, as close to it as
// base64 allows, by padding an extra claim.
func paddedToken(b *testing.B, p *oidctest.Provider, size int) string {
	b.Helper()
	mint := func(pad int) string {
		return p.MustMint(b, map[string]any{"aud": "api", "sub": "alice", "pad": strings.Repeat("x", pad)})
	}
	// The largest pad whose token fits: the length grows with the pad.
	lo, hi := 0, size
	if len(mint(lo)) > size {
		b.Fatalf("the smallest token is larger than %d bytes", size)
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(mint(mid)) <= size {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return mint(lo)
}

// BenchmarkCurveTokenSize measures a cold validation (no token cache) of
// an RS256 token of 1 KiB, 4 KiB and 16 KiB (DefaultMaxTokenSize), made
// large by one long string claim. The signature check is one RSA
// operation over a SHA-256 of the token, and the token is base64-decoded,
// copied and scanned once each, so the cost is expected linear: a fixed
// floor (the RSA operation, BenchmarkValidate/RS256) plus a constant time
// per byte. The MB/s column (SetBytes) therefore still rises over these
// sizes, towards that per-byte rate, because the floor dominates small
// tokens.
func BenchmarkCurveTokenSize(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{Algorithm: "RS256"})
	a := curveAuthorizer(b, p, Config{})
	sizes := []int{1 << 10, 4 << 10, 16 << 10}
	if DefaultMaxTokenSize > sizes[len(sizes)-1] {
		sizes = append(sizes, DefaultMaxTokenSize)
	}
	for _, size := range sizes {
		b.Run("bytes="+strconv.Itoa(size), func(b *testing.B) {
			tok := paddedToken(b, p, size)
			if len(tok) < size-4 {
				b.Fatalf("token of %d bytes, want about %d", len(tok), size)
			}
			b.SetBytes(int64(len(tok)))
			loopValidate(b, a, tok)
		})
	}
}

// cacheTokens are distinct HS256 tokens of one issuer, built once for
// BenchmarkCurveTokenCache: HMAC signing makes a million of them in about
// a second, and a cache hit never checks the signature, so the algorithm
// does not matter to the hit time.
var cacheTokens = sync.OnceValue(func() []string {
	const header = `{"alg":"HS256","typ":"JWT"}`
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(header))
	mac := hmac.New(sha256.New, cacheSecret)
	now := time.Now().Unix()
	toks := make([]string, 1_000_000)
	var payload, buf []byte
	for i := range toks {
		payload = fmt.Appendf(payload[:0], `{"iss":"https://idp.example","aud":"api","sub":"user-%d","jti":"%d","iat":%d,"exp":%d}`, i, i, now, now+3600)
		buf = append(buf[:0], h...)
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, payload)
		mac.Reset()
		mac.Write(buf)
		buf = append(buf, '.')
		buf = enc.AppendEncode(buf, mac.Sum(nil))
		toks[i] = string(buf)
	}
	return toks
})

var cacheSecret = []byte("curve benchmark secret, 32 bytes")

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCurveTokenCache measures cache hits with Config.TokenCacheSize
// 1000, 10000, 100000 and 1000000, the cache first filled by validating
// that many distinct tokens. It reports the entries the cache then holds
// and the live heap per held entry (its share of the slot table, the
// entry, the buffer holding the token copy and claims, the Claims), and
// measures Validate of the cached tokens in a shuffled cycle through all
// of them, as unrelated clients would send them.
//
// The cache is direct-mapped, one entry per slot, so filling n slots with
// n distinct tokens leaves about 1-1/e ≈ 63% of them cached (a colliding
// token replaces the one before it): "entries" shows it.
//
// A hit is O(1) whatever the size: one hash of the token, one slot load,
// one comparison with the entry's token, the time checks; no allocation.
// Yet the hit time grows about tenfold from 1000 to 1000000 entries, and
// that is the memory hierarchy, not the algorithm. A hit makes dependent
// reads at unrelated addresses: the slot, then the entry, then its token
// copy and its Claims. With 1000 entries (about 0.5 MiB) they stay in the
// CPU caches; from 10000 entries (5 MiB) on they outgrow L2, and with a
// million (about 500 MiB) each read is a cache and TLB miss to DRAM.
// Cycling through the same tokens in the order they were cached, so that
// the entries are read in allocation order, takes about half as long at
// the large sizes, which shows where the time goes. Only fewer reads per
// hit (the entry, its token and its Claims in one allocation) would cut
// it by a constant; no lookup structure avoids the misses.
func BenchmarkCurveTokenCache(b *testing.B) {
	toks := cacheTokens()
	for _, n := range []int{1000, 10_000, 100_000, 1_000_000} {
		b.Run("size="+strconv.Itoa(n), func(b *testing.B) {
			before := heapInUse()
			a, err := New(context.Background(), Config{
				Issuer: "https://idp.example", Audiences: []string{"api"}, Logger: discard,
				HMACSecret: cacheSecret, Algorithms: []string{"HS256"}, TokenCacheSize: n,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { a.Close() })
			ctx := context.Background()
			for _, tok := range toks[:n] {
				if _, err := a.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			after := heapInUse()
			// The tokens still cached are those whose slot holds them.
			var hits []string
			for _, tok := range toks[:n] {
				if e := a.cache.slot(tok).Load(); e != nil && string(e.token) == tok {
					hits = append(hits, tok)
				}
			}
			if len(hits) == 0 {
				b.Fatal("nothing cached")
			}
			mrand.New(mrand.NewPCG(1, 2)).Shuffle(len(hits), func(i, j int) { hits[i], hits[j] = hits[j], hits[i] })
			// The tokens one after the other in the order they are sent,
			// so that reading the next one is sequential: a server's
			// request token was just read and is in the CPU cache, and
			// only the cache's own reads should be random.
			var arena strings.Builder
			for _, tok := range hits {
				arena.WriteString(tok)
			}
			all, off := arena.String(), 0
			for i, tok := range hits {
				hits[i], off = all[off:off+len(tok)], off+len(tok)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := a.Validate(ctx, hits[i]); err != nil {
					b.Fatal(err)
				}
				if i++; i == len(hits) {
					i = 0
				}
			}
			// After the loop: b.Loop's start resets reported metrics.
			b.ReportMetric(float64(len(hits)), "entries")
			b.ReportMetric(float64(after-before)/float64(len(hits)), "B/entry")
		})
	}
}
