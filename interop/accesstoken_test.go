package interop

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

// newAuthorizer calls oidcauth.New with a test logger and closes the
// Authorizer when the test ends.
func newAuthorizer(t *testing.T, cfg oidcauth.Config) *oidcauth.Authorizer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a, err := oidcauth.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestAccessTokens validates the provider's client_credentials access tokens
// (RFC 9068 JWTs, typ at+jwt, aud from the resource indicator) signed with
// each algorithm, directly and through Required.
func TestAccessTokens(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx := context.Background()

	for i, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			// Only alg is allowed: the token cannot have passed with another.
			a := newAuthorizer(t, oidcauth.Config{
				Issuer:     p.Issuer,
				Audiences:  []string{resource(alg)},
				TokenType:  "at+jwt",
				Algorithms: []string{alg},
			})
			kid := p.Signer(t, alg)
			if keys := a.Keys(); len(keys) != 1 || keys[0].KeyID != kid || !slices.Contains(keys[0].Algorithms, alg) {
				t.Errorf("Keys() = %+v, want only %s for %s", keys, kid, alg)
			}

			before := time.Now().Truncate(time.Second)
			tok := p.MustClientCredentials(t, resource(alg))
			if h := header(t, tok); h.Alg != alg || h.Typ != "at+jwt" || h.KID != kid {
				t.Fatalf("provider's token header = %+v, want alg %s, typ at+jwt, kid %s", h, alg, kid)
			}
			c, err := a.Validate(ctx, tok)
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if c.Issuer != p.Issuer || c.Subject != apiClient || c.ClientID != apiClient ||
				!slices.Equal(c.Audience, []string{resource(alg)}) || c.ID == "" {
				t.Errorf("Validate() claims = %+v", c)
			}
			if !slices.Equal(c.Scopes, []string{"read", "write"}) || !c.HasScope("write") {
				t.Errorf("Validate() scopes = %q, want [read write]", c.Scopes)
			}
			if c.IssuedAt.Before(before) || c.ExpiresAt.Sub(c.IssuedAt) != 10*time.Minute {
				t.Errorf("Validate() iat = %v, exp = %v; want iat >= %v and a 10 minute lifetime", c.IssuedAt, c.ExpiresAt, before)
			}
			var custom struct {
				JTI      string `json:"jti"`
				ClientID string `json:"client_id"`
			}
			if err := c.Decode(&custom); err != nil || custom.JTI != c.ID || custom.ClientID != apiClient {
				t.Errorf("Decode() = %+v, %v", custom, err)
			}

			// The next algorithm's token: not in this Authorizer's allow-list.
			other := algs[(i+1)%len(algs)]
			if _, err := a.Validate(ctx, p.MustClientCredentials(t, resource(other))); !errors.Is(err, oidcauth.ErrUnsupportedAlgorithm) {
				t.Errorf("Validate(%s token) error = %v, want ErrUnsupportedAlgorithm", other, err)
			}

			checkMiddleware(t, a, tok)
		})
	}

	// Tokens for one API are not accepted by another API of the same
	// provider, whatever their algorithm.
	t.Run("wrong audience", func(t *testing.T) {
		t.Parallel()
		a := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{resource("RS256")}, TokenType: "at+jwt"})
		for _, alg := range algs[1:] {
			_, err := a.Validate(ctx, p.MustClientCredentials(t, resource(alg)))
			if !errors.Is(err, oidcauth.ErrInvalidAudience) {
				t.Errorf("Validate(token for the %s API) error = %v, want ErrInvalidAudience", alg, err)
			}
		}
	})

	// Another issuer (the same provider, named differently) is refused at
	// discovery: its metadata names the real issuer.
	t.Run("issuer mismatch", func(t *testing.T) {
		t.Parallel()
		_, err := oidcauth.New(ctx, oidcauth.Config{Issuer: p.Issuer + "/", Audiences: []string{resource("RS256")}, Logger: testLogger(t)})
		if err == nil || !strings.Contains(err.Error(), "issuer") {
			t.Errorf("New(issuer with a trailing slash) error = %v, want an issuer mismatch", err)
		}
	})
}

// checkMiddleware puts a in front of a handler and sends it tok, no token,
// and a tampered tok.
func checkMiddleware(t *testing.T, a *oidcauth.Authorizer, tok string) {
	t.Helper()
	srv := httptest.NewServer(a.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := oidcauth.ClaimsFromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, c.Subject) //nolint:errcheck
	})))
	defer srv.Close()

	get := func(authz string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	if resp, body := get("Bearer " + tok); resp.StatusCode != http.StatusOK || body != apiClient {
		t.Errorf("Required(valid token) = %d %q, want 200 %q", resp.StatusCode, body, apiClient)
	}
	if resp, _ := get(""); resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Errorf("Required(no token) = %d, WWW-Authenticate %q; want 401 with a Bearer challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Change one signature byte, keeping the base64url canonical.
	tampered := []byte(tok)
	i := len(tampered) - 10
	if tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	if _, err := a.Validate(context.Background(), string(tampered)); !errors.Is(err, oidcauth.ErrInvalidSignature) {
		t.Errorf("Validate(tampered) error = %v, want ErrInvalidSignature", err)
	}
	resp, body := get("Bearer " + string(tampered))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("Required(tampered) = %d, WWW-Authenticate %q; want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if strings.Contains(body, "signature") {
		t.Errorf("Required(tampered) body %q reveals the reason", body)
	}
}

// TestAccessTokenLifetime checks exp and iat of the provider's tokens
// against the Authorizer's clock, moved instead of waited for.
func TestAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	clock := &offsetClock{}
	a := newAuthorizer(t, oidcauth.Config{
		Issuer:    p.Issuer,
		Audiences: []string{resource("ES256")},
		TokenType: "at+jwt",
		Now:       clock.Now,
	})
	ctx := context.Background()
	tok := p.MustClientCredentials(t, resource("ES256"))
	c, err := a.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	untilExp := time.Until(c.ExpiresAt)
	tests := []struct {
		name   string
		offset time.Duration
		want   error
	}{
		{"just before exp", untilExp - 5*time.Second, nil},
		{"after exp, within the 30s leeway", untilExp + 25*time.Second, nil},
		{"after exp and leeway", untilExp + 35*time.Second, oidcauth.ErrTokenExpired},
		{"clock 25s behind the provider", -25 * time.Second, nil},
		{"clock 40s behind the provider", -40 * time.Second, oidcauth.ErrTokenIssuedInFuture},
	}
	for _, tt := range tests {
		clock.Set(tt.offset)
		_, err := a.Validate(ctx, tok)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Validate() error = %v, want %v", tt.name, err, tt.want)
		}
	}
}
