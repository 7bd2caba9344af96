package interop

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

// TestProviderOutage stops the provider while an Authorizer is running: the
// cached keys keep validating tokens, Stats shows the failed refresh, keys
// older than MaxStaleness are no longer trusted (503), and when the provider
// comes back on the same port the Authorizer recovers. An Authorizer started
// during the outage answers 503 until the keys arrive, then validates.
func TestProviderOutage(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()
	var audiences []string
	for _, alg := range algs {
		audiences = append(audiences, resource(alg))
	}
	clock := &offsetClock{}
	cfg := oidcauth.Config{Issuer: p.Issuer, Audiences: audiences, TokenType: "at+jwt", Now: clock.Now, Logger: testLogger(t)}
	a := newAuthorizer(t, cfg)

	tokens := make(map[string]string)
	for _, alg := range algs {
		tokens[alg] = p.MustClientCredentials(t, resource(alg))
	}
	validateAll := func(when string) {
		t.Helper()
		for alg, tok := range tokens {
			if _, err := a.Validate(ctx, tok); err != nil {
				t.Errorf("%s: Validate(%s token) error = %v", when, alg, err)
			}
		}
	}
	validateAll("provider up")
	// A key that signs before the Authorizer has seen it, and a token it
	// signed, presented only once the provider is down.
	unseen := p.AddKey(t, "ES256", true)
	unseenToken := p.MustClientCredentials(t, resource("ES256"))
	before := a.Stats()

	p.Stop()

	validateAll("provider down, before any refresh")
	if err := a.Refresh(ctx); err == nil {
		t.Fatal("Refresh() with the provider down: error = nil")
	}
	s := a.Stats()
	t.Logf("Stats after the failed refresh: %+v", s)
	if s.FetchFailures <= before.FetchFailures || s.LastError == "" || !s.LastFailure.After(s.LastSuccess) || s.Keys != len(algs) {
		t.Errorf("Stats() = %+v; want a new failure after the last success, its error, and the %d cached keys", s, len(algs))
	}
	validateAll("provider down, after a failed refresh")

	srv := httptest.NewServer(a.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	if code, _ := get(t, srv, tokens["EdDSA"]); code != http.StatusOK {
		t.Errorf("Required(valid token) during the outage = %d, want 200", code)
	}

	// The unseen key: its refresh fails, so the token cannot be checked.
	_, err := a.Validate(ctx, unseenToken)
	t.Logf("Validate(token signed by the unseen key %s) during the outage: %v (status %d)", unseen, err, oidcauth.StatusCode(err))
	if !errors.Is(err, oidcauth.ErrUnknownKey) && !errors.Is(err, oidcauth.ErrKeysUnavailable) {
		t.Errorf("Validate(unseen key's token) during the outage error = %v, want ErrUnknownKey or ErrKeysUnavailable", err)
	}

	// After MaxStaleness (24h) without a successful refresh the cached keys
	// are no longer trusted: 503 with Retry-After, not 401.
	clock.Set(oidcauth.DefaultMaxStaleness + time.Minute)
	_, err = a.Validate(ctx, tokens["RS256"])
	var verr *oidcauth.ValidationError
	if !errors.Is(err, oidcauth.ErrKeysUnavailable) || !errors.As(err, &verr) || verr.RetryAfter <= 0 {
		t.Errorf("Validate() with stale keys error = %v, want ErrKeysUnavailable with RetryAfter", err)
	}
	if code, h := get(t, srv, tokens["RS256"]); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("Required() with stale keys = %d, Retry-After %q; want 503 with Retry-After", code, h.Get("Retry-After"))
	}
	clock.Set(0)

	// An Authorizer started during the outage: New fails fast, unless
	// StartWithoutKeys, which answers 503 until the keys arrive.
	if _, err := oidcauth.New(ctx, cfg); err == nil {
		t.Errorf("New() with the provider down: error = nil")
	}
	late := cfg
	late.StartWithoutKeys = true
	late.Now = nil
	b := newAuthorizer(t, late)
	if _, err := b.Validate(ctx, tokens["RS256"]); !errors.Is(err, oidcauth.ErrKeysUnavailable) {
		t.Errorf("StartWithoutKeys: Validate() before any keys error = %v, want ErrKeysUnavailable", err)
	}

	// The provider comes back, same port, same keys.
	p.Restart(t)
	if err := a.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() after the restart: error = %v", err)
	}
	if s2 := a.Stats(); !s2.LastSuccess.After(s.LastFailure) || s2.Keys != len(algs)+1 {
		t.Errorf("Stats() after the restart = %+v; want a success after the failure and %d keys", s2, len(algs)+1)
	}
	validateAll("provider back")
	if _, err := a.Validate(ctx, unseenToken); err != nil {
		t.Errorf("Validate(unseen key's token) after the restart error = %v", err)
	}

	// b gets its keys from its own background retries (backoff from 1s).
	deadline := time.Now().Add(70 * time.Second)
	for b.Keys() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("StartWithoutKeys: no keys 70s after the provider came back; Stats() = %+v", b.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := b.Validate(ctx, tokens["PS256"]); err != nil {
		t.Errorf("StartWithoutKeys: Validate() once the provider is back error = %v", err)
	}
	t.Logf("StartWithoutKeys Authorizer: %+v", b.Stats())
}

// get sends a GET with a bearer token to srv.
func get(t *testing.T, srv *httptest.Server, token string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}
