package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
)

// TestOAuthLogin runs package oauth's whole login flow against the provider
// with a scripted browser (a cookie jar following redirects): protected page,
// login, the provider's login and consent, callback, session. Then the
// session's access token is accepted by an Authorizer and, as a bearer token,
// by Flow.Required; the Flow refreshes the tokens when the access token is
// due; logout ends the session.
func TestOAuthLogin(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()
	api := resource("RS256") // web-client's default resource

	authz := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{api}, TokenType: "at+jwt"})

	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	t.Cleanup(app.Close)
	clock := &offsetClock{}
	flow, err := oauth.New(ctx, oauth.Config{
		Issuer:       p.Issuer,
		ClientID:     webClient,
		ClientSecret: webSecret,
		RedirectURL:  app.URL + "/callback", // any loopback port is accepted for this native client
		Keys:         [][]byte{oauth.GenerateKey()},
		Scopes:       []string{"openid", "offline_access", "email", "read", "write"},
		// oidc-provider drops offline_access (so no refresh token) unless
		// consent is prompted for (OpenID Connect Core 1.0 §11).
		AuthParams:     map[string]string{"prompt": "consent", "login_hint": "alice"},
		Authorizer:     authz,
		SkipEndSession: true,
		Now:            clock.Now,
		Logger:         testLogger(t),
	})
	if err != nil {
		t.Fatalf("oauth.New() error = %v", err)
	}
	t.Cleanup(func() { flow.Close() })

	type seen struct {
		sub, email, accessToken, refreshToken, idToken string
	}
	pages := make(chan seen, 1)
	mux.Handle("GET /login", flow.LoginHandler())
	mux.Handle("GET /callback", flow.CallbackHandler())
	mux.Handle("POST /logout", flow.LogoutHandler())
	mux.Handle("GET /account", flow.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := oidcauth.ClaimsFromContext(r.Context())
		s, sok := oauth.SessionFromContext(r.Context())
		if !ok || !sok {
			http.Error(w, "no claims or session", http.StatusInternalServerError)
			return
		}
		var extra struct {
			Email string `json:"email"`
		}
		c.Decode(&extra) //nolint:errcheck // checked through the value
		select {
		case pages <- seen{c.Subject, extra.Email, s.AccessToken, s.RefreshToken, s.IDToken}:
		default:
		}
		fmt.Fprintf(w, "account of %s", c.Subject)
	})))
	mux.Handle("GET /api/me", flow.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		_, viaSession := oauth.SessionFromContext(r.Context())
		fmt.Fprintf(w, "%s session=%t", c.Subject, viaSession)
	})))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	visit := func(what string) (int, string, seen) {
		t.Helper()
		resp, err := browser.Get(app.URL + "/account")
		if err != nil {
			t.Fatalf("%s: GET /account: %v\nprovider output:\n%s", what, err, p.logs.String())
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var s seen
		select {
		case s = <-pages:
		default:
		}
		return resp.StatusCode, string(body), s
	}

	// Login: /account -> /login -> provider (login, consent) -> /callback -> /account.
	code, body, s := visit("login")
	if code != http.StatusOK || body != "account of alice" {
		t.Fatalf("after login, GET /account = %d %q, want 200 \"account of alice\"\nprovider output:\n%s", code, body, p.logs.String())
	}
	if s.sub != "alice" || s.email != "alice@interop.test" || s.accessToken == "" || s.refreshToken == "" || s.idToken == "" {
		t.Fatalf("session: sub %q, email %q, access token %t, refresh token %t, ID token %t",
			s.sub, s.email, s.accessToken != "", s.refreshToken != "", s.idToken != "")
	}
	c, err := authz.Validate(ctx, s.accessToken)
	if err != nil || c.Subject != "alice" || c.ClientID != webClient {
		t.Fatalf("Validate(session's access token) = %+v, %v; want alice's token for %s", c, err, webClient)
	}

	// The same access token as a bearer token from another client, and the
	// ID token, which Flow.Required hands to the Authorizer (at+jwt).
	bearer := func(tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := bearer(s.accessToken); code != http.StatusOK || body != "alice session=false" {
		t.Errorf("Required(bearer access token) = %d %q, want 200 \"alice session=false\"", code, body)
	}
	if code, _ := bearer(s.idToken); code != http.StatusUnauthorized {
		t.Errorf("Required(bearer ID token) = %d, want 401", code)
	}
	if resp, err := browser.Get(app.URL + "/api/me"); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != "alice session=true" {
			t.Errorf("Required(session cookie) = %d %q, want 200 \"alice session=true\"", resp.StatusCode, b)
		}
	}

	// Refresh: move the Flow's clock to when the access token (10 minutes)
	// is due; the next request refreshes it at the provider.
	clock.Set(10 * time.Minute)
	code, body, r := visit("refresh")
	clock.Set(0)
	if code != http.StatusOK || body != "account of alice" {
		t.Fatalf("after refresh, GET /account = %d %q", code, body)
	}
	if r.accessToken == "" || r.accessToken == s.accessToken || r.sub != "alice" {
		t.Fatalf("the session was not refreshed: new access token %t, sub %q", r.accessToken != s.accessToken, r.sub)
	}
	if c, err := authz.Validate(ctx, r.accessToken); err != nil || c.Subject != "alice" {
		t.Errorf("Validate(refreshed access token) = %+v, %v", c, err)
	}
	// The refreshed session keeps working without another refresh.
	if code, body, _ := visit("after refresh"); code != http.StatusOK || body != "account of alice" {
		t.Errorf("GET /account after the refresh = %d %q", code, body)
	}

	// Logout ends the session: /account sends the browser to the login again.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout = %d, want 303", resp.StatusCode)
	}
	resp, err = noFollow.Get(app.URL + "/account")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/login") && !strings.HasPrefix(loc, app.URL+"/login") {
		t.Errorf("GET /account after logout = %d Location %q, want 302 to the login", resp.StatusCode, loc)
	}
	if _, err := flow.Session(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Session(no cookie) error = %v, want ErrNoSession", err)
	}
}
