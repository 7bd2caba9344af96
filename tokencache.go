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
// whose slot is taken replaces the old entry (so with N distinct tokens in
// use and a size of N, about 63 % of them (1 − 1/e) are cached; a size of
// 4 N holds about 88 %, 10 N about 95 %). Because the whole token is
// compared, a colliding token can only evict, never be mistaken for
// another. Entries are dropped when their key leaves the provider's JWKS,
// no entry is used while the key set is older than MaxStaleness, and exp,
// nbf and iat are checked again on every hit.
type tokenCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	// token is validateJWT's copy of the token, in the buffer that also
	// holds the claims: the entry keeps no other copy of it.
	token  []byte
	claims *Claims
	key    *verifyKey
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cacheEntry], size)}
}

// slot maps a token to one of exactly len(slots) slots (Lemire's
// multiply-shift reduction of the hash).
func (tc *tokenCache) slot(token string) *atomic.Pointer[cacheEntry] {
	return tc.slotOf(maphash.String(tc.seed, token))
}

func (tc *tokenCache) slotOf(h uint64) *atomic.Pointer[cacheEntry] {
	i, _ := bits.Mul64(h, uint64(len(tc.slots)))
	return &tc.slots[i]
}

// get returns the cached verdict for token. ok is false on a miss.
func (tc *tokenCache) get(token string, now time.Time, leeway time.Duration) (c *Claims, err error, ok bool) {
	slot := tc.slot(token)
	e := slot.Load()
	if e == nil || string(e.token) != token {
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

// put caches the verdict for token, which must not be modified afterwards.
func (tc *tokenCache) put(token []byte, c *Claims, k *verifyKey) {
	tc.slotOf(maphash.Bytes(tc.seed, token)).Store(&cacheEntry{token: token, claims: c, key: k})
}
