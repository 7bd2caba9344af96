package main

import (
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// redisURL is the redis:// URL of the server at OIDCAUTH_REDIS_ADDR (see
// internal/testenv for when the test skips).
func redisURL(t *testing.T) string { return "redis://" + testenv.RedisAddr(t) + "/0" }

// TestReplicas: two webapps on different --addr with the same
// --session-key and server-side store (Redis, Postgres) serve one session, refreshes included,
// with a provider that rotates refresh tokens and revokes the grant on
// reuse: concurrent requests to both across several expiries never lose
// the session, and no refresh token is redeemed twice.
func TestReplicas(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"redis", redisURL},
		{"postgres", postgresURL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testReplicas(t, tt.store(t))
		})
	}
}

func testReplicas(t *testing.T, store string) {
	idp := oidctest.New(t, oidctest.Options{})
	idp.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice", AccessTokenTTL: 3 * time.Second, RevokeGrantOnRefreshReuse: true})
	client := oidctest.Client{ID: "webapp", Secret: "s3cret", RedirectURIs: []string{"http://placeholder/callback"}}
	idp.MustRegisterClient(t, client)
	key := base64.RawURLEncoding.EncodeToString(oauth.GenerateKey())
	args := []string{"--issuer", idp.Issuer(), "--client-id", client.ID, "--client-secret", client.Secret,
		"--session-store", store, "--session-key", key, "--refresh-margin", "1s"}
	a := start(t, args...)
	// Both replicas redirect to A's callback (one registered redirect URL,
	// as behind a load balancer); sessions are bound to it.
	b := start(t, append(args, "--redirect-url", a+"/callback")...)
	client.RedirectURIs = []string{a + "/callback"}
	client.PostLogoutRedirectURIs = []string{a + "/"}
	idp.MustRegisterClient(t, client)

	jar, _ := cookiejar.New(nil) // cookies ignore ports: A's session goes to B too
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if status, body := get(t, browser, a+"/me", nil); status != 200 {
		t.Fatalf("login through A: %d %s", status, body)
	}
	noRedirect := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var mu sync.Mutex
	fails, total := 0, 0
	deadline := time.Now().Add(7 * time.Second) // two to three expiries
	for time.Now().Before(deadline) {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				base := []string{a, b}[i%2]
				req, _ := http.NewRequest(http.MethodGet, base+"/me", nil)
				resp, err := noRedirect.Do(req)
				mu.Lock()
				defer mu.Unlock()
				total++
				if err != nil {
					fails++
					t.Logf("%s: %v", base, err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails++
					t.Logf("%s/me: %d", base, resp.StatusCode)
				}
			})
		}
		wg.Wait()
		time.Sleep(100 * time.Millisecond)
	}
	st := idp.OAuthStats()
	t.Logf("%d requests, %d refresh grants, %d reuses", total, st.RefreshGrants, st.RefreshReuses)
	if fails != 0 || st.RefreshReuses != 0 || st.RefreshGrants < 2 {
		t.Errorf("%d of %d requests lost the session; refresh grants %d (want ≥ 2), reuses %d (want 0)",
			fails, total, st.RefreshGrants, st.RefreshReuses)
	}
}
