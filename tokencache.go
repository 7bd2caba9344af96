package oidcauth

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
	"time"
)

// tokenCache remembers verified tokens (Config.TokenCacheSize) so that a
// token seen before skips the signature check.
//
// It is a direct-mapped table of atomic pointers: a lookup is one hash of
// the token with a per-process random seed, one atomic load and a full
// comparison of the token, without locks or allocation. A slot holds at
// most one entry, so the cache never holds more than its size; a new token
// whose slot is taken replaces the old entry. Because the whole token is
// compared, a colliding token can only evict, never be mistaken for
// another. Entries are dropped when their key leaves the provider's JWKS,
// and exp, nbf and iat are checked again on every hit.
type tokenCache struct {
	seed  maphash.Seed
	mask  uint64
	slots []atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	token  string
	claims *Claims
	key    *verifyKey
}

func newTokenCache(size int) *tokenCache {
	n := 1 << bits.Len(uint(size-1)) // round up to a power of two
	if n < size {
		n = size
	}
	return &tokenCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), slots: make([]atomic.Pointer[cacheEntry], n)}
}

// get returns the cached verdict for token. ok is false on a miss.
func (tc *tokenCache) get(token string, now time.Time, leeway time.Duration) (c *Claims, err error, ok bool) {
	slot := &tc.slots[maphash.String(tc.seed, token)&tc.mask]
	e := slot.Load()
	if e == nil || e.token != token {
		return nil, nil, false
	}
	if e.key.removed.Load() {
		slot.CompareAndSwap(e, nil)
		return nil, nil, false
	}
	if verr := checkTimes(e.claims, now, leeway); verr != nil {
		if verr.Err == ErrTokenExpired {
			slot.CompareAndSwap(e, nil)
		}
		return nil, verr, true
	}
	return e.claims, nil, true
}

func (tc *tokenCache) put(token string, c *Claims, k *verifyKey) {
	tc.slots[maphash.String(tc.seed, token)&tc.mask].Store(&cacheEntry{token: token, claims: c, key: k})
}
