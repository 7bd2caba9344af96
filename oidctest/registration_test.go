package oidctest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

// postJSON posts body to u and decodes the JSON answer.
func postJSON(t *testing.T, c *http.Client, u, contentType, body string, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func registrationProvider(t *testing.T, s oidctest.RegistrationSettings) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.EnableRegistration(s)
	p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
	return p
}

func TestRegistrationDiscovery(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	if _, ok := p.DiscoveryDocument()["registration_endpoint"]; ok {
		t.Error("registration_endpoint before EnableRegistration")
	}
	p.EnableRegistration(oidctest.RegistrationSettings{})
	// The RFC 8414 location, as MCP clients read it first.
	r := get(t, p.Client(), p.OAuthMetadataURL())
	doc := decodeJSON(t, r.body)
	if r.status != 200 || doc["issuer"] != p.Issuer() || doc["registration_endpoint"] != p.RegistrationEndpoint() {
		t.Fatalf("RFC 8414 metadata: %d %v", r.status, doc)
	}
	if got := doc["code_challenge_methods_supported"]; !sameStrings(got, "S256") {
		t.Errorf("code_challenge_methods_supported = %v", got)
	}
	if got := doc["token_endpoint_auth_methods_supported"]; !containsString(got, "none") {
		t.Errorf("token_endpoint_auth_methods_supported = %v", got)
	}
	if got := doc["grant_types_supported"]; !containsString(got, "client_credentials") || !containsString(got, "authorization_code") {
		t.Errorf("grant_types_supported = %v", got)
	}
	if _, ok := doc["client_id_metadata_document_supported"]; ok {
		t.Error("client_id_metadata_document_supported before EnableClientMetadataDocuments")
	}
	p.EnableClientMetadataDocuments(oidctest.ClientMetadataSettings{})
	if p.DiscoveryDocument()["client_id_metadata_document_supported"] != true {
		t.Error("client_id_metadata_document_supported missing")
	}
	// The OpenID Connect location says the same.
	od := decodeJSON(t, get(t, p.Client(), p.DiscoveryURL()).body)
	if od["registration_endpoint"] != p.RegistrationEndpoint() {
		t.Errorf("openid-configuration: %v", od)
	}
}

func sameStrings(v any, want ...string) bool {
	l, _ := v.([]any)
	if len(l) != len(want) {
		return false
	}
	for i := range l {
		if l[i] != want[i] {
			return false
		}
	}
	return true
}

func containsString(v any, s string) bool {
	l, _ := v.([]any)
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestRegistrationRules(t *testing.T) {
	t.Parallel()
	p := registrationProvider(t, oidctest.RegistrationSettings{})
	const loop = `"redirect_uris":["http://127.0.0.1:33418/callback"]`
	tests := []struct {
		name, contentType, body string
		status                  int
		code                    string // error, or "" for success
		secret                  bool
	}{
		{"public client", "application/json", `{` + loop + `,"token_endpoint_auth_method":"none","client_name":"MCP Inspector"}`, 201, "", false},
		{"default method is client_secret_basic", "application/json", `{` + loop + `}`, 201, "", true},
		{"client_secret_post", "application/json", `{` + loop + `,"token_endpoint_auth_method":"client_secret_post"}`, 201, "", true},
		{"https redirect", "application/json", `{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}`, 201, "", false},
		{"localhost redirect", "application/json", `{"redirect_uris":["http://localhost:8080/cb"],"token_endpoint_auth_method":"none"}`, 201, "", false},
		{"ipv6 loopback redirect", "application/json", `{"redirect_uris":["http://[::1]:8080/cb"],"token_endpoint_auth_method":"none"}`, 201, "", false},
		{"client_credentials only, no redirect", "application/json", `{"grant_types":["client_credentials"],"response_types":[]}`, 201, "", true},
		{"charset parameter", "application/json; charset=utf-8", `{` + loop + `,"token_endpoint_auth_method":"none"}`, 201, "", false},

		{"form body", "application/x-www-form-urlencoded", `redirect_uris=x`, 400, "invalid_client_metadata", false},
		{"not an object", "application/json", `["x"]`, 400, "invalid_client_metadata", false},
		{"null", "application/json", `null`, 400, "invalid_client_metadata", false},
		{"redirect_uris not a list", "application/json", `{"redirect_uris":"http://127.0.0.1/cb"}`, 400, "invalid_client_metadata", false},
		{"unknown auth method", "application/json", `{` + loop + `,"token_endpoint_auth_method":"private_key_jwt"}`, 400, "invalid_client_metadata", false},
		{"unknown grant", "application/json", `{` + loop + `,"grant_types":["implicit"]}`, 400, "invalid_client_metadata", false},
		{"public client_credentials", "application/json", `{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}`, 400, "invalid_client_metadata", false},
		{"token response type", "application/json", `{` + loop + `,"response_types":["token"]}`, 400, "invalid_client_metadata", false},
		{"code grant without code response", "application/json", `{` + loop + `,"grant_types":["client_credentials"],"response_types":["code"]}`, 400, "invalid_client_metadata", false},
		{"client-chosen secret", "application/json", `{` + loop + `,"client_secret":"mine"}`, 400, "invalid_client_metadata", false},
		{"no redirect_uris", "application/json", `{"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"http non-loopback redirect", "application/json", `{"redirect_uris":["http://app.example/cb"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"relative redirect", "application/json", `{"redirect_uris":["/cb"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"fragment", "application/json", `{"redirect_uris":["https://app.example/cb#x"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"user info", "application/json", `{"redirect_uris":["https://u:p@app.example/cb"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"custom scheme", "application/json", `{"redirect_uris":["com.example.app:/cb"],"token_endpoint_auth_method":"none"}`, 400, "invalid_redirect_uri", false},
		{"too large", "application/json", `{"client_name":"` + strings.Repeat("x", 70<<10) + `",` + loop + `}`, 400, "invalid_client_metadata", false},
	}
	wantOK, wantErr := int64(0), int64(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postJSON(t, p.Client(), p.RegistrationEndpoint(), tt.contentType, tt.body)
			if status != tt.status {
				t.Fatalf("status = %d, want %d (%v)", status, tt.status, body)
			}
			if tt.code != "" {
				if body["error"] != tt.code || body["error_description"] == "" {
					t.Errorf("error = %v, want %s", body, tt.code)
				}
				wantErr++
				return
			}
			wantOK++
			if id, _ := body["client_id"].(string); id == "" || body["client_id_issued_at"] == nil {
				t.Errorf("registration response %v", body)
			}
			_, hasSecret := body["client_secret"]
			if hasSecret != tt.secret || (hasSecret && body["client_secret_expires_at"] != float64(0)) {
				t.Errorf("client_secret present = %v, want %v (%v)", hasSecret, tt.secret, body)
			}
		})
	}
	if s := p.OAuthStats(); s.Registrations != wantOK || s.RegistrationErrors != wantErr {
		t.Errorf("stats %+v, want %d registrations, %d errors", s, wantOK, wantErr)
	}
}

func TestRegistrationEchoesMetadata(t *testing.T) {
	t.Parallel()
	p := registrationProvider(t, oidctest.RegistrationSettings{})
	status, body := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json",
		`{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none","client_name":"x","scope":"tools"}`)
	if status != 201 || body["client_name"] != "x" || body["scope"] != "tools" || body["token_endpoint_auth_method"] != "none" ||
		!sameStrings(body["grant_types"], "authorization_code") || !sameStrings(body["response_types"], "code") ||
		!sameStrings(body["redirect_uris"], "http://127.0.0.1:1/cb") {
		t.Errorf("registration response %d %v", status, body)
	}
}

func TestRegistrationMethodAndAccessToken(t *testing.T) {
	t.Parallel()
	p := registrationProvider(t, oidctest.RegistrationSettings{InitialAccessToken: "iat-1", MaxClients: 1})
	r := get(t, p.Client(), p.RegistrationEndpoint())
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Errorf("GET: %d %v", r.status, r.header)
	}
	body := `{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none"}`
	if status, m := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json", body); status != 401 || m["error"] != "invalid_token" {
		t.Errorf("without initial access token: %d %v", status, m)
	}
	if status, m := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json", body, "Authorization", "Bearer wrong"); status != 401 {
		t.Errorf("with a wrong initial access token: %d %v", status, m)
	}
	if status, m := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json", body, "Authorization", "Bearer iat-1"); status != 201 {
		t.Errorf("with the initial access token: %d %v", status, m)
	}
	// MaxClients: 1.
	if status, m := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json", body, "Authorization", "Bearer iat-1"); status != 400 || m["error"] != "invalid_client_metadata" {
		t.Errorf("beyond MaxClients: %d %v", status, m)
	}
}

// mcpAuthorize runs an authorization request the way MCP clients send it
// and returns the redirect's query.
func mcpAuthorize(t *testing.T, p *oidctest.Provider, q url.Values) (int, url.Values, []byte) {
	t.Helper()
	r := get(t, noRedirectClient(p), p.AuthorizationEndpoint()+"?"+q.Encode())
	if r.status != http.StatusFound {
		return r.status, nil, r.body
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return r.status, u.Query(), nil
}

// TestMCPClientFlow is what the official MCP clients do: open registration of
// a public client with a loopback redirect URI, an authorization request
// without any scope (no openid either) but with a resource, the code
// exchanged with the PKCE verifier and the resource, and a token whose aud
// is the resource, with client_id and iss.
func TestMCPClientFlow(t *testing.T) {
	t.Parallel()
	p := registrationProvider(t, oidctest.RegistrationSettings{})
	status, reg := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json",
		`{"redirect_uris":["http://127.0.0.1:33418/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`)
	if status != 201 {
		t.Fatalf("register: %d %v", status, reg)
	}
	id := reg["client_id"].(string)
	const resource = "http://127.0.0.1:8090/mcp"
	// Another port than registered: RFC 8252 §7.3.
	redirect := "http://127.0.0.1:40001/callback"
	q := url.Values{"client_id": {id}, "redirect_uri": {redirect}, "response_type": {"code"}, "state": {"s"},
		"code_challenge": {challenge(testVerifier)}, "code_challenge_method": {"S256"}, "resource": {resource}}
	st, back, page := mcpAuthorize(t, p, q)
	if st != http.StatusFound || back.Get("code") == "" || back.Get("iss") != p.Issuer() {
		t.Fatalf("authorize: %d %v %s", st, back, page)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {redirect},
		"code_verifier": {testVerifier}, "client_id": {id}, "resource": {resource}}
	tr := token(t, p, form)
	if tr.status != 200 || tr.body["id_token"] != nil || tr.body["refresh_token"] == nil {
		t.Fatalf("token: %d %v", tr.status, tr.body)
	}
	at := claimsOf(t, tr.body["access_token"])
	if at["aud"] != resource || at["client_id"] != id || at["iss"] != p.Issuer() || at["sub"] != "alice" || at["scope"] != "" {
		t.Errorf("access token claims %v", at)
	}
	// The refresh keeps the resource; another resource is refused.
	rf := token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.body["refresh_token"].(string)}, "client_id": {id}, "resource": {"https://other.example/"}})
	if rf.status != 400 || rf.body["error"] != "invalid_target" {
		t.Errorf("refresh for another resource: %d %v", rf.status, rf.body)
	}
	rf = token(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.body["refresh_token"].(string)}, "client_id": {id}})
	if rf.status != 200 || claimsOf(t, rf.body["access_token"])["aud"] != resource {
		t.Errorf("refresh: %d %v", rf.status, rf.body)
	}
}

func TestResourceParameter(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{AutoLogin: "alice"})
	const res = "https://api.example/mcp"
	tests := []struct {
		name                  string
		authRes, tokenRes     string // "-" = absent
		wantAuthErr, wantCode string // authorization error; token error
		wantAud               string
	}{
		{"none: the client's audience", "-", "-", "", "", "api"},
		{"at authorization", res, "-", "", "", res},
		{"at both, same", res, res, "", "", res},
		{"at token only", "-", res, "", "", res},
		{"at token, another", res, "https://other.example/", "", "invalid_target", ""},
		{"relative at authorization", "/mcp", "-", "invalid_target", "", ""},
		{"fragment at authorization", res + "#x", "-", "invalid_target", "", ""},
		{"urn is absolute", "urn:example:api", "-", "", "", "urn:example:api"},
		{"relative at token", "-", "mcp", "", "invalid_target", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams("app")
			if tt.authRes != "-" {
				q.Set("resource", tt.authRes)
			}
			back := authorize(t, p, q)
			if back.Get("error") != tt.wantAuthErr {
				t.Fatalf("authorization error = %q, want %q", back.Get("error"), tt.wantAuthErr)
			}
			if tt.wantAuthErr != "" {
				return
			}
			form := codeForm(back.Get("code"))
			if tt.tokenRes != "-" {
				form.Set("resource", tt.tokenRes)
			}
			tr := token(t, p, form, "app", "s3cret")
			if tt.wantCode != "" {
				if tr.status != 400 || tr.body["error"] != tt.wantCode {
					t.Errorf("token: %d %v, want %s", tr.status, tr.body, tt.wantCode)
				}
				return
			}
			if tr.status != 200 {
				t.Fatalf("token: %d %v", tr.status, tr.body)
			}
			if aud := claimsOf(t, tr.body["access_token"])["aud"]; aud != tt.wantAud {
				t.Errorf("aud = %v, want %s", aud, tt.wantAud)
			}
		})
	}
	// IgnoreResource: a provider without RFC 8707.
	p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice", IgnoreResource: true})
	q := authParams("app")
	q.Set("resource", res)
	tr := token(t, p, codeForm(authorize(t, p, q).Get("code")), "app", "s3cret")
	if aud := claimsOf(t, tr.body["access_token"])["aud"]; aud != "api" {
		t.Errorf("IgnoreResource: aud = %v", aud)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	p := oauthProvider(t, oidctest.OAuthSettings{})
	tests := []struct {
		name   string
		form   url.Values
		basic  []string
		status int
		code   string
		aud    string
	}{
		{"basic auth", url.Values{"grant_type": {"client_credentials"}, "scope": {"tools:read"}}, []string{"app", "s3cret"}, 200, "", "api"},
		{"with resource", url.Values{"grant_type": {"client_credentials"}, "resource": {"https://api.example/mcp"}}, []string{"app", "s3cret"}, 200, "", "https://api.example/mcp"},
		{"secret in body", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"s3cret"}}, nil, 200, "", "api"},
		{"wrong secret", url.Values{"grant_type": {"client_credentials"}}, []string{"app", "nope"}, 401, "invalid_client", ""},
		{"public client", url.Values{"grant_type": {"client_credentials"}, "client_id": {"spa"}}, nil, 400, "unauthorized_client", ""},
		{"bad resource", url.Values{"grant_type": {"client_credentials"}, "resource": {"api"}}, []string{"app", "s3cret"}, 400, "invalid_target", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := token(t, p, tt.form, tt.basic...)
			if tr.status != tt.status || (tt.code != "" && tr.body["error"] != tt.code) {
				t.Fatalf("token: %d %v, want %d %s", tr.status, tr.body, tt.status, tt.code)
			}
			if tt.code != "" {
				return
			}
			at := claimsOf(t, tr.body["access_token"])
			if at["sub"] != "app" || at["client_id"] != "app" || at["aud"] != tt.aud || at["scope"] != tt.form.Get("scope") ||
				tr.body["refresh_token"] != nil || tr.body["id_token"] != nil {
				t.Errorf("answer %v, claims %v", tr.body, at)
			}
		})
	}
	if n := p.OAuthStats().ClientCredentialsGrants; n != 3 {
		t.Errorf("ClientCredentialsGrants = %d, want 3", n)
	}
}

func TestLoopbackAnyPortOnlyForRegisteredClients(t *testing.T) {
	t.Parallel()
	p := registrationProvider(t, oidctest.RegistrationSettings{})
	p.MustRegisterClient(t, oidctest.Client{ID: "static", RedirectURIs: []string{"http://127.0.0.1:5000/cb"}})
	_, reg := postJSON(t, p.Client(), p.RegistrationEndpoint(), "application/json",
		`{"redirect_uris":["http://127.0.0.1:5000/cb","https://app.example/cb"],"token_endpoint_auth_method":"none"}`)
	dyn := reg["client_id"].(string)
	tests := []struct {
		client, redirect string
		ok               bool
	}{
		{"static", "http://127.0.0.1:5000/cb", true},
		{"static", "http://127.0.0.1:5001/cb", false}, // byte for byte, as before
		{dyn, "http://127.0.0.1:5001/cb", true},
		{dyn, "http://127.0.0.1/cb", true},
		{dyn, "http://127.0.0.1:5001/other", false},
		{dyn, "http://127.0.0.1:5001/cb?x=1", false},
		{dyn, "http://localhost:5000/cb", false}, // another host
		{dyn, "https://app.example:444/cb", false},
	}
	for _, tt := range tests {
		q := url.Values{"client_id": {tt.client}, "redirect_uri": {tt.redirect}, "response_type": {"code"},
			"code_challenge": {challenge(testVerifier)}, "code_challenge_method": {"S256"}}
		st, _, body := mcpAuthorize(t, p, q)
		if ok := st == http.StatusFound; ok != tt.ok {
			t.Errorf("client %s redirect %s: %d %s, want ok=%v", tt.client, tt.redirect, st, bytes.TrimSpace(body), tt.ok)
		}
	}
}
