package storetest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// Outage checks what a Flow using s answers while s is unreachable. It
// signs a user in against an oidctest provider, calls down (which must make
// s fail, e.g. by stopping its server or cutting a proxy), and checks that
// pages needing the session (RequireLogin, Required) answer 503 Service
// Unavailable, never a redirect to the login and never a cleared session
// cookie; then it calls up and checks that the same cookie gives the same
// session again. The Flow's IdleTimeout is off during the test, so that a
// touch does not race the outage.
func Outage(t *testing.T, s oauth.Store, down, up func(t *testing.T)) {
	t.Helper()
	env := oauthtest.Start(t, oauthtest.Options{Store: s, Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }})
	b := env.NewBrowser(t)
	env.Login(b, oauthtest.PathMe)
	if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusOK || r.Body != "sub:alice" {
		t.Fatalf("before the outage: GET %s = %d %q", oauthtest.PathMe, r.Status, r.Body)
	}
	down(t)
	for _, path := range []string{oauthtest.PathMe, oauthtest.PathAPI} {
		r := b.Get(env.App.URL + path)
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("store down: GET %s = %d (Location %q), want 503", path, r.Status, r.Location)
		}
		for _, c := range r.Cookies {
			if strings.HasPrefix(c.Name, "__Host-"+oauth.DefaultCookieName) || strings.HasPrefix(c.Name, oauth.DefaultCookieName) {
				if c.MaxAge < 0 || c.Value == "" {
					t.Errorf("store down: GET %s cleared the session cookie %s", path, c.Name)
				}
			}
		}
	}
	up(t)
	if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusOK || r.Body != "sub:alice" {
		t.Errorf("store back: GET %s = %d %q, want 200 with the same session", oauthtest.PathMe, r.Status, r.Body)
	}
}
