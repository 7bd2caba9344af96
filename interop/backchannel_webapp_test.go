package interop

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	_ "github.com/lib/pq" // the test's own look at the database

	"github.com/oidcauth/oidcauth/oauth"
)

// interopPostgres returns the URL of a new, empty database on the server
// of OIDCAUTH_POSTGRES_DSN (oauth/sqlstore/ci.sh, which .ci/run sources
// before interop/ci.sh), dropped when the test ends.
func interopPostgres(t *testing.T) string { return testenv.FreshPostgresDB(t, "oidcauth_interop_") }

// startWebapp starts the examples/webapp binary bin with args on a free
// loopback port and returns its base URL; it is stopped when the test ends.
func startWebapp(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // it may have exited already
		cmd.Wait()         //nolint:errcheck // killed
		if t.Failed() {
			t.Logf("examples/webapp output:\n%s", logs.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "listening on "); ok {
				line <- rest
			}
		}
		io.Copy(io.Discard, stdout) //nolint:errcheck // drain
	}()
	select {
	case base := <-line:
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("examples/webapp did not listen within 30s:\n%s", logs.String())
	}
	return ""
}

// TestBackChannelLogoutWebapp: two examples/webapp processes on different
// --addr with one --session-key and one --session-store postgres://…;
// oidc-provider's backchannel_logout_uri is a recording proxy in front of
// replica B's POST /backchannel-logout. Two browsers sign in through A
// (two provider sessions, two sids) and are served by both. Browser 1 signs
// out at the provider: one real logout token reaches B (200), browser 1's
// session is ended on A and B, browser 2's kept. Forged logout tokens for
// browser 2 (another key; the provider's key with a nonce, without events,
// for another audience, with the used jti; the captured token replayed)
// answer 400 and keep it on both; a control token made the same way ends
// it on both.
func TestBackChannelLogoutWebapp(t *testing.T) {
	t.Parallel()
	requireInterop(t)
	store := interopPostgres(t)
	bin := filepath.Join(t.TempDir(), "webapp")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/webapp").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/webapp: %v\n%s", err, out)
	}
	rec := &logoutRecorder{}
	lb := httptest.NewServer(rec)
	t.Cleanup(lb.Close)
	p := startProvider(t, providerOptions{args: []string{"--backchannel-logout-uri", lb.URL + "/backchannel-logout"}})

	key := base64.RawURLEncoding.EncodeToString(oauth.GenerateKey())
	args := []string{"--issuer", p.Issuer, "--client-id", bcClient, "--client-secret", bcSecret,
		"--session-store", store, "--session-key", key}
	a := startWebapp(t, bin, args...)
	b := startWebapp(t, bin, append(args, "--redirect-url", a+"/callback")...)
	bu, _ := url.Parse(b)
	var toB http.Handler = httputil.NewSingleHostReverseProxy(bu)
	rec.next.Store(&toB)

	type browser struct{ follow, page *http.Client }
	newBrowser := func() browser {
		jar, _ := cookiejar.New(nil) // cookies ignore ports: the session goes to both replicas
		return browser{&http.Client{Jar: jar, Timeout: 20 * time.Second},
			&http.Client{Jar: jar, Timeout: 20 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
	// me is b's session at replica u: its sid, or "" when /me redirects
	// to the login.
	me := func(br browser, u string) string {
		t.Helper()
		resp, err := br.page.Get(u + "/me")
		if err != nil {
			t.Fatalf("GET %s/me: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 200:
			var c struct{ Sub, Sid string }
			if err := json.Unmarshal(body, &c); err != nil || c.Sub != "alice" || c.Sid == "" {
				t.Fatalf("%s/me: %s (%v); want alice's claims with a sid", u, body, err)
			}
			return c.Sid
		case resp.StatusCode == http.StatusFound && strings.Contains(resp.Header.Get("Location"), "/login"):
			return ""
		}
		t.Fatalf("%s/me: %d %q, want 200 or a redirect to the login", u, resp.StatusCode, body)
		return ""
	}
	// on reports whether br's session is served by A and by B.
	on := func(br browser) [2]bool { return [2]bool{me(br, a) != "", me(br, b) != ""} }

	b1, b2 := newBrowser(), newBrowser()
	for i, br := range []browser{b1, b2} {
		resp, err := br.follow.Get(a + "/me")
		if err != nil {
			t.Fatalf("login of browser %d: %v", i+1, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || on(br) != [2]bool{true, true} {
			t.Fatalf("login of browser %d: %d, served by A, B = %v", i+1, resp.StatusCode, on(br))
		}
	}
	sid2 := me(b2, b)
	if me(b1, a) == sid2 {
		t.Fatal("both browsers have one sid; want two provider sessions")
	}

	_, page := httpGet(t, b1.follow, p.Issuer+"/session/end?client_id="+bcClient)
	m := regexp.MustCompile(`name="xsrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no xsrf in the provider's logout page:\n%s", page)
	}
	resp, err := b1.follow.PostForm(p.Issuer+"/session/end/confirm", url.Values{"xsrf": {m[1]}, "logout": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tokens, statuses := rec.delivered()
	if len(tokens) != 1 || statuses[0] != http.StatusOK {
		t.Fatalf("logout tokens delivered to B: %d, answers %v; want 1, [200]", len(tokens), statuses)
	}
	if got := on(b1); got != [2]bool{false, false} {
		t.Errorf("browser 1 after the provider's logout: served by A, B = %v, want neither", got)
	}
	if got := on(b2); got != [2]bool{true, true} {
		t.Fatalf("browser 2 after browser 1's logout: served by A, B = %v, want both", got)
	}

	provided := tokens[0]
	forged, control := logoutForgeries(t, p, provided, sid2)
	post := func(tok string) int {
		t.Helper()
		resp, err := http.PostForm(b+"/backchannel-logout", url.Values{"logout_token": {tok}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, c := range forged {
		if status := post(c.token); status != http.StatusBadRequest {
			t.Errorf("forged logout token %s: %d, want 400", c.name, status)
		}
		if got := on(b2); got != [2]bool{true, true} {
			t.Fatalf("after the forged logout token %s: browser 2 served by A, B = %v, want both", c.name, got)
		}
	}
	if status := post(control); status != http.StatusOK {
		t.Fatalf("a well-formed logout token signed with the provider's key: %d, want 200", status)
	}
	if got := on(b2); got != [2]bool{false, false} {
		t.Errorf("browser 2 after a valid logout token: served by A, B = %v, want neither", got)
	}
	t.Logf("webapp replicas on Postgres: 1 logout token from the provider (200; browser 1 ended on A and B, browser 2 kept); 6 forged tokens refused with 400, browser 2 kept on A and B; the control ended browser 2 on A and B")
}

func httpGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}
