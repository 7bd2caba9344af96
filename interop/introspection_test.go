package interop

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

// The provider's opaque-token resources and its resource server client;
// see provider/server.js.
const (
	opaqueResource       = resourcePrefix + "opaque"
	otherOpaqueResource  = resourcePrefix + "opaque-other"
	rsClient, rsSecret   = "rs-client", "rs-secret"
	introspectionPath    = "/token/introspection"
	introspectionTimeout = 15 * time.Second
)

// countingProxy forwards every request to target and counts those to the
// introspection endpoint, so that a test sees how often oidcauth asked.
type countingProxy struct {
	*httptest.Server
	calls atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	cp := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the refused dials of the outage are expected
	cp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == introspectionPath {
			cp.calls.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(cp.Close)
	return cp
}

// revoke revokes token at the provider's revocation endpoint (RFC 7009 §2.1)
// as api-client, the client it was issued to.
func (p *provider) revoke(t *testing.T, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.Issuer+"/token/revocation",
		strings.NewReader(url.Values{"token": {token}, "token_type_hint": {"access_token"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(apiClient, apiSecret)
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("revocation: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: status %d, want 200", resp.StatusCode)
	}
}

// TestIntrospection checks oidcauth's introspection (RFC 7662) against
// oidc-provider's, authenticated with client_secret_basic: an opaque token
// is accepted with the provider's answer as its claims, the answer is
// cached (calls counted by a proxy in front of the provider), a revoked
// token is still accepted until the cache end and refused after it, a
// token for another audience is refused, JWTs stay local, and with the
// provider down an uncached token gets 503 while a cached one is served.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	proxy := newCountingProxy(t, p.Issuer)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	clock := &offsetClock{}
	a := newAuthorizer(t, oidcauth.Config{
		Issuer:    p.Issuer,
		Audiences: []string{opaqueResource, resource("ES256")},
		Now:       clock.Now,
		Introspection: &oidcauth.IntrospectionConfig{
			Endpoint:     proxy.URL + introspectionPath,
			ClientID:     rsClient,
			ClientSecret: rsSecret,
			CacheTTL:     time.Minute,
		},
	})

	tok := p.MustClientCredentials(t, opaqueResource)
	if strings.Count(tok, ".") == 2 {
		t.Fatalf("the provider issued a JWT for %s, want an opaque token", opaqueResource)
	}

	// Accepted, with the provider's answer as the claims.
	c, err := a.Validate(ctx, tok)
	if err != nil {
		t.Fatalf("Validate(opaque token) error = %v", err)
	}
	if !slices.Contains(c.Scopes, "read") || !slices.Contains(c.Scopes, "write") {
		t.Errorf("Claims.Scopes = %v, want read and write", c.Scopes)
	}
	if raw := string(c.Raw); !strings.Contains(raw, `"active":true`) || !strings.Contains(raw, `"client_id":"api-client"`) {
		t.Errorf("Claims.Raw = %s, want the introspection response", raw)
	}

	// Cached: more requests, no more calls.
	for range 5 {
		if _, err := a.Validate(ctx, tok); err != nil {
			t.Fatalf("Validate(opaque token) again: %v", err)
		}
	}
	if n := proxy.calls.Load(); n != 1 {
		t.Errorf("introspection calls after 6 validations = %d, want 1", n)
	}

	// Revoked: served from the cache until its end (the documented
	// trade-off of CacheTTL), refused after it.
	p.revoke(t, tok)
	if _, err := a.Validate(ctx, tok); err != nil {
		t.Errorf("Validate(revoked token) within CacheTTL error = %v, want the cached answer", err)
	}
	clock.Set(time.Minute + time.Second)
	if _, err := a.Validate(ctx, tok); !errors.Is(err, oidcauth.ErrTokenInactive) {
		t.Errorf("Validate(revoked token) after the cache end error = %v, want ErrTokenInactive", err)
	} else if s := oidcauth.StatusCode(err); s != http.StatusUnauthorized {
		t.Errorf("StatusCode(revoked) = %d, want 401", s)
	}
	if n := proxy.calls.Load(); n != 2 {
		t.Errorf("introspection calls after the cache end = %d, want 2", n)
	}

	// Another audience of the same provider.
	other := p.MustClientCredentials(t, otherOpaqueResource)
	if _, err := a.Validate(ctx, other); !errors.Is(err, oidcauth.ErrInvalidAudience) {
		t.Errorf("Validate(token for %s) error = %v, want ErrInvalidAudience", otherOpaqueResource, err)
	}

	// A JWT is validated locally, never introspected (All is false).
	before := proxy.calls.Load()
	if _, err := a.Validate(ctx, p.MustClientCredentials(t, resource("ES256"))); err != nil {
		t.Errorf("Validate(JWT) error = %v", err)
	}
	if n := proxy.calls.Load(); n != before {
		t.Errorf("a JWT cost %d introspection calls, want 0", n-before)
	}

	// Provider down: a cached answer is served, an uncached token gets 503
	// with Retry-After, never 401.
	cached := p.MustClientCredentials(t, opaqueResource)
	if _, err := a.Validate(ctx, cached); err != nil {
		t.Fatalf("Validate(second opaque token) error = %v", err)
	}
	uncached := p.MustClientCredentials(t, opaqueResource)
	p.Stop()
	if _, err := a.Validate(ctx, cached); err != nil {
		t.Errorf("Validate(cached token) with the provider down error = %v, want the cached answer", err)
	}
	_, err = a.Validate(ctx, uncached)
	var verr *oidcauth.ValidationError
	switch {
	case !errors.Is(err, oidcauth.ErrIntrospectionFailed):
		t.Errorf("Validate(uncached token) with the provider down error = %v, want ErrIntrospectionFailed", err)
	case oidcauth.StatusCode(err) != http.StatusServiceUnavailable:
		t.Errorf("StatusCode = %d, want 503", oidcauth.StatusCode(err))
	case !errors.As(err, &verr) || verr.RetryAfter <= 0:
		t.Errorf("error %v has no RetryAfter", err)
	}

	srv := httptest.NewServer(a.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	code, h := get(t, srv, uncached)
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("Required(uncached token) with the provider down = %d (Retry-After %q), want 503 with Retry-After", code, h.Get("Retry-After"))
	}
}

// TestIntrospectionDiscovered uses the introspection_endpoint of the
// provider's metadata, introspects every token (All, no cache: a revoked
// token is refused on the next request; oidc-provider's JWT access tokens
// are not introspectable), and shows that credentials the provider
// refuses are a configuration error (503), not a bad token.
func TestIntrospectionDiscovered(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), introspectionTimeout)
	defer cancel()
	a := newAuthorizer(t, oidcauth.Config{
		Issuer:    p.Issuer,
		Audiences: []string{opaqueResource, resource("RS256")},
		TokenType: "at+jwt",
		Introspection: &oidcauth.IntrospectionConfig{
			ClientID:     rsClient,
			ClientSecret: rsSecret,
			All:          true,
			CacheTTL:     -1,
		},
	})
	opaque := p.MustClientCredentials(t, opaqueResource)
	if _, err := a.Validate(ctx, opaque); err != nil {
		t.Errorf("Validate(opaque) error = %v", err)
	}
	p.revoke(t, opaque)
	if _, err := a.Validate(ctx, opaque); !errors.Is(err, oidcauth.ErrTokenInactive) {
		t.Errorf("Validate(revoked opaque) without a cache error = %v, want ErrTokenInactive", err)
	}

	// oidc-provider stores JWT access tokens by jti and looks tokens up by
	// their whole value, so it answers {"active":false} for its own JWTs:
	// with it, All refuses every JWT (README, "Opaque tokens"). The JWT
	// itself is valid locally.
	jwt := p.MustClientCredentials(t, resource("RS256"))
	local := newAuthorizer(t, oidcauth.Config{Issuer: p.Issuer, Audiences: []string{resource("RS256")}, TokenType: "at+jwt"})
	if _, err := local.Validate(ctx, jwt); err != nil {
		t.Fatalf("Validate(JWT) locally error = %v", err)
	}
	if _, err := a.Validate(ctx, jwt); !errors.Is(err, oidcauth.ErrTokenInactive) {
		t.Errorf("Validate(JWT) with All error = %v, want ErrTokenInactive (oidc-provider does not introspect its JWT access tokens; has that changed?)", err)
	}

	// A wrong client secret: the provider answers 401 invalid_client,
	// which is our configuration error (503), not the token's fault.
	wrong := newAuthorizer(t, oidcauth.Config{
		Issuer:    p.Issuer,
		Audiences: []string{opaqueResource},
		Introspection: &oidcauth.IntrospectionConfig{
			ClientID:     rsClient,
			ClientSecret: "wrong-secret",
			CacheTTL:     -1,
		},
	})
	fresh := p.MustClientCredentials(t, opaqueResource)
	_, err := wrong.Validate(ctx, fresh)
	if !errors.Is(err, oidcauth.ErrIntrospectionFailed) || oidcauth.StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("Validate with a wrong client secret error = %v (status %d), want ErrIntrospectionFailed, 503", err, oidcauth.StatusCode(err))
	}
	if err != nil && strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q quotes the client secret", err)
	}
}
