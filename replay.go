package oidcauth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"
)

// ReplayCache remembers DPoP proofs for their window (RFC 9449 §11.1).
// Add records key until expiry and reports fresh=false when the key was
// already there (a replay). An error means the cache could not answer
// (unreachable, full): the request is then refused with 503
// (ErrReplayCacheUnavailable), never let through. Implementations must be
// safe for concurrent use. The memory one is NewMemoryReplayCache; for a
// fleet, redisstore.NewReplayCache.
type ReplayCache interface {
	Add(ctx context.Context, key string, expiry time.Time) (fresh bool, err error)
}

// DefaultReplayCacheSize is the size of the memory replay cache an
// Authorizer makes when DPoPConfig.ReplayCache is nil.
const DefaultReplayCacheSize = 100_000

// ErrReplayCacheFull is the error of MemoryReplayCache.Add when it holds
// maxEntries unexpired entries. errors.Is(err, ErrReplayCacheUnavailable)
// holds.
var ErrReplayCacheFull error = &subError{msg: "oidcauth: DPoP replay cache full", parent: ErrReplayCacheUnavailable}

// replayBucket is the width of the expiry buckets of MemoryReplayCache.
const replayBucket = 8 // seconds

// MemoryReplayCache is a bounded in-memory ReplayCache. Entries live
// until their expiry (for DPoP: iat + the proof window, at most twice the
// window from now) and are dropped in buckets of 8 seconds of expiry, with
// no goroutine: the work is done by Add, amortised O(1) per entry. When
// it holds maxEntries unexpired entries it refuses new keys with
// ErrReplayCacheFull (503) rather than evict an entry that still guards
// against a replay: a flood of unique proofs can delay requests by at
// most one proof window but can never make a replay pass.
//
// Keys are kept as 32-byte digests (the key itself when it is the
// base64url SHA-256 the Authorizer gives, else its SHA-256), so entries
// hold no pointer: the garbage collector never scans the cache, and an
// entry costs about 100 bytes whatever the key's length (map slot with
// the map's growth headroom, and bucket slot: 103 B at 100,000 entries,
// 160 B at 1,000, measured by BenchmarkMemoryReplayCache); 100,000
// entries about 10 MB. Emptied buckets are reused, so a steady flow of
// proofs allocates nothing in the cache.
type MemoryReplayCache struct {
	mu      sync.Mutex
	max     int
	entries map[replayKey]int64   // key → expiry, Unix seconds
	buckets map[int64][]replayKey // expiry/replayBucket → keys
	swept   int64                 // buckets before this index are empty
	spare   [][]replayKey         // emptied bucket slices, reused by Add
	now     func() time.Time
}

// replayKey is the digest a MemoryReplayCache keeps for a key.
type replayKey [32]byte

func replayKeyOf(key string) (k replayKey) {
	if len(key) == 43 {
		var in [43]byte
		copy(in[:], key)
		if n, err := b64.Decode(k[:], in[:]); err == nil && n == 32 {
			return k
		}
	}
	return sha256.Sum256([]byte(key))
}

// NewMemoryReplayCache returns a MemoryReplayCache holding at most
// maxEntries unexpired entries (DefaultReplayCacheSize when ≤ 0).
func NewMemoryReplayCache(maxEntries int) *MemoryReplayCache {
	if maxEntries <= 0 {
		maxEntries = DefaultReplayCacheSize
	}
	return &MemoryReplayCache{
		max:     maxEntries,
		entries: make(map[replayKey]int64),
		buckets: make(map[int64][]replayKey),
		now:     time.Now,
	}
}

// Add implements ReplayCache. A key whose expiry has passed is not
// recorded (fresh: a proof that old is refused by its iat anyway).
func (c *MemoryReplayCache) Add(_ context.Context, s string, expiry time.Time) (bool, error) {
	key := replayKeyOf(s)
	now := c.now().Unix()
	exp := expiry.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	if e, ok := c.entries[key]; ok && e >= now {
		return false, nil
	}
	if exp < now {
		return true, nil
	}
	if len(c.entries) >= c.max {
		return false, ErrReplayCacheFull
	}
	c.entries[key] = exp
	b := exp / replayBucket
	keys, ok := c.buckets[b]
	if !ok && len(c.spare) > 0 {
		keys = c.spare[len(c.spare)-1]
		c.spare = c.spare[:len(c.spare)-1]
	}
	c.buckets[b] = append(keys, key)
	return true, nil
}

// Len returns the number of entries held, expired ones not yet dropped
// included.
func (c *MemoryReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// sweep drops the buckets whose every expiry is before now.
func (c *MemoryReplayCache) sweep(now int64) {
	last := now/replayBucket - 1 // bucket last holds expiries < now
	if c.swept == 0 || last-c.swept > int64(len(c.buckets))+1 {
		// First call, or a long idle time: visit the buckets there are
		// rather than every index since.
		for b, keys := range c.buckets {
			if b <= last {
				c.drop(keys)
				delete(c.buckets, b)
			}
		}
		c.swept = last + 1
		return
	}
	for ; c.swept <= last; c.swept++ {
		if keys, ok := c.buckets[c.swept]; ok {
			c.drop(keys)
			delete(c.buckets, c.swept)
		}
	}
}

func (c *MemoryReplayCache) drop(keys []replayKey) {
	for _, k := range keys {
		delete(c.entries, k)
	}
	// At most a window's worth of buckets (and their arrays, sized by the
	// traffic of the last window) is kept for reuse.
	if len(c.spare) < 16 {
		c.spare = append(c.spare, keys[:0])
	}
}
