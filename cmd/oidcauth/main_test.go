package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// TestMain lets TestBinary run this test binary as the oidcauth command:
// with OIDCAUTH_TEST_MAIN=1 it calls main, which exits.
func TestMain(m *testing.M) {
	if os.Getenv("OIDCAUTH_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// result is the outcome of one run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line args with stdin as standard input.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// payload returns the decoded payload of a compact JWS: the claims as
// issued.
func payload(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// closedURL returns an http URL on a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// checkNoToken fails the test if the output contains one of the tokens.
func checkNoToken(t *testing.T, got result, tokens ...string) {
	t.Helper()
	for _, tok := range tokens {
		if len(tok) > 20 && strings.Contains(got.stdout+got.stderr, tok) {
			t.Errorf("output contains a token:\nstdout: %s\nstderr: %s", got.stdout, got.stderr)
		}
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	other := oidctest.New(t) // same kid "k1", different key
	iss := p.Issuer()
	now := time.Now()

	good := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "scope": "read write"})
	// Member names and values must come out as issued: custom names,
	// names differing only in case, "&" and non-ASCII text, nested values.
	custom := p.MustMint(t, map[string]any{
		"sub": "bob", "aud": []string{"web", "api"}, "Sub": "not the subject",
		"https://example.com/roles": []string{"a&b", "<admin>"}, "name": "Zoë", "n": map[string]any{"x": 1.5},
	})
	atJWT := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"sub": "alice", "aud": "api"}, Header: map[string]any{"typ": "at+jwt"}})
	exp := now.Add(-time.Hour).Unix()
	expired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "iat": now.Add(-2 * time.Hour).Unix(), "exp": exp})
	justExpired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "exp": now.Add(-10 * time.Second).Unix()})
	wrongAud := p.MustMint(t, map[string]any{"sub": "alice", "aud": "web"})
	forged := other.MustMint(t, map[string]any{"iss": iss, "sub": "alice", "aud": "api"})
	wrongIss := p.MustMint(t, map[string]any{"iss": "https://evil.example", "sub": "alice", "aud": "api"})
	unknownKID := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"sub": "alice", "aud": "api"}, Header: map[string]any{"kid": "k9"}})
	// An ID token's shape (Hydra: typ JWT, at_hash) and an access token
	// with a nonce (Keycloak before 24).
	idToken := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "at_hash": "x4Hs3vYQ", "nonce": "n-0S6"})
	nonceAT := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "nonce": "n-0S6"})
	tokens := []string{good, custom, atJWT, expired, justExpired, wrongAud, forged, wrongIss, unknownKID}
	// A second, ES256 key lets --alg ES256 start with a usable key.
	if _, err := p.AddKey("ES256"); err != nil {
		t.Fatal(err)
	}

	const usage = "\n\nusage: oidcauth verify [flags] TOKEN | -\n"
	closed := closedURL(t)
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		// stderrPrefix makes wantStderr a prefix of stderr (for usage
		// errors followed by the usage text, and errors that quote
		// network errors).
		stderrPrefix bool
	}{
		{name: "valid", args: []string{"--issuer", iss, "--audience", "api", good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "valid, claims as issued", args: []string{"--issuer", iss, "--audience", "api", custom},
			wantCode: 0, wantStdout: payload(t, custom) + "\n"},
		{name: "single dash flags", args: []string{"-issuer", iss, "-audience", "api", good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "repeated audience", args: []string{"--issuer", iss, "--audience", "web", "--audience", "api", good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "comma-separated audiences", args: []string{"--issuer", iss, "--audience", "web, api", good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "token with surrounding space", args: []string{"--issuer", iss, "--audience", "api", " " + good + "\n"},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "type at+jwt", args: []string{"--issuer", iss, "--audience", "api", "--type", "at+jwt", atJWT},
			wantCode: 0, wantStdout: payload(t, atJWT) + "\n"},
		{name: "jwks-url", args: []string{"--issuer", iss, "--audience", "api", "--jwks-url", p.JWKSURL(), good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "alg allowed", args: []string{"--issuer", iss, "--audience", "api", "--alg", "ES256,RS256", good},
			wantCode: 0, wantStdout: payload(t, good) + "\n"},
		{name: "within default leeway", args: []string{"--issuer", iss, "--audience", "api", justExpired},
			wantCode: 0, wantStdout: payload(t, justExpired) + "\n"},

		{name: "expired", args: []string{"--issuer", iss, "--audience", "api", expired},
			wantCode:   1,
			wantStderr: "oidcauth verify: invalid token: token expired: exp " + time.Unix(exp, 0).UTC().Format(time.RFC3339) + " is past\n"},
		{name: "leeway 0", args: []string{"--issuer", iss, "--audience", "api", "--leeway", "0", justExpired},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: token expired: exp ", stderrPrefix: true},
		{name: "wrong audience", args: []string{"--issuer", iss, "--audience", "api", wrongAud},
			wantCode: 1, wantStderr: `oidcauth verify: invalid token: invalid audience: aud ["web"] not in [api]` + "\n"},
		{name: "bad signature", args: []string{"--issuer", iss, "--audience", "api", forged},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: invalid signature: signature does not verify\n"},
		{name: "type mismatch", args: []string{"--issuer", iss, "--audience", "api", "--type", "at+jwt", good},
			wantCode: 1, wantStderr: `oidcauth verify: invalid token: invalid token header: typ "JWT" is not "at+jwt"` + "\n"},
		{name: "alg not allowed", args: []string{"--issuer", iss, "--audience", "api", "--alg", "ES256", good},
			wantCode: 1, wantStderr: `oidcauth verify: invalid token: algorithm not allowed: alg "RS256" is not in the allow-list` + "\n"},
		// The reason names the missing kid and the kids the JWKS has; the
		// refresh it triggers may be cooling down, which is appended.
		{name: "unknown kid", args: []string{"--issuer", iss, "--audience", "api", unknownKID},
			wantCode: 1, wantStderr: `oidcauth verify: invalid token: no matching key: kid "k9" not in JWKS (keys: k1, k2)`, stderrPrefix: true},
		{name: "ID token", args: []string{"--issuer", iss, "--audience", "api", idToken},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: ", stderrPrefix: true},
		{name: "ID token, skip-id-token-check", args: []string{"--issuer", iss, "--audience", "api", "--skip-id-token-check", idToken},
			wantCode: 0, wantStdout: payload(t, idToken) + "\n"},
		{name: "nonce in access token", args: []string{"--issuer", iss, "--audience", "api", nonceAT},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: ", stderrPrefix: true},
		{name: "nonce in access token, nonce-in-access-tokens", args: []string{"--issuer", iss, "--audience", "api", "--nonce-in-access-tokens", nonceAT},
			wantCode: 0, wantStdout: payload(t, nonceAT) + "\n"},
		{name: "ID token, nonce-in-access-tokens", args: []string{"--issuer", iss, "--audience", "api", "--nonce-in-access-tokens", idToken},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: ", stderrPrefix: true},
		{name: "garbage", args: []string{"--issuer", iss, "--audience", "api", "not-a-token"},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: malformed token: not a compact JWS with three parts\n"},

		{name: "no issuer", args: []string{"--audience", "api", good},
			wantCode: 2, wantStderr: "oidcauth verify: --issuer is required" + usage, stderrPrefix: true},
		{name: "no audience", args: []string{"--issuer", iss, good},
			wantCode: 2, wantStderr: "oidcauth verify: --audience is required" + usage, stderrPrefix: true},
		{name: "no token", args: []string{"--issuer", iss, "--audience", "api"},
			wantCode: 2, wantStderr: "oidcauth verify: missing TOKEN (or - to read tokens from standard input)" + usage, stderrPrefix: true},
		{name: "two tokens", args: []string{"--issuer", iss, "--audience", "api", good, good},
			wantCode: 2, wantStderr: "oidcauth verify: want one TOKEN, got 2 arguments" + usage, stderrPrefix: true},
		{name: "flag after token", args: []string{"--issuer", iss, good, "--audience", "api"},
			wantCode: 2, wantStderr: "oidcauth verify: want one TOKEN, got 3 arguments (flags go before TOKEN)" + usage, stderrPrefix: true},
		{name: "empty token", args: []string{"--issuer", iss, "--audience", "api", " "},
			wantCode: 2, wantStderr: "oidcauth verify: TOKEN is empty" + usage, stderrPrefix: true},
		{name: "unknown flag", args: []string{"--issuer", iss, "--audience", "api", "--bogus", good},
			wantCode: 2, wantStderr: "oidcauth verify: flag provided but not defined: -bogus" + usage, stderrPrefix: true},
		{name: "flag without value", args: []string{"--audience", "api", "--issuer"},
			wantCode: 2, wantStderr: "oidcauth verify: flag needs an argument: -issuer" + usage, stderrPrefix: true},
		{name: "bad duration", args: []string{"--issuer", iss, "--audience", "api", "--leeway", "5x", good},
			wantCode: 2, wantStderr: `oidcauth verify: invalid value "5x" for flag -leeway: parse error` + usage, stderrPrefix: true},
		{name: "negative leeway", args: []string{"--issuer", iss, "--audience", "api", "--leeway", "-1s", good},
			wantCode: 2, wantStderr: "oidcauth verify: --leeway must not be negative" + usage, stderrPrefix: true},
		{name: "empty audience", args: []string{"--issuer", iss, "--audience", "api,", good},
			wantCode: 2, wantStderr: `oidcauth verify: invalid value "api," for flag -audience: empty element in list` + usage, stderrPrefix: true},
		{name: "HMAC algorithm", args: []string{"--issuer", iss, "--audience", "api", "--alg", "HS256", good},
			wantCode: 2, wantStderr: `oidcauth verify: algorithm "HS256" needs Config.HMACSecret; it is never accepted with a provider's keys` + "\n"},
		{name: "http issuer not on loopback", args: []string{"--issuer", "http://example.com", "--audience", "api", good},
			wantCode: 2, wantStderr: "oidcauth verify: issuer", stderrPrefix: true},
		{name: "discovery fails", args: []string{"--issuer", closed, "--audience", "api", good},
			wantCode: 2, wantStderr: "oidcauth verify: fetching keys of " + closed + ": ", stderrPrefix: true},
		{name: "wrong issuer", args: []string{"--issuer", iss, "--audience", "api", wrongIss},
			wantCode: 1, wantStderr: "oidcauth verify: invalid token: invalid issuer: iss ", stderrPrefix: true},
		{name: "no key for the allowed algs", args: []string{"--issuer", other.Issuer(), "--audience", "api", "--alg", "ES256", good},
			wantCode: 2, wantStderr: "oidcauth verify: fetching keys of " + other.Issuer() + ": ", stderrPrefix: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"verify"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", got.code, tt.wantCode, got.stderr)
			}
			if got.stdout != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got.stdout, tt.wantStdout)
			}
			if tt.stderrPrefix {
				if !strings.HasPrefix(got.stderr, tt.wantStderr) {
					t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
				}
			} else if got.stderr != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got.stderr, tt.wantStderr)
			}
			checkNoToken(t, got, tokens...)
		})
	}
}

func TestVerifyStream(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	iss := p.Issuer()
	alice := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	bob := p.MustMint(t, map[string]any{"sub": "bob", "aud": []string{"api"}, "roles": []string{"a&b"}})
	exp := time.Now().Add(-time.Hour).Unix()
	expired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "iat": exp - 3600, "exp": exp})
	wrongAud := p.MustMint(t, map[string]any{"sub": "alice", "aud": "web"})
	tokens := []string{alice, bob, expired, wrongAud}

	valid := func(tok string) string { return `{"valid":true,"claims":` + payload(t, tok) + "}\n" }
	const tooLarge = `{"valid":false,"error":"oidcauth: malformed token: token larger than MaxTokenSize"}` + "\n"
	tests := []struct {
		name       string
		stdin      string
		wantCode   int
		wantStdout string
	}{
		{name: "mixed",
			stdin:    alice + "\n\n  \t\n" + expired + "\r\n" + "garbage\n" + " " + bob + "  \n" + wrongAud,
			wantCode: 1,
			wantStdout: valid(alice) +
				`{"valid":false,"error":"oidcauth: token expired: exp ` + time.Unix(exp, 0).UTC().Format(time.RFC3339) + ` is past"}` + "\n" +
				`{"valid":false,"error":"oidcauth: malformed token: not a compact JWS with three parts"}` + "\n" +
				valid(bob) +
				`{"valid":false,"error":"oidcauth: invalid audience: aud [\"web\"] not in [api]"}` + "\n"},
		{name: "all valid", stdin: alice + "\r\n" + bob + "\n" + alice + "\n\n", wantCode: 0,
			wantStdout: valid(alice) + valid(bob) + valid(alice)},
		{name: "empty input", stdin: "", wantCode: 0, wantStdout: ""},
		{name: "blank lines only", stdin: "\n \r\n\t\n", wantCode: 0, wantStdout: ""},
		// A line longer than bufio.Scanner's 64 KiB default is read, and
		// rejected by Validate (MaxTokenSize).
		{name: "100 KiB line", stdin: strings.Repeat("a", 100<<10) + "\n" + alice + "\n", wantCode: 1,
			wantStdout: tooLarge + valid(alice)},
		{name: "1 MiB line", stdin: strings.Repeat("a", maxLine) + "\n" + alice + "\n", wantCode: 1,
			wantStdout: tooLarge + valid(alice)},
		{name: "line over 1 MiB", stdin: strings.Repeat("a", maxLine+1) + "\n" + alice + "\n" + strings.Repeat("b", 3*maxLine), wantCode: 1,
			wantStdout: `{"valid":false,"error":"oidcauth: line longer than 1048576 bytes"}` + "\n" + valid(alice) +
				`{"valid":false,"error":"oidcauth: line longer than 1048576 bytes"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, tt.stdin, "verify", "--issuer", iss, "--audience", "api", "-")
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", got.code, tt.wantCode, got.stderr)
			}
			if got.stdout != tt.wantStdout {
				t.Errorf("stdout =\n%.2000s\nwant\n%.2000s", got.stdout, tt.wantStdout)
			}
			if got.stderr != "" {
				t.Errorf("stderr = %q, want empty", got.stderr)
			}
			checkNoToken(t, got, tokens...)
		})
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("device on fire") }

func TestVerifyStreamReadError(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	tok := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	stdin := io.MultiReader(strings.NewReader(tok+"\n"), errReader{})
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"verify", "--issuer", p.Issuer(), "--audience", "api", "-"}, stdin, &stdout, &stderr)
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	if want := `{"valid":true,"claims":` + payload(t, tok) + "}\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
	if want := "oidcauth verify: reading standard input: device on fire\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

// TestVerifyStreamInterrupted checks that cancelling the context stops
// "-" mode even while standard input blocks.
func TestVerifyStreamInterrupted(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	tok := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	defer inW.Close()
	var stderr bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"verify", "--issuer", p.Issuer(), "--audience", "api", "-"}, inR, outW, &stderr)
		outW.Close()
	}()
	go io.WriteString(inW, tok+"\n") //nolint:errcheck
	first, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first output line: %v", err)
	}
	if want := `{"valid":true,"claims":` + payload(t, tok) + "}\n"; first != want {
		t.Errorf("first line = %q, want %q", first, want)
	}
	cancel() // standard input stays open and silent
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Errorf("exit code = %d, want %d", code, exitInterrupted)
		}
		if want := "oidcauth verify: interrupted\n"; stderr.String() != want {
			t.Errorf("stderr = %q, want %q", stderr.String(), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	const (
		mainUsage   = "oidcauth works with OpenID Connect and OAuth 2.0 access tokens.\n\nusage: oidcauth <command> [flags] [arguments]\n"
		verifyUsage = "usage: oidcauth verify [flags] TOKEN | -\n"
	)
	tests := []struct {
		name         string
		args         []string
		wantCode     int
		wantStdout   string // prefix
		wantStderr   string // prefix
		stdoutEquals string // if set, stdout must equal the stdout of this run
	}{
		{name: "help", args: []string{"help"}, wantStdout: mainUsage},
		{name: "--help", args: []string{"--help"}, wantStdout: mainUsage},
		{name: "-h", args: []string{"-h"}, wantStdout: mainUsage},
		{name: "help verify", args: []string{"help", "verify"}, wantStdout: verifyUsage},
		{name: "verify --help", args: []string{"verify", "--help"}, wantStdout: verifyUsage},
		{name: "verify -h with other flags", args: []string{"verify", "--issuer", "x", "-h"}, wantStdout: verifyUsage},
		{name: "no command", args: nil, wantCode: 2, wantStderr: mainUsage},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2,
			wantStderr: "oidcauth: unknown command \"frobnicate\"\nRun 'oidcauth help' for usage.\n"},
		{name: "help unknown command", args: []string{"help", "frobnicate"}, wantCode: 2,
			wantStderr: "oidcauth help: unknown command \"frobnicate\"\n"},
		{name: "help too many", args: []string{"help", "verify", "x"}, wantCode: 2,
			wantStderr: "usage: oidcauth help [command]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", tt.args...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d", got.code, tt.wantCode)
			}
			if !strings.HasPrefix(got.stdout, tt.wantStdout) || (tt.wantStdout == "" && got.stdout != "") {
				t.Errorf("stdout = %q, want prefix %q", got.stdout, tt.wantStdout)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) || (tt.wantStderr == "" && got.stderr != "") {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
		})
	}

	// Both ways of asking for a command's help give the same text, which
	// lists every flag with two dashes.
	a, b := runCLI(t, "", "help", "verify"), runCLI(t, "", "verify", "--help")
	if a.stdout != b.stdout {
		t.Errorf("help verify and verify --help differ:\n%s\n---\n%s", a.stdout, b.stdout)
	}
	for _, f := range []string{"--issuer URL", "--audience audience", "--alg algorithms", "--type typ", "--leeway duration", "--jwks-url URL", "--insecure-allow-http", "--verbose"} {
		if !strings.Contains(a.stdout, "\n  "+f+"\n") {
			t.Errorf("help verify does not list %q:\n%s", f, a.stdout)
		}
	}
}

func TestListFlag(t *testing.T) {
	t.Parallel()
	var l listFlag
	for _, v := range []string{"a", "b, c", " d "} {
		if err := l.Set(v); err != nil {
			t.Fatalf("Set(%q) error = %v", v, err)
		}
	}
	if got, want := l.String(), "a,b,c,d"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, v := range []string{"", ",", "a,,b", "a, "} {
		var l listFlag
		if err := l.Set(v); err == nil {
			t.Errorf("Set(%q) error = nil, want an error", v)
		}
	}
}

// TestBinary runs the test binary as the real command (see TestMain), to
// check main's exit status and its handling of SIGINT.
func TestBinary(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	good := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	wrongAud := p.MustMint(t, map[string]any{"sub": "alice", "aud": "web"})
	command := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], append([]string{"verify", "--issuer", p.Issuer(), "--audience", "api"}, args...)...)
		cmd.Env = append(os.Environ(), "OIDCAUTH_TEST_MAIN=1")
		return cmd
	}

	t.Run("valid", func(t *testing.T) {
		out, err := command(good).Output()
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if want := payload(t, good) + "\n"; string(out) != want {
			t.Errorf("stdout = %q, want %q", out, want)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		var stderr bytes.Buffer
		cmd := command(wrongAud)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("run error = %v, want exit status 1", err)
		}
		if len(out) != 0 {
			t.Errorf("stdout = %q, want empty", out)
		}
		if want := `oidcauth verify: invalid token: invalid audience: aud ["web"] not in [api]` + "\n"; stderr.String() != want {
			t.Errorf("stderr = %q, want %q", stderr.String(), want)
		}
	})

	t.Run("SIGINT", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no SIGINT on Windows")
		}
		var stderr bytes.Buffer
		cmd := command("-")
		cmd.Stderr = &stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Once a line has been answered, the signal handler is installed
		// and the command waits on its (open) standard input.
		io.WriteString(stdin, good+"\n") //nolint:errcheck
		if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
			t.Fatalf("reading the first line: %v", err)
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
				t.Errorf("wait error = %v, want exit status %d", err, exitInterrupted)
			}
			if want := "oidcauth verify: interrupted\n"; stderr.String() != want {
				t.Errorf("stderr = %q, want %q", stderr.String(), want)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			t.Fatal("the command did not exit after SIGINT")
		}
	})
}

// TestErrorsNameCommandOnce checks that an error says "oidcauth COMMAND: "
// once, without the library's "oidcauth: " prefix repeated after it.
func TestErrorsNameCommandOnce(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	expired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "exp": time.Now().Add(-time.Hour).Unix()})
	broken := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	broken.SetJWKSFault(&oidctest.Fault{Status: 503})
	tests := []struct {
		name, cmd string
		args      []string
	}{
		{"invalid token", "verify", []string{"--issuer", p.Issuer(), "--audience", "api", expired}},
		{"wrong audience", "verify", []string{"--issuer", p.Issuer(), "--audience", "web", expired}},
		{"New fails", "verify", []string{"--issuer", broken.Issuer(), "--audience", "api", expired}},
		{"discover, keys fail", "discover", []string{broken.Issuer()}},
		{"jwks, keys fail", "jwks", []string{broken.JWKSURL()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{tt.cmd}, tt.args...)...)
			if got.code == 0 {
				t.Fatalf("exit code = 0, want a failure")
			}
			if want := "oidcauth " + tt.cmd + ": "; !strings.HasPrefix(got.stderr, want) {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, want)
			}
			if strings.Contains(got.stderr, "oidcauth: ") {
				t.Errorf("stderr = %q repeats the prefix \"oidcauth: \"", got.stderr)
			}
			if strings.Contains(got.stderr, expired) {
				t.Errorf("stderr echoes the token")
			}
		})
	}
}
