package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// idTokenShaped mints what the provider gives the webapp as the user's ID
// token: aud is the client ID, with a nonce and typ JWT, as Ory Hydra and
// others sign both kinds of token.
func idTokenShaped(t *testing.T, p *oidctest.Provider, clientID string) string {
	t.Helper()
	return p.MustMint(t, map[string]any{
		"sub": "alice", "aud": clientID, "azp": clientID, "nonce": "n-0S6_WzA2Mj",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
}

// TestAPIWithoutAudienceRefusesIDToken checks the default of a webapp run
// with --issuer and without --api-audience: /api/me takes the session only,
// so the user's ID token (aud = the client ID) is not accepted as a bearer
// token, and neither is any other bearer token.
func TestAPIWithoutAudienceRefusesIDToken(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	a, err := newApp(t.Context(), options{issuer: p.Issuer(), clientID: "webapp", sessionStore: "memory"}, "127.0.0.1:1", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.auth != nil {
		t.Errorf("an Authorizer was made without --api-audience")
	}
	srv := newServer(t, a.handler())
	c := &http.Client{}
	for name, token := range map[string]string{
		"ID token":          idTokenShaped(t, p, "webapp"),
		"access token, aud": p.MustMint(t, map[string]any{"sub": "robot", "aud": "webapp"}),
	} {
		status, body := get(t, c, srv+"/api/me", http.Header{"Authorization": {"Bearer " + token}})
		if status != http.StatusUnauthorized || strings.Contains(body, "alice") || strings.Contains(body, "robot") {
			t.Errorf("GET /api/me with a bearer %s and no --api-audience: %d %s, want 401", name, status, body)
		}
	}
}

// TestAPIWithAudienceTakesBearerTokens checks that with --api-audience,
// /api/me accepts bearer tokens for that audience and refuses the user's ID
// token, whose audience is the client ID.
func TestAPIWithAudienceTakesBearerTokens(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	a, err := newApp(t.Context(), options{issuer: p.Issuer(), clientID: "webapp", apiAudience: "https://api.example", sessionStore: "memory"}, "127.0.0.1:1", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := newServer(t, a.handler())
	c := &http.Client{}
	good := p.MustMint(t, map[string]any{"sub": "robot", "aud": "https://api.example"})
	if status, body := get(t, c, srv+"/api/me", http.Header{"Authorization": {"Bearer " + good}}); status != http.StatusOK || !strings.Contains(body, `"sub":"robot"`) {
		t.Errorf("GET /api/me with a token for --api-audience: %d %s, want 200", status, body)
	}
	if status, _ := get(t, c, srv+"/api/me", http.Header{"Authorization": {"Bearer " + idTokenShaped(t, p, "webapp")}}); status != http.StatusUnauthorized {
		t.Errorf("GET /api/me with the ID token: %d, want 401", status)
	}
}
