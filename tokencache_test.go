package oidcauth

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// TestTokenCache checks the verified-token cache: hits skip the signature
// check but never the time checks, and a cached verdict never outlives its
// key.
func TestTokenCache(t *testing.T) {
	r := newRig(t, Config{TokenCacheSize: 4})
	tok := r.mint(map[string]any{"sub": "alice", "exp": r.clock.Now().Add(time.Minute).Unix()}, "")
	c1, err := r.a.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := r.a.Validate(context.Background(), tok)
	if err != nil || c2 != c1 {
		t.Fatalf("second Validate() = %p, %v; want the cached claims %p", c2, err, c1)
	}
	if n := testing.AllocsPerRun(100, func() { r.a.Validate(context.Background(), tok) }); n != 0 {
		t.Errorf("cache hit allocates %v times, want 0", n)
	}
	// A token differing in one byte of the signature is not a hit.
	forged := tok[:len(tok)-2] + "AA"
	if forged == tok {
		forged = tok[:len(tok)-2] + "BA"
	}
	if _, err := r.a.Validate(context.Background(), forged); err == nil {
		t.Fatal("forged token accepted")
	}
	// exp is checked again on every hit.
	r.clock.Advance(time.Minute + DefaultLeeway)
	if _, err := r.a.Validate(context.Background(), tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after exp: Validate() error = %v, want ErrTokenExpired", err)
	}
}

func TestTokenCacheBounded(t *testing.T) {
	t.Parallel()
	tc := newTokenCache(10)
	if len(tc.slots) != 10 {
		t.Fatalf("slots = %d, want 10", len(tc.slots))
	}
	k := &verifyKey{}
	c := &Claims{ExpiresAt: time.Unix(1<<40, 0)}
	for i := range 1000 {
		tc.put([]byte(string(rune('a'+i%26))+string(rune(i))), c, k)
	}
	n := 0
	for i := range tc.slots {
		if tc.slots[i].Load() != nil {
			n++
		}
	}
	if n > 10 {
		t.Fatalf("%d entries, want at most TokenCacheSize = 10", n)
	}
}

// TestTokenCacheHonoursMaxStaleness: once the key set is older than
// MaxStaleness, a token seen before gets ErrKeysUnavailable, exactly like a
// token never seen; the cached verdict comes back with fresh keys.
func TestTokenCacheHonoursMaxStaleness(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{TokenCacheSize: 16, MaxStaleness: time.Hour})
	seen := r.mint(map[string]any{"exp": r.clock.Now().Add(3 * time.Hour).Unix()}, "")
	if err := r.validate(seen); err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	r.p.SetJWKSFault(&oidctest.Fault{Status: 503})
	r.clock.Advance(time.Hour + time.Second)
	fresh := r.mint(map[string]any{"exp": r.clock.Now().Add(time.Hour).Unix()}, "")
	for name, tok := range map[string]string{"fresh": fresh, "cached": seen} {
		err := r.validate(tok)
		if !errors.Is(err, ErrKeysUnavailable) || StatusCode(err) != http.StatusServiceUnavailable {
			t.Errorf("%s token past MaxStaleness: Validate() error = %v, want ErrKeysUnavailable (503)", name, err)
		}
	}
	r.p.SetJWKSFault(nil)
	if err := r.a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.validate(seen); err != nil {
		t.Fatalf("after recovery: Validate(cached token) error = %v", err)
	}
}
