package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
)

// BenchmarkSession measures Flow.Session, the path of every signed-in
// request: open the cookie (or look the ID up), check it, no write.
func BenchmarkSession(b *testing.B) {
	for _, tt := range []struct {
		name  string
		store oauth.Store
	}{{"cookie store", nil}, {"memory store", oauth.NewMemoryStore()}} {
		b.Run(tt.name, func(b *testing.B) {
			env := oauthtest.Start(b, oauthtest.Options{Store: tt.store})
			br := env.NewBrowser(b)
			env.Login(br, oauthtest.PathMe)
			req := httptest.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathMe, nil)
			req.Header = oauthtest.WithCookies(env.SessionCookies(br))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := env.Flow.Session(httptest.NewRecorder(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
