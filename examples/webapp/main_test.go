package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// start runs the webapp in-process on a free port and returns its base URL.
// It is stopped at the end of the test.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		t.Fatalf("webapp did not start: %v", err)
	}
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("first line %q", line)
	}
	return base
}

func get(t *testing.T, c *http.Client, url string, h http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebapp(t *testing.T) {
	t.Parallel()
	base := start(t)
	jar, _ := cookiejar.New(nil)
	var visited []string // every URL the browser was redirected to
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		visited = append(visited, r.URL.String())
		if len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}

	if status, body := get(t, browser, base+"/", nil); status != 200 || !strings.Contains(body, "hello, anonymous") {
		t.Errorf("GET / anonymous: %d %s", status, body)
	}
	if status, _ := get(t, browser, base+"/api/me", nil); status != 401 {
		t.Errorf("GET /api/me anonymous: %d", status)
	}
	// /me signs in through the embedded provider and comes back.
	status, body := get(t, browser, base+"/me", nil)
	var claims map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &claims) != nil || claims["sub"] != "alice" || claims["aud"] != "webapp" {
		t.Fatalf("GET /me: %d %s", status, body)
	}
	if status, body := get(t, browser, base+"/", nil); !strings.Contains(body, "hello, alice") || !strings.Contains(body, `action="/logout"`) {
		t.Errorf("GET / signed in: %d %s", status, body)
	}
	if status, body := get(t, browser, base+"/api/me", nil); status != 200 || !strings.Contains(body, `"sub":"alice"`) {
		t.Errorf("GET /api/me with the session: %d %s", status, body)
	}

	// A cross-site form POST cannot sign out.
	req, _ := http.NewRequest(http.MethodPost, base+"/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: %d", resp.StatusCode)
	}
	// The same-origin form POST signs out, at the provider too, and lands on /.
	req, _ = http.NewRequest(http.MethodPost, base+"/logout", strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.String() != base+"/" || !strings.Contains(string(b), "hello, anonymous") {
		t.Errorf("after logout: at %s: %s", resp.Request.URL, b)
	}
	for _, u := range visited {
		if strings.Contains(u, "id_token_hint") {
			t.Errorf("the ID token travelled in a URL: %.60s…", u)
		}
	}
}

func TestWebappBearer(t *testing.T) {
	t.Parallel()
	a, err := newApp(t.Context(), options{addr: "127.0.0.1:0", demoUser: "alice", sessionStore: "memory"}, "127.0.0.1:1", quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := newServer(t, a.handler())
	token := a.idp.MustMint(t, map[string]any{"sub": "robot", "aud": "webapp-api"})
	c := &http.Client{}
	if status, body := get(t, c, srv+"/api/me", http.Header{"Authorization": {"Bearer " + token}}); status != 200 || !strings.Contains(body, `"sub":"robot"`) {
		t.Errorf("GET /api/me with a bearer token: %d %s", status, body)
	}
	other := a.idp.MustMint(t, map[string]any{"sub": "robot", "aud": "elsewhere"})
	if status, _ := get(t, c, srv+"/api/me", http.Header{"Authorization": {"Bearer " + other}}); status != 401 {
		t.Errorf("GET /api/me with a token for another audience: %d", status)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--issuer", "https://idp.example"},
		{"--client-id", "x"},
		{"extra"},
		{"--session-key", "short"},
		{"--session-store", "mysql://x"},
		{"--refresh-margin", "-1s"},
		{"--refresh-margin", "soon"},
	} {
		err := run(t.Context(), append([]string{"--addr", "127.0.0.1:0"}, args...), io.Discard, io.Discard)
		if err == nil {
			t.Errorf("run %v succeeded", args)
		}
	}
}
