package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// syncBuffer collects stderr of run.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var (
	listeningRE = regexp.MustCompile(`^listening on grpc://(127\.0\.0\.1:[0-9]+)$`)
	grpcurlRE   = regexp.MustCompile(`^grpcurl -plaintext -H 'authorization: Bearer ([A-Za-z0-9_.-]+)' (127\.0\.0\.1:[0-9]+) oidcauth\.example\.v1\.Greeter/WhoAmI$`)
	curlRE      = regexp.MustCompile(`^curl -H 'Authorization: Bearer ([A-Za-z0-9_.-]+)' -H 'Content-Type: application/json' -d '\{\}' http://(127\.0\.0\.1:[0-9]+)/oidcauth\.example\.v1\.Greeter/WhoAmI$`)
)

// server is a running example started by start.
type server struct {
	addr  string
	token string // the printed demo token, with the embedded provider
}

// start runs the example with args and waits for its output lines.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), pw, stderr)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 8)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() error = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return within 10 s of cancellation")
		}
		for range lines {
		}
		if t.Failed() {
			t.Logf("stderr of run:\n%s", stderr.String())
		}
	})
	next := func() string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("run ended early: %v", stderr.String())
			}
			return l
		case <-time.After(20 * time.Second):
			t.Fatal("no output from run within 20 s")
		}
		return ""
	}
	m := listeningRE.FindStringSubmatch(next())
	if m == nil {
		t.Fatal("first line is not listening on grpc://127.0.0.1:PORT")
	}
	s := &server{addr: m[1]}
	if !hasFlag(args, "--issuer") {
		g := grpcurlRE.FindStringSubmatch(next())
		c := curlRE.FindStringSubmatch(next())
		if g == nil || c == nil || g[2] != s.addr || c[2] != s.addr || g[1] != c[1] {
			t.Fatal("second and third lines are not the grpcurl and curl commands with the same token and address")
		}
		s.token = g[1]
	}
	return s
}

func hasFlag(args []string, f string) bool {
	for _, a := range args {
		if a == f || strings.HasPrefix(a, f+"=") {
			return true
		}
	}
	return false
}

// grpcurl returns the path of grpcurl from OIDCAUTH_GRPCURL or PATH, or
// skips the test (fails it with OIDCAUTH_REQUIRE_GRPCURL=1).
func grpcurl(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OIDCAUTH_GRPCURL")
	if p == "" {
		p, _ = exec.LookPath("grpcurl")
	}
	if p == "" {
		if os.Getenv("OIDCAUTH_REQUIRE_GRPCURL") == "1" {
			t.Fatal("grpcurl not found (OIDCAUTH_GRPCURL or PATH) and OIDCAUTH_REQUIRE_GRPCURL=1: run examples/grpc/ci.sh")
		}
		t.Skip("grpcurl not installed: set OIDCAUTH_GRPCURL or run examples/grpc/ci.sh (OIDCAUTH_REQUIRE_GRPCURL=1 makes this a failure)")
	}
	return p
}

// rpc runs grpcurl against addr and returns its stdout and stderr.
func rpc(t *testing.T, bin, addr, token, method string) (string, error) {
	t.Helper()
	args := []string{"-plaintext", "-max-time", "10"}
	if token != "" {
		args = append(args, "-H", "authorization: Bearer "+token)
	}
	args = append(args, addr)
	args = append(args, strings.Fields(method)...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	return string(out), err
}

// grpcurlCases are the calls every provider is checked with: reflection,
// health, WhoAmI with a token, and each error code.
func checkWithGrpcurl(t *testing.T, bin, addr, token, adminToken, subject string) {
	t.Helper()
	tests := []struct {
		name, token, method string
		want                []string // substrings of the output
		fail                bool
	}{
		{name: "reflection list", method: "list", want: []string{"oidcauth.example.v1.Greeter", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"}},
		{name: "reflection describe", method: "describe oidcauth.example.v1.Greeter", want: []string{"rpc WhoAmI", "rpc Admin"}},
		{name: "health", method: "grpc.health.v1.Health/Check", want: []string{`"status": "SERVING"`}},
		{name: "WhoAmI", token: token, method: "oidcauth.example.v1.Greeter/WhoAmI", want: []string{`"subject": "` + subject + `"`}},
		{name: "no token", method: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: Unauthenticated", "oidcauth: a bearer token is required"}},
		{name: "bad token", token: "abc.def.ghi", method: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: Unauthenticated", "oidcauth: the token is invalid"}},
		{name: "malformed", token: "a b", method: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: InvalidArgument"}},
		{name: "scope missing", token: token, method: "oidcauth.example.v1.Greeter/Admin", fail: true, want: []string{"Code: PermissionDenied"}},
	}
	if adminToken != "" {
		tests = append(tests, struct {
			name, token, method string
			want                []string
			fail                bool
		}{name: "Admin", token: adminToken, method: "oidcauth.example.v1.Greeter/Admin", want: []string{`"subject": "` + subject + `"`}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rpc(t, bin, addr, tt.token, tt.method)
			if (err != nil) != tt.fail {
				t.Fatalf("grpcurl %s: err = %v, want failure %v; output:\n%s", tt.method, err, tt.fail, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("grpcurl %s: output lacks %q:\n%s", tt.method, w, out)
				}
			}
			if tt.token != "" && len(tt.token) > 10 && strings.Contains(out, tt.token) && tt.fail {
				t.Errorf("error output echoes the token")
			}
		})
	}
}

func TestGrpcurlEmbedded(t *testing.T) {
	bin := grpcurl(t)
	s := start(t)
	checkWithGrpcurl(t, bin, s.addr, s.token, "", "alice")
}

func TestGrpcurlStartWithoutKeys(t *testing.T) {
	bin := grpcurl(t)
	p := oidctest.New(t)
	p.SetJWKSFault(&oidctest.Fault{Status: 503})
	s := start(t, "--issuer", p.Issuer(), "--audience", "api", "--start-without-keys")
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "bob"})
	out, err := rpc(t, bin, s.addr, tok, "oidcauth.example.v1.Greeter/WhoAmI")
	if err == nil || !strings.Contains(out, "Code: Unavailable") {
		t.Fatalf("keys unavailable: err = %v, output:\n%s", err, out)
	}
	if out, err := rpc(t, bin, s.addr, "", "grpc.health.v1.Health/Check"); err != nil {
		t.Fatalf("health while keys unavailable: %v\n%s", err, out)
	}
}

// TestConnect calls the connect handler as curl would: JSON over HTTP/1.1.
func TestConnect(t *testing.T) {
	p := oidctest.New(t)
	s := start(t, "--issuer", p.Issuer(), "--audience", "api")
	user := p.MustMint(t, map[string]any{"aud": "api", "sub": "carol", "scope": "read"})
	admin := p.MustMint(t, map[string]any{"aud": "api", "sub": "carol", "scope": "admin"})
	for _, tt := range []struct {
		name, token, method string
		status              int
		code, challenge     string
	}{
		{"WhoAmI", user, "WhoAmI", 200, "", ""},
		{"Admin", admin, "Admin", 200, "", ""},
		{"no token", "", "WhoAmI", 401, "unauthenticated", `Bearer realm="api"`},
		{"bad token", "abc.def.ghi", "WhoAmI", 401, "unauthenticated", `Bearer realm="api", error="invalid_token", error_description="the token is invalid"`},
		{"scope missing", user, "Admin", 403, "permission_denied", `Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/oidcauth.example.v1.Greeter/"+tt.method, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status || res.ProtoMajor != 1 {
				t.Fatalf("%s: %s %v, want %d over HTTP/1.1", tt.method, res.Status, body, tt.status)
			}
			if tt.status == 200 {
				if body["subject"] != "carol" {
					t.Fatalf("body = %v, want subject carol", body)
				}
				return
			}
			if body["code"] != tt.code || res.Header.Get("WWW-Authenticate") != tt.challenge {
				t.Fatalf("body = %v, WWW-Authenticate %q, want code %s, %q", body, res.Header.Get("WWW-Authenticate"), tt.code, tt.challenge)
			}
		})
	}
}
