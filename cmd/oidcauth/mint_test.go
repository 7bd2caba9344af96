package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestMintErrors(t *testing.T) {
	t.Parallel()
	notDev := oidctest.New(t, oidctest.Options{Algorithm: "ES256"}) // a provider without /dev/mint
	closed := closedURL(t)
	const usage = "\n\nusage: oidcauth mint [flags]\n"
	base := []string{"--sub", "alice", "--aud", "api"}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // prefix
	}{
		{"no issuer", base, 2, `oidcauth mint: --issuer is required (the URL "oidcauth dev-issuer" prints)` + usage},
		{"no sub", []string{"--issuer", closed, "--aud", "api"}, 2, "oidcauth mint: --sub is required" + usage},
		{"no aud", []string{"--issuer", closed, "--sub", "alice"}, 2, "oidcauth mint: --audience is required" + usage},
		{"ttl 0", append([]string{"--issuer", closed, "--ttl", "0s"}, base...), 2, "oidcauth mint: --ttl must not be 0" + usage},
		{"blank scope", append([]string{"--issuer", closed, "--scope", "  "}, base...), 2, "oidcauth mint: --scope is blank" + usage},
		{"unquoted scope", append([]string{"--issuer", closed, "--scope", "read"}, append(base, "write")...), 2,
			"oidcauth mint: takes no arguments, got 1 (flags go before arguments; quote a --scope with spaces)" + usage},
		{"remote issuer", append([]string{"--issuer", "https://login.example.com"}, base...), 2,
			`oidcauth mint: --issuer "https://login.example.com" is not on a loopback address: mint only talks to an "oidcauth dev-issuer" on this machine` + usage},
		{"not a URL", append([]string{"--issuer", "127.0.0.1:9400"}, base...), 2,
			`oidcauth mint: --issuer "127.0.0.1:9400" is not an http URL such as http://127.0.0.1:9400` + usage},
		{"query", append([]string{"--issuer", closed + "?x=1"}, base...), 2, "oidcauth mint: --issuer " + `"` + closed + `?x=1" must not have user info, a query or a fragment`},
		{"claim sub", append([]string{"--issuer", closed, "--claim", "sub=bob"}, base...), 2,
			`oidcauth mint: invalid value "sub=bob" for flag -claim: set sub with --sub` + usage},
		{"claim without =", append([]string{"--issuer", closed, "--claim", "admin"}, base...), 2,
			`oidcauth mint: invalid value "admin" for flag -claim: want name=value` + usage},
		{"claim twice", append([]string{"--issuer", closed, "--claim", "a=1", "--claim", "a=2"}, base...), 2,
			`oidcauth mint: invalid value "a=2" for flag -claim: claim "a" given twice` + usage},
		{"dpop-jkt short", append([]string{"--issuer", closed, "--dpop-jkt", "abc"}, base...), 2,
			`oidcauth mint: --dpop-jkt "abc": not a SHA-256 thumbprint (43 characters of base64url, RFC 7638)` + usage},
		{"dpop-jkt padded", append([]string{"--issuer", closed, "--dpop-jkt", strings.Repeat("A", 42) + "="}, base...), 2,
			`oidcauth mint: --dpop-jkt "` + strings.Repeat("A", 42) + `=": not a SHA-256 thumbprint`},
		{"dpop-jkt not base64url", append([]string{"--issuer", closed, "--dpop-jkt", strings.Repeat("+", 43)}, base...), 2,
			`oidcauth mint: --dpop-jkt "` + strings.Repeat("+", 43) + `": not a SHA-256 thumbprint`},
		{"dpop-jkt and claim cnf", append([]string{"--issuer", closed, "--dpop-jkt", testJKT, "--claim", `cnf={"jkt":"x"}`}, base...), 2,
			"oidcauth mint: --dpop-jkt and --claim cnf=... both set cnf: give one" + usage},
		{"not running", append([]string{"--issuer", closed}, base...), 1,
			"oidcauth mint: cannot reach the dev issuer at " + closed + devMintPath + ` (is "oidcauth dev-issuer" running?): `},
		{"not a dev issuer", append([]string{"--issuer", notDev.Issuer()}, base...), 1,
			"oidcauth mint: " + notDev.Issuer() + devMintPath + ` answered 404: the issuer is not an "oidcauth dev-issuer" (only those can mint)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"mint"}, tt.args...)...)
			if got.code != tt.wantCode || got.stdout != "" {
				t.Errorf("exit code = %d, stdout = %q, want %d and nothing", got.code, got.stdout, tt.wantCode)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

// testJKT is the RFC 7638 §3.1 example thumbprint.
const testJKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

// TestMintDPoPJKT checks that --dpop-jkt mints a token whose cnf.jkt is the
// thumbprint given, and nothing else in cnf.
func TestMintDPoPJKT(t *testing.T) {
	t.Parallel()
	d := startDevIssuer(t)
	got := runCLI(t, "", "mint", "--issuer", d.issuer, "--sub", "alice", "--aud", "api", "--dpop-jkt", testJKT)
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("mint --dpop-jkt = %v, want exit 0", got)
	}
	parts := strings.Split(strings.TrimSpace(got.stdout), ".")
	if len(parts) != 3 {
		t.Fatalf("mint printed %q, want a JWT", got.stdout)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub string                     `json:"sub"`
		Cnf map[string]json.RawMessage `json:"cnf"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != "alice" || len(claims.Cnf) != 1 || string(claims.Cnf["jkt"]) != `"`+testJKT+`"` {
		t.Errorf("claims %s, want sub alice and cnf {\"jkt\": %q}", b, testJKT)
	}
}

func TestClaimFlag(t *testing.T) {
	t.Parallel()
	var c claimFlag
	for _, s := range []string{"s=acme", "n=42", "b=true", `a=["x",1]`, `o={"k":null}`, `q="42"`, "e=", "sp= a b ", "eq=a=b", "nul=null", `bad={"k":}`} {
		if err := c.Set(s); err != nil {
			t.Fatalf("Set(%q) error = %v", s, err)
		}
	}
	m := make(map[string]any)
	for _, cl := range c {
		m[cl.name] = cl.value
	}
	got, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":["x",1],"b":true,"bad":"{\"k\":}","e":"","eq":"a=b","n":42,"nul":null,"o":{"k":null},"q":"42","s":"acme","sp":" a b "}`
	if string(got) != want {
		t.Errorf("claims = %s\nwant     %s", got, want)
	}
	for _, s := range []string{"=x", " =x", "aud=x", "scope=x", "s=again"} {
		if err := c.Set(s); err == nil {
			t.Errorf("Set(%q) error = nil, want an error", s)
		}
	}
}

// TestSessionKeyPrintsNewKey checks that session-key prints one line: a new
// key of oauth.KeySize bytes in base64url without padding, different at
// every run. (examples/webapp's TestSessionKeyFromCLI checks that the
// webapp reads it.)
func TestSessionKeyPrintsNewKey(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 3 {
		got := runCLI(t, "", "session-key")
		if got.code != 0 || got.stderr != "" {
			t.Fatalf("session-key = %v, want exit 0 and no error", got)
		}
		key, ok := strings.CutSuffix(got.stdout, "\n")
		if !ok || strings.ContainsAny(key, "\n =") {
			t.Fatalf("session-key printed %q, want one unpadded line", got.stdout)
		}
		b, err := base64.RawURLEncoding.DecodeString(key)
		if err != nil || len(b) != oauth.KeySize {
			t.Errorf("session-key printed %q: %d bytes, err %v; want %d bytes of base64url", key, len(b), err, oauth.KeySize)
		}
		if seen[key] {
			t.Errorf("session-key printed %q twice", key)
		}
		seen[key] = true
	}
	if got := runCLI(t, "", "session-key", "extra"); got.code != exitUsage || !strings.HasPrefix(got.stderr, "oidcauth session-key: takes no arguments, got 1\n") {
		t.Errorf("session-key extra = %v, want a usage error", got)
	}
}
