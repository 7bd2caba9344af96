package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// cookieHeaderLen is the length of the Cookie header the browser sends to
// the application.
func cookieHeaderLen(t *testing.T, env *oauthtest.Env, b *oauthtest.Browser) (n, count int) {
	t.Helper()
	u, _ := url.Parse(env.App.URL)
	var parts []string
	for _, c := range b.Jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return len(strings.Join(parts, "; ")), len(parts)
}

// pad returns a local path of n bytes that the test application serves.
func pad(n int) string {
	p := oauthtest.PathPublic + "?pad="
	return p + strings.Repeat("a", n-len(p))
}

// Review finding 4 (cookie bomb): logins started by cross-site links with
// a long next must not grow the Cookie header past what servers accept
// (nginx: 8 KiB per header line). Five /login?next=<2 KB path> used to
// leave 16.6 KB of transaction cookies.
func TestLoginsInProgressBoundCookieHeader(t *testing.T) {
	t.Parallel()
	const limit = 4500 // about one ordinary cookie
	for _, tt := range []struct {
		name     string
		next     string
		wantNext string // where the login ends
	}{
		{"2 KB next", pad(2048), "/"},
		{"next of MaxNextLen", pad(oauth.DefaultMaxNextLen), pad(oauth.DefaultMaxNextLen)},
		{"next one byte over MaxNextLen", pad(oauth.DefaultMaxNextLen + 1), "/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := oauthtest.Start(t, oauthtest.Options{})
			b := env.NewBrowser(t)
			b.Header.Set("Sec-Fetch-Site", "cross-site")
			for range oauth.DefaultMaxTransactions + 2 {
				if r := b.Get(env.App.URL + "/login?next=" + url.QueryEscape(tt.next)); r.Status != http.StatusFound {
					t.Fatalf("login: %d", r.Status)
				}
			}
			n, count := cookieHeaderLen(t, env, b)
			t.Logf("%d logins in progress, next %d bytes: %d cookies, Cookie header %d bytes", oauth.DefaultMaxTransactions, len(tt.next), count, n)
			if count != oauth.DefaultMaxTransactions || n > limit {
				t.Errorf("%d transaction cookies, Cookie header %d bytes; want %d cookies, at most %d bytes",
					count, n, oauth.DefaultMaxTransactions, limit)
			}
			// The user can still sign in, and lands on next when it was kept.
			b.Header.Del("Sec-Fetch-Site")
			last := oauthtest.Last(b.Walk(env.App.URL + "/login?next=" + url.QueryEscape(tt.next)))
			if got := last.URL.RequestURI(); last.Status != http.StatusOK || got != tt.wantNext {
				t.Errorf("login ended at a %d-byte URI with %d, want the %d-byte %.20s...", len(got), last.Status, len(tt.wantNext), tt.wantNext)
			}
		})
	}
}

// Config.MaxNextLen and MaxTransactions are bounded so that no setting
// brings the cookie bomb back.
func TestTransactionBoundsValidated(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	for _, tt := range []struct {
		name   string
		change func(*oauth.Config)
		ok     bool
	}{
		{"MaxNextLen negative", func(c *oauth.Config) { c.MaxNextLen = -1 }, false},
		{"MaxNextLen 2000", func(c *oauth.Config) { c.MaxNextLen = 2000 }, true},
		{"MaxNextLen 2001", func(c *oauth.Config) { c.MaxNextLen = 2001 }, false},
		{"MaxTransactions 10", func(c *oauth.Config) { c.MaxTransactions = 10 }, true},
		{"MaxTransactions 11", func(c *oauth.Config) { c.MaxTransactions = 11 }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := oauth.Config{
				Issuer: env.IdP.Issuer(), ClientID: oauthtest.ClientID, RedirectURL: env.App.URL + "/callback",
				Keys: env.Keys, HTTPClient: env.IdP.Client(),
			}
			tt.change(&cfg)
			f, err := oauth.New(t.Context(), cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New() error = %v, want ok %v", err, tt.ok)
			}
			if f != nil {
				f.Close()
			}
		})
	}
}
