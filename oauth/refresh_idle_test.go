package oauth_test

import (
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestRefreshCountsAsUse: a session used only when its access token is due
// (each request refreshes it) is in use: the refresh records it, so the
// idle timeout does not end it.
func TestRefreshCountsAsUse(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env := oauthtest.Start(t, oauthtest.Options{Store: store,
			Settings:  oidctest.OAuthSettings{AccessTokenTTL: accessTTL},
			Configure: func(c *oauth.Config) { c.IdleTimeout = accessTTL + accessTTL/2 }})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		for i := 1; i <= 3; i++ {
			env.Clock.Advance(accessTTL + time.Second) // due; idle timeout not reached since the last request
			if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != 200 || r.Body != "sub:alice" {
				t.Fatalf("request %d (refresh): %d %q", i, r.Status, r.Body)
			}
		}
		if n := env.IdP.OAuthStats().RefreshGrants; n != 3 {
			t.Errorf("RefreshGrants = %d, want 3", n)
		}
	})
}
