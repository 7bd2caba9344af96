package oauth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestNewValidation(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"http://127.0.0.1/cb"}})
	good := func() oauth.Config {
		return oauth.Config{Issuer: idp.Issuer(), ClientID: "app", RedirectURL: "https://app.example/callback", Keys: [][]byte{oauth.GenerateKey()}}
	}
	if f, err := oauth.New(t.Context(), good()); err != nil {
		t.Fatalf("good config: %v", err)
	} else {
		f.Close()
	}
	for _, tt := range []struct {
		name   string
		change func(*oauth.Config)
		want   string
	}{
		{"no issuer", func(c *oauth.Config) { c.Issuer = "" }, "Issuer is required"},
		{"http issuer", func(c *oauth.Config) { c.Issuer = "http://idp.example" }, "must use https"},
		{"issuer mismatch", func(c *oauth.Config) { c.Issuer = idp.Issuer() + "/" }, "issuer mismatch"},
		{"no client ID", func(c *oauth.Config) { c.ClientID = "" }, "ClientID is required"},
		{"no redirect URL", func(c *oauth.Config) { c.RedirectURL = "" }, "RedirectURL is required"},
		{"relative redirect URL", func(c *oauth.Config) { c.RedirectURL = "/callback" }, "not an absolute URL"},
		{"http redirect URL", func(c *oauth.Config) { c.RedirectURL = "http://app.example/callback" }, "must use https"},
		{"redirect URL with query", func(c *oauth.Config) { c.RedirectURL = "https://app.example/cb?x=1" }, "query"},
		{"redirect URL with fragment", func(c *oauth.Config) { c.RedirectURL = "https://app.example/cb#x" }, "fragment"},
		{"no keys", func(c *oauth.Config) { c.Keys = nil }, "Keys is required"},
		{"short key", func(c *oauth.Config) { c.Keys = [][]byte{make([]byte, 16)} }, "has 16 bytes"},
		{"too many keys", func(c *oauth.Config) {
			for range 9 {
				c.Keys = append(c.Keys, oauth.GenerateKey())
			}
		}, "at most 8"},
		{"bad cookie name", func(c *oauth.Config) { c.CookieName = "a b" }, "CookieName"},
		{"prefixed cookie name", func(c *oauth.Config) { c.CookieName = "__Host-x" }, "CookieName"},
		{"absolute login path", func(c *oauth.Config) { c.LoginPath = "https://evil.example/login" }, "LoginPath"},
		{"open post-login path", func(c *oauth.Config) { c.PostLoginPath = "//evil.example" }, "PostLoginPath"},
		{"bad post-logout URL", func(c *oauth.Config) { c.PostLogoutRedirectURL = "javascript:x" }, "PostLogoutRedirectURL"},
		{"reserved auth param", func(c *oauth.Config) { c.AuthParams = map[string]string{"redirect_uri": "x"} }, "redirect_uri"},
		{"negative lifetime", func(c *oauth.Config) { c.SessionLifetime = -1 }, "SessionLifetime"},
		{"negative chunks", func(c *oauth.Config) { c.MaxCookieChunks = -1 }, "MaxCookieChunks"},
		{"too many chunks", func(c *oauth.Config) { c.MaxCookieChunks = 11 }, "MaxCookieChunks"},
		{"bad trusted origin", func(c *oauth.Config) { c.TrustedOrigins = []string{"not an origin"} }, "TrustedOrigins"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.change(&cfg)
			f, err := oauth.New(t.Context(), cfg)
			if err == nil {
				f.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "oauth: ") {
				t.Errorf("New error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestNewProviderRequirements(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		doc  map[string]any
		want string
	}{
		{"no PKCE S256", map[string]any{"code_challenge_methods_supported": []string{"plain"}}, "PKCE"},
		{"no token endpoint", map[string]any{"token_endpoint": nil}, "token_endpoint"},
		{"http token endpoint", map[string]any{"token_endpoint": "http://idp.example/token"}, "must use https"},
		{"no client secret method", map[string]any{"token_endpoint_auth_methods_supported": []string{"private_key_jwt"}}, "client_secret_basic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
			idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"https://app.example/cb"}})
			idp.SetDiscovery(tt.doc)
			_, err := oauth.New(context.Background(), oauth.Config{Issuer: idp.Issuer(), ClientID: "app", ClientSecret: "s",
				RedirectURL: "https://app.example/cb", Keys: [][]byte{oauth.GenerateKey()}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %v, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("provider down", func(t *testing.T) {
		t.Parallel()
		idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
		idp.SetDiscoveryFault(&oidctest.Fault{Status: 503})
		_, err := oauth.New(context.Background(), oauth.Config{Issuer: idp.Issuer(), ClientID: "app",
			RedirectURL: "https://app.example/cb", Keys: [][]byte{oauth.GenerateKey()}})
		if err == nil {
			t.Error("New succeeded with the provider down")
		}
	})
}

func TestLoginURL(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	f, err := oauth.New(t.Context(), oauth.Config{Issuer: idp.Issuer(), ClientID: "app",
		RedirectURL: "https://app.example/cb", Keys: [][]byte{oauth.GenerateKey()}, LoginPath: "/auth/login"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for next, want := range map[string]string{
		"":            "/auth/login",
		"/a?b=c":      "/auth/login?next=%2Fa%3Fb%3Dc",
		"//evil.com":  "/auth/login",
		"https://x.y": "/auth/login",
	} {
		if got := f.LoginURL(next); got != want {
			t.Errorf("LoginURL(%q) = %q, want %q", next, got, want)
		}
	}
}
