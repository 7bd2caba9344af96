package oidctest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

func TestUserInfoEndpoint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		settings oidctest.OAuthSettings
		send     func(req *http.Request, at string) // puts the token in the request
		status   int
		want     map[string]any
	}{
		{name: "bearer header", settings: oidctest.OAuthSettings{UserClaims: map[string]any{"email": "a@example.com"}},
			send:   func(r *http.Request, at string) { r.Header.Set("Authorization", "Bearer "+at) },
			status: 200, want: map[string]any{"sub": "alice", "email": "a@example.com"}},
		{name: "own claims and another sub", settings: oidctest.OAuthSettings{UserInfoClaims: map[string]any{"groups": "g"}, UserInfoSub: "mallory"},
			send:   func(r *http.Request, at string) { r.Header.Set("Authorization", "Bearer "+at) },
			status: 200, want: map[string]any{"sub": "mallory", "groups": "g"}},
		{name: "token in the query", send: func(r *http.Request, at string) { r.URL.RawQuery = url.Values{"access_token": {at}}.Encode() },
			status: 400},
		{name: "no token", send: func(*http.Request, string) {}, status: 401},
		{name: "unknown token", send: func(r *http.Request, at string) { r.Header.Set("Authorization", "Bearer x"+at) }, status: 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.settings
			s.AutoLogin = "alice"
			p := oauthProvider(t, s)
			if got := p.DiscoveryDocument()["userinfo_endpoint"]; got != p.UserInfoEndpoint() {
				t.Errorf("userinfo_endpoint %v", got)
			}
			at := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret").body["access_token"].(string)
			req, _ := http.NewRequest(http.MethodGet, p.UserInfoEndpoint(), nil)
			tt.send(req, at)
			resp, err := p.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			st := p.OAuthStats()
			if tt.status != 200 {
				if st.UserInfoRefused != 1 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("refusal: %+v, WWW-Authenticate %q", st, resp.Header.Get("WWW-Authenticate"))
				}
				return
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil || len(got) != len(tt.want) || st.UserInfoRequests != 1 {
				t.Fatalf("answer %s (%v), stats %+v", b, err, st)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}
