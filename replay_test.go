package oidcauth

import (
	"context"
	"crypto"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestMemoryReplayCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := NewMemoryReplayCache(3)
	c.now = func() time.Time { return now }
	ctx := context.Background()
	add := func(k string, exp time.Duration) (bool, error) { return c.Add(ctx, k, now.Add(exp)) }
	if fresh, err := add("a", time.Minute); !fresh || err != nil {
		t.Fatalf("first a: %v %v", fresh, err)
	}
	if fresh, err := add("a", time.Minute); fresh || err != nil {
		t.Fatalf("replayed a: %v %v", fresh, err)
	}
	add("b", 30*time.Second)
	add("c", 2*time.Minute)
	if fresh, err := add("d", time.Minute); fresh || !errors.Is(err, ErrReplayCacheFull) || !errors.Is(err, ErrReplayCacheUnavailable) {
		t.Fatalf("full: %v %v", fresh, err)
	}
	if StatusCode(err503(t, c, now)) != 503 {
		t.Fatal("a full cache is not 503")
	}
	// Past an expiry (and its bucket), the entry is gone and its slot free.
	now = now.Add(50 * time.Second)
	if fresh, err := add("d", time.Minute); !fresh || err != nil {
		t.Fatalf("after b expired: %v %v", fresh, err)
	}
	if c.Len() != 3 {
		t.Fatalf("Len() = %d, want 3 (a, c, d)", c.Len())
	}
	if fresh, _ := add("a", time.Minute); fresh {
		t.Fatal("a forgotten before its expiry")
	}
	now = now.Add(time.Hour)
	if fresh, err := add("a", time.Minute); !fresh || err != nil || c.Len() != 1 {
		t.Fatalf("after an idle hour: %v %v, %d entries", fresh, err, c.Len())
	}
	if fresh, err := add("old", -time.Second); !fresh || err != nil || c.Len() != 1 {
		t.Fatalf("expired key: %v %v, %d entries", fresh, err, c.Len())
	}
}

func err503(t *testing.T, c *MemoryReplayCache, now time.Time) error {
	_, err := c.Add(context.Background(), "zz", now.Add(time.Minute))
	return wrapf(err, "x")
}

// BenchmarkMemoryReplayCache: Add of a unique key with N entries live
// (the clock moves so that N keys fall in one 60 s window). Keys have the
// Authorizer's form (base64url of 32 bytes, 43 bytes), made from a counter
// in a stack buffer so that no key pool of the benchmark's own competes
// for the CPU cache (the one alloc/op is that key's string). bytes/entry
// is the heap per live entry. Time per Add grows from 1,000 to 100,000
// live entries only as far as the map outgrows the CPU caches: no step of
// Add depends on N.
func BenchmarkMemoryReplayCache(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			now := time.Unix(1_800_000_000, 0)
			step := time.Minute / time.Duration(n)
			c := NewMemoryReplayCache(2 * n)
			c.now = func() time.Time { return now }
			ctx := context.Background()
			var raw [32]byte
			var enc [43]byte
			key := func(i int) string {
				binary.BigEndian.PutUint64(raw[:], uint64(i)*0x9e3779b97f4a7c15) // spread over the map
				b64.Encode(enc[:], raw[:])
				return string(enc[:])
			}
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for i := range n {
				c.Add(ctx, key(i), now.Add(time.Minute))
				now = now.Add(step)
			}
			runtime.GC()
			runtime.ReadMemStats(&m1)
			perEntry := float64(m1.HeapAlloc-m0.HeapAlloc) / float64(n)
			b.ReportAllocs()
			i := n
			for b.Loop() {
				fresh, err := c.Add(ctx, key(i), now.Add(time.Minute))
				if err != nil || !fresh {
					b.Fatal(fresh, err)
				}
				now = now.Add(step)
				i++
			}
			b.ReportMetric(perEntry, "bytes/entry")
			b.ReportMetric(float64(c.Len()), "entries")
		})
	}
}

// TestDPoPThumbprintMatchesJWX cross-checks the RFC 7638 thumbprints of
// the proof checker and of oidctest with jwx's.
func TestDPoPThumbprintMatchesJWX(t *testing.T) {
	for _, alg := range oidctest.Algorithms() {
		k, err := oidctest.NewDPoPKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(k.PublicJWK())
		jk, err := jwk.ParseKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		tp, err := jk.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		want := b64.EncodeToString(tp)
		var vk verifyKey
		in, verr := parseProofJWK(raw, &vk, nil)
		if verr != nil {
			t.Fatalf("%s: %v", alg, verr)
		}
		sum := sha256Sum(in)
		if got := b64.EncodeToString(sum[:]); got != want || k.Thumbprint() != want {
			t.Errorf("%s: checker %s, oidctest %s, jwx %s", alg, got, k.Thumbprint(), want)
		}
	}
}

// TestMemoryReplayCacheKeyForms: keys of the Authorizer's form (43-byte
// base64url) and any other string are told apart and remembered alike.
func TestMemoryReplayCacheKeyForms(t *testing.T) {
	c := NewMemoryReplayCache(10)
	exp := time.Now().Add(time.Minute)
	d := b64.EncodeToString(make([]byte, 32)) // 43 bytes, decodes to 32 zero bytes
	notB64 := "!" + d[1:]                     // 43 bytes, not base64url: hashed
	long := d + "x"                           // 44 bytes: hashed
	for _, k := range []string{d, notB64, long, ""} {
		if fresh, err := c.Add(context.Background(), k, exp); !fresh || err != nil {
			t.Fatalf("first %q: %v %v", k, fresh, err)
		}
	}
	for _, k := range []string{d, notB64, long, ""} {
		if fresh, err := c.Add(context.Background(), k, exp); fresh || err != nil {
			t.Fatalf("replayed %q: %v %v", k, fresh, err)
		}
	}
	if c.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", c.Len())
	}
}
