package main

import (
	"bytes"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

var opaqueCurlRE = regexp.MustCompile(`^curl -H 'Authorization: Bearer ([A-Za-z0-9_-]+)' (http://\S+)/api/me$`)

// TestIntrospectEmbedded runs --introspect with the embedded provider: the
// second curl command carries an opaque token that /api/me accepts and
// answers with the introspection response.
func TestIntrospectEmbedded(t *testing.T) {
	t.Parallel()
	s := startAPI(t, "--addr", "127.0.0.1:0", "--introspect")
	jwt := curlRE.FindStringSubmatch(nextLine(t, s.lines))
	if jwt == nil {
		t.Fatal("first curl command does not carry a JWT")
	}
	m := opaqueCurlRE.FindStringSubmatch(nextLine(t, s.lines))
	if m == nil || m[2] != s.base {
		t.Fatalf("second line is not a curl command with an opaque token for %s", s.base)
	}
	opaque := m[1]

	got := do(t, "GET", s.base+"/api/me", "Bearer "+opaque)
	if got.status != 200 {
		t.Fatalf("me with the opaque token: status = %d, want 200", got.status)
	}
	for _, member := range []string{`"active":true`, `"sub":"alice"`, `"scope":"read write"`, `"aud":"api"`} {
		if !strings.Contains(got.body, member) {
			t.Errorf("me with the opaque token = %s, want the introspection response with %s", got.body, member)
		}
	}
	if got := do(t, "GET", s.base+"/api/feed", "Bearer "+opaque); got.body != `{"subject":"alice"}` {
		t.Errorf("feed with the opaque token = %d %s, want {\"subject\":\"alice\"}", got.status, got.body)
	}
	if got := do(t, "GET", s.base+"/api/admin", "Bearer "+opaque); got.status != http.StatusForbidden {
		t.Errorf("admin with the opaque token (scope read write): status = %d, want 403", got.status)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer made-up-opaque-token-0123456789"); got.status != http.StatusUnauthorized {
		t.Errorf("me with a made-up opaque token: status = %d, want 401", got.status)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+jwt[1]); got.status != 200 || got.body != payload(t, jwt[1]) {
		t.Errorf("me with the JWT = %d %s, want 200 and its claims", got.status, got.body)
	}
	nextDPoPCurl(t, s)
	if rest := s.stop(); len(rest) != 0 {
		t.Errorf("more lines on stdout: %q", rest)
	}
}

// TestWithoutIntrospectOpaqueRefused checks that nothing changes without
// --introspect: an opaque token is refused, and only one curl command is
// printed.
func TestWithoutIntrospectOpaqueRefused(t *testing.T) {
	t.Parallel()
	s := startAPI(t, "--addr", "127.0.0.1:0")
	if curlRE.FindStringSubmatch(nextLine(t, s.lines)) == nil {
		t.Fatal("no curl command")
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer made-up-opaque-token-0123456789"); got.status != http.StatusUnauthorized {
		t.Errorf("me with an opaque token: status = %d, want 401", got.status)
	}
	nextDPoPCurl(t, s)
	if rest := s.stop(); len(rest) != 0 {
		t.Errorf("more lines on stdout without --introspect: %q", rest)
	}
}

// introspectingProvider returns a provider that lets client "api" with
// secret "s3cret" introspect.
func introspectingProvider(t *testing.T) *oidctest.Provider {
	t.Helper()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	idp.EnableIntrospection("api", "s3cret")
	return idp
}

func TestIntrospectRealProvider(t *testing.T) {
	t.Parallel()
	idp := introspectingProvider(t)
	s := startAPI(t, "--addr", "127.0.0.1:0", "--issuer", idp.Issuer(), "--audience", "api",
		"--introspect", "--client-id", "api", "--client-secret", "s3cret", "--introspection-url", idp.IntrospectionEndpoint())
	opaque := idp.MustMintOpaque(t, map[string]any{"sub": "bob", "aud": "api"})
	other := idp.MustMintOpaque(t, map[string]any{"sub": "bob", "aud": "billing"})

	for i := range 3 {
		if got := do(t, "GET", s.base+"/api/me", "Bearer "+opaque); got.status != 200 || !strings.Contains(got.body, `"sub":"bob"`) {
			t.Fatalf("request %d: me = %d %s, want 200 and the introspection response", i, got.status, got.body)
		}
	}
	// The default --introspect-cache (60s) remembers the answer.
	if n := idp.IntrospectionCalls(); n != 1 {
		t.Errorf("IntrospectionCalls() = %d after 3 requests, want 1 (cached)", n)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+other); got.status != http.StatusUnauthorized {
		t.Errorf("me with a token for another audience: status = %d, want 401", got.status)
	}
	// Only the "listening on" line: no embedded provider, no demo token.
	if rest := s.stop(); len(rest) != 0 {
		t.Errorf("more lines on stdout: %q", rest)
	}
}

// TestIntrospectAllNoCache checks --introspect-all with --introspect-cache
// 0: a revoked JWT is refused on the next request, and a provider failure
// answers 503 with Retry-After.
func TestIntrospectAllNoCache(t *testing.T) {
	t.Parallel()
	idp := introspectingProvider(t)
	s := startAPI(t, "--addr", "127.0.0.1:0", "--issuer", idp.Issuer(), "--audience", "api",
		"--introspect", "--client-id", "api", "--client-secret", "s3cret", "--introspect-all", "--introspect-cache", "0")
	jwt := idp.MustMint(t, map[string]any{"sub": "bob", "aud": "api"})
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+jwt); got.status != 200 || got.body != payload(t, jwt) {
		t.Fatalf("me with an active JWT = %d %s, want 200 and its claims", got.status, got.body)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+jwt); got.status != 200 {
		t.Fatalf("me again = %d, want 200", got.status)
	}
	if n := idp.IntrospectionCalls(); n != 2 {
		t.Errorf("IntrospectionCalls() = %d after 2 requests with --introspect-cache 0, want 2", n)
	}
	idp.Revoke(jwt)
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+jwt); got.status != http.StatusUnauthorized {
		t.Errorf("me with a revoked JWT: status = %d, want 401", got.status)
	}
	fresh := idp.MustMint(t, map[string]any{"sub": "bob", "aud": "api"})
	idp.SetIntrospectionFault(&oidctest.Fault{Status: http.StatusBadGateway})
	got := do(t, "GET", s.base+"/api/me", "Bearer "+fresh)
	if got.status != http.StatusServiceUnavailable || got.header.Get("Retry-After") == "" {
		t.Errorf("me while the endpoint fails = %d (Retry-After %q), want 503 with Retry-After", got.status, got.header.Get("Retry-After"))
	}
}

func TestIntrospectFlagErrors(t *testing.T) {
	t.Setenv(secretEnv, "")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "credentials needed with --issuer", args: []string{"--issuer", "https://idp.example", "--introspect"}, want: "--introspect needs --client-id and --client-secret"},
		{name: "secret needed with --issuer", args: []string{"--issuer", "https://idp.example", "--introspect", "--client-id", "api"}, want: "--introspect needs --client-id and --client-secret"},
		{name: "client id without --introspect", args: []string{"--client-id", "api"}, want: "need --introspect"},
		{name: "--introspect-all without --introspect", args: []string{"--introspect-all"}, want: "need --introspect"},
		{name: "negative cache", args: []string{"--introspect", "--introspect-cache", "-1s"}, want: "--introspect-cache must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append(tt.args, "--addr", "127.0.0.1:0"), &stdout, &stderr)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run() error = %v, want a usage error containing %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want empty", stdout.String())
			}
		})
	}
}
