package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestBackChannelLogoutBeforeDiscovery: with Config.StartWithoutProvider
// and the provider down at start, the back-channel logout handler has no
// keys to check a logout token with: it answers 503 with Retry-After and
// Cache-Control: no-store (never a panic, never a 200 or 400 the provider
// would take as final), and checks tokens once discovery has succeeded.
func TestBackChannelLogoutBeforeDiscovery(t *testing.T) {
	t.Parallel()
	var cfg oauth.Config
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { cfg = *c }})
	env.IdP.SetDiscoveryFault(&oidctest.Fault{Status: http.StatusServiceUnavailable})
	cfg.StartWithoutProvider = true
	cfg.Store = oauth.NewMemoryStore()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	flow, err := oauth.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New with StartWithoutProvider: %v", err)
	}
	defer flow.Close()
	h, err := flow.BackChannelLogoutHandler()
	if err != nil {
		t.Fatal(err)
	}
	post := func(tok string) *http.Response {
		req := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Result()
	}
	mint := func() string {
		tok, err := env.IdP.MintLogoutToken(oidctest.LogoutToken{Audience: oauthtest.ClientID, Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tok := range []string{mint(), "not-a-token"} {
		r := post(tok)
		ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		var body struct{ Error string }
		json.NewDecoder(r.Body).Decode(&body)
		if r.StatusCode != http.StatusServiceUnavailable || ra < 1 || ra > 31 ||
			r.Header.Get("Cache-Control") != "no-store" || body.Error != "temporarily_unavailable" {
			t.Errorf("before discovery: %d, Retry-After %q, Cache-Control %q, error %q; want 503, 1..31, no-store, temporarily_unavailable",
				r.StatusCode, r.Header.Get("Retry-After"), r.Header.Get("Cache-Control"), body.Error)
		}
	}
	env.IdP.SetDiscoveryFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := post(mint())
		if r.StatusCode == http.StatusOK {
			break
		}
		if r.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after the provider came back: %d", r.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := post("not-a-token"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad token once discovered: %d, want 400", r.StatusCode)
	}
}
