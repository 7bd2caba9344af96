package oauth_test

import (
	"context"
	"encoding/base64"
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

// bcEnv is an application with a MemoryStore (or store) whose sessions
// carry sid "sid-1", and its back-channel logout handler.
type bcEnv struct {
	*oauthtest.Env
	h http.Handler
}

func startBC(t *testing.T, store oauth.Store) *bcEnv {
	t.Helper()
	if store == nil {
		store = oauth.NewMemoryStore()
	}
	env := oauthtest.Start(t, oauthtest.Options{Store: store,
		Settings: oidctest.OAuthSettings{IDTokenClaims: map[string]any{"sid": "sid-1"}}})
	h, err := env.Flow.BackChannelLogoutHandler()
	if err != nil {
		t.Fatalf("BackChannelLogoutHandler() error = %v", err)
	}
	return &bcEnv{Env: env, h: h}
}

func (e *bcEnv) post(t *testing.T, body, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

func (e *bcEnv) postToken(t *testing.T, tok string) *httptest.ResponseRecorder {
	return e.post(t, url.Values{"logout_token": {tok}}.Encode(), "application/x-www-form-urlencoded")
}

func (e *bcEnv) mint(t *testing.T, lt oidctest.LogoutToken) string {
	t.Helper()
	if lt.Audience == "" {
		lt.Audience = oauthtest.ClientID
	}
	tok, err := e.IdP.MintLogoutToken(lt)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func bcSignedIn(t *testing.T, e *bcEnv, b *oauthtest.Browser) bool {
	t.Helper()
	r := b.Get(e.App.URL + oauthtest.PathMe)
	return r.Status == http.StatusOK
}

func TestBackChannelLogoutRefusesCookieStore(t *testing.T) {
	env := oauthtest.Start(t, oauthtest.Options{})
	if h, err := env.Flow.BackChannelLogoutHandler(); err == nil || h != nil {
		t.Fatalf("BackChannelLogoutHandler() with the cookie store = %v, %v; want an error", h, err)
	}
}

// Each line of the back-channel logout order (Flow.BackChannelLogoutHandler,
// and oauth/doc.go) refuses with 400 invalid_request and keeps the session.
func TestBackChannelLogoutRefusals(t *testing.T) {
	e := startBC(t, nil)
	b := e.NewBrowser(t)
	e.Login(b, oauthtest.PathMe)
	otherKey, err := e.IdP.AddUnpublishedKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	hs := func() string { // an HS256 header over a valid payload
		tok := e.mint(t, oidctest.LogoutToken{SID: "sid-1"})
		parts := strings.Split(tok, ".")
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"logout+jwt"}`)) + "." + parts[1] + "." + parts[2]
	}
	none := func() string {
		tok := e.mint(t, oidctest.LogoutToken{SID: "sid-1"})
		parts := strings.Split(tok, ".")
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
	}
	idToken := e.IdP.MustMint(t, map[string]any{"aud": oauthtest.ClientID, "sub": "alice", "sid": "sid-1", "nonce": "n"})
	replayed := e.mint(t, oidctest.LogoutToken{SID: "sid-other"}) // ends no session
	if w := e.postToken(t, replayed); w.Code != http.StatusOK {
		t.Fatalf("first use of a logout token = %d %s", w.Code, w.Body)
	}
	form := func(tok string) string { return url.Values{"logout_token": {tok}}.Encode() }
	good := e.mint(t, oidctest.LogoutToken{SID: "sid-1"})
	cases := []struct {
		name, body, ctype string
	}{
		{"1 wrong content type", form(good), "application/json"},
		{"1 no logout_token", "x=1", "application/x-www-form-urlencoded"},
		{"1 two logout_tokens", form(good) + "&" + form(good), "application/x-www-form-urlencoded"},
		{"1 body too large", form(good) + "&pad=" + strings.Repeat("a", 70<<10), "application/x-www-form-urlencoded"},
		{"2 not a JWS", form("abc"), ""},
		{"2 encrypted (JWE)", form("a.b.c.d.e"), ""},
		{"2 alg HS256", form(hs()), ""},
		{"2 alg none", form(none()), ""},
		{"2 typ JWT", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Header: map[string]any{"typ": "JWT"}})), ""},
		{"3 another key", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", KeyID: otherKey})), ""},
		{"3 bad signature", form(good[:len(good)-4] + "AAAA"), ""},
		{"3 other iss", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"iss": "https://evil.example"}})), ""},
		{"3 other aud", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Audience: "other-app"})), ""},
		{"3 expired", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"exp": now.Add(-time.Minute)}})), ""},
		{"3 no exp", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"exp": nil}})), ""},
		{"4 no iat", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"iat": nil}})), ""},
		{"4 iat in the future", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"iat": now.Add(time.Hour), "exp": now.Add(2 * time.Hour)}})), ""},
		{"4 iat too old", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"iat": now.Add(-time.Hour)}})), ""},
		{"5 neither sub nor sid", form(e.mint(t, oidctest.LogoutToken{})), ""},
		{"6 no events", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"events": nil}})), ""},
		{"6 events without the member", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"events": map[string]any{"x": map[string]any{}}}})), ""},
		{"6 member not an object", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"events": map[string]any{oauth.BackChannelLogoutEvent: "yes"}}})), ""},
		{"7 nonce", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"nonce": "n"}})), ""},
		{"7 an ID token", form(idToken), ""},
		{"8 no jti", form(e.mint(t, oidctest.LogoutToken{SID: "sid-1", Claims: map[string]any{"jti": nil}})), ""},
		{"8 replayed jti", form(replayed), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := c.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			w := e.post(t, c.body, ct)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"error":"invalid_request"`) {
				t.Errorf("answer = %d %s, want 400 invalid_request", w.Code, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if !bcSignedIn(t, e, b) {
				t.Fatal("the session ended on a refused logout token")
			}
		})
	}
	req := httptest.NewRequest(http.MethodGet, "/backchannel-logout", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", w.Code)
	}
	// And the good token, never used above, works.
	if w := e.postToken(t, good); w.Code != http.StatusOK {
		t.Errorf("valid logout token = %d %s", w.Code, w.Body)
	}
	if bcSignedIn(t, e, b) {
		t.Error("the session survived a valid logout token")
	}
}

// Step 9: sid ends that provider session's sessions; sub alone ends all
// of the subject's; typ may be absent; 200, no-store, empty body.
func TestBackChannelLogoutEndsSessions(t *testing.T) {
	for _, c := range []struct {
		name string
		lt   oidctest.LogoutToken
	}{
		{"sid", oidctest.LogoutToken{SID: "sid-1"}},
		{"sid and sub", oidctest.LogoutToken{SID: "sid-1", Subject: "alice"}},
		{"sub", oidctest.LogoutToken{Subject: "alice"}},
		{"no typ", oidctest.LogoutToken{Subject: "alice", Header: map[string]any{"typ": nil}}},
		{"typ application/logout+jwt", oidctest.LogoutToken{SID: "sid-1", Header: map[string]any{"typ": "application/logout+jwt"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := startBC(t, nil)
			b1, b2 := e.NewBrowser(t), e.NewBrowser(t)
			e.Login(b1, oauthtest.PathMe)
			e.Login(b2, oauthtest.PathMe)
			w := e.postToken(t, e.mint(t, c.lt))
			if w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("answer = %d %q %v, want 200, empty, no-store", w.Code, w.Body, w.Header())
			}
			if bcSignedIn(t, e, b1) || bcSignedIn(t, e, b2) {
				t.Error("a session survived the back-channel logout")
			}
		})
	}
	// Another subject's sessions (another sid) are kept.
	e := startBC(t, nil)
	b := e.NewBrowser(t)
	e.Login(b, oauthtest.PathMe)
	if w := e.postToken(t, e.mint(t, oidctest.LogoutToken{Subject: "bob"})); w.Code != http.StatusOK {
		t.Fatalf("answer = %d", w.Code)
	}
	if w := e.postToken(t, e.mint(t, oidctest.LogoutToken{SID: "sid-2"})); w.Code != http.StatusOK {
		t.Fatalf("answer = %d", w.Code)
	}
	if !bcSignedIn(t, e, b) {
		t.Error("a logout of another subject or sid ended the session")
	}
	// PostLogoutToken delivers like a provider.
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	status, _, err := oidctest.PostLogoutToken(t.Context(), nil, srv.URL, e.mint(t, oidctest.LogoutToken{SID: "sid-1"}))
	if err != nil || status != http.StatusOK || bcSignedIn(t, e, b) {
		t.Errorf("PostLogoutToken() = %d, %v; signed in %v", status, err, bcSignedIn(t, e, b))
	}
}

// failingStore fails revocations while down.
type failingStore struct {
	*oauth.MemoryStore
	down bool
}

func (f *failingStore) RevokeSID(ctx context.Context, iss, sid string) (int, error) {
	if f.down {
		return 0, errors.Join(oauth.ErrStoreUnavailable, errors.New("down"))
	}
	return f.MemoryStore.RevokeSID(ctx, iss, sid)
}

// Step 9: a store failure answers 400 and does not use up the jti, so
// the provider's retry works.
func TestBackChannelLogoutStoreDown(t *testing.T) {
	fs := &failingStore{MemoryStore: oauth.NewMemoryStore(), down: true}
	e := startBC(t, fs)
	b := e.NewBrowser(t)
	e.Login(b, oauthtest.PathMe)
	tok := e.mint(t, oidctest.LogoutToken{SID: "sid-1"})
	if w := e.postToken(t, tok); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "could not be ended") {
		t.Errorf("store down: %d %s, want 400", w.Code, w.Body)
	}
	fs.down = false
	if w := e.postToken(t, tok); w.Code != http.StatusOK {
		t.Errorf("retry: %d %s, want 200", w.Code, w.Body)
	}
	if bcSignedIn(t, e, b) {
		t.Error("the session survived the retried logout")
	}
}
