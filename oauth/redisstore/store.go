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
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	err = s.client.SetArgs(ctx, s.key(sess.ID), b, redis.SetArgs{Mode: mode, ExpireAt: sess.ExpiresAt}).Err()
	switch {
	case errors.Is(err, redis.Nil) && mode == "XX":
		return oauth.ErrNoSession
	case errors.Is(err, redis.Nil):
		return errors.New("redisstore: session ID already in use")
	case err != nil:
		return unavailable("SET", err)
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
