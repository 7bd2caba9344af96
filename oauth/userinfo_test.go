package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestUserInfo plays the UserInfo cases of the relying-party certification
// (rp-userinfo-bearer-header, rp-userinfo-bad-sub-claim) and the bounds of
// the fetch.
func TestUserInfo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		settings oidctest.OAuthSettings
		fault    *oidctest.Fault // of the UserInfo endpoint
		status   int             // 0: the login succeeds
		want     error
	}{
		// The provider takes the token in the Authorization header only.
		{name: "rp-userinfo-bearer-header", settings: oidctest.OAuthSettings{UserInfoClaims: map[string]any{"email": "alice@example.com"}}},
		{name: "rp-userinfo-bad-sub-claim", settings: oidctest.OAuthSettings{UserInfoSub: "mallory"},
			status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo},
		{name: "no sub", status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo,
			fault: &oidctest.Fault{Body: []byte(`{"email":"alice@example.com"}`)}},
		{name: "not an object", status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo,
			fault: &oidctest.Fault{Body: []byte(`["sub","alice"]`)}},
		{name: "signed answer", status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo,
			fault: &oidctest.Fault{ContentType: "application/jwt", Body: []byte(`eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig`)}},
		{name: "too large", status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo,
			fault: &oidctest.Fault{Body: []byte(`{"sub":"alice","pad":"` + strings.Repeat("x", 70<<10) + `"}`)}},
		{name: "token refused", status: http.StatusUnauthorized, want: oauth.ErrInvalidUserInfo,
			fault: &oidctest.Fault{Status: 401}},
		{name: "server error", status: http.StatusServiceUnavailable, want: oauth.ErrProviderUnavailable,
			fault: &oidctest.Fault{Status: 500}},
		{name: "redirect", status: http.StatusServiceUnavailable, want: oauth.ErrProviderUnavailable,
			fault: &oidctest.Fault{Redirect: "/elsewhere"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := oauth.NewMemoryStore()
			env := oauthtest.Start(t, oauthtest.Options{Store: store, Settings: tt.settings,
				Configure: func(c *oauth.Config) { c.UserInfo = true }})
			env.IdP.SetUserInfoFault(tt.fault)
			b := env.NewBrowser(t)
			if tt.status != 0 {
				wantFailure(t, env, b.Get(begin(t, env, b, "/me")), tt.status, tt.want)
				if store.Len() != 0 {
					t.Errorf("%d sessions stored after a failed login", store.Len())
				}
				return
			}
			env.Login(b, "/me")
			if st := env.IdP.OAuthStats(); st.UserInfoRequests != 1 || st.UserInfoRefused != 0 {
				t.Errorf("stats %+v: want one accepted UserInfo request", st)
			}
			s, err := store.Load(context.Background(), env.SessionCookies(b)[0].Value)
			if err != nil {
				t.Fatal(err)
			}
			var ui struct{ Sub, Email string }
			if err := s.DecodeUserInfo(&ui); err != nil || ui.Sub != "alice" || ui.Email != "alice@example.com" {
				t.Errorf("session UserInfo %s: %+v %v", s.UserInfo, ui, err)
			}
		})
	}
}

// TestUserInfoOff: without Config.UserInfo no request is made and the
// session has no UserInfo; with it, the claims survive the cookie store and
// a refresh.
func TestUserInfoOff(t *testing.T) {
	t.Parallel()
	env := oauthtest.Start(t, oauthtest.Options{})
	env.Login(env.NewBrowser(t), "/me")
	if n := env.IdP.OAuthStats().UserInfoRequests + env.IdP.OAuthStats().UserInfoRefused; n != 0 {
		t.Errorf("%d UserInfo requests with Config.UserInfo off", n)
	}
}

func TestUserInfoKeptAcrossRefresh(t *testing.T) {
	t.Parallel()
	stores(t, func(t *testing.T, store oauth.Store) {
		var got []string
		env := oauthtest.Start(t, oauthtest.Options{Store: store,
			Settings: oidctest.OAuthSettings{AccessTokenTTL: accessTTL, UserInfoClaims: map[string]any{"groups": []string{"admins"}}},
			Configure: func(c *oauth.Config) {
				c.UserInfo, c.IdleTimeout = true, -1
			}})
		b := env.NewBrowser(t)
		env.Login(b, "/me")
		env.Clock.Advance(accessTTL)
		// The session as the Flow hands it out, through an API request.
		req, _ := http.NewRequest(http.MethodGet, env.App.URL+oauthtest.PathMe, nil)
		for _, c := range env.SessionCookies(b) {
			req.AddCookie(c)
		}
		w := &recorder{header: http.Header{}}
		env.Flow.RequireLogin(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			s, _ := oauth.SessionFromContext(r.Context())
			var ui struct{ Groups []string }
			if err := s.DecodeUserInfo(&ui); err != nil {
				t.Error(err)
			}
			got = ui.Groups
		})).ServeHTTP(w, req)
		if len(got) != 1 || got[0] != "admins" {
			t.Errorf("UserInfo after a refresh: %v (status %d)", got, w.status)
		}
		if st := env.IdP.OAuthStats(); st.RefreshGrants != 1 || st.UserInfoRequests != 1 {
			t.Errorf("stats %+v: want one refresh, one UserInfo request", st)
		}
	})
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func TestUserInfoNoEndpoint(t *testing.T) {
	t.Parallel()
	idp := oidctest.New(t, oidctest.Options{TLS: true, Algorithm: "ES256"})
	idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"https://app.example/callback"}})
	idp.SetDiscovery(map[string]any{"userinfo_endpoint": nil}) // removed
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := oauth.New(ctx, oauth.Config{Issuer: idp.Issuer(), ClientID: "app", RedirectURL: "https://app.example/callback",
		Keys: [][]byte{oauth.GenerateKey()}, HTTPClient: idp.Client(), UserInfo: true})
	if err == nil || !strings.Contains(err.Error(), "userinfo_endpoint") {
		t.Errorf("New without a userinfo_endpoint: %v", err)
	}
	if errors.Is(err, oauth.ErrInvalidUserInfo) {
		t.Error("a configuration error wraps ErrInvalidUserInfo")
	}
}
