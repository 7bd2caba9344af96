package oidcauth

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"sync/atomic"
	"time"
)

// introCache remembers introspection answers (IntrospectionConfig.CacheTTL,
// NegativeTTL, CacheSize). It follows tokenCache: tables of atomic
// pointers, so a hit is one SHA-256 of the token, two atomic loads and a
// comparison of the hashes, without locks or allocation. Unlike tokenCache
// it keys by SHA-256 of the token, so no token is kept in memory longer
// than its request.
//
// Positive answers ("active": true, all checks passed) live in their own
// table of CacheSize slots; each key has two candidate slots (from
// different bits of its hash) and a new answer takes the free or expired
// one, else the one that expires first. Negative answers live in a
// separate table of CacheSize/8 slots (at least 16), one slot per key.
// A made-up token is never active, so a flood of them churns the negative
// table only and cannot evict a single positive answer.
//
// A positive answer is used until min(exp, fetch time + CacheTTL), with no
// leeway; a negative one for NegativeTTL. Answers bigger than
// maxIntrospectionAnswer are never fetched, and the positive table admits
// no new answer while it holds more than maxIntroCacheBytes of answers.
type introCache struct {
	pos, neg       []atomic.Pointer[introEntry]
	posTTL, negTTL time.Duration
	bytes          atomic.Int64 // of the answers in pos
}

// maxIntroCacheBytes bounds the memory of the positive answers cached.
const maxIntroCacheBytes = 32 << 20

// introEntryOverhead approximates an entry's memory beyond its raw answer.
const introEntryOverhead = 256

type introEntry struct {
	key    [32]byte
	until  int64 // unix nanos: the entry is used while now < until
	claims *Claims
	err    *ValidationError
	size   int64
}

func newIntroCache(size int, posTTL, negTTL time.Duration) *introCache {
	return &introCache{
		pos:    make([]atomic.Pointer[introEntry], size),
		neg:    make([]atomic.Pointer[introEntry], max(size/8, 16)),
		posTTL: posTTL,
		negTTL: negTTL,
	}
}

// tokenKey returns SHA-256 of token. Tokens of up to 2 KiB are hashed from
// a stack buffer, without allocation.
func tokenKey(token string) [32]byte {
	var buf [2048]byte
	if len(token) <= len(buf) {
		n := copy(buf[:], token)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(token))
}

// index maps 8 bytes of the key at off to one of n slots (Lemire's
// multiply-shift reduction).
func index(key *[32]byte, off, n int) int {
	i, _ := bits.Mul64(binary.LittleEndian.Uint64(key[off:off+8]), uint64(n))
	return int(i)
}

func (ic *introCache) posSlots(key *[32]byte) (*atomic.Pointer[introEntry], *atomic.Pointer[introEntry]) {
	return &ic.pos[index(key, 0, len(ic.pos))], &ic.pos[index(key, 8, len(ic.pos))]
}

func (ic *introCache) negSlot(key *[32]byte) *atomic.Pointer[introEntry] {
	return &ic.neg[index(key, 16, len(ic.neg))]
}

// get returns the cached answer for key: claims, or the error of a negative
// answer. ok is false on a miss.
func (ic *introCache) get(key *[32]byte, now time.Time) (c *Claims, verr *ValidationError, ok bool) {
	n := now.UnixNano()
	s1, s2 := ic.posSlots(key)
	for _, s := range [2]*atomic.Pointer[introEntry]{s1, s2} {
		if e := s.Load(); e != nil && e.key == *key {
			if n < e.until {
				return e.claims, nil, true
			}
			ic.drop(s, e)
		}
	}
	if s := ic.negSlot(key); true {
		if e := s.Load(); e != nil && e.key == *key {
			if n < e.until {
				return nil, e.err, true
			}
			s.CompareAndSwap(e, nil)
		}
	}
	return nil, nil, false
}

// drop removes e from positive slot s if it is still there.
func (ic *introCache) drop(s *atomic.Pointer[introEntry], e *introEntry) {
	if s.CompareAndSwap(e, nil) {
		ic.bytes.Add(-e.size)
	}
}

// putPositive remembers an active answer until min(exp, now+CacheTTL).
func (ic *introCache) putPositive(key *[32]byte, c *Claims, now time.Time) {
	until := now.Add(ic.posTTL)
	if !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(until) {
		until = c.ExpiresAt // never past exp, and no leeway
	}
	if !now.Before(until) {
		return
	}
	e := &introEntry{key: *key, until: until.UnixNano(), claims: c, size: int64(len(c.Raw)) + introEntryOverhead}
	n := now.UnixNano()
	s1, s2 := ic.posSlots(key)
	e1, e2 := s1.Load(), s2.Load()
	s, old := s1, e1
	switch {
	case e1 != nil && e1.key == *key:
	case e2 != nil && e2.key == *key:
		s, old = s2, e2
	case e1 == nil || e1.until <= n:
	case e2 == nil || e2.until <= n || e2.until < e1.until:
		s, old = s2, e2
	}
	var freed int64
	if old != nil {
		freed = old.size
	}
	if ic.bytes.Load()-freed+e.size > maxIntroCacheBytes {
		return
	}
	if s.CompareAndSwap(old, e) {
		ic.bytes.Add(e.size - freed)
	}
	// The answer is positive now: a negative one for the same token (from
	// before it became valid) must not be served next.
	if ns := ic.negSlot(key); true {
		if ne := ns.Load(); ne != nil && ne.key == *key {
			ns.CompareAndSwap(ne, nil)
		}
	}
}

// putNegative remembers a refusal for NegativeTTL.
func (ic *introCache) putNegative(key *[32]byte, verr *ValidationError, now time.Time) {
	if ic.negTTL <= 0 {
		return
	}
	ic.negSlot(key).Store(&introEntry{key: *key, until: now.Add(ic.negTTL).UnixNano(), err: verr})
}
