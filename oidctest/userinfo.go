package oidctest

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"time"
)

// UserInfo endpoint (OpenID Connect Core 1.0 §5.3): GET or POST with the
// access token in the Authorization header (RFC 6750 §2.1) only, so that
// a client sending it in the query or the body fails (certification test
// rp-userinfo-bearer-header). It answers the token's sub and
// OAuthSettings.UserInfoClaims (default UserClaims) as JSON; an unknown,
// expired or revoked token gets 401 with a Bearer challenge (§5.3.3).

// UserInfoEndpoint returns {issuer}/userinfo, the discovery document's
// userinfo_endpoint once a client is registered.
func (p *Provider) UserInfoEndpoint() string { return p.issuer + "/userinfo" }

// maxUserInfoGrants bounds the access tokens remembered for UserInfo; past
// it they are forgotten wholesale (a test provider).
const maxUserInfoGrants = 100000

type userinfoGrant struct {
	subject string
	expires time.Time
}

// rememberUserInfo records what the UserInfo endpoint answers for an
// access token issued by the token endpoint.
func (o *oauthServer) rememberUserInfo(access, subject string, expires time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.userinfo == nil || len(o.userinfo) >= maxUserInfoGrants {
		o.userinfo = make(map[string]userinfoGrant)
	}
	o.userinfo[access] = userinfoGrant{subject, expires}
}

func (p *Provider) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	o := &p.oauth
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	refuse := func(status int, code string) {
		o.userinfoRefused.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
		w.WriteHeader(status)
	}
	if r.URL.Query().Has("access_token") {
		refuse(http.StatusBadRequest, "invalid_request") // only the header is accepted
		return
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		o.userinfoRefused.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	o.mu.Lock()
	g, known := o.userinfo[token]
	settings := o.settings
	o.mu.Unlock()
	if !known || !p.now().Before(g.expires) {
		refuse(http.StatusUnauthorized, "invalid_token")
		return
	}
	claims := map[string]any{}
	src := settings.UserInfoClaims
	if src == nil {
		src = settings.UserClaims
	}
	maps.Copy(claims, src)
	claims["sub"] = g.subject
	if settings.UserInfoSub != "" {
		claims["sub"] = settings.UserInfoSub
	}
	b, err := json.Marshal(claims)
	if err != nil {
		http.Error(w, "claims do not marshal", http.StatusInternalServerError)
		return
	}
	o.userinfoRequests.Add(1)
	o.mu.Lock()
	f := o.userinfoFault.clone()
	o.mu.Unlock()
	p.serve(w, r, f, answer{contentType: "application/json", header: http.Header{"Cache-Control": {"no-store"}},
		body: func() []byte { return b }})
}

// SetUserInfoFault makes the UserInfo endpoint misbehave (see [Fault]) in
// its answers to valid requests (a refused token is still refused); nil
// restores it. The request is counted in OAuthStats.UserInfoRequests
// first.
func (p *Provider) SetUserInfoFault(f *Fault) {
	f = f.clone()
	p.oauth.mu.Lock()
	p.oauth.userinfoFault = f
	p.oauth.mu.Unlock()
}
