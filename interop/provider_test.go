// Package interop runs oidcauth against oidc-provider, an independently
// written, OpenID-certified provider (Node.js, pinned in
// provider/package-lock.json), on 127.0.0.1.
//
// The tests skip unless OIDCAUTH_INTEROP is set; then node and the npm
// packages are required:
//
//	(cd interop/provider && npm ci)
//	OIDCAUTH_INTEROP=1 go test -race -count=1 ./interop/...
//
// or bash interop/ci.sh, which does both. Each test starts its own
// provider (provider/server.js) on free loopback ports and stops it when it
// ends.
package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const skipMessage = "interop: set OIDCAUTH_INTEROP=1 and run `npm ci` in interop/provider (see .ci/run)"

// The provider's clients and resources; see provider/server.js.
const (
	apiClient, apiSecret = "api-client", "api-secret" // client_credentials
	webClient, webSecret = "web-client", "web-secret" // authorization_code + PKCE + refresh_token
	resourcePrefix       = "urn:oidcauth:interop:"
)

// algs are the signing algorithms the provider is configured with; each has
// its own resource server (and so its own audience).
var algs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// resource returns the resource indicator, and so the aud, of the API whose
// access tokens the provider signs with alg.
func resource(alg string) string { return resourcePrefix + strings.ToLower(alg) }

// requireInterop skips the test unless the interop suite was asked for, and
// fails it when it was but node or the npm packages are missing.
func requireInterop(t *testing.T) string {
	t.Helper()
	if os.Getenv("OIDCAUTH_INTEROP") == "" {
		t.Skip(skipMessage)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("OIDCAUTH_INTEROP is set but node is not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join("provider", "node_modules", "oidc-provider", "package.json")); err != nil {
		t.Fatalf("OIDCAUTH_INTEROP is set but oidc-provider is not installed; run `npm ci` in interop/provider: %v", err)
	}
	return node
}

// provider is a running provider/server.js process.
type provider struct {
	Issuer string // http://127.0.0.1:PORT
	Admin  string // key rotation API
	port   string
	state  string // file with its private keys, to restart it with the same keys
	args   []string

	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	logs   *syncBuffer
	exited chan struct{}
	stop   func()
	http   *http.Client
}

type providerOptions struct {
	port  string   // "" or "0": any free port
	state string   // "" : a new file in t.TempDir()
	args  []string // more server.js options (e.g. --backchannel-logout-uri URI)
}

// startProvider starts provider/server.js and waits until it listens. The
// process is killed when the test ends, and its output is logged if the
// test failed.
func startProvider(t *testing.T, opts providerOptions) *provider {
	t.Helper()
	node := requireInterop(t)
	if opts.port == "" {
		opts.port = "0"
	}
	if opts.state == "" {
		opts.state = filepath.Join(t.TempDir(), "provider-state.json")
	}
	p := &provider{
		t:      t,
		port:   opts.port,
		state:  opts.state,
		args:   opts.args,
		logs:   &syncBuffer{},
		exited: make(chan struct{}),
		http:   &http.Client{Timeout: 10 * time.Second},
	}
	cmd := exec.Command(node, append([]string{"server.js", "--port", opts.port, "--admin-port", "0", "--state", opts.state, "--exit-with-stdin"}, opts.args...)...)
	cmd.Dir = "provider"
	hs := &handshake{rest: p.logs, line: make(chan string, 1)}
	cmd.Stdout = hs
	cmd.Stderr = p.logs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd, p.stdin = cmd, stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the provider: %v", err)
	}
	go func() {
		cmd.Wait() //nolint:errcheck // killed on purpose
		close(p.exited)
	}()
	var once sync.Once
	p.stop = func() {
		once.Do(func() {
			stdin.Close()
			cmd.Process.Kill() //nolint:errcheck // it may have exited already
			<-p.exited
		})
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("provider output (port %s):\n%s", p.port, p.logs.String())
		}
	})

	var first string
	select {
	case first = <-hs.line:
	case <-p.exited:
		t.Fatalf("the provider exited before listening:\n%s", p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the provider did not start within 30s:\n%s", p.logs.String())
	}
	var hello struct{ Issuer, Admin string }
	if err := json.Unmarshal([]byte(first), &hello); err != nil || hello.Issuer == "" {
		t.Fatalf("the provider's first line %q is not its address: %v", first, err)
	}
	p.Issuer, p.Admin = hello.Issuer, hello.Admin
	u, _ := url.Parse(p.Issuer)
	p.port = u.Port()
	return p
}

// Stop kills the provider and waits for it to exit.
func (p *provider) Stop() { p.stop() }

// Restart starts a new provider process on the same port with the same keys
// (the old one must have been stopped).
func (p *provider) Restart(t *testing.T) *provider {
	t.Helper()
	return startProvider(t, providerOptions{port: p.port, state: p.state, args: p.args})
}

// ---- tokens ------------------------------------------------------------

type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	IDToken          string `json:"id_token"`
	RefreshToken     string `json:"refresh_token"`
	TokenType        string `json:"token_type"`
	Scope            string `json:"scope"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// token posts a token request with client_secret_basic authentication.
func (p *provider) token(ctx context.Context, client, secret string, form url.Values) (*tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return nil, fmt.Errorf("token endpoint: status %d, %v", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tr.Error != "" {
		return nil, fmt.Errorf("token endpoint: status %d: %s: %s", resp.StatusCode, tr.Error, tr.ErrorDescription)
	}
	return &tr, nil
}

// ClientCredentials returns a new access token of api-client for the API
// identified by resource (RFC 8707), scopes "read write".
func (p *provider) ClientCredentials(ctx context.Context, resource string) (string, error) {
	tr, err := p.token(ctx, apiClient, apiSecret, url.Values{
		"grant_type": {"client_credentials"},
		"resource":   {resource},
		"scope":      {"read write"},
	})
	if err != nil {
		return "", err
	}
	return tr.AccessToken, nil
}

// MustClientCredentials is ClientCredentials for the test goroutine.
func (p *provider) MustClientCredentials(t *testing.T, resource string) string {
	t.Helper()
	tok, err := p.ClientCredentials(context.Background(), resource)
	if err != nil {
		t.Fatalf("client_credentials for %s: %v", resource, err)
	}
	return tok
}

// loginOptions are the parameters of a scripted authorization code flow.
type loginOptions struct {
	subject  string // login_hint: the account that signs in (server.js signs in whoever is hinted)
	scope    string // default "openid offline_access email read write"
	resource string // default none: web-client's default resource (RS256 API)
}

// Login runs the authorization code flow with PKCE (RFC 7636, S256) as
// web-client: it follows the provider's redirects with a cookie jar through
// login and consent (completed by server.js), checks state and iss
// (RFC 9207) on the redirect back, and exchanges the code.
func (p *provider) Login(t *testing.T, opts loginOptions) *tokenResponse {
	t.Helper()
	ctx := context.Background()
	if opts.subject == "" {
		opts.subject = "alice"
	}
	if opts.scope == "" {
		opts.scope = "openid offline_access email read write"
	}
	const redirectURI = "http://127.0.0.1/callback"
	verifier := randomString()
	challenge := sha256.Sum256([]byte(verifier))
	state, nonce := randomString(), randomString()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {webClient},
		"redirect_uri":          {redirectURI},
		"scope":                 {opts.scope},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
		"login_hint":            {opts.subject},
		"prompt":                {"consent"}, // offline_access needs it (OpenID Connect Core §11)
	}
	if opts.resource != "" {
		q.Set("resource", opts.resource)
	}
	callback, err := p.authorize(ctx, p.Issuer+"/auth?"+q.Encode(), redirectURI)
	if err != nil {
		t.Fatalf("authorization request: %v\nprovider output:\n%s", err, p.logs.String())
	}
	cq := callback.Query()
	if e := cq.Get("error"); e != "" {
		t.Fatalf("authorization response: error %s: %s", e, cq.Get("error_description"))
	}
	if cq.Get("state") != state {
		t.Fatalf("authorization response state = %q, want %q", cq.Get("state"), state)
	}
	if iss := cq.Get("iss"); iss != p.Issuer {
		t.Fatalf("authorization response iss = %q, want %q (RFC 9207)", iss, p.Issuer)
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {cq.Get("code")},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	}
	if opts.resource != "" {
		form.Set("resource", opts.resource)
	}
	tr, err := p.token(ctx, webClient, webSecret, form)
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	return tr
}

// authorize follows redirects from authURL until one leads to redirectURI
// (on any port, RFC 8252 §7.3), and returns that URL without requesting it.
func (p *provider) authorize(ctx context.Context, authURL, redirectURI string) (*url.URL, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	want, _ := url.Parse(redirectURI)
	var callback *url.URL
	c := &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() == want.Hostname() && req.URL.Path == want.Path && req.URL.Host != via[0].URL.Host {
				callback = req.URL
				return http.ErrUseLastResponse
			}
			if len(via) > 10 {
				return errors.New("more than 10 redirects")
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if callback == nil {
		return nil, fmt.Errorf("no redirect to %s; last answer %d from %s: %s", redirectURI, resp.StatusCode, resp.Request.URL, body)
	}
	return callback, nil
}

// Refresh exchanges a refresh token (RFC 6749 §6).
func (p *provider) Refresh(t *testing.T, refreshToken string) *tokenResponse {
	t.Helper()
	tr, err := p.token(context.Background(), webClient, webSecret, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	return tr
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// ---- key administration -----------------------------------------------

// providerKey is a key of the provider, as its admin API lists it.
type providerKey struct {
	KID     string `json:"kid"`
	Alg     string `json:"alg"`
	Signing bool   `json:"signing"`
}

func (p *provider) admin(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.Admin+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("admin %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("admin %s %s: %v", method, path, err)
		}
	}
}

// Keys lists the provider's published keys.
func (p *provider) Keys(t *testing.T) []providerKey {
	t.Helper()
	var out struct{ Keys []providerKey }
	p.admin(t, http.MethodGet, "/keys", nil, &out)
	return out.Keys
}

// Signer returns the kid that signs tokens of alg.
func (p *provider) Signer(t *testing.T, alg string) string {
	t.Helper()
	for _, k := range p.Keys(t) {
		if k.Alg == alg && k.Signing {
			return k.KID
		}
	}
	t.Fatalf("the provider has no %s signer", alg)
	return ""
}

// AddKey publishes a new key for alg. With sign, it signs from now on,
// before any relying party has fetched the new key set.
func (p *provider) AddKey(t *testing.T, alg string, sign bool) string {
	t.Helper()
	var out struct{ KID string }
	p.admin(t, http.MethodPost, "/keys", map[string]any{"alg": alg, "sign": sign}, &out)
	return out.KID
}

// UseKey makes a published key the signer of its alg.
func (p *provider) UseKey(t *testing.T, kid string) {
	t.Helper()
	p.admin(t, http.MethodPost, "/keys/"+url.PathEscape(kid)+"/sign", nil, nil)
}

// RemoveKey unpublishes a key that no longer signs.
func (p *provider) RemoveKey(t *testing.T, kid string) {
	t.Helper()
	p.admin(t, http.MethodDelete, "/keys/"+url.PathEscape(kid), nil, nil)
}

// ---- helpers -----------------------------------------------------------

// jose is the JOSE header of a token, decoded without verification, to
// check what the provider sent.
type jose struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	KID string `json:"kid"`
}

func header(t *testing.T, token string) jose {
	t.Helper()
	var h jose
	part, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err == nil {
		err = json.Unmarshal(b, &h)
	}
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

// kidOf is header without a *testing.T, for worker goroutines.
func kidOf(token string) string {
	var h jose
	part, _, _ := strings.Cut(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(part)
	json.Unmarshal(b, &h) //nolint:errcheck // "" on garbage
	return h.KID
}

// testLogger sends the Authorizer's log to t.Log, shown with -v or on
// failure. Close the Authorizer before the test ends (t.Cleanup does).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 {
		return len(p), nil // enough to debug; drop the rest
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// handshake passes the server's address line ({"issuer":...}) on line, and
// everything else to rest.
type handshake struct {
	rest io.Writer
	line chan string
	buf  []byte
	done bool
	mu   sync.Mutex
}

func (h *handshake) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return h.rest.Write(p)
	}
	h.buf = append(h.buf, p...)
	for !h.done {
		i := bytes.IndexByte(h.buf, '\n')
		if i < 0 {
			break
		}
		line := h.buf[:i]
		if bytes.HasPrefix(line, []byte(`{"issuer":`)) {
			h.done = true
			h.line <- string(line)
		} else {
			h.rest.Write(h.buf[:i+1]) //nolint:errcheck // a log
		}
		h.buf = h.buf[i+1:]
	}
	if h.done {
		h.rest.Write(h.buf) //nolint:errcheck // a log
		h.buf = nil
	}
	return len(p), nil
}

// offsetClock is a Config.Now whose time can be moved.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off = d
}
