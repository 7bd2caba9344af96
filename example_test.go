package oidcauth_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

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
