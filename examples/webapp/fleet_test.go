package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// postgresURL returns the URL of a new, empty database (dropped when the
// test ends), so that a test sees the table the app creates and no one
// else's rows; see internal/testenv for when it skips.
func postgresURL(t *testing.T) string { return testenv.FreshPostgresDB(t, "oidcauth_webapp_") }

// sessionTable reports whether the database of dsn has the webapp's
// session table.
func sessionTable(t *testing.T, dsn string) bool {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'oidcauth_sessions'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// TestFleetBackChannelLogout: two replicas on one server-side store (Redis,
// Postgres) serve one session; a logout token the provider POSTs to one
// replica ends it on both (a logout of another sid of the same user
// keeps it); a forged one (with a nonce, for another
// audience) is refused with 400 and the session kept. With Postgres the
// session table exists once the app has started.
func TestFleetBackChannelLogout(t *testing.T) {
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
			store := tt.store(t)
			idp := oidctest.New(t, oidctest.Options{})
			sid := "sid-" + tt.name
			idp.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice-" + tt.name, IDTokenClaims: map[string]any{"sid": sid}})
			client := oidctest.Client{ID: "webapp", Secret: "s3cret", RedirectURIs: []string{"http://placeholder/callback"}}
			idp.MustRegisterClient(t, client)
			if tt.name == "postgres" && sessionTable(t, store) {
				t.Fatal("the session table exists before the start")
			}
			key := base64.RawURLEncoding.EncodeToString(oauth.GenerateKey())
			args := []string{"--issuer", idp.Issuer(), "--client-id", client.ID, "--client-secret", client.Secret,
				"--session-store", store, "--session-key", key}
			a := start(t, args...)
			if tt.name == "postgres" && !sessionTable(t, store) {
				t.Error("no session table once the app has started")
			}
			b := start(t, append(args, "--redirect-url", a+"/callback")...)
			client.RedirectURIs = []string{a + "/callback"}
			idp.MustRegisterClient(t, client)
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			if status, body := get(t, browser, a+"/me", nil); status != 200 {
				t.Fatalf("login through A: %d %s", status, body)
			}
			page := &http.Client{Jar: jar, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			signedIn := func(want int) {
				t.Helper()
				for _, u := range []string{a, b} {
					if status, _ := get(t, page, u+"/me", nil); status != want {
						t.Errorf("%s/me: %d, want %d", u, status, want)
					}
				}
			}
			signedIn(200)
			post := func(lt oidctest.LogoutToken) int {
				t.Helper()
				tok, err := idp.MintLogoutToken(lt)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.PostForm(b+"/backchannel-logout", url.Values{"logout_token": {tok}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			sub := "alice-" + tt.name
			for _, bad := range []oidctest.LogoutToken{
				{Audience: client.ID, Subject: sub, Claims: map[string]any{"nonce": "n"}},
				{Audience: "another-client", Subject: sub},
				{Audience: client.ID, Subject: sub, Claims: map[string]any{"events": nil}},
			} {
				if status := post(bad); status != http.StatusBadRequest {
					t.Errorf("forged logout token %+v: %d, want 400", bad.Claims, status)
				}
			}
			signedIn(200)
			// Another provider session of the same user: 200, this one kept.
			if status := post(oidctest.LogoutToken{Audience: client.ID, Subject: sub, SID: "another-sid"}); status != 200 {
				t.Fatalf("logout token for another sid: %d", status)
			}
			signedIn(200)
			if status := post(oidctest.LogoutToken{Audience: client.ID, Subject: sub, SID: sid}); status != 200 {
				t.Fatalf("logout token: %d", status)
			}
			signedIn(http.StatusFound) // ended on both replicas: back to the login
		})
	}
}

// TestBackChannelLogoutCookieStore: with the cookie store the route says
// that it cannot end sessions.
func TestBackChannelLogoutCookieStore(t *testing.T) {
	t.Parallel()
	base := start(t)
	resp, err := http.PostForm(base+"/backchannel-logout", url.Values{"logout_token": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
		!strings.Contains(string(body), "server-side --session-store") {
		t.Errorf("cookie store: %d %q, Cache-Control %q; want 501 naming --session-store, no-store",
			resp.StatusCode, body, resp.Header.Get("Cache-Control"))
	}
}
