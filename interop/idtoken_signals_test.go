package interop

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
)

// idTokenSignals are the claims oidcauth reads as the marks of an ID token
// (see oidcauth.ErrIDToken).
var idTokenSignals = []string{"at_hash", "c_hash", "s_hash", "nonce", "typ", "token_use"}

// payload decodes a token's claims without verification, to check what the
// provider sent.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("token payload: %v", err)
	}
	return m
}

// TestIDTokenSignals checks the ID-token rule against oidc-provider's real
// token shapes: its ID token carries at_hash and nonce (the signals the rule
// relies on) and is refused with ErrIDToken by an API whose audience is the
// client ID and that sets no TokenType — the configuration in which only
// the signals can tell it apart; its access token (a JWT with typ at+jwt)
// carries none of them and is accepted under the same default settings.
func TestIDTokenSignals(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()
	api := resource("RS256")
	tr := p.Login(t, loginOptions{subject: "carol"})

	id := payload(t, tr.IDToken)
	for _, claim := range []string{"at_hash", "nonce"} {
		if _, ok := id[claim]; !ok {
			t.Errorf("oidc-provider's ID token has no %s; the ID-token rule relies on it (claims: %v)", claim, keys(id))
		}
	}
	at := payload(t, tr.AccessToken)
	for _, claim := range idTokenSignals {
		if v, ok := at[claim]; ok {
			t.Errorf("oidc-provider's access token carries %s = %v, which the ID-token rule reads as an ID token", claim, v)
		}
	}
	if h := header(t, tr.AccessToken); h.Typ != "at+jwt" {
		t.Errorf("access token typ = %q, want at+jwt", h.Typ)
	}

	byClient := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{webClient}})
	if _, err := byClient.Validate(ctx, tr.IDToken); !errors.Is(err, oidcauth.ErrIDToken) {
		t.Errorf("Validate(ID token, aud = client ID) error = %v, want ErrIDToken", err)
	}
	skip := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{webClient}, SkipIDTokenCheck: true})
	if _, err := skip.Validate(ctx, tr.IDToken); err != nil {
		t.Errorf("Validate(ID token, SkipIDTokenCheck) error = %v, want nil (the opt-out)", err)
	}
	nonceOnly := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{webClient}, NonceInAccessTokens: true})
	if _, err := nonceOnly.Validate(ctx, tr.IDToken); !errors.Is(err, oidcauth.ErrIDToken) {
		t.Errorf("Validate(ID token, NonceInAccessTokens) error = %v, want ErrIDToken (at_hash still marks it)", err)
	}

	byAPI := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{api}})
	if c, err := byAPI.Validate(ctx, tr.AccessToken); err != nil || c.Subject != "carol" {
		t.Errorf("Validate(access token) = %+v, %v; want subject carol", c, err)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
