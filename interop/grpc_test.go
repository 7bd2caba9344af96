package interop

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// grpcurlBin returns grpcurl from OIDCAUTH_GRPCURL or PATH; without it the
// test skips, or fails with OIDCAUTH_REQUIRE_GRPCURL=1 (examples/grpc/ci.sh
// installs it and sets both).
func grpcurlBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("OIDCAUTH_GRPCURL")
	if p == "" {
		p, _ = exec.LookPath("grpcurl")
	}
	if p == "" {
		if os.Getenv("OIDCAUTH_REQUIRE_GRPCURL") == "1" {
			t.Fatal("grpcurl not found (OIDCAUTH_GRPCURL or PATH) and OIDCAUTH_REQUIRE_GRPCURL=1: source examples/grpc/ci.sh")
		}
		t.Skip("grpcurl not installed: source examples/grpc/ci.sh (OIDCAUTH_REQUIRE_GRPCURL=1 makes this a failure)")
	}
	return p
}

var grpcListeningRE = regexp.MustCompile(`^listening on grpc://(127\.0\.0\.1:[0-9]+)$`)

// TestGrpcurl runs examples/grpc against oidc-provider and calls it with
// grpcurl, a gRPC client that is not ours: reflection, health, WhoAmI with
// the provider's RFC 9068 access token, and each error code.
func TestGrpcurl(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	bin := grpcurlBin(t)

	// Build the example (its own module) and run it as a user would.
	exe := filepath.Join(t.TempDir(), "grpc-example")
	build := exec.Command("go", "build", "-o", exe, ".")
	build.Dir = filepath.Join("..", "examples", "grpc")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/grpc: %v\n%s", err, out)
	}
	aud := resource("RS256")
	cmd := exec.Command(exe, "--issuer", p.Issuer, "--audience", aud, "--type", "at+jwt", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) //nolint:errcheck
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("examples/grpc exited with %v", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill() //nolint:errcheck
			t.Error("examples/grpc did not stop within 10 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("examples/grpc stderr:\n%s", logs.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		for sc.Scan() {
		}
	}()
	var addr string
	select {
	case l := <-line:
		m := grpcListeningRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("first line = %q, want listening on grpc://127.0.0.1:PORT", l)
		}
		addr = m[1]
	case <-time.After(30 * time.Second):
		t.Fatalf("examples/grpc printed nothing within 30 s:\n%s", logs.String())
	}

	tok := p.MustClientCredentials(t, aud) // scopes read write
	wrongAud := p.MustClientCredentials(t, resource("ES256"))
	tests := []struct {
		name, token, call string
		fail              bool
		want              []string
	}{
		{name: "reflection list", call: "list", want: []string{"oidcauth.example.v1.Greeter", "grpc.health.v1.Health"}},
		{name: "reflection describe", call: "describe oidcauth.example.v1.Greeter.WhoAmI", want: []string{"rpc WhoAmI"}},
		{name: "health", call: "grpc.health.v1.Health/Check", want: []string{`"status": "SERVING"`}},
		{name: "WhoAmI", token: tok, call: "oidcauth.example.v1.Greeter/WhoAmI", want: []string{`"subject": "` + apiClient + `"`, `"read"`, `"write"`}},
		{name: "no token", call: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: Unauthenticated"}},
		{name: "token for another resource", token: wrongAud, call: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: Unauthenticated", "not meant for this resource"}},
		{name: "malformed", token: "a b", call: "oidcauth.example.v1.Greeter/WhoAmI", fail: true, want: []string{"Code: InvalidArgument"}},
		{name: "scope missing", token: tok, call: "oidcauth.example.v1.Greeter/Admin", fail: true, want: []string{"Code: PermissionDenied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-plaintext", "-max-time", "10"}
			if tt.token != "" {
				args = append(args, "-H", "authorization: Bearer "+tt.token)
			}
			args = append(append(args, addr), strings.Fields(tt.call)...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if (err != nil) != tt.fail {
				t.Fatalf("grpcurl %s: err = %v, want failure %v:\n%s", tt.call, err, tt.fail, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("grpcurl %s: output lacks %q:\n%s", tt.call, w, out)
				}
			}
		})
	}

	// The connect handler on the same port, as curl calls it.
	for _, tt := range []struct {
		token, method string
		status        int
	}{{tok, "WhoAmI", 200}, {"", "WhoAmI", 401}, {wrongAud, "WhoAmI", 401}, {tok, "Admin", 403}} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/oidcauth.example.v1.Greeter/"+tt.method, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		res, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || tt.status != 200 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer ") ||
			tt.status == 200 && !strings.Contains(string(body), `"subject":"`+apiClient+`"`) {
			t.Errorf("connect %s: %d %s (WWW-Authenticate %q), want %d", tt.method, res.StatusCode, body, res.Header.Get("WWW-Authenticate"), tt.status)
		}
	}
}
