package oauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

func TestRequireLoginAnswers(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	anon := env.NewBrowser(t)
	user := env.NewBrowser(t)
	env.Login(user, "/me")
	for _, tt := range []struct {
		name     string
		b        *oauthtest.Browser
		method   string
		header   http.Header
		status   int
		location string
		err      error
	}{
		{name: "navigation", b: anon, method: "GET", status: 302, location: "/login?next=%2Fme%3Fx%3D1"},
		{name: "explicit navigation", b: anon, method: "GET", header: http.Header{"Sec-Fetch-Mode": {"navigate"}}, status: 302, location: "/login?next=%2Fme%3Fx%3D1"},
		{name: "HEAD", b: anon, method: "HEAD", status: 302, location: "/login?next=%2Fme%3Fx%3D1"},
		{name: "fetch from a script", b: anon, method: "GET", header: http.Header{"Sec-Fetch-Mode": {"cors"}}, status: 401, err: oauth.ErrNoSession},
		{name: "POST", b: anon, method: "POST", status: 401, err: oauth.ErrNoSession},
		{name: "signed in", b: user, method: "GET", status: 200},
		{name: "signed in, same-origin POST", b: user, method: "POST", header: http.Header{"Sec-Fetch-Site": {"same-origin"}}, status: 200},
		{name: "signed in, cross-site POST", b: user, method: "POST", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, status: 403, err: oauth.ErrCrossOrigin},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var body *strings.Reader
			if tt.method == "POST" {
				body = strings.NewReader("")
			}
			var r *oauthtest.Response
			if body != nil {
				r = tt.b.Do(tt.method, env.App.URL+"/me?x=1", body, tt.header)
			} else {
				r = tt.b.Do(tt.method, env.App.URL+"/me?x=1", nil, tt.header)
			}
			if r.Status != tt.status || r.Header.Get("Location") != tt.location {
				t.Errorf("%d Location %q, want %d %q", r.Status, r.Header.Get("Location"), tt.status, tt.location)
			}
			errs := env.Errors()
			if tt.err == nil && len(errs) != 0 || tt.err != nil && (len(errs) != 1 || !errors.Is(errs[0], tt.err)) {
				t.Errorf("errors %v, want %v", errs, tt.err)
			}
		})
	}
}

func TestMaybeLoginCrossOrigin(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	r := b.Do(http.MethodPost, env.App.URL+oauthtest.PathPublic, strings.NewReader(""), http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if r.Status != http.StatusOK || r.Body != "anonymous" {
		t.Errorf("cross-site POST to a MaybeLogin page: %d %q, want it served as anonymous", r.Status, r.Body)
	}
}

func TestRequiredBearerOrSession(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Authorizer: true})
	user := env.NewBrowser(t)
	env.Login(user, "/me")
	anon := env.NewBrowser(t)
	token := env.IdP.MustMint(t, map[string]any{"sub": "bob", "aud": oauthtest.Audience})
	wrongAud := env.IdP.MustMint(t, map[string]any{"sub": "bob", "aud": "other"})

	for _, tt := range []struct {
		name      string
		b         *oauthtest.Browser
		header    http.Header
		status    int
		body      string
		challenge string
	}{
		{name: "bearer", b: anon, header: http.Header{"Authorization": {"Bearer " + token}}, status: 200, body: "sub:bob session:false"},
		{name: "session", b: user, status: 200, body: "sub:alice session:true"},
		{name: "bearer wins over session", b: user, header: http.Header{"Authorization": {"Bearer " + token}}, status: 200, body: "sub:bob session:false"},
		{name: "invalid bearer is not downgraded to the session", b: user, header: http.Header{"Authorization": {"Bearer " + wrongAud}}, status: 401, challenge: `error="invalid_token"`},
		{name: "malformed header", b: user, header: http.Header{"Authorization": {"Bearer a b"}}, status: 400, challenge: `error="invalid_request"`},
		{name: "neither", b: anon, status: 401, challenge: `Bearer realm="test-api"`},
		{name: "Basic is no bearer token", b: user, header: http.Header{"Authorization": {"Basic YTpi"}}, status: 200, body: "sub:alice session:true"},
		{name: "session, cross-site POST", b: user, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, status: 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			var r *oauthtest.Response
			if tt.header.Get("Sec-Fetch-Site") != "" {
				method = http.MethodPost
				r = tt.b.Do(method, env.App.URL+oauthtest.PathAPI, strings.NewReader(""), tt.header)
			} else {
				r = tt.b.Do(method, env.App.URL+oauthtest.PathAPI, nil, tt.header)
			}
			if r.Status != tt.status || (tt.body != "" && r.Body != tt.body) {
				t.Errorf("%d %q, want %d %q", r.Status, r.Body, tt.status, tt.body)
			}
			if got := r.Header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) || (tt.challenge == "" && got != "") {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", got, tt.challenge)
			}
		})
	}
}

func TestClaimsFromSession(t *testing.T) {
	t.Parallel()
	var got *oidcauth.Claims
	var session *oauth.Session
	env := oauthtest.Start(t, oauthtest.Options{})
	h := env.Flow.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = oidcauth.ClaimsFromContext(r.Context())
		session, _ = oauth.SessionFromContext(r.Context())
	}))
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header = oauthtest.WithCookies(env.SessionCookies(b))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got == nil || session == nil {
		t.Fatal("no claims or no session in the context")
	}
	if got.Issuer != env.IdP.Issuer() || got.Subject != "alice" || len(got.Audience) != 1 || got.Audience[0] != oauthtest.ClientID ||
		got.ExpiresAt.IsZero() || got.IssuedAt.IsZero() {
		t.Errorf("claims %+v", got)
	}
	var raw struct {
		Nonce string `json:"nonce"`
		Azp   string `json:"azp"`
	}
	if err := got.Decode(&raw); err != nil || raw.Nonce == "" || raw.Azp != oauthtest.ClientID {
		t.Errorf("Raw claims: %s (%v)", got.Raw, err)
	}
	if session.AccessToken == "" || session.RefreshToken == "" || session.IDToken == "" || session.AccessTokenExpiry.IsZero() ||
		session.ExpiresAt.Sub(session.CreatedAt) != oauth.DefaultSessionLifetime {
		t.Errorf("session %+v", session)
	}
}
