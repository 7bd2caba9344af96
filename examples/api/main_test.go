package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// syncBuffer is a bytes.Buffer safe for concurrent use, for stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the buffer's contents.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is a running instance of the API started by startAPI.
type server struct {
	base  string // http://ADDR from the "listening on" line
	lines <-chan string
	stop  func() []string
}

var (
	listeningRE = regexp.MustCompile(`^listening on (http://127\.0\.0\.1:[0-9]+)$`)
	curlRE      = regexp.MustCompile(`^curl -H 'Authorization: Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)' (http://\S+)/api/me$`)
	dpopCurlRE  = regexp.MustCompile(`^curl -H 'Authorization: DPoP ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)' -H 'DPoP: ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)' (http://\S+)/api/me$`)
)

// startAPI runs the API with args in a goroutine and waits for its
// "listening on" line. stop cancels it, checks that run returns nil
// promptly, and returns the remaining lines of its stdout.
func startAPI(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		pw.Close()
		done <- err
	}()
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	stopped := false
	stop := func() []string {
		t.Helper()
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() error = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return within 10 s of cancellation")
		}
		var rest []string
		for l := range lines {
			rest = append(rest, l)
		}
		return rest
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("stderr of run:\n%s", stderr.String())
		}
	})

	first := nextLine(t, lines)
	m := listeningRE.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("first line = %q, want %q", first, "listening on http://127.0.0.1:PORT")
	}
	return &server{base: m[1], lines: lines, stop: stop}
}

// nextLine returns the next line of stdout, failing after 10 s.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("stdout closed early")
		}
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no line on stdout within 10 s")
	}
	return ""
}

// payload returns the decoded payload of a compact JWS.
func payload(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// response is what a test request got.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends method url with the Authorization header auth, if not empty.
func do(t *testing.T, method, url, auth string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func TestEmbeddedProvider(t *testing.T) {
	t.Parallel()
	s := startAPI(t, "--addr", "127.0.0.1:0")
	curl := nextLine(t, s.lines)
	m := curlRE.FindStringSubmatch(curl)
	if m == nil {
		t.Fatalf("second line = %q, want a curl command", curl)
	}
	token, url := m[1], m[2]
	if url != s.base {
		t.Errorf("curl URL = %q, want %q", url, s.base)
	}
	claims := payload(t, token)
	for _, want := range []string{`"sub":"alice"`, `"aud":"api"`, `"scope":"read write"`} {
		if !strings.Contains(claims, want) {
			t.Errorf("token claims %s lack %s", claims, want)
		}
	}

	const (
		challenge = `Bearer realm="api"`
		invalid   = `Bearer realm="api", error="invalid_token", error_description="the token is invalid"`
	)
	tests := []struct {
		name       string
		method     string
		path       string
		auth       string
		wantStatus int
		wantAuth   string // WWW-Authenticate
		wantBody   string // if not empty
	}{
		{name: "me with token", method: "GET", path: "/api/me", auth: "Bearer " + token, wantStatus: 200, wantBody: claims},
		{name: "me without token", method: "GET", path: "/api/me", wantStatus: 401, wantAuth: challenge},
		{name: "me with garbage token", method: "GET", path: "/api/me", auth: "Bearer garbage", wantStatus: 401, wantAuth: invalid},
		{name: "me with Basic", method: "GET", path: "/api/me", auth: "Basic YWxpY2U6cHc=", wantStatus: 401, wantAuth: challenge},
		{name: "feed without token", method: "GET", path: "/api/feed", wantStatus: 200, wantBody: `{"subject":null}`},
		{name: "feed with token", method: "GET", path: "/api/feed", auth: "Bearer " + token, wantStatus: 200, wantBody: `{"subject":"alice"}`},
		{name: "feed with bad token", method: "GET", path: "/api/feed", auth: "Bearer " + token[:len(token)-4] + "AAAA", wantStatus: 401, wantAuth: invalid},
		{name: "feed with garbage token", method: "GET", path: "/api/feed", auth: "Bearer garbage", wantStatus: 401, wantAuth: invalid},
		{name: "admin without the admin scope", method: "GET", path: "/api/admin", auth: "Bearer " + token, wantStatus: 403, wantAuth: `Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"`},
		{name: "admin without token", method: "GET", path: "/api/admin", wantStatus: 401, wantAuth: challenge},
		{name: "unknown route", method: "GET", path: "/api/nope", auth: "Bearer " + token, wantStatus: 404},
		{name: "wrong method", method: "POST", path: "/api/me", auth: "Bearer " + token, wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := do(t, tt.method, s.base+tt.path, tt.auth)
			if got.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			}
			if a := got.header.Get("WWW-Authenticate"); a != tt.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", a, tt.wantAuth)
			}
			if tt.wantBody != "" {
				if got.body != tt.wantBody {
					t.Errorf("body = %s, want %s", got.body, tt.wantBody)
				}
				if ct := got.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", ct)
				}
			}
		})
	}

	nextDPoPCurl(t, s)
	if rest := s.stop(); len(rest) != 0 {
		t.Errorf("more lines on stdout: %q", rest)
	}
}

func TestAudienceFlag(t *testing.T) {
	t.Parallel()
	s := startAPI(t, "--addr", "127.0.0.1:0", "--audience", "https://api.example.com")
	m := curlRE.FindStringSubmatch(nextLine(t, s.lines))
	if m == nil {
		t.Fatal("no curl command")
	}
	if c := payload(t, m[1]); !strings.Contains(c, `"aud":"https://api.example.com"`) {
		t.Errorf("token claims %s lack the audience", c)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+m[1]); got.status != 200 {
		t.Errorf("status = %d, want 200", got.status)
	}
}

func TestRealProvider(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	s := startAPI(t, "--addr", "127.0.0.1:0", "--issuer", idp.Issuer(), "--audience", "api", "--type", "at+jwt")

	atJWT := idp.MustMintToken(t, oidctest.Token{
		Header: map[string]any{"typ": "at+jwt"},
		Claims: map[string]any{"sub": "bob", "aud": "api"},
	})
	plainJWT := idp.MustMint(t, map[string]any{"sub": "bob", "aud": "api"})

	got := do(t, "GET", s.base+"/api/me", "Bearer "+atJWT)
	if got.status != 200 || got.body != payload(t, atJWT) {
		t.Errorf("me with at+jwt token = %d %s, want 200 %s", got.status, got.body, payload(t, atJWT))
	}
	if got := do(t, "GET", s.base+"/api/feed", "Bearer "+atJWT); got.body != `{"subject":"bob"}` {
		t.Errorf("feed with at+jwt token = %d %s, want 200 {\"subject\":\"bob\"}", got.status, got.body)
	}
	if got := do(t, "GET", s.base+"/api/me", "Bearer "+plainJWT); got.status != 401 {
		t.Errorf("me with typ JWT token: status = %d, want 401", got.status)
	}
	adminJWT := idp.MustMintToken(t, oidctest.Token{
		Header: map[string]any{"typ": "at+jwt"},
		Claims: map[string]any{"sub": "bob", "aud": "api", "scope": "read admin"},
	})
	if got := do(t, "GET", s.base+"/api/admin", "Bearer "+adminJWT); got.status != 200 || got.body != `{"admin":"bob"}` {
		t.Errorf("admin with the admin scope = %d %s, want 200 {\"admin\":\"bob\"}", got.status, got.body)
	}

	// No embedded provider, so no curl command: stdout has only the
	// "listening on" line.
	if rest := s.stop(); len(rest) != 0 {
		t.Errorf("more lines on stdout: %q", rest)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		want  string // in the error
		usage bool   // a command-line error
	}{
		{name: "unknown flag", args: []string{"--bogus"}, want: "flag provided but not defined", usage: true},
		{name: "extra argument", args: []string{"--addr", "127.0.0.1:0", "extra"}, want: "unexpected arguments", usage: true},
		{name: "bad address", args: []string{"--addr", "127.0.0.1:99999"}, want: "listen"},
		{name: "unreachable issuer", args: []string{"--issuer", "https://127.0.0.1:1", "--addr", "127.0.0.1:0"}, want: "fetching keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run() error = %v, want one containing %q", err, tt.want)
			}
			if got := errors.Is(err, errUsage); got != tt.usage {
				t.Errorf("errors.Is(err, errUsage) = %v, want %v", got, tt.usage)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want empty", stdout.String())
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) error = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(stderr.String(), "-addr address") {
		t.Errorf("usage = %q, want the flags", stderr.String())
	}
}
