package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestInternalURLs: the Flow's own requests (discovery, keys, token,
// UserInfo) go to the internal URLs, here a proxy standing for the
// in-cluster service name, while the issuer is still checked exactly and
// the browser goes to the public authorization endpoint.
func TestInternalURLs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	var idp *oidctest.Provider
	var proxy *httptest.Server
	env := oauthtest.Start(t, oauthtest.Options{Store: oauth.NewMemoryStore(),
		Settings: oidctest.OAuthSettings{AccessTokenTTL: accessTTL},
		Configure: func(c *oauth.Config) {
			target, _ := url.Parse(c.Issuer)
			rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
			rp.Transport = c.HTTPClient.Transport
			proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[r.URL.Path]++
				mu.Unlock()
				rp.ServeHTTP(w, r)
			}))
			t.Cleanup(proxy.Close)
			in := proxy.URL + target.Path
			c.MetadataURL = in + "/.well-known/openid-configuration"
			c.JWKSURL, c.TokenURL, c.UserInfoURL = in+"/jwks", in+"/token", in+"/userinfo"
			c.UserInfo, c.IdleTimeout = true, -1
		}})
	idp = env.IdP
	b := env.NewBrowser(t)
	rs := env.Login(b, "/me")
	if !strings.HasPrefix(rs[1].URL.String(), idp.AuthorizationEndpoint()) {
		t.Errorf("the browser went to %s, not the public authorization endpoint", rs[1].URL)
	}
	env.Clock.Advance(accessTTL)
	if r := env.GetWith(t, env.App.URL+oauthtest.PathMe, env.SessionCookies(b)); r != "200 OK sub:alice" {
		t.Errorf("after a refresh: %s", r)
	}
	p := strings.TrimSuffix(idp.IssuerPath(), "/")
	mu.Lock()
	defer mu.Unlock()
	for _, path := range []string{"/.well-known/openid-configuration", "/jwks", "/token", "/userinfo"} {
		if seen[p+path] == 0 {
			t.Errorf("no request to the internal %s (saw %v)", path, seen)
		}
	}
	if seen[p+"/token"] != 2 { // the code, the refresh
		t.Errorf("%d token requests through the internal URL, want 2", seen[p+"/token"])
	}
	if st := idp.OAuthStats(); st.RefreshGrants != 1 || st.UserInfoRequests != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestInternalURLsChecked(t *testing.T) {
	t.Parallel()
	var cfg oauth.Config
	oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { cfg = *c }})
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change func(c *oauth.Config)
		want   string // in New's error; "" = New succeeds
	}{
		{"http outside loopback", func(c *oauth.Config) { c.TokenURL = "http://keycloak:8080/token" }, "https"},
		{"allowed by InsecureInternalHTTP", func(c *oauth.Config) {
			c.TokenURL, c.InsecureInternalHTTP = "http://keycloak:8080/token", true
		}, ""},
		{"UserInfoURL without UserInfo", func(c *oauth.Config) { c.UserInfoURL = "https://idp.internal/userinfo" }, "Config.UserInfo"},
		// The metadata behind the internal URL names another issuer.
		{"issuer still exact", func(c *oauth.Config) {
			doc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"issuer":"http://keycloak:8080/realms/x"}`))
			}))
			t.Cleanup(doc.Close)
			c.MetadataURL = doc.URL + "/.well-known/openid-configuration"
		}, "issuer mismatch"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.change(&c)
			f, err := oauth.New(ctx, c)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New error %v, want one mentioning %q", err, tt.want)
			}
			if f != nil {
				f.Close()
			}
		})
	}
}
