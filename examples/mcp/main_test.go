package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// start runs the example on a free port and returns its base URL and the
// line telling how to connect.
func start(t *testing.T, args ...string) (base, hint string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), pw, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		pw.Close()
	})
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	first := <-lines
	if !strings.HasPrefix(first, "listening on http://127.0.0.1:") {
		t.Fatalf("first line %q", first)
	}
	base = strings.TrimPrefix(first, "listening on ")
	select {
	case hint = <-lines:
	case <-time.After(5 * time.Second):
	}
	go func() {
		for range lines {
		}
	}()
	return base, hint
}

func TestUnauthenticated(t *testing.T) {
	base, hint := start(t, "--scope", "mcp:tools")
	if !strings.Contains(hint, base+"/mcp") || !strings.Contains(hint, "connect an MCP client") {
		t.Errorf("hint %q", hint)
	}
	rm := `resource_metadata="` + base + `/.well-known/oauth-protected-resource/mcp"`
	for _, tt := range []struct{ token, want string }{
		{"", `scope="mcp:tools", ` + rm},
		{"bad", `error="invalid_token", error_description="the token is invalid", scope="mcp:tools", ` + rm},
	} {
		req, _ := http.NewRequest(http.MethodPost, base+"/mcp", strings.NewReader(`{}`))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.HasSuffix(got, tt.want) {
			t.Errorf("token %q: %d %s, want suffix %s", tt.token, resp.StatusCode, got, tt.want)
		}
	}
	resp, err := http.Get(base + "/.well-known/oauth-protected-resource/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
		BearerMethods        []string `json:"bearer_methods_supported"`
	}
	json.NewDecoder(resp.Body).Decode(&m)
	if m.Resource != base+"/mcp" || len(m.AuthorizationServers) != 1 || !strings.HasPrefix(m.AuthorizationServers[0], "http://127.0.0.1:") ||
		strings.Join(m.ScopesSupported, " ") != "mcp:tools" || strings.Join(m.BearerMethods, " ") != "header" {
		t.Errorf("metadata %+v", m)
	}
}

// autoLogin is the AuthorizationCodeFetcher of a client whose user is
// signed in automatically: it follows the authorization URL and reads the
// code from the redirect, as the embedded server answers at once.
func autoLogin(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, args.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return nil, errors.New("no code in the authorization response: " + resp.Status + " " + resp.Header.Get("Location"))
	}
	q := loc.Query()
	return &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
}

// TestGoSDKClient: the official Go SDK's client starts with no credentials,
// gets the 401, reads the metadata, discovers the embedded authorization
// server, registers (RFC 7591), gets a code with PKCE and resource, and
// calls whoami.
func TestGoSDKClient(t *testing.T) {
	base, _ := start(t)
	const redirect = "http://127.0.0.1:33418/callback"
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none", ClientName: "go-sdk-test",
		}},
		RedirectURL:              redirect,
		AuthorizationCodeFetcher: autoLogin,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-test", Version: "1"}, nil)
	ctx := context.Background()
	session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", OAuthHandler: h}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer session.Close()
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "whoami"})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	text := res.Content[0].(*mcp.TextContent).Text
	var who struct {
		Sub      string   `json:"sub"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(text), &who); err != nil || who.Sub != "alice" || who.ClientID == "" || who.Scopes == nil {
		t.Errorf("whoami = %s (%v)", text, err)
	}
	if !strings.HasPrefix(text, `{"sub":"alice","client_id":"`) {
		t.Errorf("whoami text %s", text)
	}
}
