package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// postLogout posts a same-origin logout without following anything.
func postLogout(b *oauthtest.Browser, env *oauthtest.Env) *oauthtest.Response {
	return b.Do(http.MethodPost, env.App.URL+"/logout", strings.NewReader(""), http.Header{
		"Origin": {env.App.URL}, "Sec-Fetch-Site": {"same-origin"},
	})
}

// idTokenOf returns the ID token of the session the cookies cs carry.
func idTokenOf(t *testing.T, env *oauthtest.Env, cs []*http.Cookie) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, env.App.URL+"/me", nil)
	req.Header = oauthtest.WithCookies(cs)
	s, err := env.Flow.Session(httptest.NewRecorder(), req)
	if err != nil || s.IDToken == "" {
		t.Fatalf("Session() = %v, %v", s, err)
	}
	return s.IDToken
}

// By default the logout answers a page whose form POSTs id_token_hint,
// client_id and post_logout_redirect_uri to the end_session_endpoint
// (RP-Initiated Logout 1.0 §2): the ID token is in no URL, and the page's
// CSP allows only its own script, by hash, and form submissions to the
// provider and back to the application.
func TestLogoutPostsIDTokenHintInForm(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Store: oauth.NewMemoryStore()})
	b := env.NewBrowser(t)
	rs := env.Login(b, "/me")
	idToken := idTokenOf(t, env, env.SessionCookies(b))

	page := postLogout(b, env)
	if page.Status != http.StatusOK || page.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("logout: %d %q", page.Status, page.Header.Get("Content-Type"))
	}
	if c := page.Cookie(oauthtest.SessionCookieName); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not delete the session cookie: %+v", c)
	}
	action, fields := oauthtest.Form(page.Body)
	if action != env.IdP.EndSessionEndpoint() {
		t.Errorf("form action = %q, want %q", action, env.IdP.EndSessionEndpoint())
	}
	want := url.Values{"id_token_hint": {idToken}, "client_id": {oauthtest.ClientID}, "post_logout_redirect_uri": {env.App.URL + "/"}}
	if fields.Encode() != want.Encode() {
		t.Errorf("form fields = %v, want %v", fields, want)
	}

	// The CSP names the hash of the page's one script, and nothing else
	// may run or load.
	i, j := strings.Index(page.Body, "<script>"), strings.Index(page.Body, "</script>")
	if i < 0 || j < i || strings.Count(page.Body, "<script") != 1 {
		t.Fatalf("the page has not exactly one inline script: %q", page.Body)
	}
	sum := sha256.Sum256([]byte(page.Body[i+len("<script>") : j]))
	csp := strings.Split(page.Header.Get("Content-Security-Policy"), "; ")
	idp, _ := url.Parse(env.IdP.Issuer())
	for _, d := range []string{
		"default-src 'none'",
		"script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		"form-action " + idp.Scheme + "://" + idp.Host + " " + env.App.URL,
		"frame-ancestors 'none'",
	} {
		if !slices.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if page.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", page.Header.Get("Cache-Control"))
	}

	// The browser submits the form; the provider sends it home.
	end := b.SubmitForm(page, env.App.URL)
	rs = append(rs, page, end)
	rs = append(rs, b.Walk(end.Location)...)
	if last := oauthtest.Last(rs); last.Status != http.StatusOK || last.Body != "home" {
		t.Errorf("after logout: %d %q at %s", last.Status, last.Body, last.URL)
	}
	if st := env.IdP.OAuthStats(); st.EndSessions != 1 || st.EndSessionPOSTs != 1 || st.EndSessionHintsInURL != 0 {
		t.Errorf("provider saw %+v, want one end-session POST and no hint in a URL", st)
	}
	for _, r := range rs {
		if strings.Contains(r.URL.String(), idToken) || strings.Contains(r.Location, idToken) {
			t.Errorf("the ID token is in the URL or Location of a %d response", r.Status)
		}
	}
	if r := b.Get(env.App.URL + oauthtest.PathPublic); r.Body != "anonymous" {
		t.Errorf("after logout: %q", r.Body)
	}
}

// Config.EndSessionRedirect: a 303 to the end_session_endpoint with
// client_id and post_logout_redirect_uri, never the ID token.
func TestLogoutEndSessionRedirect(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { c.EndSessionRedirect = true }})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	r := postLogout(b, env)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, env.IdP.EndSessionEndpoint()+"?") {
		t.Fatalf("logout: %d %q", r.Status, r.Location)
	}
	q, _ := url.ParseQuery(r.Location[strings.IndexByte(r.Location, '?')+1:])
	want := url.Values{"client_id": {oauthtest.ClientID}, "post_logout_redirect_uri": {env.App.URL + "/"}}
	if q.Encode() != want.Encode() {
		t.Errorf("end-session query = %v, want %v", q, want)
	}
	if last := oauthtest.Last(b.Walk(r.Location)); last.Body != "home" {
		t.Errorf("after logout: %d %q", last.Status, last.Body)
	}
	if st := env.IdP.OAuthStats(); st.EndSessions != 1 || st.EndSessionHintsInURL != 0 {
		t.Errorf("provider saw %+v", st)
	}
}

// Config.InsecureEndSessionHintInURL: the old redirect, ID token in the
// query; it wins over EndSessionRedirect.
func TestLogoutInsecureEndSessionHintInURL(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Store: oauth.NewMemoryStore(), Configure: func(c *oauth.Config) {
		c.InsecureEndSessionHintInURL = true
		c.EndSessionRedirect = true
	}})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	idToken := idTokenOf(t, env, env.SessionCookies(b))
	r := postLogout(b, env)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, env.IdP.EndSessionEndpoint()+"?") {
		t.Fatalf("logout: %d %q", r.Status, r.Location)
	}
	q, _ := url.ParseQuery(r.Location[strings.IndexByte(r.Location, '?')+1:])
	if q.Get("id_token_hint") != idToken || q.Get("client_id") != oauthtest.ClientID {
		t.Errorf("end-session query lacks the hint or client_id")
	}
	if last := oauthtest.Last(b.Walk(r.Location)); last.Body != "home" {
		t.Errorf("after logout: %d %q", last.Status, last.Body)
	}
	if st := env.IdP.OAuthStats(); st.EndSessionHintsInURL != 1 {
		t.Errorf("provider saw %+v, want the hint in the URL", st)
	}
}

// A logout at a Flow that shares the store and cookie name with another
// application's Flow, with that application's session cookie: the session
// is not ended (it belongs to the other Flow), its ID token goes nowhere,
// and the answer is the local redirect.
func TestLogoutLeavesSessionOfAnotherFlow(t *testing.T) {
	t.Parallel()
	store := oauth.NewMemoryStore()
	env := oauthtest.Start(t, oauthtest.Options{Store: store})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	cs := env.SessionCookies(b)
	idToken := idTokenOf(t, env, cs)

	other := flowFor(t, env, store, func(c *oauth.Config) { c.ClientID = "other-app" })
	req := httptest.NewRequest(http.MethodPost, env.App.URL+"/logout", nil)
	req.Header = oauthtest.WithCookies(cs)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	other.LogoutHandler().ServeHTTP(w, req)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Errorf("logout at the other Flow: %d %q, want 303 to /", w.Code, w.Header().Get("Location"))
	}
	if strings.Contains(w.Body.String(), idToken) || strings.Contains(w.Header().Get("Location"), idToken) {
		t.Error("the other Flow sent the session's ID token")
	}
	signedIn(t, env, cs)
}
