package oidcmcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidcmcp"
	"github.com/oidcauth/oidcauth/oidctest"
)

type fixture struct {
	idp      *oidctest.Provider
	authz    *oidcauth.Authorizer
	guard    *oidcmcp.Guard
	srv      *httptest.Server
	resource string
}

func newFixture(t testing.TB, scopes ...string) *fixture {
	t.Helper()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	f := &fixture{idp: idp}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.resource = f.srv.URL + "/mcp"
	authz, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), Resource: f.resource})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { authz.Close() })
	f.authz = authz
	f.guard, err = oidcmcp.New(oidcmcp.Config{Authorizer: authz, Scopes: scopes, ExtraScopes: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "whoami"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		c, ok := oidcmcp.Claims(req.Extra.TokenInfo)
		if !ok {
			return nil, nil, errors.New("no claims")
		}
		fromCtx, ok := oidcauth.ClaimsFromContext(ctx)
		b, _ := json.Marshal(map[string]any{"sub": c.Subject, "client_id": c.ClientID, "scopes": c.Scopes, "ctx": ok && fromCtx.Subject == c.Subject, "user": req.Extra.TokenInfo.UserID})
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil, nil
	})
	mcp.AddTool(server, &mcp.Tool{Name: "admin"}, func(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
		if err := oidcmcp.CheckScopes(req.Extra.TokenInfo, "admin"); err != nil {
			return nil, nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil, nil
	})
	mux.Handle(f.guard.MetadataPath(), f.guard.MetadataHandler())
	mux.Handle("/mcp", f.guard.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
	mux.Handle("/root", authz.Required(authz.Require(oidcauth.RequireScopes(scopes...))(http.NotFoundHandler())))
	return f
}

func do(t *testing.T, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestChallenges(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "mcp")
	rm := `resource_metadata="` + f.srv.URL + `/.well-known/oauth-protected-resource/mcp"`
	realm := `realm="` + f.resource + `"` // the default realm: the audience
	good := f.idp.MustMint(t, map[string]any{"sub": "alice", "aud": f.resource, "scope": "mcp", "client_id": "c"})
	noScope := f.idp.MustMint(t, map[string]any{"sub": "alice", "aud": f.resource, "scope": "other"})
	otherAud := f.idp.MustMint(t, map[string]any{"sub": "alice", "aud": "http://127.0.0.1:1/other", "scope": "mcp"})
	tests := []struct {
		name, token string
		status      int
		want        string
	}{
		{"no token", "", 401, `Bearer ` + realm + `, scope="mcp", ` + rm},
		{"bad token", "not.a.token", 401, `Bearer ` + realm + `, error="invalid_token", error_description="the token is invalid", scope="mcp", ` + rm},
		{"token for another resource", otherAud, 401, ""},
		{"without the scope", noScope, 403, ""},
		{"good", good, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, f.srv.URL+"/mcp", tt.token)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			got := resp.Header.Get("WWW-Authenticate")
			if tt.status == 200 {
				return
			}
			// Byte for byte the root middleware's challenge, with
			// resource_metadata last (and scope on a 401).
			root := do(t, f.srv.URL+"/root", tt.token).Header.Get("WWW-Authenticate")
			want := root
			if tt.status == 401 {
				want = strings.Replace(root, ", "+rm, `, scope="mcp", `+rm, 1)
			}
			if got != want {
				t.Errorf("WWW-Authenticate = %s\nwant %s", got, want)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("WWW-Authenticate = %s\nwant %s", got, tt.want)
			}
			if tt.status == 403 && !strings.Contains(got, `, error="insufficient_scope", error_description="the token does not grant the required scope", scope="mcp", `+rm) {
				t.Errorf("403 challenge %s", got)
			}
			if tt.name == "token for another resource" && !strings.Contains(got, `error="invalid_token"`) {
				t.Errorf("another resource's token: %s", got)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "mcp")
	resp, err := http.Get(f.guard.MetadataURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || m["resource"] != f.resource ||
		len(m["authorization_servers"].([]any)) != 1 || m["authorization_servers"].([]any)[0] != f.idp.Issuer() ||
		len(m["scopes_supported"].([]any)) != 2 || m["bearer_methods_supported"].([]any)[0] != "header" {
		t.Errorf("metadata %d %v", resp.StatusCode, m)
	}
}

func TestMetadataLocation(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	authz, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), Audiences: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	defer authz.Close()
	withResource, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), Resource: "https://api.example.com/mcp"})
	if err != nil {
		t.Fatal(err)
	}
	defer withResource.Close()
	if g, err := oidcmcp.New(oidcmcp.Config{Authorizer: withResource}); err != nil || g.MetadataURL() != "https://api.example.com/.well-known/oauth-protected-resource/mcp" {
		t.Errorf("resource from the Authorizer: %v", err)
	}
	for _, tt := range []struct{ resource, url, path string }{
		{"https://api.example.com/mcp", "https://api.example.com/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/mcp"},
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/a/b/", "https://api.example.com/.well-known/oauth-protected-resource/a/b", "/.well-known/oauth-protected-resource/a/b"},
		{"http://127.0.0.1:8090/a%2Fb", "http://127.0.0.1:8090/.well-known/oauth-protected-resource/a%2Fb", "/.well-known/oauth-protected-resource/a/b"},
	} {
		g, err := oidcmcp.New(oidcmcp.Config{Authorizer: authz, Resource: tt.resource})
		if err != nil {
			t.Fatalf("%s: %v", tt.resource, err)
		}
		if g.MetadataURL() != tt.url || g.MetadataPath() != tt.path {
			t.Errorf("%s: %s %s, want %s %s", tt.resource, g.MetadataURL(), g.MetadataPath(), tt.url, tt.path)
		}
	}
	for _, bad := range []oidcmcp.Config{
		{Resource: "https://api.example.com/mcp"},
		{Authorizer: authz, Resource: "http://api.example.com/mcp"},
		{Authorizer: authz, Resource: "/mcp"},
		{Authorizer: authz, Resource: "https://api.example.com/mcp#f"},
		{Authorizer: authz, Resource: "https://api.example.com/mcp", Scopes: []string{"a b"}},
		{Authorizer: authz, Resource: "https://api.example.com/mcp?q=1"},
		{Authorizer: authz},
		{Authorizer: withResource, Resource: "https://api.example.com/other"},
	} {
		if _, err := oidcmcp.New(bad); err == nil || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("New(%+v) = %v", bad, err)
		}
	}
}

// bearer adds a token to every request of the SDK's client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func TestSDKClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "mcp")
	token := f.idp.MustMint(t, map[string]any{"sub": "alice", "aud": f.resource, "scope": "mcp tools", "client_id": "cli"})
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil)
	ctx := context.Background()
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: f.resource,
		HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	var who map[string]any
	json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &who)
	if who["sub"] != "alice" || who["client_id"] != "cli" || who["user"] != f.idp.Issuer()+" alice" {
		t.Errorf("whoami = %v", who)
	}
	t.Logf("oidcauth.ClaimsFromContext in the tool handler: %v", who["ctx"])
	res, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "admin"})
	if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, `this tool needs scope "admin"`) {
		t.Errorf("admin without the scope: %v %+v", err, res)
	}
}

// TestVerifierStandalone: used with the SDK's own middleware, without
// Protect, the Verifier validates the token and checks the required scopes.
func TestVerifierStandalone(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "mcp")
	var seen *oidcauth.Claims
	h := auth.RequireBearerToken(f.guard.Verifier(), nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, _ = oidcmcp.Claims(auth.TokenInfoFromContext(r.Context()))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tt := range []struct {
		token  string
		status int
	}{
		{f.idp.MustMint(t, map[string]any{"sub": "bob", "aud": f.resource, "scope": "mcp"}), 200},
		{f.idp.MustMint(t, map[string]any{"sub": "bob", "aud": f.resource, "scope": "other"}), 401},
		{f.idp.MustMint(t, map[string]any{"sub": "bob", "aud": "http://127.0.0.1:1/x", "scope": "mcp"}), 401},
		{"garbage", 401},
	} {
		seen = nil
		if resp := do(t, srv.URL, tt.token); resp.StatusCode != tt.status {
			t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
		}
		if (seen != nil) != (tt.status == 200) || (seen != nil && seen.Subject != "bob") {
			t.Errorf("claims %+v for status %d", seen, tt.status)
		}
	}
	if err := oidcmcp.CheckScopes(nil, "mcp"); !errors.Is(err, oidcauth.ErrNoToken) {
		t.Errorf("CheckScopes(nil) = %v", err)
	}
}
