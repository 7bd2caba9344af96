package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

// introspectProvider returns a provider whose introspection endpoint
// accepts client "api" with secret "s3cret-value".
func introspectProvider(t *testing.T) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t)
	p.EnableIntrospection("api", "s3cret-value")
	return p
}

// mintOpaque mints an opaque token that does not start with "-", so that
// the tests can pass it after other arguments; a token that does start
// with "-" goes after "--" (TestTokenStartingWithDash).
func mintOpaque(t *testing.T, p *oidctest.Provider, claims map[string]any) string {
	t.Helper()
	for {
		if tok := p.MustMintOpaque(t, claims); !strings.HasPrefix(tok, "-") {
			return tok
		}
	}
}

// An opaque token can start with "-": without "--" the CLI refuses it as a
// usage error without repeating it, and after "--" it is the TOKEN.
func TestTokenStartingWithDash(t *testing.T) {
	t.Parallel()
	p := introspectProvider(t)
	var tok string
	for !strings.HasPrefix(tok, "-") {
		tok = p.MustMintOpaque(t, map[string]any{"sub": "alice", "aud": "api"})
	}
	base := []string{"introspect", "--issuer", p.Issuer(), "--client-id", "api", "--client-secret", "s3cret-value"}
	got := runCLI(t, "", append(base, tok)...)
	if got.code != 2 || strings.Contains(got.stderr, tok[1:]) || !strings.Contains(got.stderr, "put -- before a TOKEN") {
		t.Errorf("without --: exit code = %d, stderr = %q; want 2, the advice, and not the token", got.code, got.stderr)
	}
	got = runCLI(t, "", append(base, "--", tok)...)
	if got.code != 0 {
		t.Errorf("after --: exit code = %d, want 0\nstderr: %s", got.code, got.stderr)
	}
	got = runCLI(t, "", append(base, "--no-such-flag", "x")...)
	if got.code != 2 || !strings.Contains(got.stderr, "-no-such-flag") {
		t.Errorf("mistyped flag: exit code = %d, stderr = %q; want 2 naming the flag", got.code, got.stderr)
	}
}

func TestIntrospect(t *testing.T) {
	t.Parallel()
	p := introspectProvider(t)
	iss := p.Issuer()
	active := mintOpaque(t, p, map[string]any{"sub": "alice", "aud": "api", "scope": "read write", "client_id": "web"})
	revoked := mintOpaque(t, p, map[string]any{"sub": "alice", "aud": "api"})
	p.Revoke(revoked)
	otherAud := mintOpaque(t, p, map[string]any{"sub": "alice", "aud": "billing"})
	noAud := mintOpaque(t, p, map[string]any{"sub": "alice"})
	expired := mintOpaque(t, p, map[string]any{"sub": "alice", "aud": "api", "exp": 1000})
	jwt := p.MustMint(t, map[string]any{"sub": "bob", "aud": "api"})
	unknown := "opaque-token-the-provider-never-issued-0123456789"
	tokens := []string{active, revoked, otherAud, noAud, expired, jwt, unknown}
	base := []string{"--issuer", iss, "--client-id", "api", "--client-secret", "s3cret-value"}
	args := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string // members the one line of JSON must have
		wantStderr string   // prefix
	}{
		{name: "active opaque token", args: args(active), wantCode: 0,
			wantStdout: []string{`"active":true`, `"sub":"alice"`, `"scope":"read write"`, `"client_id":"web"`}},
		{name: "active, audience checked", args: args("--audience", "api", active), wantCode: 0,
			wantStdout: []string{`"active":true`}},
		{name: "client_secret_post", args: args("--auth-method", "client_secret_post", active), wantCode: 0,
			wantStdout: []string{`"active":true`}},
		{name: "explicit endpoint", args: args("--introspection-url", p.IntrospectionEndpoint(), active), wantCode: 0,
			wantStdout: []string{`"active":true`}},
		{name: "JWT validated then introspected", args: args("--audience", "api", jwt), wantCode: 0,
			wantStdout: []string{`"sub":"bob"`}},
		{name: "revoked", args: args(revoked), wantCode: 1,
			wantStderr: "oidcauth introspect: token refused: token is not active"},
		{name: "unknown token", args: args(unknown), wantCode: 1,
			wantStderr: "oidcauth introspect: token refused: token is not active"},
		{name: "expired", args: args(expired), wantCode: 1,
			wantStderr: "oidcauth introspect: token refused: "},
		{name: "other audience", args: args("--audience", "api", otherAud), wantCode: 1,
			wantStderr: "oidcauth introspect: token refused: invalid audience"},
		{name: "other audience shown without --audience", args: args(otherAud), wantCode: 0,
			wantStdout: []string{`"aud":"billing"`}},
		{name: "no aud refused with --audience", args: args("--audience", "api", noAud), wantCode: 1,
			wantStderr: "oidcauth introspect: token refused: invalid audience"},
		{name: "no aud accepted when told", args: args("--audience", "api", "--skip-audience-check-when-absent", noAud), wantCode: 0,
			wantStdout: []string{`"sub":"alice"`}},
		{name: "wrong client secret is a set-up error", args: []string{"--issuer", iss, "--client-id", "api", "--client-secret", "wrong-secret-value", active}, wantCode: 2,
			wantStderr: "oidcauth introspect: token introspection failed"},
		{name: "unreachable endpoint is a set-up error", args: args("--introspection-url", closedURL(t)+"/introspect", active), wantCode: 2,
			wantStderr: "oidcauth introspect: token introspection failed"},
		{name: "unreachable issuer", args: []string{"--issuer", closedURL(t), "--client-id", "api", "--client-secret", "s3cret-value", active}, wantCode: 2,
			wantStderr: "oidcauth introspect: "},
		{name: "http endpoint off loopback refused", args: args("--introspection-url", "http://idp.example/introspect", active), wantCode: 2,
			wantStderr: "oidcauth introspect: "},
		{name: "bad auth method", args: args("--auth-method", "private_key_jwt", active), wantCode: 2,
			wantStderr: "oidcauth introspect: IntrospectionConfig.AuthMethod"},
		{name: "missing issuer", args: []string{"--client-id", "api", "--client-secret", "x", active}, wantCode: 2,
			wantStderr: "oidcauth introspect: --issuer is required\n"},
		{name: "missing client id", args: []string{"--issuer", iss, "--client-secret", "x", active}, wantCode: 2,
			wantStderr: "oidcauth introspect: --client-id is required\n"},
		{name: "missing token", args: args(), wantCode: 2,
			wantStderr: "oidcauth introspect: missing TOKEN"},
		{name: "two tokens, not echoed", args: args(active, revoked), wantCode: 2,
			wantStderr: "oidcauth introspect: want one TOKEN, got 2 arguments\n"},
		{name: "skip flag without audience", args: args("--skip-audience-check-when-absent", active), wantCode: 2,
			wantStderr: "oidcauth introspect: --skip-audience-check-when-absent needs --audience\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"introspect"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", got.code, tt.wantCode, got.stdout, got.stderr)
			}
			if tt.wantStdout == nil && got.stdout != "" {
				t.Errorf("stdout = %q, want nothing", got.stdout)
			}
			if tt.wantStdout != nil {
				if strings.Count(got.stdout, "\n") != 1 || !json.Valid([]byte(got.stdout)) {
					t.Errorf("stdout = %q, want one line of JSON", got.stdout)
				}
				for _, m := range tt.wantStdout {
					if !strings.Contains(got.stdout, m) {
						t.Errorf("stdout = %q, want it to contain %s", got.stdout, m)
					}
				}
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) || (tt.wantStderr == "" && got.stderr != "") {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
			checkNoToken(t, got, tokens...)
			if strings.Contains(got.stdout+got.stderr, "s3cret-value") || strings.Contains(got.stdout+got.stderr, "wrong-secret-value") {
				t.Errorf("output contains the client secret:\n%s%s", got.stdout, got.stderr)
			}
		})
	}
}

// TestIntrospectAsksEveryTime checks that introspect never answers from
// a cache: a token revoked between two runs is refused by the second.
func TestIntrospectAsksEveryTime(t *testing.T) {
	t.Parallel()
	p := introspectProvider(t)
	tok := mintOpaque(t, p, map[string]any{"sub": "alice"})
	args := []string{"introspect", "--issuer", p.Issuer(), "--client-id", "api", "--client-secret", "s3cret-value", tok}
	if got := runCLI(t, "", args...); got.code != 0 {
		t.Fatalf("first run: exit code = %d, want 0\n%s", got.code, got.stderr)
	}
	p.Revoke(tok)
	if got := runCLI(t, "", args...); got.code != 1 {
		t.Fatalf("after Revoke: exit code = %d, want 1\n%s", got.code, got.stderr)
	}
	if n := p.IntrospectionCalls(); n != 2 {
		t.Errorf("IntrospectionCalls() = %d, want 2", n)
	}
}

// TestIntrospectProviderFailure checks that a 5xx from the endpoint is a
// set-up error (exit 2), not an inactive token (exit 1).
func TestIntrospectProviderFailure(t *testing.T) {
	t.Parallel()
	p := introspectProvider(t)
	tok := mintOpaque(t, p, map[string]any{"sub": "alice"})
	p.SetIntrospectionFault(&oidctest.Fault{Status: http.StatusInternalServerError})
	got := runCLI(t, "", "introspect", "--issuer", p.Issuer(), "--client-id", "api", "--client-secret", "s3cret-value", tok)
	if got.code != 2 {
		t.Errorf("exit code = %d, want 2\n%s", got.code, got.stderr)
	}
	if !strings.HasPrefix(got.stderr, "oidcauth introspect: token introspection failed") {
		t.Errorf("stderr = %q, want the introspection failure", got.stderr)
	}
	checkNoToken(t, got, tok)
}

// TestIntrospectSecretFromEnvironment checks that $OIDCAUTH_CLIENT_SECRET
// stands in for --client-secret.
func TestIntrospectSecretFromEnvironment(t *testing.T) {
	p := introspectProvider(t)
	tok := mintOpaque(t, p, map[string]any{"sub": "alice"})
	args := []string{"introspect", "--issuer", p.Issuer(), "--client-id", "api", tok}
	t.Setenv(secretEnv, "")
	if got := runCLI(t, "", args...); got.code != 2 || !strings.HasPrefix(got.stderr, "oidcauth introspect: --client-secret (or $OIDCAUTH_CLIENT_SECRET) is required\n") {
		t.Errorf("without a secret: exit code %d, stderr %q; want 2 and the missing secret", got.code, got.stderr)
	}
	t.Setenv(secretEnv, "s3cret-value")
	if got := runCLI(t, "", args...); got.code != 0 {
		t.Errorf("with $%s: exit code = %d, want 0\n%s", secretEnv, got.code, got.stderr)
	}
}

func TestIntrospectStream(t *testing.T) {
	t.Parallel()
	p := introspectProvider(t)
	good := mintOpaque(t, p, map[string]any{"sub": "alice"})
	bad := mintOpaque(t, p, map[string]any{"sub": "alice"})
	p.Revoke(bad)
	got := runCLI(t, good+"\n\n"+bad+"\n", "introspect", "--issuer", p.Issuer(), "--client-id", "api", "--client-secret", "s3cret-value", "-")
	if got.code != 1 {
		t.Errorf("exit code = %d, want 1 (one token inactive)\n%s", got.code, got.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(got.stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want 2:\n%s", len(lines), got.stdout)
	}
	var first, second streamResult
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || !first.Valid || !strings.Contains(string(first.Claims), `"active":true`) {
		t.Errorf("line 1 = %s (%v), want the active answer", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil || second.Valid || !strings.Contains(second.Error, "not active") {
		t.Errorf("line 2 = %s (%v), want the inactive token's error", lines[1], err)
	}
	checkNoToken(t, got, good, bad)
}
