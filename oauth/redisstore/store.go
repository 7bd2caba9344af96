// Package redisstore keeps the sessions of an [oauth.Flow] in Redis, for
// applications with several replicas: every replica sees every session,
// sessions survive restarts of the application, and a logout deletes the
// session everywhere at once, so an old copy of the cookie is refused
// immediately.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store, err := redisstore.New(redisstore.Config{Client: rdb})
//	...
//	flow, err := oauth.New(ctx, oauth.Config{..., Store: store})
//
// The session cookie carries only the session ID (256 random bits). Redis
// keys are the prefix and the SHA-256 of the ID, so that someone who can
// read the keys (KEYS, a replica, a backup) cannot turn them into cookies.
// Values are the session's JSON, tokens included, in the clear: protect
// Redis as you protect the tokens (TLS, ACLs, no public network). Each key
// expires with its session (EXAT, Redis 6.2 or later).
//
// # Revocation
//
// Store implements [oauth.RevokingStore]. Each write of a session also
// adds its hashed key to two index sets, PREFIX+"sub:"+SHA-256(iss, sub)
// and PREFIX+"sid:"+SHA-256(iss, sid) (when the ID token has a sid), in
// the same Lua script as the SET (one round trip); a set expires with the
// longest-lived session it lists. RevokeSubject and RevokeSID delete the
// listed sessions and the set in one script. Members left by sessions
// that expired or were deleted are skipped and go with the set. The
// scripts touch keys they derive from the set's members, so with Redis
// Cluster give the store a Prefix with a hash tag ("{oidcauth}:session:")
// so that every key lands in one slot.
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth/oauth"
)

// DefaultPrefix is the default prefix of the Redis keys.
const DefaultPrefix = "oidcauth:session:"

// Config configures a Store. Client is required.
type Config struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient,
	// ...). The Store does not close it.
	Client redis.UniversalClient

	// Prefix is prepended to every key. Default: DefaultPrefix. Give
	// applications sharing a Redis different prefixes.
	Prefix string

	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// Store is an [oauth.Store] on Redis. It is safe for concurrent use.
// Failures of Redis are returned wrapping [oauth.ErrStoreUnavailable]
// (the Flow answers 503), never as "no session".
type Store struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// New returns a Store. It makes no request to Redis.
func New(cfg Config) (*Store, error) {
	if cfg.Client == nil {
		return nil, errors.New("redisstore: Config.Client is required")
	}
	s := &Store{client: cfg.Client, prefix: cfg.Prefix, now: cfg.Now}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

func (s *Store) key(id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + hex.EncodeToString(sum[:])
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redisstore: %s: %v", oauth.ErrStoreUnavailable, op, err)
}

// Create implements oauth.Store: SET NX with the session's expiry.
func (s *Store) Create(ctx context.Context, sess *oauth.Session) (string, error) {
	return sess.ID, s.set(ctx, sess, "NX")
}

// Update implements oauth.Store: SET XX, so that a session deleted in the
// meantime (a logout) is not re-created; it then returns
// oauth.ErrNoSession.
func (s *Store) Update(ctx context.Context, value string, sess *oauth.Session) (string, error) {
	if value != sess.ID {
		return "", oauth.ErrNoSession
	}
	return value, s.set(ctx, sess, "XX")
}

func (s *Store) set(ctx context.Context, sess *oauth.Session, mode string) error {
	if !oauth.ValidSessionID(sess.ID) {
		return errors.New("redisstore: malformed session ID")
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("redisstore: %w", err)
	}
	keys := []string{s.key(sess.ID)}
	if info, err := sess.Info(); err == nil { // indexed for RevokingStore
		keys = append(keys, s.indexKey("sub:", info.Issuer, info.Subject))
		if info.SID != "" {
			keys = append(keys, s.indexKey("sid:", info.Issuer, info.SID))
		}
	}
	n, err := setScript.Run(ctx, s.client, keys, b, mode, sess.ExpiresAt.Unix(), strings.TrimPrefix(keys[0], s.prefix)).Int()
	switch {
	case err != nil:
		return unavailable("SET", err)
	case n == 0 && mode == "XX":
		return oauth.ErrNoSession
	case n == 0:
		return errors.New("redisstore: session ID already in use")
	}
	return nil
}

// Load implements oauth.Store.
func (s *Store) Load(ctx context.Context, value string) (*oauth.Session, error) {
	if !oauth.ValidSessionID(value) {
		return nil, oauth.ErrNoSession
	}
	b, err := s.client.Get(ctx, s.key(value)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, oauth.ErrNoSession
	}
	if err != nil {
		return nil, unavailable("GET", err)
	}
	sess := new(oauth.Session)
	if err := json.Unmarshal(b, sess); err != nil || sess.ID != value || !s.now().Before(sess.ExpiresAt) {
		return nil, oauth.ErrNoSession
	}
	return sess, nil
}

// Delete implements oauth.Store.
func (s *Store) Delete(ctx context.Context, value string) error {
	if !oauth.ValidSessionID(value) {
		return nil
	}
	if err := s.client.Del(ctx, s.key(value)).Err(); err != nil {
		return unavailable("DEL", err)
	}
	return nil
}

// indexKey names the index set of (issuer, v): kind is "sub:" or "sid:".
func (s *Store) indexKey(kind, issuer, v string) string {
	sum := sha256.Sum256([]byte(issuer + "\x00" + v))
	return s.prefix + kind + hex.EncodeToString(sum[:])
}

// setScript: SET KEYS[1] ARGV[1] NX|XX EXAT ARGV[3]; when it was set, add
// ARGV[4] (the hashed ID) to the index sets KEYS[2..] and make each live
// at least until ARGV[3]. Returns 1 when set, 0 when NX/XX refused.
var setScript = redis.NewScript(`
local ok = redis.call('SET', KEYS[1], ARGV[1], ARGV[2], 'EXAT', ARGV[3])
if not ok then return 0 end
local exat = tonumber(ARGV[3])
local now = tonumber(redis.call('TIME')[1])
for i = 2, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[4])
  local ttl = redis.call('TTL', KEYS[i])
  if ttl < 0 or now + ttl < exat then redis.call('EXPIREAT', KEYS[i], exat) end
end
return 1`)

// revokeScript deletes the sessions listed in the set KEYS[1] (members
// prefixed by ARGV[1]) and the set; returns how many sessions existed.
var revokeScript = redis.NewScript(`
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, id in ipairs(ids) do n = n + redis.call('DEL', ARGV[1] .. id) end
redis.call('DEL', KEYS[1])
return n`)

// RevokeSubject implements oauth.RevokingStore: one script.
func (s *Store) RevokeSubject(ctx context.Context, issuer, subject string) (int, error) {
	return s.revoke(ctx, s.indexKey("sub:", issuer, subject))
}

// RevokeSID implements oauth.RevokingStore: one script.
func (s *Store) RevokeSID(ctx context.Context, issuer, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	return s.revoke(ctx, s.indexKey("sid:", issuer, sid))
}

func (s *Store) revoke(ctx context.Context, set string) (int, error) {
	n, err := revokeScript.Run(ctx, s.client, []string{set}, s.prefix).Int()
	if err != nil {
		return 0, unavailable("revoke", err)
	}
	return n, nil
}

// ListSessions implements oauth.RevokingStore: SMEMBERS of the subject's
// set, then one MGET.
func (s *Store) ListSessions(ctx context.Context, issuer, subject string) ([]oauth.SessionInfo, error) {
	ids, err := s.client.SMembers(ctx, s.indexKey("sub:", issuer, subject)).Result()
	if err != nil {
		return nil, unavailable("SMEMBERS", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.prefix + id
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, unavailable("MGET", err)
	}
	now := s.now()
	var out []oauth.SessionInfo
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // expired or deleted since
		}
		sess := new(oauth.Session)
		if json.Unmarshal([]byte(str), sess) != nil || !now.Before(sess.ExpiresAt) {
			continue
		}
		if info, err := sess.Info(); err == nil && info.Issuer == issuer && info.Subject == subject {
			out = append(out, info)
		}
	}
	oauth.SortSessionInfos(out)
	return out, nil
}
