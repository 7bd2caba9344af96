package interop

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
)

// refreshCounter counts the refresh_token grants sent to the token endpoint.
type refreshCounter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *refreshCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		if v, _ := url.ParseQuery(string(b)); v.Get("grant_type") == "refresh_token" {
			c.n.Add(1)
		}
	}
	return c.next.RoundTrip(r)
}

// TestRefreshReplicasRotation: two replicas of an application (two Flows on
// one store), oidc-provider rotating refresh tokens and revoking the grant
// when a rotated-out one comes back, concurrent requests of one session on
// both replicas across the access token's expiry: no session is lost and
// each refresh token is redeemed once.
func TestRefreshReplicasRotation(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()
	counter := &refreshCounter{next: http.DefaultTransport}
	store := oauth.NewMemoryStore()
	clock := &offsetClock{}

	mux := http.NewServeMux()
	appA := httptest.NewServer(mux)
	t.Cleanup(appA.Close)
	cfg := oauth.Config{
		Issuer:         p.Issuer,
		ClientID:       "rotating-client",
		ClientSecret:   "rotating-secret",
		RedirectURL:    appA.URL + "/callback",
		Keys:           [][]byte{oauth.GenerateKey()},
		Scopes:         []string{"openid", "offline_access", "read"},
		AuthParams:     map[string]string{"prompt": "consent", "login_hint": "alice"},
		Store:          store,
		SkipEndSession: true,
		HTTPClient:     &http.Client{Transport: counter},
		Now:            clock.Now,
		Logger:         testLogger(t),
	}
	account := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "account of %s", c.Subject)
	})
	var urls []string
	for i, m := range []*http.ServeMux{mux, http.NewServeMux()} {
		flow, err := oauth.New(ctx, cfg)
		if err != nil {
			t.Fatalf("oauth.New() error = %v", err)
		}
		t.Cleanup(func() { flow.Close() })
		m.Handle("GET /login", flow.LoginHandler())
		m.Handle("GET /callback", flow.CallbackHandler())
		m.Handle("GET /account", flow.RequireLogin(account))
		if i == 0 {
			urls = append(urls, appA.URL)
			continue
		}
		appB := httptest.NewServer(m)
		t.Cleanup(appB.Close)
		urls = append(urls, appB.URL)
	}

	jar, _ := cookiejar.New(nil) // cookies ignore ports: the session goes to both replicas
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := browser.Get(appA.URL + "/account")
	if err != nil {
		t.Fatalf("login: %v\nprovider output:\n%s", err, p.logs.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "account of alice" {
		t.Fatalf("login: %d %q\nprovider output:\n%s", resp.StatusCode, body, p.logs.String())
	}
	page := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	const rounds, perReplica = 3, 6
	for round := 1; round <= rounds; round++ {
		clock.Set(time.Duration(round) * 10 * time.Minute) // past the 10-minute access token
		var wg sync.WaitGroup
		var lost atomic.Int64
		start := make(chan struct{})
		for i := range perReplica * len(urls) {
			wg.Go(func() {
				<-start
				resp, err := page.Get(urls[i%len(urls)] + "/account")
				if err != nil {
					lost.Add(1)
					t.Logf("round %d: %v", round, err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "account of alice" {
					lost.Add(1)
					t.Logf("round %d: %s: %d %q", round, urls[i%len(urls)], resp.StatusCode, b)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := lost.Load(); n != 0 || counter.n.Load() != int64(round) {
			t.Fatalf("round %d: %d of %d requests lost the session; %d refresh grants, want %d\nprovider output:\n%s",
				round, n, perReplica*len(urls), counter.n.Load(), round, p.logs.String())
		}
	}
	t.Logf("%d rounds × %d requests: 0 lost, %d refresh grants", rounds, perReplica*len(urls), counter.n.Load())
}
