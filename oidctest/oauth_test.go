package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

const (
	testRedirect = "https://app.example/callback"
	testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" // RFC 7636 Appendix B
)

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthProvider(t *testing.T, s oidctest.OAuthSettings) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.MustRegisterClient(t, oidctest.Client{ID: "app", Secret: "s3cret", RedirectURIs: []string{testRedirect},
		PostLogoutRedirectURIs: []string{"https://app.example/"}, Audience: "api"})
	p.MustRegisterClient(t, oidctest.Client{ID: "spa", RedirectURIs: []string{testRedirect}})
	p.SetOAuth(s)
	return p
}

func authParams(client string) url.Values {
	return url.Values{"client_id": {client}, "redirect_uri": {testRedirect}, "response_type": {"code"},
		"scope": {"openid offline_access"}, "state": {"st"}, "nonce": {"no"},
		"code_challenge": {challenge(testVerifier)}, "code_challenge_method": {"S256"}}
}

// authorize returns the authorization response's query.
func authorize(t *testing.T, p *oidctest.Provider, q url.Values) url.Values {
	t.Helper()
	r := get(t, noRedirectClient(p), p.AuthorizationEndpoint()+"?"+q.Encode())
	if r.status != http.StatusFound {
		t.Fatalf("authorize: %d %s", r.status, r.body)
	}
	u, _ := url.Parse(r.header.Get("Location"))
	if !strings.HasPrefix(u.String(), testRedirect+"?") {
		t.Fatalf("authorize redirected to %s", u)
	}
	return u.Query()
}

type tokenResponse struct {
	status int
	body   map[string]any
	header http.Header
}

func token(t *testing.T, p *oidctest.Provider, form url.Values, basic ...string) tokenResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.TokenEndpoint(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	resp, err := p.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return tokenResponse{resp.StatusCode, body, resp.Header}
}

func codeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect}, "code_verifier": {testVerifier}}
}

func claimsOf(t *testing.T, tok any) map[string]any {
	t.Helper()
	s, _ := tok.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %v", tok)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return decodeJSON(t, b)
}

func TestOAuthDiscovery(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	if _, ok := p.DiscoveryDocument()["end_session_endpoint"]; ok {
		t.Error("OAuth members before any client is registered")
	}
	if r := get(t, p.Client(), p.AuthorizationEndpoint()); r.status != http.StatusNotFound {
		t.Errorf("authorization endpoint before registration: %d", r.status)
	}
	p.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{testRedirect}})
	doc := p.DiscoveryDocument()
	if doc["end_session_endpoint"] != p.EndSessionEndpoint() || doc["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("discovery %v", doc)
	}
	p.SetOAuth(oidctest.OAuthSettings{OmitIssParameter: true})
	if _, ok := p.DiscoveryDocument()["authorization_response_iss_parameter_supported"]; ok {
		t.Error("iss parameter still advertised")
	}
	for _, bad := range []oidctest.Client{{}, {ID: "x"}, {ID: "x", RedirectURIs: []string{"/relative"}}} {
		if err := p.RegisterClient(bad); err == nil {
			t.Errorf("RegisterClient(%+v) succeeded", bad)
		}
	}
}

func TestOAuthCodeFlow(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice", UserClaims: map[string]any{"email": "a@example.com"}})
	q := authorize(t, p, authParams("app"))
	if q.Get("state") != "st" || q.Get("iss") != p.Issuer() || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}
	tr := token(t, p, codeForm(q.Get("code")), "app", "s3cret")
	if tr.status != 200 || tr.body["token_type"] != "Bearer" || tr.body["refresh_token"] == nil || tr.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token: %d %v", tr.status, tr.body)
	}
	id := claimsOf(t, tr.body["id_token"])
	if id["sub"] != "alice" || id["aud"] != "app" || id["azp"] != "app" || id["nonce"] != "no" || id["iss"] != p.Issuer() ||
		id["email"] != "a@example.com" || id["at_hash"] == nil || id["auth_time"] == nil {
		t.Errorf("ID token claims %v", id)
	}
	at := claimsOf(t, tr.body["access_token"])
	if at["aud"] != "api" || at["client_id"] != "app" || at["scope"] != "openid offline_access" {
		t.Errorf("access token claims %v", at)
	}

	// The code works once; its second use also revokes what it gave.
	if r := token(t, p, codeForm(q.Get("code")), "app", "s3cret"); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %v", r.status, r.body)
	}
	rt := tr.body["refresh_token"].(string)
	if r := token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "app", "s3cret"); r.status != 400 {
		t.Errorf("refresh token survived the code's reuse: %d", r.status)
	}
	st := p.OAuthStats()
	if st.Authorizations != 1 || st.CodeGrants != 1 || st.TokenErrors != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestOAuthTokenEndpointChecks(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	fresh := func() string { return authorize(t, p, authParams("app")).Get("code") }
	for _, tt := range []struct {
		name   string
		form   func(code string) url.Values
		basic  []string
		status int
		err    string
	}{
		{"wrong secret", codeForm, []string{"app", "nope"}, 401, "invalid_client"},
		{"no client authentication", codeForm, nil, 401, "invalid_client"},
		{"wrong verifier", func(c string) url.Values {
			f := codeForm(c)
			f.Set("code_verifier", strings.Repeat("a", 43))
			return f
		}, []string{"app", "s3cret"}, 400, "invalid_grant"},
		{"no verifier", func(c string) url.Values { f := codeForm(c); f.Del("code_verifier"); return f }, []string{"app", "s3cret"}, 400, "invalid_grant"},
		{"other redirect_uri", func(c string) url.Values { f := codeForm(c); f.Set("redirect_uri", "https://x/"); return f }, []string{"app", "s3cret"}, 400, "invalid_grant"},
		{"other client's code", codeForm, []string{"spa", ""}, 401, "invalid_client"},
		{"repeated parameter", func(c string) url.Values { f := codeForm(c); f.Add("code", c); return f }, []string{"app", "s3cret"}, 400, "invalid_request"},
		{"unknown grant", func(string) url.Values { return url.Values{"grant_type": {"password"}} }, []string{"app", "s3cret"}, 400, "unsupported_grant_type"},
		{"client_secret_post works", func(c string) url.Values {
			f := codeForm(c)
			f.Set("client_id", "app")
			f.Set("client_secret", "s3cret")
			return f
		}, nil, 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := token(t, p, tt.form(fresh()), tt.basic...)
			if r.status != tt.status || (tt.err != "" && r.body["error"] != tt.err) {
				t.Errorf("%d %v, want %d %s", r.status, r.body, tt.status, tt.err)
			}
		})
	}
	t.Run("public client", func(t *testing.T) {
		code := authorize(t, p, authParams("spa")).Get("code")
		f := codeForm(code)
		f.Set("client_id", "spa")
		if r := token(t, p, f); r.status != 200 {
			t.Errorf("public client: %d %v", r.status, r.body)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		now := time.Now()
		p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: func() time.Time { return now }})
		p.MustRegisterClient(t, oidctest.Client{ID: "app", Secret: "s", RedirectURIs: []string{testRedirect}})
		p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
		code := authorize(t, p, authParams("app")).Get("code")
		now = now.Add(2 * time.Minute)
		if r := token(t, p, codeForm(code), "app", "s"); r.status != 400 {
			t.Errorf("expired code: %d", r.status)
		}
	})
}

func TestOAuthRefresh(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	tr := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret")
	rt := tr.body["refresh_token"].(string)
	refresh := func(rt string) tokenResponse {
		return token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "app", "s3cret")
	}
	r := refresh(rt)
	if r.status != 200 || r.body["refresh_token"] == rt || r.body["id_token"] == nil {
		t.Fatalf("refresh: %d %v", r.status, r.body)
	}
	if id := claimsOf(t, r.body["id_token"]); id["nonce"] != nil || id["sub"] != "alice" {
		t.Errorf("refreshed ID token %v", id)
	}
	if r := refresh(rt); r.status != 400 {
		t.Errorf("rotated refresh token reused: %d", r.status)
	}
	next := r.body["refresh_token"].(string)
	if r := token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next}, "scope": {"admin"}}, "app", "s3cret"); r.body["error"] != "invalid_scope" {
		t.Errorf("scope widening: %v", r.body)
	}
	p.RevokeTokens()
	if r := refresh(next); r.status != 400 {
		t.Errorf("refresh after RevokeTokens: %d", r.status)
	}
	if st := p.OAuthStats(); st.RefreshGrants != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestOAuthTokenFault(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	code := authorize(t, p, authParams("app")).Get("code")
	p.SetTokenFault(&oidctest.Fault{Status: 503})
	if r := token(t, p, codeForm(code), "app", "s3cret"); r.status != 503 || r.body["error"] != "temporarily_unavailable" {
		t.Errorf("faulted: %d %v", r.status, r.body)
	}
	p.SetTokenFault(nil)
	if r := token(t, p, codeForm(code), "app", "s3cret"); r.status != 200 {
		t.Errorf("the fault consumed the code: %d %v", r.status, r.body)
	}
}

func TestOAuthAuthorizeErrors(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	c := noRedirectClient(p)
	for _, tt := range []struct {
		name   string
		change func(url.Values)
		status int
		err    string
	}{
		{"unknown client", func(q url.Values) { q.Set("client_id", "x") }, 400, ""},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, 400, ""},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, 302, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, 302, "invalid_request"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, 302, "unsupported_response_type"},
		{"repeated state", func(q url.Values) { q.Add("state", "x") }, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams("app")
			tt.change(q)
			r := get(t, c, p.AuthorizationEndpoint()+"?"+q.Encode())
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.err != "" {
				u, _ := url.Parse(r.header.Get("Location"))
				if u.Query().Get("error") != tt.err || u.Query().Get("state") != "st" || u.Query().Get("iss") != p.Issuer() {
					t.Errorf("error response %s", u)
				}
			}
		})
	}
	p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice", AuthorizeError: "access_denied"})
	r := get(t, c, p.AuthorizationEndpoint()+"?"+authParams("app").Encode())
	if u, _ := url.Parse(r.header.Get("Location")); u.Query().Get("error") != "access_denied" {
		t.Errorf("AuthorizeError: %s", u)
	}
}

func TestOAuthLoginForm(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{})
	c := noRedirectClient(p)
	r := get(t, c, p.AuthorizationEndpoint()+"?"+authParams("app").Encode())
	if r.status != 200 || !strings.Contains(string(r.body), `name="login_subject"`) || !strings.Contains(string(r.body), `name="code_challenge"`) {
		t.Fatalf("login form: %d %s", r.status, r.body)
	}
	form := authParams("app")
	form.Set("login_subject", "bob")
	resp, err := c.PostForm(p.AuthorizationEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	tr := token(t, p, codeForm(loc.Query().Get("code")), "app", "s3cret")
	if id := claimsOf(t, tr.body["id_token"]); id["sub"] != "bob" {
		t.Errorf("signed in as %v", id["sub"])
	}
}

func TestOAuthEndSession(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	tr := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret")
	hint := tr.body["id_token"].(string)
	c := noRedirectClient(p)
	q := url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example/"}, "state": {"x"}}
	r := get(t, c, p.EndSessionEndpoint()+"?"+q.Encode())
	if r.status != 302 || r.header.Get("Location") != "https://app.example/?state=x" {
		t.Errorf("end session: %d %q", r.status, r.header.Get("Location"))
	}
	q.Set("post_logout_redirect_uri", "https://evil.example/")
	if r := get(t, c, p.EndSessionEndpoint()+"?"+q.Encode()); r.status != 400 {
		t.Errorf("unregistered post_logout_redirect_uri: %d", r.status)
	}
	if r := get(t, c, p.EndSessionEndpoint()); r.status != 200 {
		t.Errorf("end session without parameters: %d", r.status)
	}
	if n := p.OAuthStats().EndSessions; n != 3 {
		t.Errorf("EndSessions = %d", n)
	}
}

// The end-session endpoint takes the parameters as a POST form too
// (RP-Initiated Logout 1.0 §2), counts POSTs and hints in URLs, and
// refuses other methods.
func TestOAuthEndSessionPost(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	tr := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret")
	c := noRedirectClient(p)
	form := url.Values{"id_token_hint": {tr.body["id_token"].(string)}, "client_id": {"app"}, "post_logout_redirect_uri": {"https://app.example/"}}
	resp, err := c.PostForm(p.EndSessionEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://app.example/" {
		t.Errorf("end session by POST: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form.Set("client_id", "spa") // the hint was not issued to spa
	if resp, err = c.PostForm(p.EndSessionEndpoint(), form); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("POST with another client's hint: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPut, p.EndSessionEndpoint(), nil)
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("PUT: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if r := get(t, c, p.EndSessionEndpoint()+"?"+form.Encode()); r.status != 400 {
		t.Errorf("GET with another client's hint: %d", r.status)
	}
	if st := p.OAuthStats(); st.EndSessions != 4 || st.EndSessionPOSTs != 2 || st.EndSessionHintsInURL != 1 {
		t.Errorf("OAuthStats() = %+v, want 4 end sessions, 2 POSTs, 1 hint in a URL", st)
	}
}
