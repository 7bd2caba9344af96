package oauth_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

const accessTTL = 10 * time.Minute

func refreshEnv(t *testing.T, store oauth.Store) (*oauthtest.Env, *oauthtest.Browser) {
	// No idle timeout: its records of use would add Set-Cookies the
	// refresh tests count (idle_test.go tests them together).
	env := oauthtest.Start(t, oauthtest.Options{Store: store, Settings: oidctest.OAuthSettings{AccessTokenTTL: accessTTL},
		Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	return env, b
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env, b := refreshEnv(t, store)
		before := env.SessionCookies(b)

		// Not yet due: no refresh.
		env.Clock.Advance(accessTTL - oauth.DefaultRefreshMargin - time.Second)
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Body != "sub:alice" || len(r.Cookies) != 0 {
			t.Fatalf("before the margin: %q, cookies %v", r.Body, r.Cookies)
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 0 {
			t.Fatalf("RefreshGrants = %d before the margin", n)
		}

		// Due: one refresh, the session goes on.
		env.Clock.Advance(2 * time.Second)
		r := b.Get(env.App.URL + oauthtest.PathMe)
		if r.Body != "sub:alice" {
			t.Fatalf("after refresh: %d %q", r.Status, r.Body)
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 1 {
			t.Fatalf("RefreshGrants = %d", n)
		}
		if store == nil {
			if c := r.Cookie(oauthtest.SessionCookieName); c == nil || c.Value == before[0].Value {
				t.Error("the cookie store did not set the refreshed session cookie")
			}
			// A request still carrying the old cookie (sent before the
			// browser got the new one) gets the same refresh, not a
			// second one that the rotated refresh token would fail.
			signedIn(t, env, before)
		} else if len(r.Cookies) != 0 {
			t.Errorf("server-side store rewrote the cookie: %v", r.Cookies)
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 1 {
			t.Errorf("RefreshGrants = %d after replaying the old cookie", n)
		}
		// The refreshed tokens are used from now on: no refresh for a while.
		env.Clock.Advance(time.Minute)
		b.Get(env.App.URL + oauthtest.PathMe)
		if n := env.IdP.OAuthStats().RefreshGrants; n != 1 {
			t.Errorf("RefreshGrants = %d, want 1", n)
		}
		// And again when the new access token is due.
		env.Clock.Advance(accessTTL)
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Body != "sub:alice" {
			t.Errorf("second refresh: %q", r.Body)
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 2 {
			t.Errorf("RefreshGrants = %d, want 2", n)
		}
	})
}

func TestRefreshConcurrent(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env, b := refreshEnv(t, store)
		env.IdP.SetTokenFault(&oidctest.Fault{Delay: 200 * time.Millisecond}) // keep the refresh in flight
		env.Clock.Advance(accessTTL)
		cs := env.SessionCookies(b)
		var wg sync.WaitGroup
		bodies := make([]string, 20)
		for i := range bodies {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathAPI, nil)
				req.Header = oauthtest.WithCookies(cs)
				resp, err := env.Plain().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				bodies[i] = readAll(resp)
			})
		}
		wg.Wait()
		for i, body := range bodies {
			if body != "sub:alice session:true" {
				t.Errorf("request %d: %q", i, body)
			}
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 1 {
			t.Errorf("20 concurrent requests made %d refreshes, want 1", n)
		}
	})
}

func TestRefreshRefused(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env, b := refreshEnv(t, store)
		cs := env.SessionCookies(b)
		env.IdP.RevokeTokens()
		env.Clock.Advance(accessTTL)
		r := b.Get(env.App.URL + oauthtest.PathPublic)
		if r.Body != "anonymous" {
			t.Errorf("after a refused refresh: %q", r.Body)
		}
		if c := r.Cookie(oauthtest.SessionCookieName); c == nil || c.MaxAge >= 0 {
			t.Errorf("the ended session's cookie was not deleted: %+v", c)
		}
		if st := env.IdP.OAuthStats(); st.TokenErrors != 1 {
			t.Errorf("stats %+v", st)
		}
		if store != nil {
			signedOut(t, env, cs) // deleted from the store
		}
	})
}

func TestRefreshedIDTokenMismatch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		claims map[string]any
	}{
		{"another sub", map[string]any{"sub": "mallory"}},
		{"another aud", map[string]any{"aud": []string{oauthtest.ClientID, "x"}}},
		{"another auth_time", map[string]any{"auth_time": 1}},
		{"a nonce", map[string]any{"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"expired", map[string]any{"exp": 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, b := refreshEnv(t, nil)
			s := env.IdP.OAuthSettings()
			s.IDTokenClaims = tt.claims
			env.IdP.SetOAuth(s)
			env.Clock.Advance(accessTTL)
			if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusFound {
				t.Errorf("after a mismatching refresh: %d %q", r.Status, r.Body)
			}
		})
	}
	t.Run("no ID token on refresh is fine", func(t *testing.T) {
		t.Parallel()
		env, b := refreshEnv(t, nil)
		s := env.IdP.OAuthSettings()
		s.NoIDTokenOnRefresh = true
		env.IdP.SetOAuth(s)
		env.Clock.Advance(accessTTL)
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Body != "sub:alice" {
			t.Errorf("%d %q", r.Status, r.Body)
		}
	})
}

func TestRefreshProviderDown(t *testing.T) {
	t.Parallel()
	env, b := refreshEnv(t, oauth.NewMemoryStore())
	env.IdP.SetTokenFault(&oidctest.Fault{Status: http.StatusBadGateway, Body: []byte("down")})
	env.Clock.Advance(accessTTL)
	r := b.Get(env.App.URL + oauthtest.PathMe)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Errorf("provider down: %d %q", r.Status, r.Body)
	}
	if errs := env.Errors(); len(errs) != 1 || !errors.Is(errs[0], oauth.ErrProviderUnavailable) {
		t.Errorf("errors %v", errs)
	}
	// The session was kept: once the provider is back, it goes on.
	env.IdP.SetTokenFault(nil)
	if r := b.Get(env.App.URL + oauthtest.PathMe); r.Body != "sub:alice" {
		t.Errorf("provider back: %d %q", r.Status, r.Body)
	}
}

func TestRefreshAfterLogout(t *testing.T) {
	t.Parallel()
	// A refresh that finishes after the logout must not bring the session back.
	store := oauth.NewMemoryStore()
	env, b := refreshEnv(t, store)
	cs := env.SessionCookies(b)
	// The provider holds the refresh answer long enough for the logout to
	// finish first, however loaded the machine.
	env.IdP.SetTokenFault(&oidctest.Fault{Delay: 2 * time.Second})
	env.Clock.Advance(accessTTL)
	before := env.IdP.OAuthStats().RefreshGrants
	done := make(chan string)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathPublic, nil)
		req.Header = oauthtest.WithCookies(cs)
		resp, err := env.Plain().Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		done <- readAll(resp)
	}()
	// Log out once the refresh request has reached the provider.
	for deadline := time.Now().Add(10 * time.Second); env.IdP.OAuthStats().RefreshGrants == before; {
		if time.Now().After(deadline) {
			t.Fatal("the refresh never reached the provider")
		}
		time.Sleep(5 * time.Millisecond)
	}
	env.Logout(b)
	if body := <-done; body != "anonymous" {
		t.Errorf("request refreshing during the logout: %q", body)
	}
	if store.Len() != 0 {
		t.Errorf("the session came back: %d sessions", store.Len())
	}
	signedOut(t, env, cs)
}
