package oauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// withQueryTokenAuthorizer gives the Flow an Authorizer that also reads
// the access_token query parameter.
func withQueryTokenAuthorizer(t *testing.T) func(*oauth.Config) {
	return func(c *oauth.Config) {
		a, err := oidcauth.New(context.Background(), oidcauth.Config{
			Issuer: c.Issuer, Audiences: []string{oauthtest.Audience}, HTTPClient: c.HTTPClient, Now: c.Now,
			InsecureAllowQueryToken: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		c.Authorizer = a
	}
}

// With InsecureAllowQueryToken, an invalid access_token in the query is a
// credential, as the Authorizer sees it: Required answers the Authorizer's
// 401 and never falls back to the session cookie the request also carries.
func TestRequiredInvalidQueryTokenNotDowngradedToSession(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Configure: withQueryTokenAuthorizer(t)})
	b := env.NewBrowser(t)
	env.Login(b, "/me")

	if r := b.Get(env.App.URL + oauthtest.PathAPI); r.Status != http.StatusOK || r.Body != "sub:alice session:true" {
		t.Fatalf("GET /api with the session: %d %q", r.Status, r.Body)
	}
	r := b.Get(env.App.URL + oauthtest.PathAPI + "?access_token=" + url.QueryEscape("eyJhbGciOiJFUzI1NiJ9.e30.c2ln"))
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /api?access_token=<invalid> with a session: %d %q, want 401", r.Status, r.Body)
	}
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") || !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q, want the Bearer invalid_token challenge", got)
	}

	// A valid query token is served as a bearer request.
	tok := env.IdP.MustMint(t, map[string]any{"sub": "bob", "aud": oauthtest.Audience})
	if r := env.NewBrowser(t).Get(env.App.URL + oauthtest.PathAPI + "?access_token=" + tok); r.Status != http.StatusOK || r.Body != "sub:bob session:false" {
		t.Errorf("GET /api?access_token=<valid>: %d %q", r.Status, r.Body)
	}
}

// Every 401 a Flow writes carries a WWW-Authenticate challenge (RFC 9110
// §15.5.2): the Cookie challenge naming the login path and the session
// cookie; Required with an Authorizer also keeps the Bearer challenge.
func TestUnauthorizedCarriesChallenge(t *testing.T) {
	t.Parallel()
	cookieChallenge := func(env *oauthtest.Env) string {
		return `Cookie realm="` + env.App.URL + `", form-action="/login", cookie-name="__Host-oidcauth"`
	}
	script := http.Header{"Sec-Fetch-Mode": {"cors"}, "Sec-Fetch-Site": {"same-origin"}}

	t.Run("RequireLogin from a script", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		r := env.NewBrowser(t).Do(http.MethodGet, env.App.URL+oauthtest.PathMe, nil, script)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", r.Status)
		}
		if got := r.Header.Values("WWW-Authenticate"); !slices.Equal(got, []string{cookieChallenge(env)}) {
			t.Errorf("WWW-Authenticate = %q, want %q", got, cookieChallenge(env))
		}
		if got := env.Flow.CookieChallenge(); got != cookieChallenge(env) {
			t.Errorf("CookieChallenge() = %q", got)
		}
	})
	t.Run("Required without Authorizer", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		r := env.NewBrowser(t).Do(http.MethodGet, env.App.URL+oauthtest.PathAPI, nil, script)
		if got := r.Header.Values("WWW-Authenticate"); r.Status != http.StatusUnauthorized || !slices.Equal(got, []string{cookieChallenge(env)}) {
			t.Errorf("%d, WWW-Authenticate = %q, want 401 with %q", r.Status, got, cookieChallenge(env))
		}
	})
	t.Run("Required with Authorizer", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{Authorizer: true})
		r := env.NewBrowser(t).Do(http.MethodGet, env.App.URL+oauthtest.PathAPI, nil, script)
		got := r.Header.Values("WWW-Authenticate")
		if r.Status != http.StatusUnauthorized || len(got) != 2 || !strings.HasPrefix(got[0], "Bearer") || got[1] != cookieChallenge(env) {
			t.Errorf("%d, WWW-Authenticate = %q, want 401 with Bearer and %q", r.Status, got, cookieChallenge(env))
		}
	})
	t.Run("ended session", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		env.Clock.Advance(oauth.DefaultSessionLifetime)
		r := b.Do(http.MethodGet, env.App.URL+oauthtest.PathMe, nil, script)
		if got := r.Header.Values("WWW-Authenticate"); r.Status != http.StatusUnauthorized || !slices.Equal(got, []string{cookieChallenge(env)}) {
			t.Errorf("%d, WWW-Authenticate = %q", r.Status, got)
		}
	})
}
