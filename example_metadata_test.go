package oidcauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// ExampleResourceMetadataURL derives where a resource's metadata lives
// (RFC 9728 §3.1).
func ExampleResourceMetadataURL() {
	u, err := oidcauth.ResourceMetadataURL("https://api.example.com/mcp")
	fmt.Println(u, err)
	// Output: https://api.example.com/.well-known/oauth-protected-resource/mcp <nil>
}

// ExampleAuthorizer_ResourceMetadataHandler protects an API that is the
// resource "https://api.example.com/mcp": tokens must carry it in aud,
// every 401 points to the metadata, and the metadata names the issuer.
func ExampleAuthorizer_ResourceMetadataHandler() {
	provider, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()

	const resource = "https://api.example.com/mcp"
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer:          provider.Issuer(),
		Resource:        resource,
		ScopesSupported: []string{"files:read"},
		Logger:          quietLogger(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	metaURL, _ := oidcauth.ResourceMetadataURL(resource)
	path, _ := url.Parse(metaURL)
	mux := http.NewServeMux()
	mux.Handle(path.Path, auth.ResourceMetadataHandler())
	mux.Handle("/mcp", auth.Required(auth.Require(oidcauth.RequireScopes("files:read"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	}))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, _ := http.Get(srv.URL + "/mcp")
	fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"))
	res.Body.Close()

	res, _ = http.Get(srv.URL + path.Path)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Print(strings.ReplaceAll(string(body), provider.Issuer(), "ISSUER"))

	token, _ := provider.Mint(map[string]any{"sub": "alice", "aud": resource, "scope": "files:read"})
	req, _ := http.NewRequest("GET", srv.URL+"/mcp", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, _ = http.DefaultClient.Do(req)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Printf("%d %s", res.StatusCode, body)
	// Output:
	// 401 Bearer realm="https://api.example.com/mcp", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"
	// {"resource":"https://api.example.com/mcp","authorization_servers":["ISSUER"],"scopes_supported":["files:read"],"bearer_methods_supported":["header"]}
	// 200 hello
}

// ExampleRequireMaxAge asks for a recent login (RFC 9470): a token whose
// auth_time is too old gets 401 insufficient_user_authentication with
// max_age, which the client passes to the authorization server.
func ExampleRequireMaxAge() {
	provider, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: provider.Issuer(), Audiences: []string{"api"}, Realm: "api", Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()

	h := auth.Required(auth.Require(oidcauth.RequireACR("mfa"), oidcauth.RequireMaxAge(5*time.Minute))(http.NotFoundHandler()))
	token, _ := provider.Mint(map[string]any{"sub": "alice", "aud": "api", "acr": "mfa", "auth_time": time.Now().Add(-time.Hour).Unix()})
	req := httptest.NewRequest("DELETE", "/account", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
	// Output: 401 Bearer realm="api", error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", max_age="300"
}
