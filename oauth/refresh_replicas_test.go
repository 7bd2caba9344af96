package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestRefreshAcrossReplicas: concurrent requests of one session on two
// replicas sharing a store, across the access token's expiry, with a
// provider that rotates refresh tokens and revokes the grant on reuse. No
// request loses the session, and each refresh token is redeemed once.
func TestRefreshAcrossReplicas(t *testing.T) {
	t.Parallel()
	env, urls := oauthtest.StartReplicas(t, oauthtest.Options{Store: oauth.NewMemoryStore(),
		Settings:  oidctest.OAuthSettings{AccessTokenTTL: accessTTL, RevokeGrantOnRefreshReuse: true},
		Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }}, 2, nil)
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	env.RefreshStorm(t, urls, env.SessionCookies(b), 8, 3, accessTTL)
}

// staleStore is a MemoryStore (refresh lock included) whose next Load
// returns a snapshot taken earlier, as when a replica loaded the session
// just before another replica wrote refreshed tokens.
type staleStore struct {
	*oauth.MemoryStore
	mu    sync.Mutex
	stale *oauth.Session
}

func (s *staleStore) Load(ctx context.Context, value string) (*oauth.Session, error) {
	s.mu.Lock()
	st := s.stale
	s.stale = nil
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	return s.MemoryStore.Load(ctx, value)
}

// TestTouchAcrossReplicas: a replica that records the use of a session
// (idle timeout) from a copy loaded before another replica refreshed it
// must not write the old tokens back: the next refresh would redeem a
// rotated-out refresh token, and the provider would revoke the grant.
func TestTouchAcrossReplicas(t *testing.T) {
	t.Parallel()
	store := &staleStore{MemoryStore: oauth.NewMemoryStore()}
	var cfg oauth.Config
	env := oauthtest.Start(t, oauthtest.Options{Store: store,
		Settings:  oidctest.OAuthSettings{AccessTokenTTL: accessTTL, RevokeGrantOnRefreshReuse: true},
		Configure: func(c *oauth.Config) { c.IdleTimeout = 2 * accessTTL; cfg = *c }})
	// Replica B's clock is 2 minutes behind: to it the token is not due
	// yet when replica A refreshes it, but a record of use is.
	cfg.Now = func() time.Time { return env.Clock.Now().Add(-2 * time.Minute) }
	flowB, err := oauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flowB.Close() })
	mux := http.NewServeMux()
	oauthtest.Mount(mux, flowB)
	appB := httptest.NewTLSServer(mux)
	t.Cleanup(appB.Close)

	b := env.NewBrowser(t)
	env.Login(b, "/me")
	cs := env.SessionCookies(b)
	old, err := store.MemoryStore.Load(context.Background(), cs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	get := func(base string) string {
		req, _ := http.NewRequest(http.MethodGet, base+oauthtest.PathMe, nil)
		req.Header = oauthtest.WithCookies(cs)
		resp, err := env.Plain().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status + " " + readAll(resp)
	}
	env.Clock.Advance(accessTTL - time.Minute + time.Second) // due for A only
	if r := get(env.App.URL); r != "200 OK sub:alice" {
		t.Fatalf("A: %s", r)
	}
	store.mu.Lock()
	store.stale = old
	store.mu.Unlock()
	if r := get(appB.URL); r != "200 OK sub:alice" { // B records the use
		t.Fatalf("B: %s", r)
	}
	env.Clock.Advance(accessTTL) // due again, for both
	for _, u := range []string{env.App.URL, appB.URL} {
		if r := get(u); r != "200 OK sub:alice" {
			t.Errorf("%s after the touch: %s", u, r)
		}
	}
	if st := env.IdP.OAuthStats(); st.RefreshGrants != 2 || st.RefreshReuses != 0 {
		t.Errorf("RefreshGrants %d (want 2), RefreshReuses %d (want 0)", st.RefreshGrants, st.RefreshReuses)
	}
}

// lockedStore is a MemoryStore whose refresh lock is held by another
// replica (never acquired) or unreachable (err).
type lockedStore struct {
	*oauth.MemoryStore
	mu  sync.Mutex
	err error
	// free lets the lock be taken again.
	free bool
}

func (s *lockedStore) LockRefresh(ctx context.Context, key string, ttl time.Duration) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free {
		return s.MemoryStore.LockRefresh(ctx, key, ttl)
	}
	return nil, false, s.err
}

// TestRefreshLockHeld: when another replica holds the refresh lock and its
// refresh never lands, a replica serves the current access token while it
// is valid, answers 503 once it has expired (keeping the session), and
// refreshes once the lock is free again. The same when the lock cannot be
// taken because the store is down.
func TestRefreshLockHeld(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"held by another replica", nil},
		{"store unavailable", oauth.ErrStoreUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &lockedStore{MemoryStore: oauth.NewMemoryStore(), err: tt.err}
			env := oauthtest.Start(t, oauthtest.Options{Store: store,
				Settings:  oidctest.OAuthSettings{AccessTokenTTL: accessTTL, RevokeGrantOnRefreshReuse: true},
				Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }})
			b := env.NewBrowser(t)
			env.Login(b, "/me")
			cs := env.SessionCookies(b)
			env.Clock.Advance(accessTTL - time.Second) // due, still valid
			if r := env.GetWith(t, env.App.URL+oauthtest.PathMe, cs); r != "200 OK sub:alice" {
				t.Errorf("within the token's lifetime: %s", r)
			}
			env.Clock.Advance(2 * time.Second) // expired
			if r := env.GetWith(t, env.App.URL+oauthtest.PathMe, cs); !strings.HasPrefix(r, "503 ") {
				t.Errorf("expired token, lock not available: %s, want 503", r)
			}
			if n := env.IdP.OAuthStats().RefreshGrants; n != 0 {
				t.Errorf("RefreshGrants = %d without the lock", n)
			}
			store.mu.Lock()
			store.free = true
			store.mu.Unlock()
			if r := env.GetWith(t, env.App.URL+oauthtest.PathMe, cs); r != "200 OK sub:alice" {
				t.Errorf("lock free again: %s", r)
			}
			if st := env.IdP.OAuthStats(); st.RefreshGrants != 1 || st.RefreshReuses != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
