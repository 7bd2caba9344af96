package oidctest_test

import (
	"net/url"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

func TestOAuthRefreshReuse(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		revoke     bool
		liveWorks  bool // the live token still works after the reuse
		wantReuses int64
	}{
		{"detection off", false, true, 1},
		{"revoke grant on reuse", true, false, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice", RevokeGrantOnRefreshReuse: tt.revoke})
			refresh := func(rt string) tokenResponse {
				return token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "app", "s3cret")
			}
			// Another grant of the same client, untouched by the reuse.
			other := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret").body["refresh_token"].(string)
			rt0 := token(t, p, codeForm(authorize(t, p, authParams("app")).Get("code")), "app", "s3cret").body["refresh_token"].(string)
			r := refresh(rt0)
			if r.status != 200 {
				t.Fatalf("refresh: %d %v", r.status, r.body)
			}
			live := r.body["refresh_token"].(string)
			if r := refresh("never-issued"); r.status != 400 {
				t.Errorf("unknown token: %d", r.status)
			}
			if st := p.OAuthStats(); st.RefreshReuses != 0 {
				t.Errorf("an unknown token counted as a reuse: %+v", st)
			}
			if r := refresh(rt0); r.status != 400 || r.body["error"] != "invalid_grant" {
				t.Errorf("reuse: %d %v", r.status, r.body)
			}
			if st := p.OAuthStats(); st.RefreshReuses != tt.wantReuses {
				t.Errorf("RefreshReuses = %d, want %d", st.RefreshReuses, tt.wantReuses)
			}
			if r := refresh(live); (r.status == 200) != tt.liveWorks {
				t.Errorf("live token after the reuse: %d %v, want working=%v", r.status, r.body, tt.liveWorks)
			}
			if r := refresh(other); r.status != 200 {
				t.Errorf("another grant was revoked too: %d %v", r.status, r.body)
			}
		})
	}
}
