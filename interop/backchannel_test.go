package interop

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
)

// The provider's back-channel logout client (server.js, with
// --backchannel-logout-uri).
const bcClient, bcSecret = "backchannel-client", "backchannel-secret"

// logoutRecorder sits in front of replica B's back-channel logout handler
// at the provider's backchannel_logout_uri: it keeps every logout token the
// provider POSTs and the answer it got.
type logoutRecorder struct {
	next atomic.Pointer[http.Handler]

	mu       sync.Mutex
	tokens   []string
	statuses []int
}

func (l *logoutRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	v, _ := url.ParseQuery(string(b))
	rec := httptest.NewRecorder()
	h := l.next.Load()
	if h == nil {
		http.Error(w, "no replica yet", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(rec, r)
	l.mu.Lock()
	l.tokens = append(l.tokens, v.Get("logout_token"))
	l.statuses = append(l.statuses, rec.Code)
	l.mu.Unlock()
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck
}

func (l *logoutRecorder) delivered() ([]string, []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tokens...), append([]int(nil), l.statuses...)
}

// TestBackChannelLogoutReplicas: two replicas of an application (two Flows
// on one store), oidc-provider with back-channel logout to replica B (a
// recording proxy in front of it, as a load balancer would be), two
// browsers signed in (two provider sessions, two sids). The first user
// ends the provider session (end_session, "Yes, sign me out", driven with
// the browser's cookies): the provider POSTs one provided logout token, B
// answers 200, and that session is ended on A and on B while the other
// browser's is kept. Then forged logout tokens for the other session —
// signed by another key; with the provider's key but with a nonce, without
// events, for another audience, with the jti already used; the captured
// token replayed; an ID token — are refused with 400 and the session kept
// on both replicas. A control token made the same way (the provider's key,
// a fresh jti) ends it: the refusals are the defects', not the forging's.
func TestBackChannelLogoutReplicas(t *testing.T) {
	t.Parallel()
	rec := &logoutRecorder{}
	lb := httptest.NewServer(rec)
	t.Cleanup(lb.Close)
	p := startProvider(t, providerOptions{args: []string{"--backchannel-logout-uri", lb.URL + "/backchannel-logout"}})
	ctx := context.Background()
	store := oauth.NewMemoryStore()

	muxA := http.NewServeMux()
	appA := httptest.NewServer(muxA)
	t.Cleanup(appA.Close)
	cfg := oauth.Config{
		Issuer:         p.Issuer,
		ClientID:       bcClient,
		ClientSecret:   bcSecret,
		RedirectURL:    appA.URL + "/callback",
		Keys:           [][]byte{oauth.GenerateKey()},
		Scopes:         []string{"openid"},
		AuthParams:     map[string]string{"login_hint": "alice"},
		Store:          store,
		SkipEndSession: true,
		Logger:         testLogger(t),
	}
	account := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "account of %s", c.Subject)
	})
	// The ID token of the session, to post it as a logout token (test only).
	idToken := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := oauth.SessionFromContext(r.Context())
		io.WriteString(w, s.IDToken) //nolint:errcheck
	})
	var urls []string
	var bcB string
	for i, m := range []*http.ServeMux{muxA, http.NewServeMux()} {
		flow, err := oauth.New(ctx, cfg)
		if err != nil {
			t.Fatalf("oauth.New() error = %v", err)
		}
		t.Cleanup(func() { flow.Close() })
		bc, err := flow.BackChannelLogoutHandler()
		if err != nil {
			t.Fatal(err)
		}
		m.Handle("GET /login", flow.LoginHandler())
		m.Handle("GET /callback", flow.CallbackHandler())
		m.Handle("GET /account", flow.RequireLogin(account))
		m.Handle("GET /idtoken", flow.RequireLogin(idToken))
		m.Handle("POST /backchannel-logout", bc)
		if i == 0 {
			urls = append(urls, appA.URL)
			continue
		}
		appB := httptest.NewServer(m)
		t.Cleanup(appB.Close)
		urls = append(urls, appB.URL)
		bcB = appB.URL + "/backchannel-logout"
		rec.next.Store(&bc)
	}

	type browser struct{ follow, page *http.Client }
	newBrowser := func() browser {
		jar, _ := cookiejar.New(nil) // cookies ignore ports: the session goes to both replicas
		return browser{&http.Client{Jar: jar, Timeout: 20 * time.Second},
			&http.Client{Jar: jar, Timeout: 20 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	get := func(c *http.Client, u string) (int, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	// signedIn reports on which replicas b's session is served.
	signedIn := func(b browser) []bool {
		t.Helper()
		var on []bool
		for _, u := range urls {
			resp, err := b.page.Get(u + "/account")
			if err != nil {
				t.Fatalf("GET %s/account: %v", u, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200 && string(body) == "account of alice":
				on = append(on, true)
			case resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "/login"):
				on = append(on, false)
			default:
				t.Fatalf("%s/account: %d %q, want 200 or a redirect to the login", u, resp.StatusCode, body)
			}
		}
		return on
	}
	both := func(on []bool, want bool) bool { return on[0] == want && on[1] == want }

	b1, b2 := newBrowser(), newBrowser()
	for i, b := range []browser{b1, b2} {
		if status, body := get(b.follow, appA.URL+"/account"); status != 200 || body != "account of alice" {
			t.Fatalf("login of browser %d: %d %q", i+1, status, body)
		}
		if on := signedIn(b); !both(on, true) {
			t.Fatalf("browser %d after the login: signed in on A, B = %v", i+1, on)
		}
	}
	_, id1 := get(b1.page, appA.URL+"/idtoken")
	_, id2 := get(b2.page, appA.URL+"/idtoken")
	sid1, _ := payload(t, id1)["sid"].(string)
	sid2, _ := payload(t, id2)["sid"].(string)
	if sid1 == "" || sid2 == "" || sid1 == sid2 {
		t.Fatalf("the ID tokens' sid: %q, %q; want two different ones", sid1, sid2)
	}

	// Browser 1 signs out at the provider: its confirmation form, then
	// "Yes, sign me out" (logout=yes).
	_, page := get(b1.follow, p.Issuer+"/session/end?client_id="+bcClient)
	m := regexp.MustCompile(`name="xsrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no xsrf in the provider's logout page:\n%s", page)
	}
	resp, err := b1.follow.PostForm(p.Issuer+"/session/end/confirm", url.Values{"xsrf": {m[1]}, "logout": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tokens, statuses := rec.delivered()
	if len(tokens) != 1 || statuses[0] != http.StatusOK {
		t.Fatalf("logout tokens delivered: %d, answers %v; want 1, [200]", len(tokens), statuses)
	}
	provided := tokens[0]
	rc := payload(t, provided)
	if rc["sid"] != sid1 || rc["sub"] != "alice" || rc["aud"] != bcClient || rc["jti"] == nil {
		t.Fatalf("the provider's logout token: sid %v sub %v aud %v jti %v; want %s alice %s and a jti", rc["sid"], rc["sub"], rc["aud"], rc["jti"], sid1, bcClient)
	}
	if on := signedIn(b1); !both(on, false) {
		t.Errorf("browser 1 after the provider's logout: signed in on A, B = %v, want neither", on)
	}
	if on := signedIn(b2); !both(on, true) {
		t.Fatalf("browser 2 (another sid) after browser 1's logout: signed in on A, B = %v, want both", on)
	}

	// Forged tokens for browser 2's session.
	forged, control := logoutForgeries(t, p, provided, sid2)
	postLogout := func(tok string) int {
		t.Helper()
		resp, err := http.PostForm(bcB, url.Values{"logout_token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range append(forged, logoutForgery{"an ID token", id2}) {
		if status := postLogout(c.token); status != http.StatusBadRequest {
			t.Errorf("forged logout token %s: %d, want 400", c.name, status)
		}
		if on := signedIn(b2); !both(on, true) {
			t.Fatalf("after the forged logout token %s: browser 2 signed in on A, B = %v, want both", c.name, on)
		}
	}
	// The control: made as the forgeries are, nothing wrong with it.
	if status := postLogout(control); status != http.StatusOK {
		t.Fatalf("a well-formed logout token signed with the provider's key: %d, want 200", status)
	}
	if on := signedIn(b2); !both(on, false) {
		t.Errorf("browser 2 after a valid logout token: signed in on A, B = %v, want neither", on)
	}
	t.Logf("1 logout token from the provider (200; browser 1 ended on A and B, browser 2 kept); 7 forged tokens refused with 400, browser 2 kept on A and B; the control ended browser 2 on A and B")
}

// logoutForgery is a logout token that a back-channel endpoint must refuse.
type logoutForgery struct{ name, token string }

// logoutForgeries makes, from the provider's real logout token provided,
// the forgeries for sid every back-channel endpoint must refuse with 400
// (§2.6): signed by another key; signed with the provider's own key but
// with a nonce, without events, for another audience or with the jti
// already used; and the provided token replayed. control is made the same
// way with nothing wrong, so a refusal of the forgeries is not a refusal
// of everything.
func logoutForgeries(t *testing.T, p *provider, provided, sid string) (forged []logoutForgery, control string) {
	t.Helper()
	h := header(t, provided)
	key := providerSigningKey(t, p, h.KID)
	other := otherRSAKey(t)
	hdr := map[string]any{"alg": "RS256", "kid": h.KID}
	if h.Typ != "" {
		hdr["typ"] = h.Typ
	}
	used := payload(t, provided)["jti"]
	forge := func(change func(c map[string]any)) map[string]any {
		c := payload(t, provided)
		now := time.Now().Unix()
		c["sid"], c["jti"], c["iat"] = sid, randomString(), now
		if _, ok := c["exp"]; ok {
			c["exp"] = now + 120
		}
		if change != nil {
			change(c)
		}
		return c
	}
	forged = []logoutForgery{
		{"signed by another key", signRS256(t, other, hdr, forge(nil))},
		{"with a nonce", signRS256(t, key, hdr, forge(func(c map[string]any) { c["nonce"] = randomString() }))},
		{"without events", signRS256(t, key, hdr, forge(func(c map[string]any) { delete(c, "events") }))},
		{"for another audience", signRS256(t, key, hdr, forge(func(c map[string]any) { c["aud"] = webClient }))},
		{"the jti already used", signRS256(t, key, hdr, forge(func(c map[string]any) { c["jti"] = used }))},
		{"the provider's token replayed", provided},
	}
	return forged, signRS256(t, key, hdr, forge(nil))
}

// providerSigningKey is the provider's private RSA key kid, from its state file
// (server.js --state): the key it signs ID and logout tokens with.
func providerSigningKey(t *testing.T, p *provider, kid string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(p.state)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Keys []struct{ Kid, Kty, N, E, D, P, Q string }
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	num := func(s string) *big.Int {
		v, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("state file: %v", err)
		}
		return new(big.Int).SetBytes(v)
	}
	for _, k := range st.Keys {
		if k.Kid != kid || k.Kty != "RSA" {
			continue
		}
		key := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: num(k.N), E: int(num(k.E).Int64())},
			D:         num(k.D),
			Primes:    []*big.Int{num(k.P), num(k.Q)},
		}
		if err := key.Validate(); err != nil {
			t.Fatalf("the provider's key %s: %v", kid, err)
		}
		key.Precompute()
		return key
	}
	t.Fatalf("no RSA key %q in the provider's state", kid)
	return nil
}

// otherRSAKey is a key the provider never had.
func otherRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signRS256 makes a compact JWS of claims with header, signed by key.
func signRS256(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(header) + "." + enc(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
