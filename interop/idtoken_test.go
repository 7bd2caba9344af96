package interop

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
)

// TestIDTokensRejected signs a user in with the authorization code flow
// (PKCE, scripted login and consent) and shows that where an access token is
// required the provider's ID tokens are refused, while the access token and
// its refreshed successor are accepted.
func TestIDTokensRejected(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()
	api := resource("RS256") // web-client's default resource

	tr := p.Login(t, loginOptions{subject: "alice"})
	if tr.AccessToken == "" || tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("code exchange gave access token %t, ID token %t, refresh token %t; want all three",
			tr.AccessToken != "", tr.IDToken != "", tr.RefreshToken != "")
	}
	idh := header(t, tr.IDToken)
	t.Logf("ID token header: %+v; access token header: %+v", idh, header(t, tr.AccessToken))

	strict := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{api}, TokenType: "at+jwt"})

	c, err := strict.Validate(ctx, tr.AccessToken)
	if err != nil {
		t.Fatalf("Validate(access token) error = %v", err)
	}
	if c.Subject != "alice" || c.ClientID != webClient || !slices.Equal(c.Audience, []string{api}) ||
		!c.HasScope("read") || !c.HasScope("write") {
		t.Errorf("Validate(access token) claims = %+v", c)
	}

	tests := []struct {
		name string
		cfg  oidcauth.Config
		want error
	}{
		// RFC 9068 §4: typ at+jwt is what tells an access token from an
		// ID token signed with the same key.
		{"at+jwt required", oidcauth.Config{Audiences: []string{api}, TokenType: "at+jwt"}, oidcauth.ErrInvalidHeader},
		// Even an API whose identifier is the client's id refuses it.
		{"at+jwt required, aud matches", oidcauth.Config{Audiences: []string{webClient}, TokenType: "at+jwt"}, oidcauth.ErrInvalidHeader},
		// Without TokenType, the audience check refuses it: its aud is
		// the client, not the API.
		{"any typ, API audience", oidcauth.Config{Audiences: []string{api}}, oidcauth.ErrInvalidAudience},
		// Restricting algorithms does not help: the ID token uses RS256 too.
		{"RS256 only, API audience", oidcauth.Config{Audiences: []string{api}, Algorithms: []string{"RS256"}}, oidcauth.ErrInvalidAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer = p.Issuer
			a := newAuthorizer(t, tt.cfg)
			if _, err := a.Validate(ctx, tr.IDToken); !errors.Is(err, tt.want) {
				t.Errorf("Validate(ID token) error = %v, want %v", err, tt.want)
			}
			if _, err := a.Validate(ctx, tr.AccessToken); tt.cfg.Audiences[0] == api && err != nil {
				t.Errorf("Validate(access token) error = %v, want nil", err)
			}
		})
	}

	// Through the middleware: 401 invalid_token, never the handler.
	srv := httptest.NewServer(strict.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("handler ran for an ID token")
	})))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+tr.IDToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("Required(ID token) = %d, WWW-Authenticate %q; want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	// The refresh token grant gives a new access token (accepted) and a new
	// ID token (refused).
	rt := p.Refresh(t, tr.RefreshToken)
	if rt.AccessToken == "" || rt.AccessToken == tr.AccessToken {
		t.Fatalf("refresh gave no new access token")
	}
	if c, err := strict.Validate(ctx, rt.AccessToken); err != nil || c.Subject != "alice" {
		t.Errorf("Validate(refreshed access token) = %+v, %v; want subject alice", c, err)
	}
	if rt.IDToken != "" {
		if _, err := strict.Validate(ctx, rt.IDToken); !errors.Is(err, oidcauth.ErrInvalidHeader) {
			t.Errorf("Validate(refreshed ID token) error = %v, want ErrInvalidHeader", err)
		}
	}
}

// TestLoginOtherAlgorithm asks for another API (resource indicator) in the
// authorization request: its access tokens are signed with ES256.
func TestLoginOtherAlgorithm(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	api := resource("ES256")
	tr := p.Login(t, loginOptions{subject: "bob", resource: api, scope: "openid read"})
	if h := header(t, tr.AccessToken); h.Alg != "ES256" || h.Typ != "at+jwt" {
		t.Fatalf("access token header = %+v, want ES256 at+jwt", h)
	}
	a := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{api}, TokenType: "at+jwt"})
	c, err := a.Validate(context.Background(), tr.AccessToken)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if c.Subject != "bob" || !slices.Equal(c.Scopes, []string{"read"}) {
		t.Errorf("Validate() subject %q, scopes %q; want bob, [read]", c.Subject, c.Scopes)
	}
	if tr.RefreshToken != "" {
		t.Errorf("refresh token issued without offline_access")
	}
}
