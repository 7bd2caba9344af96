package oidcauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestIssuers(t *testing.T) {
	t.Parallel()
	pa := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	pb := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	stranger := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{Issuers: []oidcauth.Config{
		{Issuer: pa.Issuer(), Audiences: []string{"api-a"}, Now: fixedNow, Logger: quietLogger()},
		{Issuer: pb.Issuer(), Audiences: []string{"api-b"}, Now: fixedNow, Logger: quietLogger()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fetchesA, fetchesB, fetchesS := pa.JWKSFetches(), pb.JWKSFetches(), stranger.JWKSFetches()+stranger.DiscoveryFetches()
	// A token of A whose signature is B's (both providers call their key k1).
	forged := func() string {
		tok := pa.MustMint(t, map[string]any{"aud": "api-a"})
		other := strings.Split(pb.MustMint(t, map[string]any{"aud": "api-a", "iss": pa.Issuer()}), ".")
		parts := strings.Split(tok, ".")
		return parts[0] + "." + other[1] + "." + other[2]
	}()
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"A's token", pa.MustMint(t, map[string]any{"aud": "api-a", "sub": "a"}), nil},
		{"B's token", pb.MustMint(t, map[string]any{"aud": "api-b", "sub": "b"}), nil},
		{"A's token with B's audience", pa.MustMint(t, map[string]any{"aud": "api-b"}), oidcauth.ErrInvalidAudience},
		{"iss of A, signed by B", pb.MustMint(t, map[string]any{"aud": "api-a", "iss": pa.Issuer()}), oidcauth.ErrInvalidSignature},
		{"A's header with B's payload and signature", forged, oidcauth.ErrInvalidSignature},
		{"unknown issuer", stranger.MustMint(t, map[string]any{"aud": "api-a"}), oidcauth.ErrInvalidIssuer},
		{"no iss", pa.MustMint(t, map[string]any{"aud": "api-a", "iss": nil}), oidcauth.ErrInvalidIssuer},
		{"iss not a string", pa.MustMint(t, map[string]any{"aud": "api-a", "iss": 1}), oidcauth.ErrInvalidIssuer},
		{"duplicate iss", pa.MustMintToken(t, oidctest.Token{RawPayload: []byte(`{"iss":"` + pb.Issuer() + `","iss":"` + pa.Issuer() + `","aud":"api-a","exp":1800003600}`)}), oidcauth.ErrInvalidClaims},
		{"garbage", "a.b.c", oidcauth.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Validate(context.Background(), tt.token)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
	if pa.JWKSFetches() != fetchesA || pb.JWKSFetches() != fetchesB {
		t.Errorf("JWKS fetches during validation: A %d, B %d; want none", pa.JWKSFetches()-fetchesA, pb.JWKSFetches()-fetchesB)
	}
	if n := stranger.JWKSFetches() + stranger.DiscoveryFetches(); n != fetchesS {
		t.Errorf("the unknown issuer was fetched %d times, want 0", n-fetchesS)
	}
}

// TestIssuerTemplate uses the provider's port as the tenant id: two
// providers on "http://127.0.0.1:{tenant}/v2.0".
func TestIssuerTemplate(t *testing.T) {
	t.Parallel()
	opts := oidctest.Options{Algorithm: "ES256", Now: fixedNow, IssuerPath: "/v2.0"}
	p1, p2, p3 := oidctest.New(t, opts), oidctest.New(t, opts), oidctest.New(t, opts)
	port := func(p *oidctest.Provider) string { u, _ := url.Parse(p.Issuer()); return u.Port() }
	var asked []string
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{Logger: quietLogger(), Templates: []oidcauth.IssuerTemplate{{
		Template: "http://127.0.0.1:{tenant}/v2.0",
		Tenants:  []string{port(p1)},
		AllowTenant: func(_ context.Context, tenant string) bool {
			asked = append(asked, tenant)
			return tenant == port(p2)
		},
		Config: oidcauth.Config{Audiences: []string{"api"}, Now: fixedNow, Logger: quietLogger()},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, p := range []*oidctest.Provider{p1, p2} {
		if _, err := m.Validate(context.Background(), p.MustMint(t, map[string]any{"aud": "api"})); err != nil {
			t.Fatalf("tenant %s: Validate() error = %v", port(p), err)
		}
	}
	_, err = m.Validate(context.Background(), p3.MustMint(t, map[string]any{"aud": "api"}))
	if !errors.Is(err, oidcauth.ErrInvalidIssuer) {
		t.Fatalf("tenant not allowed: Validate() error = %v, want ErrInvalidIssuer", err)
	}
	if n := p3.JWKSFetches() + p3.DiscoveryFetches(); n != 0 {
		t.Errorf("the refused tenant was fetched %d times", n)
	}
	if len(asked) != 2 || asked[0] != port(p2) || asked[1] != port(p3) {
		t.Errorf("AllowTenant asked %v, want [p2 p3] once each", asked)
	}
	// A tenant id with a path in it never reaches AllowTenant.
	tok := p1.MustMint(t, map[string]any{"aud": "api", "iss": "http://127.0.0.1:1/../evil/v2.0"})
	if _, err := m.Validate(context.Background(), tok); !errors.Is(err, oidcauth.ErrInvalidIssuer) || len(asked) != 2 {
		t.Errorf("tenant with a path: error = %v, asked %v", err, asked)
	}
}

func TestIssuersConfigErrors(t *testing.T) {
	t.Parallel()
	for _, cfg := range []oidcauth.IssuersConfig{
		{},
		{Templates: []oidcauth.IssuerTemplate{{Template: "https://idp.example/v2.0", Config: oidcauth.Config{Audiences: []string{"a"}}}}},
		{Templates: []oidcauth.IssuerTemplate{{Template: "https://idp.example/{tenant}/{tenant}", Config: oidcauth.Config{Audiences: []string{"a"}}}}},
		{Templates: []oidcauth.IssuerTemplate{{Template: "https://idp.example/{tenant}"}}},
		{Templates: []oidcauth.IssuerTemplate{{Template: "https://idp.example/{tenant}", Tenants: []string{"a/b"}, Config: oidcauth.Config{Audiences: []string{"a"}}}}},
	} {
		if m, err := oidcauth.NewIssuers(context.Background(), cfg); err == nil {
			m.Close()
			t.Errorf("NewIssuers(%+v) succeeded", cfg)
		}
	}
}

// TestChain: an API key authenticator and a bearer token authenticator in
// one chain. A recognised but invalid credential is rejected, not skipped.
func TestChain(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{})
	apiKeys := oidcauth.AuthenticatorFunc(func(r *http.Request) (*oidcauth.Claims, error) {
		key := r.Header.Get("X-API-Key")
		switch key {
		case "":
			return nil, oidcauth.ErrNoToken
		case "k-123":
			return &oidcauth.Claims{Subject: "service-1", Raw: []byte(`{"sub":"service-1"}`)}, nil
		}
		return nil, &oidcauth.ValidationError{Err: oidcauth.ErrInvalidSignature, Reason: "unknown API key"}
	})
	chain := &oidcauth.Chain{Authenticators: []oidcauth.Authenticator{apiKeys, a}}
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	tests := []struct {
		name          string
		apiKey, authz string
		required      int
		maybe         string
	}{
		{"nothing", "", "", 401, "anonymous"},
		{"API key", "k-123", "", 200, "sub:service-1"},
		{"bearer", "", "Bearer " + good, 200, "sub:alice"},
		{"bad API key is not skipped for a good bearer", "nope", "Bearer " + good, 401, "401"},
		{"good API key decides first", "k-123", "Bearer bad", 200, "sub:service-1"},
		{"bad bearer", "", "Bearer bad", 401, "401"},
	}
	for _, tt := range tests {
		for _, mode := range []string{"required", "maybe"} {
			req := httptest.NewRequest("GET", "/", nil)
			if tt.apiKey != "" {
				req.Header.Set("X-API-Key", tt.apiKey)
			}
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			rec := httptest.NewRecorder()
			if mode == "required" {
				chain.Required(echo).ServeHTTP(rec, req)
				if rec.Code != tt.required {
					t.Errorf("%s: Required status = %d, want %d", tt.name, rec.Code, tt.required)
				}
				continue
			}
			chain.Maybe(echo).ServeHTTP(rec, req)
			got := rec.Body.String()
			if rec.Code != 200 {
				got = "401"
			}
			if got != tt.maybe {
				t.Errorf("%s: Maybe = %q, want %q", tt.name, got, tt.maybe)
			}
		}
	}
}

func TestStaticKeys(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	pub := p.PublicKey(p.ActiveKeyID())
	der, _ := x509.MarshalPKIXPublicKey(pub)
	parsed, err := oidcauth.ParsePublicKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	tok := p.MustMint(t, map[string]any{"aud": "api"})
	for name, cfg := range map[string]oidcauth.Config{
		"PEM key by kid":  {StaticKeys: map[string]crypto.PublicKey{p.ActiveKeyID(): parsed}},
		"key without kid": {StaticKeys: map[string]crypto.PublicKey{"": pub}},
		"JWKS document":   {StaticJWKS: p.JWKS()},
	} {
		cfg.Issuer, cfg.Audiences, cfg.Now, cfg.Logger = p.Issuer(), []string{"api"}, fixedNow, quietLogger()
		p.SetJWKSFault(&oidctest.Fault{Status: 500}) // never fetched
		a, err := oidcauth.New(context.Background(), cfg)
		if err != nil {
			t.Fatalf("%s: New() error = %v", name, err)
		}
		if _, err := a.Validate(context.Background(), tok); err != nil {
			t.Errorf("%s: Validate() error = %v", name, err)
		}
		unknown := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"aud": "api"}, Header: map[string]any{"kid": "other"}})
		_, err = a.Validate(context.Background(), unknown)
		if name == "key without kid" {
			// A key without kid is the single key for its algorithm: the
			// token's kid cannot contradict it.
			if err != nil {
				t.Errorf("%s: token with a kid: error = %v", name, err)
			}
		} else if !errors.Is(err, oidcauth.ErrUnknownKey) {
			t.Errorf("%s: unknown kid error = %v", name, err)
		}
		a.Close()
	}
	if p.JWKSFetches() != 0 || p.DiscoveryFetches() != 0 {
		t.Errorf("static keys fetched: %d JWKS, %d discovery", p.JWKSFetches(), p.DiscoveryFetches())
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: fixedNow, StaticKeys: map[string]crypto.PublicKey{"": &other.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Validate(context.Background(), tok); !errors.Is(err, oidcauth.ErrUnknownKey) && !errors.Is(err, oidcauth.ErrInvalidSignature) {
		t.Errorf("other key: error = %v, want a rejection", err)
	}
}

func TestHMACSecret(t *testing.T) {
	t.Parallel()
	secret := []byte("0123456789abcdef0123456789abcdef")
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: "svc-a", Audiences: []string{"svc-b"}, Algorithms: []string{"HS256"}, HMACSecret: secret, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	body := b64(`{"alg":"HS256","typ":"JWT"}`) + "." + b64(`{"iss":"svc-a","aud":"svc-b","exp":1800003600}`)
	if _, err := a.Validate(context.Background(), hs256Token(body, secret)); err != nil {
		t.Fatalf("Validate(HS256) error = %v", err)
	}
	if _, err := a.Validate(context.Background(), hs256Token(body, []byte("0123456789abcdef0123456789abcdeX"))); !errors.Is(err, oidcauth.ErrInvalidSignature) {
		t.Fatalf("wrong secret: error = %v", err)
	}
	if _, err := a.Validate(context.Background(), b64(`{"alg":"HS384"}`)+".e30.AA"); !errors.Is(err, oidcauth.ErrUnsupportedAlgorithm) {
		t.Fatalf("HS384: error = %v", err)
	}
	bad := []oidcauth.Config{
		{Issuer: "x", Audiences: []string{"a"}, Algorithms: []string{"HS256"}},                                                        // HS without secret
		{Issuer: "x", Audiences: []string{"a"}, HMACSecret: secret},                                                                   // secret without algorithms
		{Issuer: "x", Audiences: []string{"a"}, Algorithms: []string{"HS256", "RS256"}, HMACSecret: secret},                           // mixed
		{Issuer: "x", Audiences: []string{"a"}, Algorithms: []string{"HS256"}, HMACSecret: []byte("short")},                           // short
		{Issuer: "x", Audiences: []string{"a"}, Algorithms: []string{"HS256"}, HMACSecret: secret, StaticJWKS: []byte(`{"keys":[]}`)}, // with keys
		{Issuer: "https://x.example", Audiences: []string{"a"}, Algorithms: []string{"HS256"}, HMACSecret: secret, JWKSURL: "https://x.example/jwks"},
	}
	for i, cfg := range bad {
		if a, err := oidcauth.New(context.Background(), cfg); err == nil {
			a.Close()
			t.Errorf("bad config %d accepted", i)
		}
	}
}

func TestProviderQuirks(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	mk := func(cfg oidcauth.Config) *oidcauth.Authorizer {
		cfg.Issuer, cfg.Audiences, cfg.Now, cfg.Logger = p.Issuer(), []string{"app-client"}, fixedNow, quietLogger()
		a, err := oidcauth.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		return a
	}
	strict, cognito := mk(oidcauth.Config{}), mk(oidcauth.Config{CognitoAccessTokens: true})
	access := p.MustMint(t, map[string]any{"token_use": "access", "client_id": "app-client"})
	if _, err := strict.Validate(context.Background(), access); !errors.Is(err, oidcauth.ErrInvalidAudience) {
		t.Errorf("Cognito token, quirk off: error = %v, want ErrInvalidAudience", err)
	}
	if _, err := cognito.Validate(context.Background(), access); err != nil {
		t.Errorf("Cognito token, quirk on: error = %v", err)
	}
	for name, claims := range map[string]map[string]any{
		"other client":         {"token_use": "access", "client_id": "other"},
		"ID token (token_use)": {"token_use": "id", "client_id": "app-client"},
		"token_use not string": {"token_use": 1, "client_id": "app-client"},
	} {
		if _, err := cognito.Validate(context.Background(), p.MustMint(t, claims)); err == nil {
			t.Errorf("Cognito quirk accepted %s", name)
		}
	}
	// Google's scheme-less iss, opt-in only, for an https issuer.
	g, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: "https://accounts.google.com", Audiences: []string{"a"}, SchemelessIssuer: true, StaticJWKS: p.JWKS(), Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for iss, ok := range map[string]bool{"accounts.google.com": true, "https://accounts.google.com": true, "http://accounts.google.com": false, "evil.com/accounts.google.com": false} {
		c, err := g.Validate(context.Background(), p.MustMint(t, map[string]any{"aud": "a", "iss": iss}))
		if (err == nil) != ok || (ok && c.Issuer != "https://accounts.google.com") {
			t.Errorf("iss %q: error = %v, want ok=%v", iss, err, ok)
		}
	}
}

// TestIssuersMiddleware checks Required, Maybe and Require of Issuers, and
// Authorizer lookup.
func TestIssuersMiddleware(t *testing.T) {
	t.Parallel()
	pa := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: fixedNow})
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{Realm: "orders", Issuers: []oidcauth.Config{
		{Issuer: pa.Issuer(), Audiences: []string{"api"}, Now: fixedNow, Logger: quietLogger()},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if a, ok := m.Authorizer(pa.Issuer()); !ok || a.Issuer() != pa.Issuer() {
		t.Errorf("Authorizer(%q) = %v, %v", pa.Issuer(), a, ok)
	}
	if _, ok := m.Authorizer("https://other.example"); ok {
		t.Error("Authorizer of an unknown issuer found")
	}
	onlyAlice := oidcauth.RequirementFunc(func(c *oidcauth.Claims) error {
		if c.Subject != "alice" {
			return &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Reason: "not alice"}
		}
		return nil
	})
	alice := "Bearer " + pa.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	bob := "Bearer " + pa.MustMint(t, map[string]any{"aud": "api", "sub": "bob"})
	tests := []struct {
		name      string
		h         http.Handler
		authz     string
		status    int
		body      string
		challenge string
	}{
		{"Required, no token", m.Required(echo), "", 401, "", `Bearer realm="orders"`},
		{"Required, alice", m.Required(echo), alice, 200, "sub:alice", ""},
		{"Required, garbage", m.Required(echo), "Bearer x.y.z", 401, "", `Bearer realm="orders", error="invalid_token", error_description="the token is invalid"`},
		{"Maybe, no token", m.Maybe(echo), "", 200, "anonymous", ""},
		{"Maybe, garbage is not anonymous", m.Maybe(echo), "Bearer x.y.z", 401, "", `Bearer realm="orders", error="invalid_token", error_description="the token is invalid"`},
		{"Require, alice", m.Required(m.Require(onlyAlice)(echo)), alice, 200, "sub:alice", ""},
		{"Require, bob", m.Required(m.Require(onlyAlice)(echo)), bob, 403, "", `Bearer realm="orders", error="insufficient_scope", error_description="the token does not grant the required scope"`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		if tt.authz != "" {
			req.Header.Set("Authorization", tt.authz)
		}
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s: got %d %q %q, want %d %q %q", tt.name, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body.String(), tt.status, tt.challenge, tt.body)
		}
	}
}
