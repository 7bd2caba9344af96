package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestStartWithoutProvider: with the provider down at start, New succeeds
// only with Config.StartWithoutProvider; the login and the callback answer
// 503 with Retry-After until the background discovery succeeds, then the
// login works; Close stops the goroutine.
func TestStartWithoutProvider(t *testing.T) {
	t.Parallel()
	var env *oauthtest.Env
	var cfg oauth.Config
	env = oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { cfg = *c }})
	env.IdP.SetDiscoveryFault(&oidctest.Fault{Status: http.StatusServiceUnavailable})
	cfg.ErrorHandler = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := oauth.New(ctx, cfg); err == nil {
		t.Fatal("New succeeded with the provider down and StartWithoutProvider off")
	}

	cfg.StartWithoutProvider = true
	flow, err := oauth.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New with StartWithoutProvider: %v", err)
	}
	h := http.NewServeMux()
	oauthtest.Mount(h, flow)
	get := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, "https://app.example"+path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Result()
	}
	for _, path := range []string{"/login?next=/me", "/callback?state=x&code=y"} {
		r := get(path)
		ra, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.StatusCode != http.StatusServiceUnavailable || ra < 1 || ra > 31 {
			t.Errorf("%s while undiscovered: %d, Retry-After %q", path, r.StatusCode, r.Header.Get("Retry-After"))
		}
	}
	env.IdP.SetDiscoveryFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get("/login?next=/me")
		if r.StatusCode == http.StatusFound && strings.HasPrefix(r.Header.Get("Location"), env.IdP.AuthorizationEndpoint()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login still %d after the provider came back", r.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	flow.Close()

	// Closed before the provider comes back: the goroutine stops.
	env.IdP.SetDiscoveryFault(&oidctest.Fault{Status: http.StatusServiceUnavailable})
	flow2, err := oauth.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { flow2.Close(); close(closed) }() // Close waits for the goroutine
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the background discovery")
	}
}

// TestStartWithoutProviderMisconfigured: a provider that answers with
// unusable metadata still makes New fail.
func TestStartWithoutProviderMisconfigured(t *testing.T) {
	t.Parallel()
	var cfg oauth.Config
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { cfg = *c }})
	env.IdP.SetDiscovery(map[string]any{"issuer": "https://op.example"})
	cfg.StartWithoutProvider = true
	if _, err := oauth.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "issuer mismatch") {
		t.Errorf("New with another issuer's metadata: %v", err)
	}
}

// TestStartWithoutProviderSessions: a replica started while the provider is
// down serves existing sessions while their access token is valid, answers
// 503 (keeping the session) once it is due and expired, and logs out
// locally.
func TestStartWithoutProviderSessions(t *testing.T) {
	t.Parallel()
	var cfg oauth.Config
	env := oauthtest.Start(t, oauthtest.Options{Settings: oidctest.OAuthSettings{AccessTokenTTL: accessTTL},
		Configure: func(c *oauth.Config) { c.IdleTimeout = -1; cfg = *c }})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	cs := env.SessionCookies(b)

	env.IdP.SetDiscoveryFault(&oidctest.Fault{Status: http.StatusServiceUnavailable})
	cfg.StartWithoutProvider = true
	cfg.ErrorHandler = nil
	flow, err := oauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flow.Close() })
	mux := http.NewServeMux()
	oauthtest.Mount(mux, flow)
	app := httptest.NewTLSServer(mux)
	t.Cleanup(app.Close)

	if r := env.GetWith(t, app.URL+oauthtest.PathMe, cs); r != "200 OK sub:alice" {
		t.Errorf("valid token while undiscovered: %s", r)
	}
	env.Clock.Advance(accessTTL - time.Second) // due, still valid
	if r := env.GetWith(t, app.URL+oauthtest.PathMe, cs); r != "200 OK sub:alice" {
		t.Errorf("due but valid token while undiscovered: %s", r)
	}
	env.Clock.Advance(2 * time.Second) // expired
	if r := env.GetWith(t, app.URL+oauthtest.PathMe, cs); !strings.HasPrefix(r, "503 ") {
		t.Errorf("expired token while undiscovered: %s, want 503", r)
	}
	if n := env.IdP.OAuthStats().RefreshGrants; n != 0 {
		t.Errorf("RefreshGrants = %d while undiscovered", n)
	}
	// The session was kept: the first replica, which knows the provider,
	// refreshes it.
	if r := env.GetWith(t, env.App.URL+oauthtest.PathMe, cs); r != "200 OK sub:alice" {
		t.Errorf("the other replica after the 503: %s", r)
	}
	// Logout ends the local session, without the provider's end-session.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/logout", nil)
	req.Header = oauthtest.WithCookies(cs)
	req.Header.Set("Origin", app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := env.Plain().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Errorf("logout while undiscovered: %d to %q, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
}
