package oidcauth_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// ExampleNew validates a token from a provider. oidctest stands in for a
// real provider such as Auth0 or Okta.
func ExampleNew() {
	provider, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()

	auth, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer:    provider.Issuer(),
		Audiences: []string{"https://api.example.com"},
		Logger:    quietLogger(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	token, _ := provider.Mint(map[string]any{"sub": "alice", "aud": "https://api.example.com", "scope": "read write"})
	claims, err := auth.Validate(context.Background(), token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Scopes, claims.HasScope("write"))

	other, _ := provider.Mint(map[string]any{"sub": "alice", "aud": "https://other.example.com"})
	_, err = auth.Validate(context.Background(), other)
	fmt.Println(errors.Is(err, oidcauth.ErrInvalidAudience))
	// Output:
	// alice [read write] true
	// true
}

// ExampleAuthorizer_Required protects a handler: requests without a valid
// bearer token never reach it.
func ExampleAuthorizer_Required() {
	provider, _ := oidctest.Start(oidctest.Options{})
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "hello, %s", claims.Subject)
	})
	srv := httptest.NewServer(auth.Required(me))
	defer srv.Close()

	resp, _ := http.Get(srv.URL)
	fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	resp.Body.Close()

	token, _ := provider.Mint(map[string]any{"sub": "alice", "aud": "api"})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 401 Bearer realm="api"
	// 200 hello, alice
}

// ExampleAuthorizer_Maybe serves anonymous and signed-in callers alike, but
// never treats a bad token as anonymous.
func ExampleAuthorizer_Maybe() {
	provider, _ := oidctest.Start(oidctest.Options{})
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	feed := auth.Maybe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if claims, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
			fmt.Fprintf(w, "feed of %s", claims.Subject)
			return
		}
		fmt.Fprint(w, "public feed")
	}))
	for _, authz := range []string{"", "Bearer not-a-token"} {
		req := httptest.NewRequest("GET", "/feed", nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		feed.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 public feed
	// 401 {"error":"invalid_token","error_description":"the token is invalid"}
}

// ExampleClaims_Decode reads custom claims into a struct.
func ExampleClaims_Decode() {
	provider, _ := oidctest.Start(oidctest.Options{})
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	token, _ := provider.Mint(map[string]any{"aud": "api", "sub": "alice", "org_id": "acme", "roles": []string{"admin"}})
	claims, _ := auth.Validate(context.Background(), token)

	var custom struct {
		OrgID string   `json:"org_id"`
		Roles []string `json:"roles"`
	}
	if err := claims.Decode(&custom); err != nil {
		log.Fatal(err)
	}
	fmt.Println(custom.OrgID, custom.Roles)
	// Output: acme [admin]
}

// ExampleAuthorizer_Require lets only tokens with the admin scope through.
func ExampleAuthorizer_Require() {
	provider, _ := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	admin := auth.Required(auth.Require(oidcauth.RequireScopes("admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "welcome")
	})))
	for _, scope := range []string{"read", "read admin"} {
		token, _ := provider.Mint(map[string]any{"aud": "api", "scope": scope})
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	// Output:
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"
	// 200
}

// ExampleAnyOf combines requirements: admins, or editors of the
// "https://example.com/roles" claim with the write scope.
func ExampleAnyOf() {
	req := oidcauth.AnyOf(
		oidcauth.RequireRole("realm_access.roles", "admin"),
		oidcauth.AllOf(oidcauth.RequireRole("https://example.com/roles", "editor"), oidcauth.RequireScopes("write")),
	)
	editor := &oidcauth.Claims{Scopes: []string{"write"}, Raw: []byte(`{"https://example.com/roles":["editor"]}`)}
	reader := &oidcauth.Claims{Scopes: []string{"read"}, Raw: []byte(`{"realm_access":{"roles":["user"]}}`)}
	fmt.Println(req.Check(editor) == nil, req.Check(reader) == nil)
	// Output: true false
}

// ExampleNewIssuers accepts tokens of two providers, each with its own
// audience and keys.
func ExampleNewIssuers() {
	a, _ := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	defer a.Close()
	b, _ := oidctest.Start(oidctest.Options{Algorithm: "EdDSA"})
	defer b.Close()
	issuers, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{Issuers: []oidcauth.Config{
		{Issuer: a.Issuer(), Audiences: []string{"orders"}, Logger: quietLogger()},
		{Issuer: b.Issuer(), Audiences: []string{"orders-partner"}, Logger: quietLogger()},
	}})
	if err != nil {
		log.Fatal(err)
	}
	defer issuers.Close()
	ta, _ := a.Mint(map[string]any{"aud": "orders", "sub": "alice"})
	tb, _ := b.Mint(map[string]any{"aud": "orders-partner", "sub": "bob"})
	tx, _ := b.Mint(map[string]any{"aud": "orders", "sub": "mallory"})
	for _, tok := range []string{ta, tb, tx} {
		c, err := issuers.Validate(context.Background(), tok)
		if err != nil {
			fmt.Println(errors.Is(err, oidcauth.ErrInvalidAudience))
			continue
		}
		fmt.Println(c.Subject)
	}
	// Output:
	// alice
	// bob
	// true
}

// ExampleChain accepts an API key or a bearer token.
func ExampleChain() {
	provider, _ := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	apiKey := oidcauth.AuthenticatorFunc(func(r *http.Request) (*oidcauth.Claims, error) {
		switch r.Header.Get("X-API-Key") {
		case "":
			return nil, oidcauth.ErrNoToken // not ours: try the next
		case "secret-key-of-billing":
			return &oidcauth.Claims{Subject: "billing", Raw: []byte(`{"sub":"billing"}`)}, nil
		}
		return nil, &oidcauth.ValidationError{Err: oidcauth.ErrInvalidSignature, Reason: "unknown API key"}
	})
	chain := &oidcauth.Chain{Authenticators: []oidcauth.Authenticator{apiKey, auth}}
	h := chain.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprint(w, c.Subject)
	}))
	token, _ := provider.Mint(map[string]any{"aud": "api", "sub": "alice"})
	for _, hdr := range [][2]string{{"X-API-Key", "secret-key-of-billing"}, {"Authorization", "Bearer " + token}, {"X-API-Key", "guess"}} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(hdr[0], hdr[1])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200 billing
	// 200 alice
	// 401 {"error":"invalid_token","error_description":"the token is invalid"}
}

// ExampleCustomClaims reads application claims without map[string]any.
func ExampleCustomClaims() {
	type tenantClaims struct {
		TenantID string `json:"tid"`
	}
	ctx := oidcauth.ContextWithClaims(context.Background(), &oidcauth.Claims{Raw: []byte(`{"tid":"acme"}`)})
	tc, err := oidcauth.CustomClaims[tenantClaims](ctx)
	fmt.Println(tc.TenantID, err)
	// Output: acme <nil>
}

// ExampleParsePublicKeyPEM trusts a key given as PEM, for service-to-service
// tokens without a provider.
func ExampleParsePublicKeyPEM() {
	provider, _ := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	defer provider.Close()
	der, _ := x509.MarshalPKIXPublicKey(provider.PublicKey(provider.ActiveKeyID()))
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	key, err := oidcauth.ParsePublicKeyPEM(pemBytes)
	if err != nil {
		log.Fatal(err)
	}
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer:     provider.Issuer(),
		Audiences:  []string{"api"},
		StaticKeys: map[string]crypto.PublicKey{provider.ActiveKeyID(): key},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	token, _ := provider.Mint(map[string]any{"aud": "api", "sub": "batch-job"})
	c, err := auth.Validate(context.Background(), token)
	fmt.Println(c.Subject, err)
	// Output: batch-job <nil>
}
