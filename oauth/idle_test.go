package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// countingStore counts the Updates of a MemoryStore.
type countingStore struct {
	*oauth.MemoryStore
	updates atomic.Int32
}

func (c *countingStore) Update(ctx context.Context, value string, s *oauth.Session) (string, error) {
	c.updates.Add(1)
	return c.MemoryStore.Update(ctx, value, s)
}

// writes is how often the session was written since the last call: the
// session cookies set (cookie store) or the store's Updates.
type writes func(r *oauthtest.Response) int

func idleEnv(t *testing.T, server bool, change func(*oauth.Config)) (*oauthtest.Env, *oauthtest.Browser, writes) {
	var store oauth.Store
	var cs *countingStore
	if server {
		cs = &countingStore{MemoryStore: oauth.NewMemoryStore()}
		store = cs
	}
	env := oauthtest.Start(t, oauthtest.Options{Store: store, Configure: change,
		Settings: oidctest.OAuthSettings{NoRefreshTokens: true}}) // no refresh: only idle records write
	b := env.NewBrowser(t)
	env.Login(b, oauthtest.PathMe)
	w := func(r *oauthtest.Response) int {
		if cs != nil {
			if len(r.Cookies) != 0 {
				t.Errorf("the server-side store set cookies: %v", r.Cookies)
			}
			return int(cs.updates.Swap(0))
		}
		if r.Cookie(oauthtest.SessionCookieName) != nil {
			return 1
		}
		return 0
	}
	return env, b, w
}

// bothStores runs fn for the cookie store and a server-side store.
func bothStores(t *testing.T, fn func(t *testing.T, server bool)) {
	t.Run("cookie store", func(t *testing.T) { t.Parallel(); fn(t, false) })
	t.Run("memory store", func(t *testing.T) { t.Parallel(); fn(t, true) })
}

// Review finding 11 (idle timeout, OWASP Session Management): a session
// unused for Config.IdleTimeout (30 minutes) is refused, with every store;
// one in use lives on until its absolute expiry.
func TestIdleSessionRefused(t *testing.T) {
	t.Parallel()
	bothStores(t, func(t *testing.T, server bool) {
		env, b, _ := idleEnv(t, server, nil)
		me := env.App.URL + oauthtest.PathMe

		// Used every 20 minutes for 2 hours: still signed in.
		for range 6 {
			env.Clock.Advance(20 * time.Minute)
			if r := b.Get(me); r.Status != http.StatusOK {
				t.Fatalf("session in use refused after %v: %d", 20*time.Minute, r.Status)
			}
		}
		// Unused for just under the idle timeout: still signed in.
		env.Clock.Advance(oauth.DefaultIdleTimeout - time.Second)
		if r := b.Get(me); r.Status != http.StatusOK {
			t.Fatalf("session refused after %v idle: %d", oauth.DefaultIdleTimeout-time.Second, r.Status)
		}
		// Unused for the idle timeout: refused, cookie deleted, login again.
		env.Clock.Advance(oauth.DefaultIdleTimeout)
		r := b.Get(me)
		if r.Status != http.StatusFound || r.Location == "" {
			t.Fatalf("idle session: %d %q, want 302 to the login", r.Status, r.Location)
		}
		if c := r.Cookie(oauthtest.SessionCookieName); c == nil || c.MaxAge >= 0 {
			t.Errorf("idle session's cookie not deleted: %+v", c)
		}
		env.Login(b, oauthtest.PathMe)
	})
}

// The last use is written at most once per IdleTimeout/10: no Set-Cookie
// (cookie store) or Store.Update (server-side) on every request.
func TestIdleRecordThrottled(t *testing.T) {
	t.Parallel()
	bothStores(t, func(t *testing.T, server bool) {
		env, b, written := idleEnv(t, server, nil)
		me := env.App.URL + oauthtest.PathMe
		step := oauth.DefaultIdleTimeout / 10
		total := 0
		// 60 requests, one every 30 s, over 30 minutes.
		for i := range 60 {
			env.Clock.Advance(30 * time.Second)
			r := b.Get(me)
			if r.Status != http.StatusOK {
				t.Fatalf("request %d: %d", i, r.Status)
			}
			total += written(r)
		}
		if want := int(30 * time.Minute / step); total != want {
			t.Errorf("the session was written %d times in 60 requests over 30 minutes, want %d (once per %v)", total, want, step)
		}
	})
}

// Config.IdleTimeout: a custom value, and negative disables.
func TestIdleTimeoutConfig(t *testing.T) {
	t.Parallel()
	bothStores(t, func(t *testing.T, server bool) {
		t.Run("10 minutes", func(t *testing.T) {
			env, b, _ := idleEnv(t, server, func(c *oauth.Config) { c.IdleTimeout = 10 * time.Minute })
			env.Clock.Advance(9 * time.Minute)
			if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusOK {
				t.Fatalf("after 9 minutes: %d", r.Status)
			}
			env.Clock.Advance(10 * time.Minute)
			if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusFound {
				t.Fatalf("after 10 idle minutes: %d, want 302", r.Status)
			}
		})
		t.Run("disabled", func(t *testing.T) {
			env, b, written := idleEnv(t, server, func(c *oauth.Config) { c.IdleTimeout = -1 })
			env.Clock.Advance(oauth.DefaultSessionLifetime - time.Minute)
			r := b.Get(env.App.URL + oauthtest.PathMe)
			if r.Status != http.StatusOK {
				t.Fatalf("disabled idle timeout, %v idle: %d", oauth.DefaultSessionLifetime-time.Minute, r.Status)
			}
			if n := written(r); n != 0 {
				t.Errorf("disabled idle timeout still wrote the session %d times", n)
			}
		})
	})
}

// Concurrent requests of one session that all find the record due write
// it once or a few times, never lose the session, and race with nothing
// (run with -race).
func TestIdleRecordConcurrent(t *testing.T) {
	t.Parallel()
	env, b, _ := idleEnv(t, true, nil)
	cs := env.SessionCookies(b)
	env.Clock.Advance(oauth.DefaultIdleTimeout / 2)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathMe, nil)
			req.Header = oauthtest.WithCookies(cs)
			resp, err := env.Plain().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("concurrent request: %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	// The record holds: 0.9 idle timeouts later the session is alive.
	env.Clock.Advance(oauth.DefaultIdleTimeout * 9 / 10)
	signedIn(t, env, cs)
}

// Session.LastSeen survives the JSON form that stores keep (redisstore).
func TestSessionJSONKeepsLastSeen(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	s := &oauth.Session{ID: strings.Repeat("A", 43), IDToken: "h.p.s", CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		LastSeen: now.Add(10 * time.Minute)}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got oauth.Session
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(s.LastSeen) {
		t.Errorf("LastSeen after a JSON round trip = %v, want %v", got.LastSeen, s.LastSeen)
	}
}
