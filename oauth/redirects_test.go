package oauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// elsewhere is another loopback TLS server (same test certificate as the
// provider, so a client that followed a redirect would reach it); it
// counts the requests it receives.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"x","token_type":"Bearer","keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A token endpoint answering 307 would have the client re-POST the code,
// the PKCE verifier and the client secret to another server. The token
// request follows no redirect (RFC 6749 §2.3.1, §3.2): the other server
// receives nothing and the login fails with ErrRedirectRefused.
func TestTokenRequestFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			env := oauthtest.Start(t, oauthtest.Options{})
			other, hits := elsewhere(t)
			env.IdP.SetTokenFault(&oidctest.Fault{Status: status, Redirect: other.URL + "/token"})
			b := env.NewBrowser(t)
			last := oauthtest.Last(b.Walk(env.App.URL + env.Flow.LoginURL("/me")))
			if n := hits.Load(); n != 0 {
				t.Fatalf("the other server received %d requests", n)
			}
			if last.Status != http.StatusServiceUnavailable {
				t.Errorf("callback status = %d, want 503", last.Status)
			}
			errs := env.Errors()
			if len(errs) != 1 || !errors.Is(errs[0], oidcauth.ErrRedirectRefused) || !errors.Is(errs[0], oauth.ErrProviderUnavailable) {
				t.Fatalf("errors = %v, want one wrapping ErrRedirectRefused and ErrProviderUnavailable", errs)
			}
			if !strings.Contains(errs[0].Error(), "token endpoint answered with a redirect") {
				t.Errorf("error %q does not say what happened", errs[0])
			}
		})
	}
}

// The refresh is a token request too: it follows no redirect either.
func TestRefreshFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	// No idle timeout: the session must still be alive when its access
	// token is due.
	env := oauthtest.Start(t, oauthtest.Options{Configure: func(c *oauth.Config) { c.IdleTimeout = -1 }})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	other, hits := elsewhere(t)
	env.IdP.SetTokenFault(&oidctest.Fault{Status: http.StatusTemporaryRedirect, Redirect: other.URL + "/token"})
	env.Clock.Advance(2 * time.Hour) // the access token (1 h) is due
	if r := b.Get(env.App.URL + "/me"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /me during a redirecting refresh: %d, want 503", r.Status)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the other server received %d requests", n)
	}
}

// Discovery and the key set follow redirects on the same host only
// (oidcauth.RestrictRedirects): a redirect to another host is refused
// before anything is sent there.
func TestProviderFetchesRefuseRedirectsToOtherHosts(t *testing.T) {
	t.Parallel()
	t.Run("discovery", func(t *testing.T) {
		t.Parallel()
		idp := oidctest.New(t, oidctest.Options{TLS: true, Algorithm: "ES256"})
		idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"https://app.example/callback"}})
		other, hits := elsewhere(t)
		idp.SetDiscoveryFault(&oidctest.Fault{Redirect: other.URL + "/.well-known/openid-configuration"})
		_, err := oauth.New(t.Context(), oauth.Config{
			Issuer: idp.Issuer(), ClientID: "app", RedirectURL: "https://app.example/callback",
			Keys: [][]byte{oauth.GenerateKey()}, HTTPClient: idp.Client(),
		})
		if err == nil || !strings.Contains(err.Error(), "redirect to another host") {
			t.Fatalf("New error = %v, want a refused redirect", err)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the other server received %d requests", n)
		}
	})
	t.Run("keys", func(t *testing.T) {
		t.Parallel()
		env := oauthtest.Start(t, oauthtest.Options{})
		other, hits := elsewhere(t)
		env.IdP.SetJWKSFault(&oidctest.Fault{Redirect: other.URL + "/jwks"})
		b := env.NewBrowser(t)
		last := oauthtest.Last(b.Walk(env.App.URL + env.Flow.LoginURL("/me")))
		if last.Status == http.StatusOK {
			t.Fatalf("login succeeded with the keys redirected elsewhere")
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("the other server received %d requests", n)
		}
	})
}

// When the provider's metadata names another issuer, New's error leads
// with the mismatch and names both values.
func TestNewIssuerMismatchLeadsTheError(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"https://app.example/callback"}})
	doc := idp.DiscoveryDocument()
	doc["issuer"] = "https://other.example/"
	idp.SetDiscovery(doc)
	_, err := oauth.New(t.Context(), oauth.Config{
		Issuer: idp.Issuer(), ClientID: "app", RedirectURL: "https://app.example/callback", Keys: [][]byte{oauth.GenerateKey()},
	})
	if err == nil {
		t.Fatal("New succeeded with an issuer mismatch")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "oauth: issuer mismatch: ") {
		t.Errorf("New error = %q, want it to start with the mismatch", msg)
	}
	if !strings.Contains(msg, `"https://other.example/"`) || !strings.Contains(msg, `"`+idp.Issuer()+`"`) {
		t.Errorf("New error = %q, want both issuers", msg)
	}
	if strings.Contains(strings.ReplaceAll(msg, idp.Issuer(), ""), "404") { // the port may hold "404"
		t.Errorf("New error = %q mentions a 404", msg)
	}
}
