package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// BenchmarkBackChannelLogout: one logout request through
// Flow.BackChannelLogoutHandler on a MemoryStore: form parse, header
// check, RS256 signature and claims (go-oidc, keys cached), jti memory,
// RevokeSID. Each iteration posts a distinct token (minted before the
// timer; a token can be used once). The store holds no session of the
// sid, so the figure is the check plus an empty revocation.
func BenchmarkBackChannelLogout(b *testing.B) {
	env := oauthtest.Start(b, oauthtest.Options{Store: oauth.NewMemoryStore()})
	h, err := env.Flow.BackChannelLogoutHandler()
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([]string, b.N)
	for i := range bodies {
		tok, err := env.IdP.MintLogoutToken(oidctest.LogoutToken{Audience: oauthtest.ClientID, SID: "sid-bench"})
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = url.Values{"logout_token": {tok}}.Encode()
	}
	// One request first: the key set is fetched once, outside the timer.
	warm, _ := env.IdP.MintLogoutToken(oidctest.LogoutToken{Audience: oauthtest.ClientID, SID: "sid-bench"})
	post := func(body string) int {
		req := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if code := post(url.Values{"logout_token": {warm}}.Encode()); code != http.StatusOK {
		b.Fatalf("warm-up: %d", code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if code := post(bodies[i]); code != http.StatusOK {
			b.Fatalf("logout %d: %d", i, code)
		}
	}
}
