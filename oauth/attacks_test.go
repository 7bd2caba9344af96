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

// begin starts a login for next in b and returns the URL the provider
// redirects back to (the callback), without following it.
func begin(t *testing.T, env *oauthtest.Env, b *oauthtest.Browser, next string) string {
	t.Helper()
	login := b.Get(env.App.URL + env.Flow.LoginURL(next))
	if login.Status != http.StatusFound {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	authz := b.Get(login.Location)
	if authz.Status != http.StatusFound || !strings.HasPrefix(authz.Location, env.App.URL+"/callback?") {
		t.Fatalf("authorize: %d %s %s", authz.Status, authz.Location, authz.Body)
	}
	return authz.Location
}

// withParam returns rawURL with query parameter k set to v ("" deletes it).
func withParam(rawURL, k, v string) string {
	u, _ := url.Parse(rawURL)
	q := u.Query()
	if v == "" {
		q.Del(k)
	} else {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func param(rawURL, k string) string {
	u, _ := url.Parse(rawURL)
	return u.Query().Get(k)
}

// wantFailure checks a callback response: status, no session cookie, and
// the error the ErrorHandler got.
func wantFailure(t *testing.T, env *oauthtest.Env, r *oauthtest.Response, status int, want error) {
	t.Helper()
	errs := env.Errors()
	if len(errs) != 1 || !errors.Is(errs[0], want) {
		t.Errorf("ErrorHandler got %v, want one error wrapping %v", errs, want)
	}
	if r.Status != status {
		t.Errorf("callback: status %d, want %d (body %q)", r.Status, status, r.Body)
	}
	if c := r.Cookie(oauthtest.SessionCookieName); c != nil && c.MaxAge >= 0 {
		t.Errorf("callback failed with %d but set a session cookie", r.Status)
	}
	if strings.Contains(r.Body, "code=") || strings.Contains(r.Body, "eyJ") {
		t.Errorf("error page echoes request data: %q", r.Body)
	}
}

func TestCallbackState(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})

	t.Run("missing state", func(t *testing.T) {
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		wantFailure(t, env, b.Get(withParam(cb, "state", "")), http.StatusBadRequest, oauth.ErrInvalidState)
	})
	t.Run("malformed state", func(t *testing.T) {
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		wantFailure(t, env, b.Get(withParam(cb, "state", "x")), http.StatusBadRequest, oauth.ErrInvalidState)
	})
	t.Run("repeated state", func(t *testing.T) {
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		wantFailure(t, env, b.Get(cb+"&state="+url.QueryEscape(param(cb, "state"))), http.StatusBadRequest, oauth.ErrInvalidCallback)
	})
	t.Run("foreign state (login CSRF)", func(t *testing.T) {
		// The attacker completes a login in their browser and sends the
		// victim to the callback with the attacker's code and state.
		attacker := env.NewBrowser(t)
		cb := begin(t, env, attacker, "/me")
		victim := env.NewBrowser(t)
		begin(t, env, victim, "/me") // the victim has a transaction of their own
		wantFailure(t, env, victim.Get(cb), http.StatusBadRequest, oauth.ErrInvalidState)
		if st := env.IdP.OAuthStats(); st.CodeGrants != 0 {
			t.Errorf("the code was redeemed before the state was checked: %+v", st)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		u, _ := url.Parse(env.App.URL)
		saved := b.Jar.Cookies(u) // the transaction cookie, copied before use
		if r := b.Get(cb); r.Status != http.StatusSeeOther {
			t.Fatalf("first callback: %d %s", r.Status, r.Body)
		}
		// Same browser: the transaction cookie is gone.
		wantFailure(t, env, b.Get(cb), http.StatusBadRequest, oauth.ErrInvalidState)
		// An attacker holding the transaction cookie too: the code is spent.
		thief := env.NewBrowser(t)
		thief.Jar.SetCookies(u, saved)
		wantFailure(t, env, thief.Get(cb), http.StatusUnauthorized, oauth.ErrExchange)
	})
	t.Run("tampered transaction cookie", func(t *testing.T) {
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		u, _ := url.Parse(env.App.URL)
		var cs []*http.Cookie
		for _, c := range b.Jar.Cookies(u) {
			c.Value = flip(c.Value, len(c.Value)/2)
			cs = append(cs, c)
		}
		wantFailure(t, env, b.Do(http.MethodGet, cb, nil, oauthtest.WithCookies(cs)), http.StatusBadRequest, oauth.ErrInvalidState)
	})
	t.Run("expired transaction", func(t *testing.T) {
		env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{CodeTTL: time.Hour}})
		b := env.NewBrowser(t)
		cb := begin(t, env, b, "/me")
		env.Clock.Advance(oauth.DefaultTransactionLifetime + time.Second)
		wantFailure(t, env, b.Get(cb), http.StatusBadRequest, oauth.ErrInvalidState)
	})
	t.Run("methods", func(t *testing.T) {
		for _, h := range []struct {
			method, allow string
			handler       http.Handler
		}{
			{http.MethodPost, "GET", env.Flow.CallbackHandler()},
			{http.MethodPost, "GET, HEAD", env.Flow.LoginHandler()},
			{http.MethodGet, "POST", env.Flow.LogoutHandler()},
		} {
			w := httptest.NewRecorder()
			h.handler.ServeHTTP(w, httptest.NewRequest(h.method, "/x", nil))
			if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != h.allow {
				t.Errorf("%s: %d Allow %q, want 405 Allow %q", h.method, w.Code, w.Header().Get("Allow"), h.allow)
			}
		}
	})
}

// flip changes the character at i of a base64url string.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestCodeInjection(t *testing.T) {
	t.Parallel()
	// The attacker's code, issued for the attacker's PKCE challenge and
	// nonce, is injected into the victim's callback with the victim's
	// own (valid) state.
	inject := func(t *testing.T, env *oauthtest.Env) *oauthtest.Response {
		attacker := env.NewBrowser(t)
		stolen := param(begin(t, env, attacker, "/me"), "code")
		victim := env.NewBrowser(t)
		cb := begin(t, env, victim, "/me")
		return victim.Get(withParam(cb, "code", stolen))
	}
	t.Run("PKCE", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		wantFailure(t, env, inject(t, env), http.StatusUnauthorized, oauth.ErrExchange)
		if st := env.IdP.OAuthStats(); st.TokenErrors != 1 || st.CodeGrants != 0 {
			t.Errorf("stats %+v: the provider should have refused the verifier", st)
		}
	})
	t.Run("nonce, provider without PKCE", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{SkipPKCE: true}})
		wantFailure(t, env, inject(t, env), http.StatusUnauthorized, oauth.ErrInvalidIDToken)
		if st := env.IdP.OAuthStats(); st.CodeGrants != 1 {
			t.Errorf("stats %+v: the code should have been redeemed, and the nonce refused", st)
		}
	})
}

func TestIssuerParameter(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	for _, tt := range []struct {
		name, iss string
	}{
		{"another issuer", "https://evil.example"},
		{"trailing slash", env.IdP.Issuer() + "/"},
		{"missing although advertised", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := env.NewBrowser(t)
			cb := begin(t, env, b, "/me")
			wantFailure(t, env, b.Get(withParam(cb, "iss", tt.iss)), http.StatusBadRequest, oauth.ErrIssuerMismatch)
		})
	}
	t.Run("not advertised and absent", func(t *testing.T) {
		env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{OmitIssParameter: true}})
		b := env.NewBrowser(t)
		if r := b.Get(begin(t, env, b, "/me")); r.Status != http.StatusSeeOther {
			t.Errorf("callback without iss: %d %s", r.Status, r.Body)
		}
	})
	t.Run("not advertised but wrong", func(t *testing.T) {
		env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{OmitIssParameter: true}})
		b := env.NewBrowser(t)
		wantFailure(t, env, b.Get(withParam(begin(t, env, b, "/me"), "iss", "https://evil.example")), http.StatusBadRequest, oauth.ErrIssuerMismatch)
	})
}

func TestIDTokenChecks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		claims map[string]any
	}{
		{"wrong nonce", map[string]any{"nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"no nonce", map[string]any{"nonce": nil}},
		{"wrong aud", map[string]any{"aud": "other-app"}},
		{"aud with us and another, no azp", map[string]any{"aud": []string{oauthtest.ClientID, "other"}, "azp": nil}},
		{"azp of another client", map[string]any{"azp": "other-app"}},
		{"wrong iss", map[string]any{"iss": "https://evil.example"}},
		{"expired", map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}},
		{"issued in the future", map[string]any{"iat": time.Now().Add(time.Hour).Unix()}},
		{"no sub", map[string]any{"sub": nil}},
		{"bad at_hash", map[string]any{"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{IDTokenClaims: tt.claims}})
			b := env.NewBrowser(t)
			wantFailure(t, env, b.Get(begin(t, env, b, "/me")), http.StatusUnauthorized, oauth.ErrInvalidIDToken)
		})
	}
	t.Run("accepted: aud array with azp", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{
			IDTokenClaims: map[string]any{"aud": []string{oauthtest.ClientID, "other"}}}})
		env.Login(env.NewBrowser(t), "/me")
	})
	t.Run("signed by an unpublished key", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		kid, err := env.IdP.AddUnpublishedKey("ES256")
		if err != nil {
			t.Fatal(err)
		}
		if err := env.IdP.SetActiveKey(kid); err != nil {
			t.Fatal(err)
		}
		b := env.NewBrowser(t)
		wantFailure(t, env, b.Get(begin(t, env, b, "/me")), http.StatusUnauthorized, oauth.ErrInvalidIDToken)
	})
}

func TestProviderErrorResponse(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{AuthorizeError: "access_denied"}})
	b := env.NewBrowser(t)
	login := b.Get(env.App.URL + "/login")
	authz := b.Get(login.Location)
	if param(authz.Location, "error") != "access_denied" {
		t.Fatalf("provider answered %s", authz.Location)
	}
	wantFailure(t, env, b.Get(authz.Location), http.StatusForbidden, oauth.ErrProviderError)

	// Without a matching transaction the error is a state error, not a
	// provider error: anyone can craft such a URL.
	wantFailure(t, env, b.Get(env.App.URL+"/callback?error=access_denied&state=x"), http.StatusBadRequest, oauth.ErrInvalidState)
}

func TestTokenEndpointDown(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	env.IdP.SetTokenFault(&oidctest.Fault{Status: http.StatusServiceUnavailable, Body: []byte(`{"error":"temporarily_unavailable"}`)})
	b := env.NewBrowser(t)
	r := b.Get(begin(t, env, b, "/me"))
	wantFailure(t, env, r, http.StatusServiceUnavailable, oauth.ErrProviderUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
}
