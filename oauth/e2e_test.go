package oauth_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

func TestLoginWalk(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opts oauthtest.Options
	}{
		{name: "cookie store", opts: oauthtest.Options{}},
		{name: "memory store", opts: oauthtest.Options{Store: oauth.NewMemoryStore()}},
		{name: "public client", opts: oauthtest.Options{Public: true}},
		{name: "RS256", opts: oauthtest.Options{Algorithm: "RS256"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := oauthtest.Start(t, tt.opts)
			b := env.NewBrowser(t)

			rs := b.Walk(env.App.URL + "/me?tab=2")
			if len(rs) != 5 {
				for _, r := range rs {
					t.Logf("%d %s -> %s", r.Status, r.URL, r.Location)
				}
				t.Fatalf("walk has %d responses, want 5 (page, login, authorize, callback, page)", len(rs))
			}
			page, login, authorize, callback, back := rs[0], rs[1], rs[2], rs[3], rs[4]

			// 1. The protected page sends the visitor to the login handler with next.
			if page.Status != http.StatusFound || page.Location != env.App.URL+"/login?next=%2Fme%3Ftab%3D2" {
				t.Errorf("page: %d Location %q", page.Status, page.Location)
			}
			// 2. The login handler sets a transaction cookie and redirects to the provider.
			if login.Status != http.StatusFound || !strings.HasPrefix(login.Location, env.IdP.AuthorizationEndpoint()+"?") {
				t.Errorf("login: %d Location %q", login.Status, login.Location)
			}
			au, _ := url.Parse(login.Location)
			q := au.Query()
			for _, k := range []string{"state", "nonce", "code_challenge"} {
				if len(q.Get(k)) != 43 {
					t.Errorf("authorization request %s = %q", k, q.Get(k))
				}
			}
			if q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" || q.Get("client_id") != oauthtest.ClientID ||
				q.Get("redirect_uri") != env.App.URL+"/callback" || q.Get("scope") != "openid offline_access" {
				t.Errorf("authorization request: %v", q)
			}
			var tx *http.Cookie
			for _, c := range login.Cookies {
				if strings.HasPrefix(c.Name, "__Host-oidcauth-tx-") {
					tx = c
				}
			}
			if tx == nil || !tx.Secure || !tx.HttpOnly || tx.SameSite != http.SameSiteLaxMode || tx.Path != "/" || tx.MaxAge != 600 {
				t.Fatalf("transaction cookie: %+v", tx)
			}
			if strings.Contains(tx.Value, q.Get("state")) || strings.Contains(tx.Value, q.Get("nonce")) {
				t.Error("transaction cookie shows the state or nonce in the clear")
			}
			// 3. The provider (auto-login) redirects back with code, state and iss.
			cb, _ := url.Parse(authorize.Location)
			if cb.Query().Get("state") != q.Get("state") || cb.Query().Get("iss") != env.IdP.Issuer() || cb.Query().Get("code") == "" {
				t.Errorf("authorization response: %s", authorize.Location)
			}
			// 4. The callback sets the session cookie on the redirect itself,
			// deletes the transaction cookie and sends the user to next.
			if callback.Status != http.StatusSeeOther || callback.Header.Get("Location") != "/me?tab=2" {
				t.Errorf("callback: %d Location %q body %q", callback.Status, callback.Location, callback.Body)
			}
			sc := callback.Cookie(oauthtest.SessionCookieName)
			if sc == nil || sc.Value == "" || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Domain != "" {
				t.Fatalf("session cookie on the callback: %+v", sc)
			}
			if sc.MaxAge < int(oauth.DefaultSessionLifetime.Seconds())-5 || sc.MaxAge > int(oauth.DefaultSessionLifetime.Seconds()) {
				t.Errorf("session cookie Max-Age %d", sc.MaxAge)
			}
			if c := callback.Cookie(tx.Name); c == nil || c.MaxAge >= 0 {
				t.Errorf("transaction cookie not deleted by the callback: %+v", c)
			}
			if got := callback.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("callback Cache-Control %q", got)
			}
			if got := callback.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("callback Referrer-Policy %q", got)
			}
			// 5. The original page, signed in.
			if back.Status != http.StatusOK || back.Body != "sub:alice" {
				t.Errorf("back on the page: %d %q", back.Status, back.Body)
			}
			if r := b.Get(env.App.URL + oauthtest.PathPublic); r.Body != "sub:alice" {
				t.Errorf("MaybeLogin with session: %q", r.Body)
			}
			if r := b.Get(env.App.URL + oauthtest.PathAPI); r.Body != "sub:alice session:true" {
				t.Errorf("Required with session: %d %q", r.Status, r.Body)
			}
			st := env.IdP.OAuthStats()
			if st.Authorizations != 1 || st.CodeGrants != 1 || st.TokenErrors != 0 {
				t.Errorf("provider stats %+v", st)
			}
		})
	}
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
