package oauth_test

import (
	"bufio"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// payloads reads testdata/open-redirect-payloads.txt with EVIL and TRUSTED
// replaced.
func payloads(t *testing.T, evil string) []string {
	t.Helper()
	f, err := os.Open("testdata/open-redirect-payloads.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#!") {
			continue
		}
		line = strings.ReplaceAll(line, "EVIL", evil)
		line = strings.ReplaceAll(line, "TRUSTED", "app.example")
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 250 {
		t.Fatalf("only %d payloads", len(out))
	}
	return out
}

// variants returns encoded and disguised forms of p. Encodings apply to the
// path; a query is kept as it is.
func variants(p string) []string {
	out := []string{p, strings.ToUpper(p), strings.ReplaceAll(p, "/", `\`)}
	if rest, ok := strings.CutPrefix(p, "/"); ok {
		query := ""
		if i := strings.IndexAny(rest, "?#"); i >= 0 {
			rest, query = rest[:i], rest[i:]
		}
		enc := func(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
		slash := enc(rest, "/", "%2F")
		back := enc(rest, `\`, "%5C")
		for _, v := range []string{
			slash,
			enc(rest, "/", "%2f"),
			back,
			enc(rest, `\`, "%5c"),
			enc(slash, "%", "%25"),   // double encoding
			enc(slash, "%", "%2525"), // triple
			enc(back, "%", "%25"),
			enc(rest, ".", "%2E"),
			"%09" + rest, "%0A" + rest, "%0D%0A" + rest, "%00" + rest, "%20" + rest,
		} {
			out = append(out, "/"+v+query)
		}
	}
	for _, pre := range []string{" ", "\t", "\r\n", "\x00", "%20", "%09"} {
		out = append(out, pre+p)
	}
	return out
}

func TestOpenRedirectCorpus(t *testing.T) {
	t.Parallel()
	n := 0
	for _, evil := range []string{"evil.com", "evil.com:443", "127.0.0.1", "[::1]", "xn--80ak6aa92e.com", "evil.com."} {
		for _, p := range payloads(t, evil) {
			for _, v := range variants(p) {
				n++
				if oauth.IsLocalRedirect(v) {
					t.Errorf("IsLocalRedirect(%q) = true (variant of %q)", v, p)
				}
			}
		}
	}
	t.Logf("%d payloads refused", n)
}

func TestLocalRedirectsAccepted(t *testing.T) {
	t.Parallel()
	for _, next := range []string{
		"/", "/me", "/me?tab=2", "/a/b/c", "/a/b/", "/search?q=a%20b", "/search?q=https%3A%2F%2Fexample.com",
		"/p?u=https://x.example/y", "/p?u=//x", "/a#frag", "/a#/b", "/caf%C3%A9", "/a/./b", "/a/../b",
		"/~user", "/a;b=c", "/a:b", "/@alice", "/evil.com", "/100%25", "/a%2Fb", "/.well-known/x",
		"/a%20b", "/a(b)", "/a'b", "/a*b", "/a!b", "/a$b", "/a,b", "/a=b", "/a+b", "/a[1]",
		"/" + strings.Repeat("a", oauth.MaxRedirectLen-1),
	} {
		if !oauth.IsLocalRedirect(next) {
			t.Errorf("IsLocalRedirect(%q) = false", next)
		}
	}
	if oauth.IsLocalRedirect("/" + strings.Repeat("a", oauth.MaxRedirectLen)) {
		t.Error("IsLocalRedirect accepted a target longer than MaxRedirectLen")
	}
}

// TestLocalRedirectFuzz throws random strings made of the characters that
// matter at IsLocalRedirect and checks that whatever it accepts stays on
// the origin however it is read: by Go's resolver, by a browser (which
// treats "\" as "/" and drops tabs and newlines), and after lenient
// decoding and dot-segment removal.
func TestLocalRedirectFuzz(t *testing.T) {
	t.Parallel()
	atoms := []string{"/", "/", "\\", ".", "..", "%2F", "%2f", "%5C", "%25", "%2E", "%09", "%0A", "%20", "%00",
		"@", ":", "?", "#", "evil.com", "a", "http:", "javascript:", "%E3%80%82", "%EF%BC%8F", "\t", " ", ";", "&"}
	base, _ := url.Parse("https://app.example/dir/page")
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 200000 {
		var b strings.Builder
		for range 1 + r.IntN(8) {
			b.WriteString(atoms[r.IntN(len(atoms))])
		}
		s := b.String()
		if !oauth.IsLocalRedirect(s) {
			continue
		}
		accepted++
		readings := []string{s, strings.NewReplacer("\\", "/", "\t", "", "\n", "", "\r", "").Replace(s)}
		d := s
		for range 4 {
			if u, err := url.PathUnescape(d); err == nil {
				d = u
				readings = append(readings, d)
			}
		}
		for _, x := range readings {
			u, err := base.Parse(x)
			if err != nil {
				continue
			}
			if u.Host != "app.example" || u.Scheme != "https" {
				t.Errorf("IsLocalRedirect(%q) = true, but %q resolves to %s", s, x, u)
			}
			if p := u.Path; strings.HasPrefix(p, "//") {
				t.Errorf("IsLocalRedirect(%q) = true, but %q resolves to path %q", s, x, p)
			}
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d random targets accepted: the fuzz does not reach the interesting cases", accepted)
	}
}

// TestOpenRedirectEndToEnd logs in with every payload as next and checks
// that the callback sends the user to PostLoginPath.
func TestOpenRedirectEndToEnd(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{Store: oauth.NewMemoryStore()})
	b := env.NewBrowser(t)
	ps := payloads(t, "evil.com")
	for _, p := range ps {
		login := b.Get(env.App.URL + "/login?next=" + url.QueryEscape(p))
		authz := b.Get(login.Location)
		cb := b.Get(authz.Location)
		if cb.Status != http.StatusSeeOther || cb.Header.Get("Location") != "/" {
			t.Errorf("next=%q: callback %d Location %q", p, cb.Status, cb.Header.Get("Location"))
		}
	}
	// And a next given twice is not taken either.
	login := b.Get(env.App.URL + "/login?next=/a&next=/b")
	cb := b.Get(b.Get(login.Location).Location)
	if cb.Header.Get("Location") != "/" {
		t.Errorf("next given twice: Location %q", cb.Header.Get("Location"))
	}
	if st := env.IdP.OAuthStats(); st.CodeGrants != int64(len(ps)+1) {
		t.Errorf("%d logins for %d payloads", st.CodeGrants, len(ps))
	}
}
