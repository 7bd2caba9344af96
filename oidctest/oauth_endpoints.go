package oidctest

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"hash"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// serveOAuth answers requests to the OAuth endpoints once a client is
// registered, and reports whether it did.
func (p *Provider) serveOAuth(w http.ResponseWriter, r *http.Request) bool {
	if !p.oauth.enabled() {
		return false
	}
	switch r.URL.Path {
	case p.issuerPath + "/authorize":
		p.authorize(w, r)
	case p.issuerPath + "/token":
		p.token(w, r)
	case p.issuerPath + "/logout":
		p.endSession(w, r)
	case p.issuerPath + "/register":
		p.register(w, r)
	default:
		return false
	}
	return true
}

// ---- authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9207) ----

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		page(w, http.StatusMethodNotAllowed, "Method not allowed", "Use GET (or POST from the sign-in form).")
		return
	}
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Bad request", "The request could not be parsed.")
		return
	}
	params, err := singleParams(r.Form)
	if err != nil {
		page(w, http.StatusBadRequest, "Bad request", "A parameter is repeated.")
		return
	}
	o := &p.oauth
	o.mu.Lock()
	client, known := o.clients[params["client_id"]]
	settings, cimd := o.settings, o.cimd
	o.mu.Unlock()
	if cimd != nil && isURLClientID(params["client_id"]) {
		// A metadata document is fetched afresh at each request.
		c, err := p.metadataClient(r.Context(), params["client_id"], cimd)
		if err != nil {
			page(w, http.StatusBadRequest, "Invalid client metadata document", "The client_id's metadata document was refused: "+err.Error())
			return
		}
		client, known = c, true
	}
	// Without a known client and a registered redirect URI the error is
	// shown here and never sent to the redirect URI (RFC 6749 §4.1.2.1).
	if !known {
		page(w, http.StatusBadRequest, "Unknown client", "The client_id is not registered.")
		return
	}
	redirectURI := params["redirect_uri"]
	if !client.allowsRedirect(redirectURI) {
		page(w, http.StatusBadRequest, "Invalid redirect_uri", "The redirect_uri is not registered for this client.")
		return
	}
	back := func(q url.Values) {
		if s, ok := params["state"]; ok {
			q.Set("state", s)
		}
		if !settings.OmitIssParameter {
			q.Set("iss", p.issuer)
		}
		u, _ := url.Parse(redirectURI) // checked by allowsRedirect
		merged := u.Query()
		for k, v := range q {
			merged[k] = v
		}
		u.RawQuery = merged.Encode()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusFound)
	}
	fail := func(code, desc string) {
		q := url.Values{"error": {code}}
		if desc != "" {
			q.Set("error_description", desc)
		}
		back(q)
	}
	switch {
	case params["response_type"] != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case params["code_challenge_method"] != "S256":
		fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
		return
	case len(params["code_challenge"]) != 43 || !isPKCEString(params["code_challenge"]):
		fail("invalid_request", "code_challenge is malformed")
		return
	case params["resource"] != "" && !checkResource(params["resource"]):
		fail("invalid_target", "resource must be an absolute URI without fragment (RFC 8707 §2)")
		return
	case settings.AuthorizeError != "":
		fail(settings.AuthorizeError, "")
		return
	}
	subject := settings.AutoLogin
	if subject == "" {
		subject = params["login_subject"]
		if r.Method != http.MethodPost || subject == "" {
			loginPage(w, r.URL.Path, client.ID, params)
			return
		}
	}
	now := p.now()
	code := randomToken()
	o.mu.Lock()
	o.codes[code] = &grant{
		client:      client.ID,
		redirectURI: redirectURI,
		challenge:   params["code_challenge"],
		nonce:       params["nonce"],
		subject:     subject,
		scope:       params["scope"],
		resource:    params["resource"],
		authTime:    now,
		expires:     now.Add(orDuration(settings.CodeTTL, time.Minute)),
	}
	o.mu.Unlock()
	o.authorizations.Add(1)
	back(url.Values{"code": {code}})
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>oidctest sign-in</title></head>
<body>
<h1>oidctest provider</h1>
<p>Sign in to <b>{{.Client}}</b>. Any subject is accepted: this is a fake provider for tests and demos.</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Subject <input id="login_subject" name="login_subject" value="alice" autofocus></label>
<button id="sign_in" type="submit">Sign in</button>
</form>
</body></html>
`))

type hiddenField struct{ Name, Value string }

func loginPage(w http.ResponseWriter, action, client string, params map[string]string) {
	var hidden []hiddenField
	for k, v := range params {
		if k != "login_subject" {
			hidden = append(hidden, hiddenField{k, v})
		}
	}
	sort.Slice(hidden, func(i, j int) bool { return hidden[i].Name < hidden[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	loginTemplate.Execute(w, struct {
		Action, Client string
		Hidden         []hiddenField
	}{action, client, hidden})
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pageTemplate.Execute(w, struct{ Title, Message string }{title, msg})
}

// ---- token endpoint (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.6) ----

// tokenError is an error answer of the token endpoint (RFC 6749 §5.2).
type tokenError struct {
	status int
	code   string
	desc   string
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	o := &p.oauth
	o.mu.Lock()
	f := o.tokenFault.clone()
	o.mu.Unlock()

	hdr := http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	var body []byte
	var terr *tokenError
	if f.replacesAnswer() {
		// A provider that is down processes nothing.
		terr = &tokenError{http.StatusServiceUnavailable, "temporarily_unavailable", ""}
	} else {
		body, terr = p.tokenAnswer(r)
	}
	status := http.StatusOK
	if terr != nil {
		o.tokenErrors.Add(1)
		status = terr.status
		if status == http.StatusUnauthorized {
			hdr.Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		m := map[string]string{"error": terr.code}
		if terr.desc != "" {
			m["error_description"] = terr.desc
		}
		body, _ = json.Marshal(m)
	}
	if f == nil {
		f = &Fault{}
	}
	if f.Status == 0 {
		f.Status = status
	}
	p.serve(w, r, f, answer{contentType: "application/json", header: hdr, body: func() []byte { return body }})
}

func (p *Provider) tokenAnswer(r *http.Request) ([]byte, *tokenError) {
	invalid := func(code, desc string) *tokenError { return &tokenError{http.StatusBadRequest, code, desc} }
	if r.Method != http.MethodPost {
		return nil, invalid("invalid_request", "the token endpoint takes POST")
	}
	if err := r.ParseForm(); err != nil {
		return nil, invalid("invalid_request", "the body could not be parsed")
	}
	params, err := singleParams(r.PostForm)
	if err != nil {
		return nil, invalid("invalid_request", err.Error())
	}

	// Client authentication (RFC 6749 §2.3.1): HTTP Basic with
	// form-encoded id and secret, or the two in the body; never both.
	clientID, secret, hasSecret := params["client_id"], "", false
	if user, pass, ok := r.BasicAuth(); ok {
		if _, inBody := params["client_secret"]; inBody {
			return nil, invalid("invalid_request", "more than one client authentication method")
		}
		id, err1 := url.QueryUnescape(user)
		pw, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (clientID != "" && clientID != id) {
			return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "malformed client credentials"}
		}
		clientID, secret, hasSecret = id, pw, true
	} else if s, ok := params["client_secret"]; ok {
		secret, hasSecret = s, true
	}
	o := &p.oauth
	o.mu.Lock()
	client, known := o.clients[clientID]
	settings := o.settings
	o.mu.Unlock()
	authOK := known && (client.Secret == "" && !hasSecret ||
		client.Secret != "" && hasSecret && subtle.ConstantTimeCompare([]byte(secret), []byte(client.Secret)) == 1)
	if !authOK {
		return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	}

	// RFC 8707 §2.2: a resource at the token endpoint must be absolute and,
	// for a grant made with a resource, the same one.
	resource, hasResource := params["resource"]
	if hasResource && !checkResource(resource) {
		return nil, invalid("invalid_target", "resource must be an absolute URI without fragment (RFC 8707 §2)")
	}
	badTarget := invalid("invalid_target", "the resource differs from the one authorized")
	now := p.now()
	badGrant := invalid("invalid_grant", "")
	var g grant
	var withNonce bool
	var refresh string
	o.mu.Lock()
	switch params["grant_type"] {
	case "authorization_code":
		code := o.codes[params["code"]]
		if code == nil {
			o.mu.Unlock()
			return nil, badGrant
		}
		if code.used {
			// A code used twice revokes what it gave (RFC 6749 §4.1.2).
			for _, rt := range code.refresh {
				delete(o.refresh, rt)
			}
			delete(o.codes, params["code"])
			o.mu.Unlock()
			return nil, badGrant
		}
		code.used = true
		verifier := params["code_verifier"]
		pkceOK := settings.SkipPKCE || isPKCEString(verifier) && s256(verifier) == code.challenge
		if now.After(code.expires) || code.client != clientID || params["redirect_uri"] != code.redirectURI || !pkceOK {
			o.mu.Unlock()
			return nil, badGrant
		}
		if hasResource && code.resource != "" && resource != code.resource {
			o.mu.Unlock()
			return nil, badTarget
		}
		if hasResource {
			code.resource = resource
		}
		g, withNonce = *code, true
		if !settings.NoRefreshTokens {
			refresh = randomToken()
			rg := *code
			rg.refresh = nil
			o.refresh[refresh] = &rg
			code.refresh = append(code.refresh, refresh)
		}
		o.codeGrants.Add(1)
	case "refresh_token":
		old := o.refresh[params["refresh_token"]]
		if old == nil {
			o.refreshReused(params["refresh_token"], settings)
		}
		if old == nil || old.client != clientID {
			o.mu.Unlock()
			return nil, badGrant
		}
		if s, ok := params["scope"]; ok {
			for _, sc := range strings.Fields(s) {
				if !slices.Contains(strings.Fields(old.scope), sc) {
					o.mu.Unlock()
					return nil, invalid("invalid_scope", "the scope exceeds the original grant")
				}
			}
		}
		if hasResource && old.resource != "" && resource != old.resource {
			o.mu.Unlock()
			return nil, badTarget
		}
		g = *old
		if hasResource {
			g.resource = resource
		}
		refresh = params["refresh_token"]
		if !settings.KeepRefreshTokens {
			delete(o.refresh, refresh)
			o.retire(refresh, old)
			refresh = randomToken()
			o.refresh[refresh] = old
		}
		o.refreshGrants.Add(1)
	case "client_credentials":
		// RFC 6749 §4.4: confidential clients only; the client is the
		// subject; no refresh token (§4.4.3).
		if client.Secret == "" {
			o.mu.Unlock()
			return nil, invalid("unauthorized_client", "client_credentials needs a confidential client")
		}
		g = grant{client: clientID, subject: clientID, scope: params["scope"], resource: resource, authTime: now}
		o.clientCredentialsGrants.Add(1)
	default:
		o.mu.Unlock()
		return nil, invalid("unsupported_grant_type", "")
	}
	o.mu.Unlock()

	body, err := p.issueTokens(client, settings, g, withNonce, refresh, now)
	if err != nil {
		return nil, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	return body, nil
}

// issueTokens mints the access token and, for the openid scope, the ID
// token (OpenID Connect Core 1.0 §2, §3.1.3.3; §12.2 for refreshes).
func (p *Provider) issueTokens(client Client, s OAuthSettings, g grant, withNonce bool, refresh string, now time.Time) ([]byte, error) {
	atTTL := orDuration(s.AccessTokenTTL, time.Hour)
	aud := client.Audience
	if g.resource != "" && !s.IgnoreResource {
		aud = g.resource
	}
	at := map[string]any{
		"sub":       g.subject,
		"aud":       aud,
		"iat":       now.Unix(),
		"exp":       now.Add(atTTL).Unix(),
		"jti":       randomToken()[:22],
		"client_id": client.ID,
		"scope":     g.scope,
	}
	for k, v := range s.AccessTokenClaims {
		at[k] = v
	}
	access, err := p.MintToken(Token{Claims: at, Header: map[string]any{"typ": "at+jwt"}})
	if err != nil {
		return nil, err
	}
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int64(atTTL / time.Second),
		"scope":        g.scope,
	}
	if refresh != "" {
		resp["refresh_token"] = refresh
	}
	openid := slices.Contains(strings.Fields(g.scope), "openid")
	if openid && (withNonce || !s.NoIDTokenOnRefresh) {
		id := map[string]any{}
		for k, v := range s.UserClaims {
			id[k] = v
		}
		id["sub"] = g.subject
		id["aud"] = client.ID
		id["azp"] = client.ID
		id["iat"] = now.Unix()
		id["exp"] = now.Add(orDuration(s.IDTokenTTL, time.Hour)).Unix()
		id["auth_time"] = g.authTime.Unix()
		if withNonce && g.nonce != "" {
			id["nonce"] = g.nonce
		}
		if h := atHash(p.idTokenAlg(s.IDTokenSigning), access); h != "" {
			id["at_hash"] = h
		}
		for k, v := range s.IDTokenClaims {
			id[k] = v
		}
		idToken, err := p.mintIDToken(s.IDTokenSigning, id)
		if err != nil {
			return nil, err
		}
		resp["id_token"] = idToken
	}
	return marshal(resp)
}

// atHash is the at_hash of an access token (OpenID Connect Core 1.0
// §3.1.3.6): the left half of its hash with the ID token's algorithm.
func atHash(alg, accessToken string) string {
	var h hash.Hash
	switch alg {
	case "RS256", "PS256", "ES256", "HS256":
		h = sha256.New()
	case "RS384", "PS384", "ES384":
		h = sha512.New384()
	case "RS512", "PS512", "ES512", "EdDSA":
		h = sha512.New()
	default:
		return ""
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// s256 is the PKCE S256 code challenge of verifier (RFC 7636 §4.2).
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ---- end-session endpoint (OpenID Connect RP-Initiated Logout 1.0 §2, §3) ----

func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	o := &p.oauth
	o.endSessions.Add(1)
	if r.Method == http.MethodPost {
		o.endSessionPOSTs.Add(1)
	}
	if r.URL.Query().Has("id_token_hint") {
		o.endSessionHintsInURL.Add(1)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		page(w, http.StatusMethodNotAllowed, "Method not allowed", "The end-session endpoint takes GET or POST.")
		return
	}
	if err := r.ParseForm(); err != nil {
		page(w, http.StatusBadRequest, "Bad request", "The request could not be parsed.")
		return
	}
	params, err := singleParams(r.Form)
	if err != nil {
		page(w, http.StatusBadRequest, "Bad request", "A parameter is repeated.")
		return
	}
	clientID := params["client_id"]
	if hint := params["id_token_hint"]; hint != "" {
		// The hint's signature is not checked: this is a fake.
		aud, ok := p.hintAudience(hint)
		if !ok || (clientID != "" && !slices.Contains(aud, clientID)) {
			page(w, http.StatusBadRequest, "Bad request", "The id_token_hint is not an ID token of this provider for this client.")
			return
		}
		if clientID == "" {
			clientID = aud[0]
		}
	}
	post := params["post_logout_redirect_uri"]
	if post == "" {
		page(w, http.StatusOK, "Signed out", "You are signed out of the oidctest provider.")
		return
	}
	o.mu.Lock()
	client, known := o.clients[clientID]
	o.mu.Unlock()
	if !known || !slices.Contains(client.PostLogoutRedirectURIs, post) {
		page(w, http.StatusBadRequest, "Invalid post_logout_redirect_uri", "The post_logout_redirect_uri is not registered for this client.")
		return
	}
	u, _ := url.Parse(post) // parsed at registration
	if s, ok := params["state"]; ok {
		q := u.Query()
		q.Set("state", s)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", u.String())
	w.WriteHeader(http.StatusFound)
}

// hintAudience reads the aud of an id_token_hint issued by this provider.
func (p *Provider) hintAudience(tok string) ([]string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss != p.issuer {
		return nil, false
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil && len(many) > 0 {
		return many, true
	}
	return nil, false
}
