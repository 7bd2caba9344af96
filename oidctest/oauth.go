package oidctest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Client is an OAuth 2.0 client registered with a Provider (RFC 6749 §2).
// Registering one turns on the provider's OAuth side: the authorization,
// token and end-session endpoints (see [Provider.RegisterClient]).
type Client struct {
	// ID is the client_id. Required.
	ID string

	// Secret is the client secret. A client with a secret must
	// authenticate at the token endpoint with client_secret_basic or
	// client_secret_post (RFC 6749 §2.3.1); a client without one is a
	// public client and sends only its client_id.
	Secret string

	// RedirectURIs are the registered redirection URIs, compared with the
	// redirect_uri of a request byte for byte (RFC 9700 §4.1.3). At least
	// one is required.
	RedirectURIs []string

	// PostLogoutRedirectURIs are the URIs the end-session endpoint may
	// send the browser back to (OpenID Connect RP-Initiated Logout 1.0
	// §3), compared byte for byte.
	PostLogoutRedirectURIs []string

	// Audience is the aud of the access tokens issued to this client;
	// default: the client's ID. A resource parameter (RFC 8707) in the
	// authorization or token request replaces it.
	Audience string

	// loopbackAnyPort lets a loopback http redirect URI match with any
	// port (RFC 8252 §7.3): set for clients registered dynamically or by
	// metadata document.
	loopbackAnyPort bool
}

// OAuthSettings changes how the provider's OAuth endpoints behave. The zero
// value is a strict, well-behaved provider that shows a sign-in form.
type OAuthSettings struct {
	// AutoLogin, when set, is the subject that every authorization request
	// logs in at once: /authorize answers with the redirect back to the
	// client immediately. When empty, /authorize shows a sign-in form
	// where any subject can be typed.
	AutoLogin string

	// UserClaims are added to every ID token (e.g. "name", "email").
	UserClaims map[string]any

	// AccessTokenTTL, IDTokenTTL and CodeTTL are the lifetimes of access
	// tokens, ID tokens and authorization codes. Defaults: 1 hour,
	// 1 hour and 1 minute.
	AccessTokenTTL, IDTokenTTL, CodeTTL time.Duration

	// NoRefreshTokens stops the token endpoint from issuing refresh tokens.
	NoRefreshTokens bool

	// KeepRefreshTokens makes refresh tokens reusable. By default a
	// refresh token is rotated: each use returns a new one and the old one
	// stops working (RFC 9700 §4.14.2).
	KeepRefreshTokens bool

	// NoIDTokenOnRefresh makes refresh responses carry no ID token.
	NoIDTokenOnRefresh bool

	// OmitIssParameter leaves out the RFC 9207 "iss" parameter of
	// authorization responses and the discovery document's
	// authorization_response_iss_parameter_supported.
	OmitIssParameter bool

	// SkipPKCE makes the token endpoint accept any code_verifier, like a
	// provider that does not implement RFC 7636. Authorization requests
	// must still carry an S256 code_challenge.
	SkipPKCE bool

	// AuthorizeError, when set, answers every valid authorization request
	// with this error code (e.g. "access_denied") instead of a code.
	AuthorizeError string

	// IDTokenClaims and AccessTokenClaims are merged over the claims of
	// every issued token, as [Token.Claims] are: a nil value removes the
	// claim. Use them to issue a wrong "nonce", "aud", "azp", "sub", ...
	IDTokenClaims, AccessTokenClaims map[string]any

	// IDTokenSigning changes how ID tokens are signed (a missing kid, a
	// bad signature, HS256, alg none, another key).
	IDTokenSigning IDTokenSigning

	// RevokeGrantOnRefreshReuse turns on refresh token reuse detection
	// (RFC 9700 §4.14.2), as Okta, Auth0, Entra ID and oidc-provider do
	// with rotation: presenting a refresh token that was already rotated
	// out is answered invalid_grant and revokes every refresh token of
	// the grant, the live one included, so the session that holds it is
	// lost too. OAuthStats.RefreshReuses counts these. Has no effect with
	// KeepRefreshTokens.
	RevokeGrantOnRefreshReuse bool
	// IgnoreResource makes the provider drop the resource parameter
	// (RFC 8707) instead of putting it in aud, like a provider that does
	// not implement resource indicators.
	IgnoreResource bool
}

// OAuthStats counts requests to the OAuth endpoints.
type OAuthStats struct {
	Authorizations  int64 // authorization requests answered with a code
	CodeGrants      int64 // successful authorization_code grants
	RefreshGrants   int64 // successful refresh_token grants
	TokenErrors     int64 // token requests answered with an error
	EndSessions     int64 // requests to the end-session endpoint
	EndSessionPOSTs int64 // of them, POSTs (form-encoded body)
	// EndSessionHintsInURL counts end-session requests with an
	// id_token_hint in the URL's query, which RP-Initiated Logout 1.0 §2
	// permits and a careful RP avoids (the ID token lands in logs).
	EndSessionHintsInURL int64
	// RefreshReuses counts refresh tokens presented again after they were
	// rotated out (a double spend), whether or not
	// OAuthSettings.RevokeGrantOnRefreshReuse revoked the grant.
	RefreshReuses int64

	ClientCredentialsGrants int64 // successful client_credentials grants
	Registrations           int64 // clients registered at the registration endpoint (RFC 7591)
	RegistrationErrors      int64 // registration requests refused
	MetadataFetches         int64 // client ID metadata documents fetched
}

// oauthServer is the OAuth side of a Provider. Its mutex is never held while
// the Provider's is taken (minting happens after unlocking).
type oauthServer struct {
	mu         sync.Mutex
	clients    map[string]Client
	settings   OAuthSettings
	codes      map[string]*grant
	refresh    map[string]*grant
	retired    map[string]*grant // rotated-out refresh tokens → their grant (reuse detection)
	tokenFault *Fault

	registration   *RegistrationSettings   // nil: no registration endpoint
	cimd           *ClientMetadataSettings // nil: no metadata documents
	dynamicClients int

	authorizations, codeGrants, refreshGrants, tokenErrors, endSessions, endSessionPOSTs, endSessionHintsInURL, refreshReuses atomic.Int64
	clientCredentialsGrants, registrations, registrationErrors, metadataFetches                                               atomic.Int64
}

// initLocked turns the OAuth endpoints on.
func (o *oauthServer) initLocked() {
	if o.clients == nil {
		o.clients = make(map[string]Client)
		o.codes = make(map[string]*grant)
		o.refresh = make(map[string]*grant)
		o.retired = make(map[string]*grant)
	}
}

// grant is what an authorization code or a refresh token stands for.
type grant struct {
	client      string
	redirectURI string
	challenge   string
	nonce       string
	subject     string
	scope       string
	resource    string // RFC 8707; "" for the client's audience
	authTime    time.Time
	expires     time.Time // codes only
	used        bool      // codes only
	refresh     []string  // refresh tokens issued from this code
}

// RegisterClient registers c, replacing a client with the same ID, and
// turns on the OAuth endpoints, under the issuer:
//
//	{P}/authorize   authorization endpoint (RFC 6749 §3.1): response_type
//	                code, PKCE S256 required (RFC 7636), answers with code,
//	                state and iss (RFC 9207) in the query
//	{P}/token       token endpoint (RFC 6749 §3.2): authorization_code and
//	                refresh_token grants; ID tokens with nonce, aud, azp
//	                and at_hash, access tokens of type at+jwt (RFC 9068)
//	{P}/logout      end-session endpoint (RP-Initiated Logout 1.0 §2, §3):
//	                GET with a query or POST with a form body
//
// The discovery document then also lists end_session_endpoint,
// code_challenge_methods_supported, grant_types_supported,
// token_endpoint_auth_methods_supported, scopes_supported,
// response_modes_supported and authorization_response_iss_parameter_supported
// ([Provider.SetDiscovery] can still override them). These endpoints take
// precedence over handlers added with [Provider.Handle] on the same paths.
func (p *Provider) RegisterClient(c Client) error {
	if c.ID == "" {
		return errors.New("oidctest: Client.ID is required")
	}
	if len(c.RedirectURIs) == 0 {
		return errors.New("oidctest: Client.RedirectURIs is required")
	}
	for _, u := range slices.Concat(c.RedirectURIs, c.PostLogoutRedirectURIs) {
		pu, err := url.Parse(u)
		if err != nil || !pu.IsAbs() || pu.Fragment != "" {
			return fmt.Errorf("oidctest: %q is not an absolute URI without fragment", u)
		}
	}
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	if c.Audience == "" {
		c.Audience = c.ID
	}
	o := &p.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	o.initLocked()
	o.clients[c.ID] = c
	return nil
}

// MustRegisterClient is like [Provider.RegisterClient] but calls t.Fatal on
// error.
func (p *Provider) MustRegisterClient(t testing.TB, c Client) {
	t.Helper()
	if err := p.RegisterClient(c); err != nil {
		t.Fatal(err)
	}
}

// SetOAuth replaces the settings of the OAuth endpoints. The maps are
// copied.
func (p *Provider) SetOAuth(s OAuthSettings) {
	s.UserClaims = maps.Clone(s.UserClaims)
	s.IDTokenClaims = maps.Clone(s.IDTokenClaims)
	s.AccessTokenClaims = maps.Clone(s.AccessTokenClaims)
	s.IDTokenSigning.Header = maps.Clone(s.IDTokenSigning.Header)
	p.oauth.mu.Lock()
	p.oauth.settings = s
	p.oauth.mu.Unlock()
}

// OAuthSettings returns the current settings of the OAuth endpoints, to be
// changed and given back to [Provider.SetOAuth].
func (p *Provider) OAuthSettings() OAuthSettings {
	p.oauth.mu.Lock()
	s := p.oauth.settings
	p.oauth.mu.Unlock()
	s.UserClaims = maps.Clone(s.UserClaims)
	s.IDTokenClaims = maps.Clone(s.IDTokenClaims)
	s.AccessTokenClaims = maps.Clone(s.AccessTokenClaims)
	s.IDTokenSigning.Header = maps.Clone(s.IDTokenSigning.Header)
	return s
}

// SetTokenFault makes token endpoint answers misbehave as f describes,
// until the next call; nil restores normal answers. f is copied.
//
// A fault that sets Status, Body, BodySize, Redirect or CloseConnection
// replaces the answer and the request is not processed (no code is
// consumed, no refresh token rotated), as with a provider that is down;
// without Body the body is {"error":"temporarily_unavailable"}. A fault
// with only Delay, Header or ContentType alters the real answer: the
// request is processed first, as when an answer is slow or lost on the
// way.
func (p *Provider) SetTokenFault(f *Fault) {
	f = f.clone()
	p.oauth.mu.Lock()
	p.oauth.tokenFault = f
	p.oauth.mu.Unlock()
}

// RevokeTokens invalidates every refresh token and every unused
// authorization code, as a provider does when a user's sessions are
// revoked.
func (p *Provider) RevokeTokens() {
	o := &p.oauth
	o.mu.Lock()
	clear(o.refresh)
	clear(o.retired)
	clear(o.codes)
	o.mu.Unlock()
}

// OAuthStats returns the counters of the OAuth endpoints.
func (p *Provider) OAuthStats() OAuthStats {
	o := &p.oauth
	return OAuthStats{
		Authorizations:       o.authorizations.Load(),
		CodeGrants:           o.codeGrants.Load(),
		RefreshGrants:        o.refreshGrants.Load(),
		TokenErrors:          o.tokenErrors.Load(),
		EndSessions:          o.endSessions.Load(),
		EndSessionPOSTs:      o.endSessionPOSTs.Load(),
		EndSessionHintsInURL: o.endSessionHintsInURL.Load(),
		RefreshReuses:        o.refreshReuses.Load(),

		ClientCredentialsGrants: o.clientCredentialsGrants.Load(),
		Registrations:           o.registrations.Load(),
		RegistrationErrors:      o.registrationErrors.Load(),
		MetadataFetches:         o.metadataFetches.Load(),
	}
}

// replacesAnswer reports whether f replaces the token endpoint's answer
// rather than altering it.
func (f *Fault) replacesAnswer() bool {
	return f != nil && (f.Status != 0 || f.Body != nil || f.BodySize > 0 || f.Redirect != "" || f.CloseConnection)
}

// EndSessionEndpoint returns {issuer}/logout, the discovery document's
// end_session_endpoint once a client is registered.
func (p *Provider) EndSessionEndpoint() string { return p.issuer + "/logout" }

// enabled reports whether a client has been registered.
func (o *oauthServer) enabled() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.clients != nil
}

// addDiscovery adds the OAuth members to a discovery document.
func (o *oauthServer) addDiscovery(p *Provider, doc map[string]any) {
	o.mu.Lock()
	on, omitIss := o.clients != nil, o.settings.OmitIssParameter
	registration, cimd := o.registration != nil, o.cimd != nil
	o.mu.Unlock()
	if !on {
		return
	}
	doc["end_session_endpoint"] = p.EndSessionEndpoint()
	doc["code_challenge_methods_supported"] = []string{"S256"}
	doc["grant_types_supported"] = []string{"authorization_code", "refresh_token", "client_credentials"}
	doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic", "client_secret_post", "none"}
	doc["scopes_supported"] = []string{"openid", "profile", "email", "offline_access"}
	doc["response_modes_supported"] = []string{"query"}
	if !omitIss {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	if registration {
		doc["registration_endpoint"] = p.RegistrationEndpoint()
	}
	if cimd {
		doc["client_id_metadata_document_supported"] = true
	}
}

// checkResource checks a resource parameter (RFC 8707 §2): an absolute URI
// without fragment.
func checkResource(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.IsAbs() && u.Fragment == "" && !strings.Contains(raw, "#")
}

// randomToken returns 32 random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// singleParams returns the parameters of form, refusing any given more than
// once (RFC 6749 §3.1 and §3.2).
func singleParams(form url.Values) (map[string]string, error) {
	m := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) != 1 {
			return nil, fmt.Errorf("parameter %s is repeated", k)
		}
		m[k] = v[0]
	}
	return m, nil
}

// isPKCEString reports whether s is 43 to 128 characters of the unreserved
// set (RFC 7636 §4.1, §4.2).
func isPKCEString(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
