package oauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// TestTenants: a multi-tenant provider (Entra common/organizations) whose
// metadata names the template "{tenantid}" as issuer and whose ID tokens
// carry the tenant's issuer and tid.
func TestTenants(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		claims func(issuer string) map[string]any // ID token overrides
		accept bool
	}{
		{"allowed tenant", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-a/v2.0", "tid": "tenant-a"} }, true},
		{"allowed tenant, no tid", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-b/v2.0"} }, true},
		{"tenant not allowed", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-x/v2.0", "tid": "tenant-x"} }, false},
		{"tid of another tenant", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-a/v2.0", "tid": "tenant-b"} }, false},
		{"off the template", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-a/v1.0"} }, false},
		{"tenant with a slash", func(is string) map[string]any { return map[string]any{"iss": is + "/tenant-a/x/v2.0"} }, false},
		{"the template itself", func(is string) map[string]any { return map[string]any{"iss": is + "/{tenantid}/v2.0"} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := oauth.NewMemoryStore()
			env := oauthtest.Start(t, oauthtest.Options{Store: store, Configure: func(c *oauth.Config) {
				c.IssuerTemplate = c.Issuer + "/{tenant}/v2.0"
				c.Tenants = []string{"tenant-a", "tenant-b"}
			}})
			s := env.IdP.OAuthSettings()
			s.IDTokenClaims = tt.claims(env.IdP.Issuer())
			env.IdP.SetOAuth(s)
			b := env.NewBrowser(t)
			if !tt.accept {
				wantFailure(t, env, b.Get(begin(t, env, b, "/me")), http.StatusUnauthorized, oauth.ErrInvalidIDToken)
				return
			}
			env.Login(b, "/me")
			sess, err := store.Load(context.Background(), env.SessionCookies(b)[0].Value)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := sess.Claims()
			if want := tt.claims(env.IdP.Issuer())["iss"]; c.Issuer != want {
				t.Errorf("session iss %q, want %q", c.Issuer, want)
			}
		})
	}
}

// TestTenantsMetadata: the metadata may name the template as its issuer
// only with Config.IssuerTemplate; the template needs an allow-list.
func TestTenantsMetadata(t *testing.T) {
	t.Parallel()
	var cfg oauth.Config
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { cfg = *c }})
	env.IdP.SetDiscovery(map[string]any{"issuer": env.IdP.Issuer() + "/{tenantid}/v2.0"})
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		template string
		tenants  []string
		want     string // in New's error; "" = success
	}{
		{"no template", "", nil, "issuer mismatch"},
		{"template", cfg.Issuer + "/{tenant}/v2.0", []string{"t1"}, ""},
		{"template without allow-list", cfg.Issuer + "/{tenant}/v2.0", nil, "Config.Tenants"},
		{"tenants without template", "", []string{"t1"}, "IssuerTemplate"},
		{"template without placeholder", cfg.Issuer + "/v2.0", []string{"t1"}, "{tenant}"},
		{"other template", cfg.Issuer + "/{tenant}/v1.0", []string{"t1"}, "issuer mismatch"},
		{"bad tenant id", cfg.Issuer + "/{tenant}/v2.0", []string{"a/b"}, "tenant id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.IssuerTemplate, c.Tenants = tt.template, tt.tenants
			f, err := oauth.New(ctx, c)
			if f != nil {
				f.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}
