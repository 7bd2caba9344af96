package oidctest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Introspection and revocation (RFC 7662, RFC 7009).
//
// [Provider.EnableIntrospection] registers the credentials of a resource
// server and turns on two endpoints, advertised in the discovery document
// as introspection_endpoint and revocation_endpoint:
//
//	{P}/introspect   RFC 7662 §2: POST token (and token_type_hint), client
//	                 authentication client_secret_basic (form-urlencoded id
//	                 and secret, RFC 6749 §2.3.1) or client_secret_post;
//	                 answers {"active":true, claims...} or {"active":false}
//	{P}/revoke       RFC 7009 §2: POST token, same client authentication;
//	                 answers 200 whether or not the token was known
//
// Wrong or missing client credentials get 401 invalid_client, a request
// without token 400 invalid_request, any method but POST 405.
//
// Opaque tokens come from [Provider.MintOpaque]. JWTs minted with
// [Provider.MintToken] after EnableIntrospection can be introspected too
// (active while their exp is in the future and they are not revoked), for
// APIs that introspect every token.

// introspection is the introspection side of a Provider.
type introspection struct {
	mu      sync.Mutex
	clients map[string]string           // resource server id → secret
	tokens  map[[32]byte]map[string]any // opaque tokens and JWTs minted since enabling
	revoked map[[32]byte]bool           // revoked tokens
	fault   *Fault

	calls, revocations atomic.Int64
}

// IntrospectionEndpoint returns {issuer}/introspect.
func (p *Provider) IntrospectionEndpoint() string { return p.issuer + "/introspect" }

// RevocationEndpoint returns {issuer}/revoke.
func (p *Provider) RevocationEndpoint() string { return p.issuer + "/revoke" }

// EnableIntrospection turns on the introspection and revocation endpoints
// and lets clientID with secret call them. It may be called again to add
// other resource servers.
func (p *Provider) EnableIntrospection(clientID, secret string) {
	in := &p.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.clients == nil {
		in.clients = map[string]string{}
		in.tokens = map[[32]byte]map[string]any{}
		in.revoked = map[[32]byte]bool{}
	}
	in.clients[clientID] = secret
}

// MintOpaque returns a new opaque access token (32 random bytes,
// base64url) that the introspection endpoint describes with claims merged
// over the defaults "iss": Issuer(), "iat": now, "exp": now+1h and
// "token_type": "Bearer", as [Token.Claims] are merged (a nil value
// removes a member, time.Time values become NumericDates). The claims may
// include "active" to override the answer's active member, e.g. with a
// string for a malformed answer. EnableIntrospection must have been
// called; otherwise MintOpaque returns "".
func (p *Provider) MintOpaque(claims map[string]any) string {
	now := p.now()
	c := map[string]any{
		"iss":        p.issuer,
		"iat":        now.Unix(),
		"exp":        now.Add(time.Hour).Unix(),
		"token_type": "Bearer",
	}
	c = merge(c, claims)
	tok := randomToken()
	in := &p.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.tokens == nil {
		return ""
	}
	in.tokens[sha256.Sum256([]byte(tok))] = c
	return tok
}

// MustMintOpaque is like [Provider.MintOpaque] but calls t.Fatal when
// introspection is not enabled.
func (p *Provider) MustMintOpaque(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok := p.MintOpaque(claims)
	if tok == "" {
		t.Fatal("oidctest: MintOpaque before EnableIntrospection")
	}
	return tok
}

// Revoke makes the introspection endpoint answer {"active":false} for
// token from now on, as the revocation endpoint does.
func (p *Provider) Revoke(token string) {
	in := &p.intro
	in.mu.Lock()
	if in.revoked != nil {
		in.revoked[sha256.Sum256([]byte(token))] = true
	}
	in.mu.Unlock()
}

// IntrospectionCalls returns the number of requests to the introspection
// endpoint, answered or not.
func (p *Provider) IntrospectionCalls() int64 { return p.intro.calls.Load() }

// RevocationCalls returns the number of requests to the revocation
// endpoint.
func (p *Provider) RevocationCalls() int64 { return p.intro.revocations.Load() }

// SetIntrospectionFault makes the introspection endpoint misbehave as f
// says (nil clears it). A Fault with only Status sends the normal answer
// with that status; with Body, that body replaces the answer (for
// malformed answers such as {"active":"true"}).
func (p *Provider) SetIntrospectionFault(f *Fault) {
	in := &p.intro
	in.mu.Lock()
	in.fault = f.clone()
	in.mu.Unlock()
}

// rememberJWT records a JWT minted while introspection is enabled.
func (p *Provider) rememberJWT(token string, payload []byte) {
	in := &p.intro
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.tokens == nil {
		return
	}
	var c map[string]any
	if json.Unmarshal(payload, &c) == nil && c != nil {
		in.tokens[sha256.Sum256([]byte(token))] = c
	}
}

// addIntrospectionDiscovery adds the endpoints to a discovery document.
func (p *Provider) addIntrospectionDiscovery(doc map[string]any) {
	in := &p.intro
	in.mu.Lock()
	on := in.clients != nil
	in.mu.Unlock()
	if on {
		doc["introspection_endpoint"] = p.IntrospectionEndpoint()
		doc["revocation_endpoint"] = p.RevocationEndpoint()
		doc["introspection_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post"}
		doc["revocation_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post"}
	}
}

// serveIntrospection answers the two endpoints when enabled, and reports
// whether it did.
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) bool {
	in := &p.intro
	in.mu.Lock()
	on, f := in.clients != nil, in.fault.clone()
	in.mu.Unlock()
	if !on {
		return false
	}
	switch r.URL.Path {
	case p.issuerPath + "/introspect":
		in.calls.Add(1)
		status, body := p.introspect(r, false)
		if f == nil {
			f = &Fault{}
		}
		if f.Status == 0 {
			f.Status = status
		}
		p.serve(w, r, f, answer{contentType: "application/json", header: http.Header{"Cache-Control": {"no-store"}}, body: func() []byte { return body }})
	case p.issuerPath + "/revoke":
		in.revocations.Add(1)
		status, body := p.introspect(r, true)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	default:
		return false
	}
	return true
}

// introspect authenticates the caller and answers for the token; with
// revoke it revokes the token instead (RFC 7009 §2.2: 200 with an empty
// object whether or not the token was known).
func (p *Provider) introspect(r *http.Request, revoke bool) (int, []byte) {
	fail := func(status int, code string) (int, []byte) {
		b, _ := json.Marshal(map[string]string{"error": code})
		return status, b
	}
	if r.Method != http.MethodPost {
		return fail(http.StatusMethodNotAllowed, "invalid_request")
	}
	if err := r.ParseForm(); err != nil {
		return fail(http.StatusBadRequest, "invalid_request")
	}
	params, err := singleParams(r.PostForm)
	if err != nil {
		return fail(http.StatusBadRequest, "invalid_request")
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		if _, inBody := params["client_secret"]; inBody {
			return fail(http.StatusBadRequest, "invalid_request")
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		ok = err1 == nil && err2 == nil
	} else {
		id, secret = params["client_id"], params["client_secret"]
		ok = id != "" && secret != ""
	}
	in := &p.intro
	in.mu.Lock()
	want, known := in.clients[id]
	in.mu.Unlock()
	if !ok || !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		return fail(http.StatusUnauthorized, "invalid_client")
	}
	tok, has := params["token"]
	if !has || tok == "" {
		return fail(http.StatusBadRequest, "invalid_request")
	}
	h := sha256.Sum256([]byte(tok))
	in.mu.Lock()
	defer in.mu.Unlock()
	if revoke {
		in.revoked[h] = true
		return http.StatusOK, []byte("{}")
	}
	c, found := in.tokens[h]
	if !found || in.revoked[h] {
		return http.StatusOK, []byte(`{"active":false}`)
	}
	if exp, isNum := unixSeconds(c["exp"]); isNum && p.now().Unix() >= exp {
		return http.StatusOK, []byte(`{"active":false}`)
	}
	out := map[string]any{"active": true}
	for k, v := range c {
		out[k] = v
	}
	b, err := marshal(out)
	if err != nil {
		return fail(http.StatusInternalServerError, "server_error")
	}
	return http.StatusOK, b
}

// unixSeconds reads a NumericDate given as any Go number type.
func unixSeconds(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case json.Number:
		f, err := n.Float64()
		return int64(f), err == nil
	}
	return 0, false
}
