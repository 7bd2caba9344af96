package oauth_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// flowFor returns a Flow for env's provider with these changes to the
// Config of env's own Flow: same keys, store and cookie name unless cfg
// says otherwise.
func flowFor(t *testing.T, env *oauthtest.Env, store oauth.Store, change func(*oauth.Config)) *oauth.Flow {
	t.Helper()
	cfg := oauth.Config{
		Issuer: env.IdP.Issuer(), ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		RedirectURL: env.App.URL + "/callback", Keys: env.Keys, Store: store,
		CookieName: oauth.DefaultCookieName, HTTPClient: env.IdP.Client(), Now: env.Clock.Now,
		Logger: slog.New(slog.DiscardHandler),
	}
	if change != nil {
		change(&cfg)
	}
	f, err := oauth.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sessionAt asks f for the session of a request carrying cs.
func sessionAt(f *oauth.Flow, url string, cs []*http.Cookie) (*httptest.ResponseRecorder, error) {
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header = oauthtest.WithCookies(cs)
	w := httptest.NewRecorder()
	_, err := f.Session(w, req)
	return w, err
}

// Review finding 1: a session made by the Flow of one application (issuer,
// client ID, redirect origin) opens in no other Flow, even one given the
// same Keys, the same Store and the same cookie name.
func TestSessionOfAnotherFlowRefused(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env := oauthtest.Start(t, oauthtest.Options{Store: store})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		cs := env.SessionCookies(b)
		url := env.App.URL + oauthtest.PathMe

		// The same application (another replica) opens it.
		if _, err := sessionAt(flowFor(t, env, store, nil), url, cs); err != nil {
			t.Fatalf("a replica of the application: Session() error = %v, want nil", err)
		}
		for _, tt := range []struct {
			name   string
			change func(*oauth.Config)
		}{
			{"another client", func(c *oauth.Config) { c.ClientID = "other-app" }},
			{"another redirect origin", func(c *oauth.Config) { c.RedirectURL = "https://staging.example.com/callback" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if tt.name == "another redirect origin" && store != nil {
					// A server-side store's cookie is an ID; the Flow checks
					// the session's ID token (iss, aud, azp), which does not
					// name the origin. Apps sharing a store and a client are
					// one application.
					t.Skip("the origin binds the sealing keys: cookie store only")
				}
				w, err := sessionAt(flowFor(t, env, store, tt.change), url, cs)
				if !errors.Is(err, oauth.ErrNoSession) {
					t.Fatalf("Session() error = %v, want ErrNoSession", err)
				}
				if c := w.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
					t.Errorf("the refused cookie was not deleted: %v", c)
				}
			})
		}

		// Another issuer: a second provider and application, same keys,
		// same store.
		t.Run("another issuer", func(t *testing.T) {
			other := oauthtest.Start(t, oauthtest.Options{Store: store,
				Configure: func(c *oauth.Config) { c.Keys = env.Keys }})
			signedOut(t, other, cs)
		})

		// The session is still good where it belongs: the refusals did
		// not delete it from the store.
		signedIn(t, env, cs)
	})
}

// Review finding 1: with default settings, two Flows on one origin do not
// share cookie names; an explicit Config.CookieName is used as given.
func TestDefaultCookieNamesPerFlow(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { c.CookieName = "" }})
	def := func(c *oauth.Config) { c.CookieName = "" }
	a := env.Flow
	same := flowFor(t, env, nil, def)
	otherClient := flowFor(t, env, nil, func(c *oauth.Config) { def(c); c.ClientID = "other-app" })
	explicit := flowFor(t, env, nil, nil)

	if !strings.HasPrefix(a.SessionCookieName(), "__Host-oidcauth-") || len(a.SessionCookieName()) != len("__Host-oidcauth-")+8 {
		t.Errorf("default SessionCookieName() = %q, want __Host-oidcauth-XXXXXXXX", a.SessionCookieName())
	}
	if a.SessionCookieName() != same.SessionCookieName() {
		t.Errorf("two replicas of one application: %q and %q", a.SessionCookieName(), same.SessionCookieName())
	}
	if a.SessionCookieName() == otherClient.SessionCookieName() {
		t.Errorf("two clients on one origin share the cookie name %q", a.SessionCookieName())
	}
	if got := explicit.SessionCookieName(); got != oauthtest.SessionCookieName {
		t.Errorf("explicit CookieName: SessionCookieName() = %q, want %q", got, oauthtest.SessionCookieName)
	}

	// A login with the default names works and uses them throughout.
	b := env.NewBrowser(t)
	rs := env.Login(b, "/me")
	var names []string
	for _, r := range rs {
		for _, c := range r.Cookies {
			names = append(names, c.Name)
			if c.Name != a.SessionCookieName() && !strings.HasPrefix(c.Name, a.SessionCookieName()+"-tx-") {
				t.Errorf("cookie %q is not named after %q", c.Name, a.SessionCookieName())
			}
		}
	}
	if len(env.SessionCookies(b)) != 1 {
		t.Errorf("no session cookie named %q after the login (set: %v)", a.SessionCookieName(), names)
	}
}
