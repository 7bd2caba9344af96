package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// safeBuffer is a bytes.Buffer for concurrent writers.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// devIssuer is a dev-issuer command running for a test.
type devIssuer struct {
	issuer string // as printed
	banner string // standard output up to "Press Ctrl-C to stop."
	stderr *safeBuffer
	cancel context.CancelFunc
	done   chan int
}

var issuerLine = regexp.MustCompile(`(?m)^Issuer: +(\S+)$`)

// startDevIssuer runs "oidcauth dev-issuer --addr 127.0.0.1:0 ARGS..."
// until stop is called or the test ends.
func startDevIssuer(t *testing.T, args ...string) *devIssuer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	d := &devIssuer{stderr: &safeBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		code := runWith(ctx, append([]string{"dev-issuer", "--addr", "127.0.0.1:0"}, args...),
			env{stdin: strings.NewReader(""), stdout: outW, stderr: d.stderr})
		outW.Close()
		d.done <- code
	}()
	t.Cleanup(func() { d.stop(t) })
	var banner strings.Builder
	br := bufio.NewReader(outR)
	for !strings.HasSuffix(banner.String(), "Press Ctrl-C to stop.\n") {
		line, err := br.ReadString('\n')
		banner.WriteString(line)
		if err != nil {
			t.Fatalf("dev-issuer output ended early: %v\nstdout: %s\nstderr: %s", err, banner.String(), d.stderr)
		}
	}
	go io.Copy(io.Discard, outR) //nolint:errcheck // nothing more is expected
	d.banner = banner.String()
	m := issuerLine.FindStringSubmatch(d.banner)
	if m == nil {
		t.Fatalf("no Issuer line in:\n%s", d.banner)
	}
	d.issuer = m[1]
	return d
}

// stop interrupts the dev issuer and returns its exit code.
func (d *devIssuer) stop(t *testing.T) int {
	t.Helper()
	d.cancel()
	select {
	case code := <-d.done:
		d.done <- code // for a second stop
		return code
	case <-time.After(10 * time.Second):
		t.Fatal("dev-issuer did not stop")
		return -1
	}
}

func TestDevIssuerAndMint(t *testing.T) {
	t.Parallel()
	d := startDevIssuer(t)
	checkGolden(t, "dev-issuer-banner", strings.ReplaceAll(d.banner, d.issuer, "http://127.0.0.1:PORT"))

	now := time.Now().Truncate(time.Second)
	got := runAt(t.Context(), now, "", "mint", "--issuer", d.issuer, "--sub", "alice", "--aud", "api", "--aud", "other",
		"--scope", " read  write ", "--typ", "at+jwt", "--ttl", "30m",
		"--claim", "tenant=acme", "--claim", `roles=["admin"]`, "--claim", "admin=true", "--claim", `n="42"`)
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("mint = %v, want exit 0 and no error", got)
	}
	token := strings.TrimSuffix(got.stdout, "\n")
	if strings.Count(token, ".") != 2 || strings.ContainsAny(token, " \n") {
		t.Fatalf("mint printed %q, want one token and a newline", got.stdout)
	}
	want := `{"admin":true,"aud":["api","other"],"exp":` + itoa(now.Add(30*time.Minute).Unix()) + `,"iat":` + itoa(now.Unix()) +
		`,"iss":"` + d.issuer + `","n":"42","roles":["admin"],"scope":"read write","sub":"alice","tenant":"acme"}`
	if got := payload(t, token); got != want {
		t.Errorf("claims = %s\nwant     %s", got, want)
	}

	// The token is valid for the library, as an RFC 9068 access token.
	v := runCLI(t, "", "verify", "--issuer", d.issuer, "--audience", "api", "--type", "at+jwt", token)
	if v.code != 0 || v.stdout != want+"\n" {
		t.Errorf("verify = %v, want exit 0 and the claims", v)
	}

	// An expired token, and one without exp, for testing failures.
	expired := runCLI(t, "", "mint", "--issuer", d.issuer+"/", "--sub", "bob", "--aud", "api", "--ttl", "-1h")
	v = runCLI(t, "", "verify", "--issuer", d.issuer, "--audience", "api", strings.TrimSpace(expired.stdout))
	if v.code != 1 || !strings.HasPrefix(v.stderr, "oidcauth verify: invalid token: token expired: ") {
		t.Errorf("verify of a --ttl -1h token = %v, want exit 1, expired", v)
	}
	noExp := runCLI(t, "", "mint", "--issuer", d.issuer, "--sub", "bob", "--aud", "api", "--claim", "exp=null")
	if c := payload(t, strings.TrimSpace(noExp.stdout)); strings.Contains(c, `"exp"`) {
		t.Errorf("--claim exp=null gave claims %s, want no exp", c)
	}

	// Concurrent requests (run with -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if r := runCLI(t, "", "mint", "--issuer", d.issuer, "--sub", "carol", "--aud", "api"); r.code != 0 {
				t.Errorf("concurrent mint = %v", r)
			}
		})
	}
	wg.Wait()

	if code := d.stop(t); code != 0 {
		t.Errorf("dev-issuer exit code = %d, want 0", code)
	}
	log := d.stderr.String()
	for _, s := range []string{
		`oidcauth dev-issuer: minted a token for sub "alice", aud ["api","other"]` + "\n",
		`oidcauth dev-issuer: minted a token for sub "carol", aud "api"` + "\n",
	} {
		if !strings.Contains(log, s) {
			t.Errorf("stderr = %q, want it to contain %q", log, s)
		}
	}
	if !strings.HasSuffix(log, "oidcauth dev-issuer: stopped\n") {
		t.Errorf("stderr = %q, want it to end with the stop message", log)
	}
	if strings.Contains(log, token) {
		t.Error("the dev issuer logged a token")
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestDevIssuerAlgorithms mints and verifies a token with each kind of key.
func TestDevIssuerAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"ES256", "EdDSA", "PS512"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			d := startDevIssuer(t, "--alg", alg)
			if !strings.Contains(d.banner, "Signing:    "+alg+` key "k1"`) {
				t.Errorf("banner does not name %s:\n%s", alg, d.banner)
			}
			m := runCLI(t, "", "mint", "--issuer", d.issuer, "--sub", "alice", "--aud", "api")
			v := runCLI(t, "", "verify", "--issuer", d.issuer, "--audience", "api", "--alg", alg, strings.TrimSpace(m.stdout))
			if m.code != 0 || v.code != 0 {
				t.Errorf("mint = %v\nverify = %v", m, v)
			}
		})
	}
}

// TestMintEndpoint checks what POST /dev/mint refuses, so that only a
// local program can mint.
func TestMintEndpoint(t *testing.T) {
	t.Parallel()
	d := startDevIssuer(t, "--alg", "ES256")
	endpoint := d.issuer + devMintPath
	const good = `{"claims":{"sub":"alice","aud":"api"}}`
	tests := []struct {
		name       string
		method     string
		body       string
		header     map[string]string
		wantStatus int
		wantError  string
	}{
		{name: "good", body: good, wantStatus: 200},
		{name: "typ", body: `{"claims":{},"typ":"at+jwt"}`, wantStatus: 200},
		{name: "no claims", body: `{}`, wantStatus: 200},
		{name: "charset", body: good, header: map[string]string{"Content-Type": "application/json; charset=utf-8"}, wantStatus: 200},
		{name: "localhost", body: good, header: map[string]string{"Host": "localhost:1"}, wantStatus: 200},
		{name: "other host name", body: good, header: map[string]string{"Host": "rebound.example:9400"},
			wantStatus: 403, wantError: "the Host header must name a loopback address"},
		{name: "from a web page", body: good, header: map[string]string{"Origin": "https://site.example"},
			wantStatus: 403, wantError: "requests from web pages are refused"},
		{name: "form post", body: good, header: map[string]string{"Content-Type": "text/plain"},
			wantStatus: 415, wantError: "the body must be JSON, with Content-Type: application/json"},
		{name: "unknown member", body: `{"claims":{},"kid":"k2"}`, wantStatus: 400,
			wantError: `bad request body: json: unknown field "kid"`},
		{name: "claims not an object", body: `{"claims":[]}`, wantStatus: 400},
		{name: "two values", body: good + good, wantStatus: 400, wantError: "bad request body: more than one JSON value"},
		{name: "too large", body: `{"claims":{"x":"` + strings.Repeat("a", maxMintBody) + `"}}`, wantStatus: 400},
		{name: "GET", method: "GET", wantStatus: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = "POST"
			}
			req, err := http.NewRequestWithContext(t.Context(), method, endpoint, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				if k == "Host" {
					req.Host = v
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var res mintResponse
			json.NewDecoder(resp.Body).Decode(&res) //nolint:errcheck // checked below
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d (error %q)", resp.StatusCode, tt.wantStatus, res.Error)
			}
			if tt.wantError != "" && res.Error != tt.wantError {
				t.Errorf("error = %q, want %q", res.Error, tt.wantError)
			}
			if (resp.StatusCode == 200) != (res.Token != "") {
				t.Errorf("status %d with token %q", resp.StatusCode, res.Token)
			}
		})
	}
}

func TestDevIssuerUsage(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() }) // not defer: the subtests run after this function returns
	const usage = "\n\nusage: oidcauth dev-issuer [flags]\n"
	tests := []struct {
		name       string
		args       []string
		wantStderr string // prefix
	}{
		{"all interfaces", []string{"--addr", "0.0.0.0:9400"},
			`oidcauth dev-issuer: --addr "0.0.0.0:9400" is not a loopback address: the dev issuer listens on 127.0.0.1, ::1 or localhost only` + usage},
		{"public name", []string{"--addr", "example.com:9400"}, `oidcauth dev-issuer: --addr "example.com:9400" is not a loopback address`},
		{"no port", []string{"--addr", "127.0.0.1"}, `oidcauth dev-issuer: --addr "127.0.0.1" is not host:port` + usage},
		{"HMAC", []string{"--alg", "HS256"},
			`oidcauth dev-issuer: --alg "HS256" is not supported (supported: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)` + usage},
		{"argument", []string{"9400"}, "oidcauth dev-issuer: takes no arguments, got 1" + usage},
		{"port in use", []string{"--alg", "ES256", "--addr", busy.Addr().String()},
			"oidcauth dev-issuer: " + busy.Addr().String() + " is in use (is another dev-issuer running?); choose another port with --addr\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append([]string{"dev-issuer"}, tt.args...)...)
			if got.code != exitUsage || got.stdout != "" {
				t.Errorf("exit code = %d, stdout = %q, want %d and nothing", got.code, got.stdout, exitUsage)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
		})
	}
}

// TestDevIssuerBinary runs the real command (see TestMain) and stops it
// with SIGINT, as Ctrl-C does: it exits 0.
func TestDevIssuerBinary(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT on Windows")
	}
	cmd := exec.Command(os.Args[0], "dev-issuer", "--addr", "127.0.0.1:0", "--alg", "ES256")
	cmd.Env = append(os.Environ(), "OIDCAUTH_TEST_MAIN=1")
	var stderr safeBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already exited when all goes well
	br := bufio.NewReader(stdout)
	var banner strings.Builder
	for !strings.HasSuffix(banner.String(), "Press Ctrl-C to stop.\n") {
		line, err := br.ReadString('\n')
		banner.WriteString(line)
		if err != nil {
			t.Fatalf("output ended early: %v\n%s\nstderr: %s", err, banner.String(), stderr.String())
		}
	}
	m := issuerLine.FindStringSubmatch(banner.String())
	if m == nil {
		t.Fatalf("no Issuer line in:\n%s", banner.String())
	}
	if r := runCLI(t, "", "mint", "--issuer", m[1], "--sub", "alice", "--aud", "api"); r.code != 0 {
		t.Errorf("mint = %v", r)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("wait error = %v, want exit status 0", err)
		}
		if want := "oidcauth dev-issuer: stopped\n"; !strings.HasSuffix(stderr.String(), want) {
			t.Errorf("stderr = %q, want it to end with %q", stderr.String(), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dev-issuer did not exit after SIGINT")
	}
}

// TestFlagsSameNameEverywhere checks that mint and verify both take
// --audience and --type, and both still take the older spellings --aud and
// --typ, which set the same values; the help of each lists both names.
func TestFlagsSameNameEverywhere(t *testing.T) {
	t.Parallel()
	d := startDevIssuer(t)
	for _, spelling := range [][2]string{{"--audience", "--type"}, {"--aud", "--typ"}} {
		aud, typ := spelling[0], spelling[1]
		m := runCLI(t, "", "mint", "--issuer", d.issuer, "--sub", "alice", aud, "api", typ, "at+jwt")
		if m.code != 0 {
			t.Fatalf("mint %s %s = %v, want exit 0", aud, typ, m)
		}
		token := strings.TrimSpace(m.stdout)
		if v := runCLI(t, "", "verify", "--issuer", d.issuer, aud, "api", typ, "at+jwt", token); v.code != 0 {
			t.Errorf("verify %s api %s at+jwt = %v, want exit 0", aud, typ, v)
		}
		// The alias sets the very same value: a wrong type given with it
		// is refused.
		if v := runCLI(t, "", "verify", "--issuer", d.issuer, aud, "api", typ, "dpop+jwt", token); v.code != 1 {
			t.Errorf("verify %s api %s dpop+jwt = %v, want exit 1", aud, typ, v)
		}
	}
	for _, cmd := range []string{"mint", "verify"} {
		h := runCLI(t, "", "help", cmd)
		for _, f := range []string{"--audience audience", "--aud audience", "--type typ", "--typ typ"} {
			if !strings.Contains(h.stdout, "\n  "+f+"\n") {
				t.Errorf("help %s does not list %q", cmd, f)
			}
		}
	}
}
