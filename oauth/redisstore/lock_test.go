package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oauth/redisstore"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestLockRefresh(t *testing.T) {
	t.Parallel()
	c := redisClient(t)
	s, prefix := newStore(t, c)
	ctx := context.Background()
	unlockA, ok, err := s.LockRefresh(ctx, "k", 200*time.Millisecond)
	if !ok || err != nil {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if pttl := c.PTTL(ctx, prefix+"lock:k").Val(); pttl <= 0 || pttl > 200*time.Millisecond {
		t.Errorf("lock PTTL %v, want (0, 200ms]", pttl)
	}
	if _, ok, err := s.LockRefresh(ctx, "k", time.Second); ok || err != nil {
		t.Fatalf("a held lock was taken twice (%v, %v)", ok, err)
	}
	if unlock, ok, _ := s.LockRefresh(ctx, "other", time.Second); !ok {
		t.Fatal("another key was blocked")
	} else {
		unlock()
	}
	time.Sleep(300 * time.Millisecond) // A's lock expires: B takes it over
	unlockB, ok, _ := s.LockRefresh(ctx, "k", time.Second)
	if !ok {
		t.Fatal("an expired lock was not taken over")
	}
	unlockA() // A's late unlock must not release B's lock
	if _, ok, _ := s.LockRefresh(ctx, "k", time.Second); ok {
		t.Fatal("a stale unlock released another owner's lock")
	}
	unlockB()
	if n := c.Exists(ctx, prefix+"lock:k").Val(); n != 0 {
		t.Fatal("unlock did not delete the lock")
	}
}

func TestLockRefreshUnavailable(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	s, err := redisstore.New(redisstore.Config{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.LockRefresh(context.Background(), "k", time.Second); ok || !errors.Is(err, oauth.ErrStoreUnavailable) {
		t.Errorf("LockRefresh on a down Redis: %v, %v; want ErrStoreUnavailable", ok, err)
	}
}

// TestRefreshAcrossReplicas: two replicas on one Redis store, concurrent
// requests across the access token's expiry, a provider that rotates
// refresh tokens and revokes the grant on reuse: no session lost, one
// refresh grant per expiry.
func TestRefreshAcrossReplicas(t *testing.T) {
	t.Parallel()
	store, _ := newStore(t, redisClient(t))
	const ttl = 10 * time.Minute
	env, urls := oauthtest.StartReplicas(t, oauthtest.Options{Store: store,
		Settings:  oidctest.OAuthSettings{AccessTokenTTL: ttl, RevokeGrantOnRefreshReuse: true},
		Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }}, 2, nil)
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	env.RefreshStorm(t, urls, env.SessionCookies(b), 8, 3, ttl)
}
