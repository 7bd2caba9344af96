package oidctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// RegistrationSettings configures the dynamic client registration endpoint
// (RFC 7591) turned on by [Provider.EnableRegistration]. The zero value is
// open registration, as MCP clients expect.
type RegistrationSettings struct {
	// InitialAccessToken, when set, must be sent as a bearer token with
	// every registration request (RFC 7591 §3); without it registration is
	// open to anyone.
	InitialAccessToken string

	// MaxClients bounds how many clients can be registered dynamically;
	// later requests are refused. Default: 10000.
	MaxClients int
}

// maxRegistrationBody bounds a registration request's body.
const maxRegistrationBody = 64 << 10

// EnableRegistration turns on the OAuth endpoints (as
// [Provider.RegisterClient] does) and a dynamic client registration endpoint
// at {issuer}/register (RFC 7591 §3), listed in the discovery documents as
// registration_endpoint. Calling it again replaces the settings.
//
// A registration request is a POST with a JSON object of client metadata
// (RFC 7591 §2). The endpoint applies these rules, in this order:
//
//  1. POST only (405 otherwise); with InitialAccessToken set, the request
//     must carry it as a bearer token (401 invalid_token otherwise).
//  2. The body is application/json, at most 64 KiB, one JSON object whose
//     known members have their RFC 7591 types (400 invalid_client_metadata).
//  3. token_endpoint_auth_method is "none" (a public client),
//     "client_secret_basic" (the default, RFC 7591 §2) or
//     "client_secret_post"; grant_types (default ["authorization_code"]) are
//     among authorization_code, refresh_token and client_credentials, the
//     last only for a client with a secret (RFC 6749 §4.4); response_types
//     (default ["code"]) is ["code"], and "code" goes with
//     authorization_code (RFC 7591 §2.1) (400 invalid_client_metadata).
//  4. redirect_uris, required with authorization_code, are absolute URIs
//     without fragment, https or http on a loopback host (127.0.0.1, [::1],
//     localhost) (400 invalid_redirect_uri). For loopback http redirect URIs
//     any port is accepted later, as RFC 8252 §7.3 requires: native clients
//     pick a free port at each run.
//  5. At most MaxClients registrations (400 invalid_client_metadata).
//
// The answer is 201 with the registered metadata (defaults filled in),
// client_id, client_id_issued_at and, for a confidential client,
// client_secret with client_secret_expires_at 0 (RFC 7591 §3.2.1); errors
// are 400 with {"error", "error_description"} (RFC 7591 §3.2.2). Other
// members of the request (client_name, scope, contacts, ...) are stored and
// echoed but not interpreted. Registered clients get the default audience
// (their client_id) unless the authorization or token request names a
// resource (RFC 8707).
func (p *Provider) EnableRegistration(s RegistrationSettings) {
	if s.MaxClients <= 0 {
		s.MaxClients = 10000
	}
	o := &p.oauth
	o.mu.Lock()
	o.initLocked()
	o.registration = &s
	o.mu.Unlock()
}

// RegistrationEndpoint returns {issuer}/register, the discovery document's
// registration_endpoint once [Provider.EnableRegistration] was called.
func (p *Provider) RegistrationEndpoint() string { return p.issuer + "/register" }

// registrationRequest is the part of RFC 7591 §2 metadata that oidctest
// interprets.
type registrationRequest struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	ClientSecret            *string  `json:"client_secret"`
}

// registrationError is an RFC 7591 §3.2.2 error.
type registrationError struct {
	code, desc string
}

func (e *registrationError) Error() string { return e.code + ": " + e.desc }

func badMetadata(format string, args ...any) *registrationError {
	return &registrationError{"invalid_client_metadata", fmt.Sprintf(format, args...)}
}

func (p *Provider) register(w http.ResponseWriter, r *http.Request) {
	o := &p.oauth
	o.mu.Lock()
	settings := o.registration
	o.mu.Unlock()
	if settings == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "the registration endpoint takes POST")
		return
	}
	if settings.InitialAccessToken != "" {
		if r.Header.Get("Authorization") != "Bearer "+settings.InitialAccessToken {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			writeJSONError(w, http.StatusUnauthorized, "invalid_token", "an initial access token is required")
			return
		}
	}
	body, rerr := readRegistration(r)
	if rerr == nil {
		var resp map[string]any
		resp, rerr = p.registerClient(body, settings)
		if rerr == nil {
			o.registrations.Add(1)
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Pragma", "no-cache")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			b, _ := marshal(resp)
			w.Write(b) //nolint:errcheck
			return
		}
	}
	o.registrationErrors.Add(1)
	writeJSONError(w, http.StatusBadRequest, rerr.code, rerr.desc)
}

// readRegistration reads a registration request's JSON body (rule 2).
func readRegistration(r *http.Request) ([]byte, *registrationError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, badMetadata("the request body must be application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRegistrationBody+1))
	if err != nil {
		return nil, badMetadata("the request body could not be read")
	}
	if len(body) > maxRegistrationBody {
		return nil, badMetadata("the request body exceeds %d bytes", maxRegistrationBody)
	}
	return body, nil
}

// registerClient validates RFC 7591 metadata (rules 2-5) and registers the
// client, returning the registration response.
func (p *Provider) registerClient(body []byte, s *RegistrationSettings) (map[string]any, *registrationError) {
	var all map[string]any
	if err := json.Unmarshal(body, &all); err != nil || all == nil {
		return nil, badMetadata("the request body must be a JSON object")
	}
	var req registrationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, badMetadata("%s has the wrong type", te.Field)
		}
		return nil, badMetadata("the request body must be a JSON object")
	}
	if req.ClientSecret != nil {
		return nil, badMetadata("client_secret is issued by the server, not chosen by the client")
	}
	method := req.TokenEndpointAuthMethod
	if method == "" {
		method = "client_secret_basic"
	}
	if !slices.Contains([]string{"none", "client_secret_basic", "client_secret_post"}, method) {
		return nil, badMetadata("token_endpoint_auth_method %q is not supported", method)
	}
	grants := req.GrantTypes
	if len(grants) == 0 {
		grants = []string{"authorization_code"}
	}
	for _, g := range grants {
		if !slices.Contains([]string{"authorization_code", "refresh_token", "client_credentials"}, g) {
			return nil, badMetadata("grant type %q is not supported", g)
		}
	}
	if slices.Contains(grants, "client_credentials") && method == "none" {
		return nil, badMetadata("client_credentials needs a confidential client")
	}
	responses := req.ResponseTypes
	if len(responses) == 0 {
		responses = []string{"code"}
	}
	for _, rt := range responses {
		if rt != "code" {
			return nil, badMetadata("response type %q is not supported", rt)
		}
	}
	codeFlow := slices.Contains(grants, "authorization_code")
	if codeFlow != slices.Contains(responses, "code") && len(req.ResponseTypes) > 0 {
		return nil, badMetadata("response_types and grant_types do not match (RFC 7591 §2.1)")
	}
	if codeFlow && len(req.RedirectURIs) == 0 {
		return nil, &registrationError{"invalid_redirect_uri", "redirect_uris is required with authorization_code"}
	}
	for _, u := range req.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, &registrationError{"invalid_redirect_uri", err.Error()}
		}
	}

	now := p.now()
	c := Client{ID: randomToken()[:22], RedirectURIs: slices.Clone(req.RedirectURIs), loopbackAnyPort: true}
	c.Audience = c.ID
	if method != "none" {
		c.Secret = randomToken()
	}
	if !codeFlow {
		c.RedirectURIs = nil
	}
	o := &p.oauth
	o.mu.Lock()
	if o.dynamicClients >= s.MaxClients {
		o.mu.Unlock()
		return nil, badMetadata("no more clients can be registered")
	}
	o.dynamicClients++
	o.clients[c.ID] = c
	o.mu.Unlock()

	all["client_id"] = c.ID
	all["client_id_issued_at"] = now.Unix()
	all["token_endpoint_auth_method"] = method
	all["grant_types"] = grants
	all["response_types"] = responses
	if c.Secret != "" {
		all["client_secret"] = c.Secret
		all["client_secret_expires_at"] = 0
	}
	return all, nil
}

// checkRedirectURI is rule 4: an absolute URI without fragment, https or
// http on a loopback host.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("redirect URI %q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("redirect URI %q has a fragment", raw)
	}
	if u.User != nil {
		return fmt.Errorf("redirect URI %q has user info", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	}
	return fmt.Errorf("redirect URI %q must use https, or http on a loopback host", raw)
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP, the
// rule of oidcauth.IsLoopbackHost (which oidctest cannot import: the root
// package's tests import oidctest).
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowsRedirect reports whether uri is one of c's redirect URIs: equal
// byte for byte or, for a client registered dynamically or by metadata
// document, a loopback http URI that differs only in its port (RFC 8252
// §7.3).
func (c Client) allowsRedirect(uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if !c.loopbackAnyPort {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopbackHost(u.Hostname()) {
		return false
	}
	for _, reg := range c.RedirectURIs {
		ru, err := url.Parse(reg)
		if err != nil || ru.Scheme != "http" || !isLoopbackHost(ru.Hostname()) {
			continue
		}
		if ru.Hostname() == u.Hostname() && ru.EscapedPath() == u.EscapedPath() && ru.RawQuery == u.RawQuery && u.User == nil && u.Fragment == "" {
			return true
		}
	}
	return false
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Write(b) //nolint:errcheck
}
