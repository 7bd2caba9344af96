package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBrowserWalkthrough drives a real headless Chromium through the
// webapp with chromedriver's W3C WebDriver API (plain HTTP and JSON): open
// /me, get signed in by the embedded provider, see the claims, sign out
// with the form on /, and be anonymous again.
//
// It needs OIDCAUTH_CHROMIUM (the browser binary) and
// OIDCAUTH_CHROMEDRIVER (the matching chromedriver), as oauth/ci.sh sets
// them (Debian packages chromium and chromium-driver). Without them it is
// skipped, unless OIDCAUTH_REQUIRE_BROWSER=1, which makes that a failure.
func TestBrowserWalkthrough(t *testing.T) {
	chromium, driver := browserBinaries(t)
	base := start(t)
	wd := startChromedriver(t, driver)
	s := wd.newSession(t, chromium)

	// 1. A protected page: the browser goes to the login, the provider,
	// the callback, and back to /me, which shows the claims.
	s.navigate(base + "/me")
	s.waitURL(base + "/me")
	var claims map[string]any
	body := s.text("body")
	if err := json.Unmarshal([]byte(body), &claims); err != nil || claims["sub"] != "alice" || claims["aud"] != "webapp" {
		t.Fatalf("/me shows %q", body)
	}

	// 2. The home page greets the user and has the sign-out form.
	s.navigate(base + "/")
	if got := s.text("#greeting"); got != "hello, alice" {
		t.Fatalf("greeting %q", got)
	}
	if got := s.text("body"); !strings.Contains(got, "Sign out") {
		t.Fatalf("home page without sign-out: %q", got)
	}

	// 3. Sign out with the same-origin form: via the provider's
	// end-session endpoint back to /, anonymous.
	// The browser starts on / and ends on /: wait for the new page's
	// greeting, not for the URL (which is already / before the click).
	s.click("#logout-button")
	s.waitText("#greeting", "hello, anonymous")
	s.waitURL(base + "/")
	s.navigate(base + "/api/me")
	if got := s.text("body"); !strings.Contains(got, "unauthorized") {
		t.Fatalf("/api/me after sign-out: %q", got)
	}
}

func browserBinaries(t *testing.T) (chromium, driver string) {
	t.Helper()
	chromium, driver = os.Getenv("OIDCAUTH_CHROMIUM"), os.Getenv("OIDCAUTH_CHROMEDRIVER")
	required := os.Getenv("OIDCAUTH_REQUIRE_BROWSER") == "1"
	miss := func(msg string) {
		if required {
			t.Fatal("OIDCAUTH_REQUIRE_BROWSER=1 but " + msg)
		}
		t.Skip("browser test skipped: " + msg + " (oauth/ci.sh installs chromium and chromium-driver and sets OIDCAUTH_CHROMIUM and OIDCAUTH_CHROMEDRIVER)")
	}
	if chromium == "" || driver == "" {
		miss("OIDCAUTH_CHROMIUM and OIDCAUTH_CHROMEDRIVER are not both set")
	}
	for _, p := range []string{chromium, driver} {
		if _, err := os.Stat(p); err != nil {
			miss(err.Error())
		}
	}
	return chromium, driver
}

// webDriver is a chromedriver process and its W3C WebDriver endpoint.
type webDriver struct {
	t    *testing.T
	base string
}

func startChromedriver(t *testing.T, path string) *webDriver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(path, "--port="+strconv.Itoa(port), "--allowed-ips=127.0.0.1")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver output:\n%s", logs.String())
		}
	})
	wd := &webDriver{t: t, base: "http://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var status struct {
			Ready bool `json:"ready"`
		}
		if err := wd.call(http.MethodGet, "/status", nil, &status); err == nil && status.Ready {
			return wd
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver not ready after 30 s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call makes a WebDriver request and decodes its "value" into out.
func (wd *webDriver) call(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, wd.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s %s: %d, %w", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Message string }
		json.Unmarshal(env.Value, &e)
		return fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, e.Error, e.Message)
	}
	if out != nil {
		return json.Unmarshal(env.Value, out)
	}
	return nil
}

type browserSession struct {
	wd *webDriver
	id string
}

func (wd *webDriver) newSession(t *testing.T, chromium string) *browserSession {
	t.Helper()
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": chromium,
			"args": []string{
				"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
				"--no-first-run", "--disable-background-networking", "--disable-component-update",
				"--disable-sync", "--user-data-dir=" + t.TempDir(),
			},
		},
	}}}
	var created struct {
		SessionID string `json:"sessionId"`
	}
	if err := wd.call(http.MethodPost, "/session", caps, &created); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	s := &browserSession{wd: wd, id: created.SessionID}
	t.Cleanup(func() { wd.call(http.MethodDelete, "/session/"+s.id, nil, nil) })
	return s
}

func (s *browserSession) must(err error) {
	s.wd.t.Helper()
	if err != nil {
		s.wd.t.Fatal(err)
	}
}

func (s *browserSession) navigate(url string) {
	s.wd.t.Helper()
	s.must(s.wd.call(http.MethodPost, "/session/"+s.id+"/url", map[string]string{"url": url}, nil))
}

func (s *browserSession) currentURL() string {
	s.wd.t.Helper()
	var u string
	s.must(s.wd.call(http.MethodGet, "/session/"+s.id+"/url", nil, &u))
	return u
}

// waitURL waits until the browser has settled on url.
func (s *browserSession) waitURL(url string) {
	s.wd.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := s.currentURL(); got == url {
			return
		} else if time.Now().After(deadline) {
			s.wd.t.Fatalf("browser at %s, want %s", got, url)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *browserSession) element(css string) string {
	s.wd.t.Helper()
	var el map[string]string
	s.must(s.wd.call(http.MethodPost, "/session/"+s.id+"/element", map[string]string{"using": "css selector", "value": css}, &el))
	for _, id := range el {
		return id
	}
	s.wd.t.Fatalf("no element %s", css)
	return ""
}

func (s *browserSession) text(css string) string {
	s.wd.t.Helper()
	var text string
	s.must(s.wd.call(http.MethodGet, "/session/"+s.id+"/element/"+s.element(css)+"/text", nil, &text))
	return strings.TrimSpace(text)
}

func (s *browserSession) click(css string) {
	s.wd.t.Helper()
	s.must(s.wd.call(http.MethodPost, "/session/"+s.id+"/element/"+s.element(css)+"/click", map[string]any{}, nil))
}

// waitText waits until the element css shows want, finding the element
// again on every try: while a navigation is under way an element found a
// moment ago may already belong to the old page ("stale element").
func (s *browserSession) waitText(css, want string) {
	s.wd.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	var err error
	for time.Now().Before(deadline) {
		var el map[string]string
		if err = s.wd.call(http.MethodPost, "/session/"+s.id+"/element", map[string]string{"using": "css selector", "value": css}, &el); err == nil {
			for _, id := range el {
				if err = s.wd.call(http.MethodGet, "/session/"+s.id+"/element/"+id+"/text", nil, &got); err == nil && strings.TrimSpace(got) == want {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.wd.t.Fatalf("%s shows %q (last error %v), want %q", css, got, err, want)
}
