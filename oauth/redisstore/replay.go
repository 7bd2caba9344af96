package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultReplayPrefix is the prefix of a [ReplayCache]'s keys when
// [NewReplayCache] is given an empty one.
const DefaultReplayPrefix = "oidcauth:dpop-jti:"

// minReplayTTL is the shortest lifetime given to a key: an expiry that is
// already past (or a few microseconds ahead) still records the key for a
// moment instead of being refused by Redis or expiring before the SET
// returns. Keeping a key longer than asked never accepts a replay.
const minReplayTTL = time.Millisecond

// ReplayCache remembers the DPoP proofs (RFC 9449 §11.1) that an API has
// accepted, in Redis, so that every replica of the API refuses a proof
// that any of them has seen. It implements the oidcauth.ReplayCache
// interface (Config.DPoP.ReplayCache) and is safe for concurrent use.
//
// Each key is one SET NX PX command: the key is the prefix and the
// hex SHA-256 of the key the caller gives (so an attacker's long jti
// cannot make long Redis keys: every key is len(prefix)+64 bytes), the
// value is "1", and the lifetime is the time left until the expiry, on the
// application's clock (not the Redis server's, so a skew between them
// does not matter), rounded up to a millisecond. About 100 bytes of Redis
// memory per proof, for the proof window only.
//
// A failure of Redis (unreachable, timeout, an error answer, a cancelled
// context) is returned as an error, never as "fresh": the API then
// answers 503, as it does when it cannot fetch the provider's keys,
// rather than accepting a proof it cannot check for replay.
type ReplayCache struct {
	client redis.UniversalClient
	prefix string
}

// NewReplayCache returns a ReplayCache on client (a *redis.Client,
// *redis.ClusterClient, ...; the cache does not close it) whose keys start
// with prefix (default DefaultReplayPrefix; give APIs that share a Redis
// but must not share proofs different prefixes). It makes no request to
// Redis. It panics if client is nil, a programming error found at start.
func NewReplayCache(client redis.UniversalClient, prefix string) *ReplayCache {
	if client == nil {
		panic("redisstore: NewReplayCache: nil client")
	}
	if prefix == "" {
		prefix = DefaultReplayPrefix
	}
	return &ReplayCache{client: client, prefix: prefix}
}

// Add records key until expiry. It reports fresh=true when the key was not
// recorded yet (the proof is seen for the first time), fresh=false when it
// was (a replay), and an error when Redis did not answer; then fresh is
// false.
func (c *ReplayCache) Add(ctx context.Context, key string, expiry time.Time) (fresh bool, err error) {
	// Rounded up to a millisecond: Redis keeps the key at least as long as
	// asked.
	ttl := (time.Until(expiry) + time.Millisecond - 1).Truncate(time.Millisecond)
	if ttl < minReplayTTL {
		ttl = minReplayTTL
	}
	// Spelled out rather than SetNX, which switches to EX for whole
	// seconds: one command, always in milliseconds. A BoolCmd reads the
	// nil reply (the key exists: a replay) as false without an error.
	cmd := redis.NewBoolCmd(ctx, "set", c.redisKey(key), "1", "px", ttl.Milliseconds(), "nx")
	if err = c.client.Process(ctx, cmd); err == nil {
		return cmd.Val(), nil
	}
	return false, fmt.Errorf("redisstore: replay cache: SET NX: %w", err)
}

// redisKey returns the prefix and the hex SHA-256 of key.
func (c *ReplayCache) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, len(c.prefix)+hex.EncodedLen(len(sum)))
	n := copy(b, c.prefix)
	hex.Encode(b[n:], sum[:])
	return string(b)
}
