package oauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// stores runs fn for the cookie store and the memory store.
func stores(t *testing.T, fn func(t *testing.T, store oauth.Store)) {
	t.Run("cookie store", func(t *testing.T) { t.Parallel(); fn(t, nil) })
	t.Run("memory store", func(t *testing.T) { t.Parallel(); fn(t, oauth.NewMemoryStore()) })
}

// signedOut checks that the request with these cookies has no session:
// the page redirects to the login, the public page is anonymous, the API
// answers 401.
func signedOut(t *testing.T, env *oauthtest.Env, cs []*http.Cookie) {
	t.Helper()
	c := env.Plain()
	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{oauthtest.PathMe, "", http.StatusFound},
		{oauthtest.PathPublic, "anonymous", http.StatusOK},
		{oauthtest.PathAPI, "", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, env.App.URL+tt.path, nil)
		req.Header = oauthtest.WithCookies(cs)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != tt.status || (tt.body != "" && body != tt.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		if tt.status == http.StatusFound && !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s: Location %q", tt.path, resp.Header.Get("Location"))
		}
	}
	env.Errors()
}

func signedIn(t *testing.T, env *oauthtest.Env, cs []*http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathMe, nil)
	req.Header = oauthtest.WithCookies(cs)
	resp, err := env.Plain().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != http.StatusOK || body != "sub:alice" {
		t.Errorf("GET /me with the session: %d %q", resp.StatusCode, body)
	}
}

func TestTamperedSessionCookie(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env := oauthtest.Start(t, oauthtest.Options{Store: store})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		cs := env.SessionCookies(b)
		if len(cs) != 1 {
			t.Fatalf("%d session cookies", len(cs))
		}
		good := cs[0].Value
		signedIn(t, env, cs)
		for _, bad := range []string{
			flip(good, 0), flip(good, len(good)/2), flip(good, len(good)-1),
			good[:len(good)-1], good + "A", "", "x", "2." + good, "9.x",
			strings.Repeat("A", len(good)),
		} {
			signedOut(t, env, []*http.Cookie{{Name: cs[0].Name, Value: bad}})
		}
		// A tampered cookie is deleted.
		r := b.Do(http.MethodGet, env.App.URL+oauthtest.PathPublic, nil,
			oauthtest.WithCookies([]*http.Cookie{{Name: cs[0].Name, Value: flip(good, 3)}}))
		if c := r.Cookie(cs[0].Name); c == nil || c.MaxAge >= 0 {
			t.Errorf("tampered cookie not deleted: %+v", c)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env := oauthtest.Start(t, oauthtest.Options{Store: store, Settings: oidctest.OAuthSettings{NoRefreshTokens: true},
			Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }}) // the absolute expiry alone
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		cs := env.SessionCookies(b)
		env.Clock.Advance(oauth.DefaultSessionLifetime - time.Minute)
		signedIn(t, env, cs) // the access token expired long ago, but there is no refresh token
		env.Clock.Advance(time.Minute)
		signedOut(t, env, cs)
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		env := oauthtest.Start(t, oauthtest.Options{Store: store})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		old := env.SessionCookies(b)

		rs := env.Logout(b)
		post := rs[0]
		action, q := oauthtest.Form(post.Body)
		if post.Status != http.StatusOK || action != env.IdP.EndSessionEndpoint() {
			t.Fatalf("logout: %d, form to %q", post.Status, action)
		}
		if c := post.Cookie(oauthtest.SessionCookieName); c == nil || c.MaxAge >= 0 || !c.Secure || c.Path != "/" {
			t.Errorf("logout did not delete the session cookie: %+v", c)
		}
		if q.Get("id_token_hint") == "" || q.Get("client_id") != oauthtest.ClientID || q.Get("post_logout_redirect_uri") != env.App.URL+"/" {
			t.Errorf("RP-initiated logout parameters: %v", q)
		}
		if last := oauthtest.Last(rs); last.Status != http.StatusOK || last.Body != "home" {
			t.Errorf("after logout: %d %q at %s", last.Status, last.Body, last.URL)
		}
		if n := env.IdP.OAuthStats().EndSessions; n != 1 {
			t.Errorf("EndSessions = %d", n)
		}
		if len(env.SessionCookies(b)) != 0 {
			t.Error("the browser still has a session cookie")
		}
		if r := b.Get(env.App.URL + oauthtest.PathPublic); r.Body != "anonymous" {
			t.Errorf("after logout: %q", r.Body)
		}

		// The old cookie, replayed.
		if store == nil {
			// The documented limit of the cookie store: it cannot
			// revoke, so a copy of the cookie lives until it expires.
			signedIn(t, env, old)
			env.Clock.Advance(oauth.DefaultSessionLifetime)
			signedOut(t, env, old)
		} else {
			signedOut(t, env, old)
		}
	})
}

func TestLogoutCSRF(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Store: oauth.NewMemoryStore()})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}},
		{"Origin": {"https://evil.example"}},
		{"Origin": {"null"}},
	} {
		r := b.Do(http.MethodPost, env.App.URL+"/logout", strings.NewReader(""), h)
		if r.Status != http.StatusForbidden || r.Cookie(oauthtest.SessionCookieName) != nil {
			t.Errorf("logout with %v: %d, cookies %v", h, r.Status, r.Cookies)
		}
		if errs := env.Errors(); len(errs) != 1 || !errors.Is(errs[0], oauth.ErrCrossOrigin) {
			t.Errorf("errors %v", errs)
		}
	}
	if r := b.Get(env.App.URL + oauthtest.PathMe); r.Body != "sub:alice" {
		t.Fatalf("refused logouts logged out: %d %q", r.Status, r.Body)
	}
	// A non-browser client (no Origin, no Sec-Fetch-Site) is not a CSRF
	// vector and may log out.
	if r := b.Do(http.MethodPost, env.App.URL+"/logout", strings.NewReader(""), nil); r.Status != http.StatusOK {
		t.Errorf("plain logout: %d", r.Status)
	}
}

func TestLogoutWithoutEndSession(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) {
		c.SkipEndSession = true
		c.PostLogoutPath = "/public"
	}})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	rs := env.Logout(b)
	if rs[0].Header.Get("Location") != "/public" || oauthtest.Last(rs).Body != "anonymous" {
		t.Errorf("logout: %q then %q", rs[0].Header.Get("Location"), oauthtest.Last(rs).Body)
	}
	if env.IdP.OAuthStats().EndSessions != 0 {
		t.Error("end_session_endpoint used although skipped")
	}
	// Logout without a session just redirects.
	if r := env.Logout(b)[0]; r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/public" {
		t.Errorf("logout without session: %d %q", r.Status, r.Header.Get("Location"))
	}
}

func TestNoSessionFixation(t *testing.T) {
	t.Parallel()
	store := oauth.NewMemoryStore()
	env := oauthtest.Start(t, oauthtest.Options{Store: store})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	first := env.SessionCookies(b)
	env.Login(b, "/me") // signing in again, with the session cookie present
	second := env.SessionCookies(b)
	if first[0].Value == second[0].Value {
		t.Fatal("a new login kept the session ID")
	}
	signedOut(t, env, first) // the previous session ended
	signedIn(t, env, second)
	if store.Len() != 1 {
		t.Errorf("store has %d sessions, want 1", store.Len())
	}
	// A session ID planted by an attacker is never adopted: an unknown ID
	// is no session, and the login replaces it.
	planted := []*http.Cookie{{Name: oauthtest.SessionCookieName, Value: strings.Repeat("A", 43)}}
	victim := env.NewBrowser(t)
	u, _ := url.Parse(env.App.URL)
	victim.Jar.SetCookies(u, []*http.Cookie{{Name: planted[0].Name, Value: planted[0].Value, Secure: true, Path: "/"}})
	env.Login(victim, "/me")
	if got := env.SessionCookies(victim)[0].Value; got == planted[0].Value {
		t.Error("login adopted a planted session ID")
	}
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	cs := env.SessionCookies(b)

	// A second Flow of the same application (issuer, client, redirect
	// URL) with a new key first and the old one second opens the old
	// cookie; one without the old key does not.
	newKey := oauth.GenerateKey()
	for _, tt := range []struct {
		name string
		keys [][]byte
		ok   bool
	}{
		{"new key first, old key kept", [][]byte{newKey, env.Keys[0]}, true},
		{"old key dropped", [][]byte{newKey}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other, err := oauth.New(t.Context(), oauth.Config{
				Issuer: env.IdP.Issuer(), ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
				RedirectURL: env.App.URL + "/callback", Keys: tt.keys, CookieName: oauth.DefaultCookieName,
				HTTPClient: env.IdP.Client(), Now: env.Clock.Now,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			req := httptest.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathPublic, nil)
			req.Header = oauthtest.WithCookies(cs)
			_, err = other.Session(httptest.NewRecorder(), req)
			if got := err == nil; got != tt.ok {
				t.Errorf("old cookie under %s: Session() error = %v", tt.name, err)
			}
		})
	}
}

func TestParallelLogins(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	b := env.NewBrowser(t)
	// Two tabs start a login; the second finishes first.
	cbA := begin(t, env, b, "/me?tab=a")
	cbB := begin(t, env, b, "/me?tab=b")
	if r := b.Get(cbB); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/me?tab=b" {
		t.Fatalf("tab B: %d %q", r.Status, r.Header.Get("Location"))
	}
	if r := b.Get(cbA); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/me?tab=a" {
		t.Fatalf("tab A: %d %q %s", r.Status, r.Header.Get("Location"), r.Body)
	}

	// At most MaxTransactions (5) logins in flight: the oldest goes.
	var cbs []string
	for i := range 6 {
		cbs = append(cbs, begin(t, env, b, "/me?n="+string(rune('0'+i))))
	}
	u, _ := url.Parse(env.App.URL)
	n := 0
	for _, c := range b.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "__Host-oidcauth-tx-") {
			n++
		}
	}
	if n != oauth.DefaultMaxTransactions {
		t.Errorf("%d transaction cookies, want %d", n, oauth.DefaultMaxTransactions)
	}
	if r := b.Get(cbs[0]); r.Status != http.StatusBadRequest {
		t.Errorf("evicted login: %d", r.Status)
	}
	if r := b.Get(cbs[5]); r.Status != http.StatusSeeOther {
		t.Errorf("newest login: %d", r.Status)
	}
}

func TestLargeSessionChunks(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		// A large claim makes the ID token (and the cookie) large.
		big := strings.Repeat("g", 5000)
		env := oauthtest.Start(t, oauthtest.Options{Store: store, Settings: oidctest.OAuthSettings{
			UserClaims: map[string]any{"groups": big}}})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		cs := env.SessionCookies(b)
		if store != nil {
			if len(cs) != 1 || len(cs[0].Value) != 43 {
				t.Errorf("server-side store: cookies %d, value length %d", len(cs), len(cs[0].Value))
			}
			return
		}
		if len(cs) != 3 {
			t.Fatalf("%d chunks, want 3", len(cs))
		}
		total := 0
		for _, c := range cs {
			if len(c.Name)+len(c.Value) > 4096 {
				t.Errorf("chunk %s has %d bytes", c.Name, len(c.Name)+len(c.Value))
			}
			total += len(c.Value)
		}
		t.Logf("large session: %d bytes in %d cookies", total, len(cs))
		signedIn(t, env, cs)
		// Missing a chunk: no session.
		signedOut(t, env, cs[:2])
		signedOut(t, env, []*http.Cookie{cs[0], cs[2]})
		// A smaller session later deletes the extra chunks.
		env.IdP.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
		r := b.Walk(env.App.URL + "/login?next=/me")
		cb := r[2]
		for _, name := range []string{oauthtest.SessionCookieName + ".1", oauthtest.SessionCookieName + ".2"} {
			if c := cb.Cookie(name); c == nil || c.MaxAge >= 0 {
				t.Errorf("stale chunk %s not deleted: %+v", name, c)
			}
		}
		if got := env.SessionCookies(b); len(got) != 1 {
			t.Errorf("%d cookies after a smaller login", len(got))
		}
	})
}

func TestSessionTooLarge(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{
		UserClaims: map[string]any{"groups": strings.Repeat("g", 12000)}}})
	b := env.NewBrowser(t)
	r := b.Get(begin(t, env, b, "/me"))
	wantFailure(t, env, r, http.StatusInternalServerError, oauth.ErrSessionTooLarge)
}

// TestCookieSizes measures the session cookie of a typical login: an ES256
// or RS256 provider, an ID token with name and email, an access token and
// a refresh token. Run with -v to see the numbers.
func TestCookieSizes(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "RS256"} {
		env := oauthtest.Start(t, oauthtest.Options{Algorithm: alg, Settings: oidctest.OAuthSettings{
			UserClaims: map[string]any{"name": "Alice Example", "email": "alice@example.com", "email_verified": true}}})
		b := env.NewBrowser(t)
		rs := env.Login(b, "/me")
		var header strings.Builder
		for _, c := range rs[2].Cookies {
			if c.Name == oauthtest.SessionCookieName {
				header.WriteString(c.String())
				t.Logf("%s: session cookie value %d bytes (name+value %d); Set-Cookie header %d bytes",
					alg, len(c.Value), len(c.Name)+len(c.Value)+1, len(c.String()))
				if len(c.Value) > 3800 {
					t.Errorf("%s: a typical session needs more than one cookie", alg)
				}
			}
		}
		for _, c := range rs[0].Cookies {
			t.Logf("%s: transaction cookie value %d bytes", alg, len(c.Value))
		}
	}
}
