package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth/oauth"
)

// unlockScript deletes the lock only if it still holds this owner's token
// (a lock that outlived its ttl may belong to another replica by now).
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// unlockTimeout bounds the release of a lock; a release that fails leaves
// the lock to expire with its ttl.
const unlockTimeout = 2 * time.Second

// LockRefresh implements [oauth.RefreshLocker], so that only one replica
// redeems a session's refresh token at a time: SET prefix+"lock:"+key
// token NX PX ttl, released by a script that deletes the key only while it
// holds this caller's random token. One round trip to take it, one to
// release it; a failure of Redis wraps oauth.ErrStoreUnavailable.
func (s *Store) LockRefresh(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	k := s.prefix + "lock:" + key
	token := rand.Text()
	err := s.client.SetArgs(ctx, k, token, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable("SET NX (refresh lock)", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		unlockScript.Run(ctx, s.client, []string{k}, token) //nolint:errcheck // the lock expires with its ttl
	}, true, nil
}

var _ oauth.RefreshLocker = (*Store)(nil)
