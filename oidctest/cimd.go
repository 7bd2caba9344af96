package oidctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// ClientMetadataSettings configures Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document, the MCP authorization
// specification's recommended registration), turned on by
// [Provider.EnableClientMetadataDocuments].
type ClientMetadataSettings struct {
	// HTTPClient fetches the documents; default http.DefaultClient. Its
	// redirect policy is replaced: no redirect is followed (draft §4.1).
	HTTPClient *http.Client

	// AllowLoopbackHTTP accepts client_id URLs with the http scheme on a
	// loopback host (127.0.0.1, [::1], localhost), so that a test can serve
	// the document from an httptest server. By default only https URLs are
	// client identifiers, as the draft requires.
	AllowLoopbackHTTP bool

	// FetchTimeout bounds each fetch; default 5 s, as the library's
	// discovery and JWKS fetches (oidcauth.DefaultFetchTimeout).
	FetchTimeout time.Duration

	// MaxDocumentSize bounds a document's body; default 1 MiB, as the
	// library's fetches (oidcauth.DefaultMaxResponseSize).
	MaxDocumentSize int64
}

// EnableClientMetadataDocuments turns on the OAuth endpoints (as
// [Provider.RegisterClient] does) and accepts, as client_id, the URL of a
// client's metadata document; the discovery documents then say
// client_id_metadata_document_supported: true. Calling it again replaces the
// settings.
//
// At each authorization request whose client_id is such a URL, the provider
// fetches the document afresh and uses it only if every rule holds, in this
// order (otherwise the request is refused with a page, never redirected,
// RFC 6749 §4.1.2.1):
//
//  1. The client_id is an https URL with a path, without fragment, user
//     info, or "." / ".." segments (draft §3); http only on a loopback host
//     with AllowLoopbackHTTP.
//  2. The fetch follows no redirect, takes at most FetchTimeout and answers
//     200 with application/json (or application/…+json) in at most
//     MaxDocumentSize bytes (draft §4.1).
//  3. The document is a JSON object whose client_id equals the URL, byte for
//     byte (draft §4.1), with at least one redirect URI obeying the rules of
//     [Provider.EnableRegistration].
//  4. token_endpoint_auth_method is absent or "none", and there is no
//     client_secret: a document cannot share a secret (draft §4.1); the
//     client is public and must use PKCE.
//  5. The authorization request's redirect_uri is one of the document's
//     (loopback http with any port, RFC 8252 §7.3).
//
// The token endpoint then knows the client as registered at its last
// authorization request. Fetches are counted in [OAuthStats].
func (p *Provider) EnableClientMetadataDocuments(s ClientMetadataSettings) {
	if s.FetchTimeout <= 0 {
		s.FetchTimeout = 5 * time.Second
	}
	if s.MaxDocumentSize <= 0 {
		s.MaxDocumentSize = 1 << 20
	}
	hc := s.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	cc := *hc
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	s.HTTPClient = &cc
	o := &p.oauth
	o.mu.Lock()
	o.initLocked()
	o.cimd = &s
	o.mu.Unlock()
}

var errRedirect = errors.New("redirects are not followed (draft-ietf-oauth-client-id-metadata-document §4.1)")

// checkClientIDURL is rule 1.
func checkClientIDURL(raw string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("client_id %q is not an absolute URL", raw)
	}
	if u.User != nil {
		return fmt.Errorf("client_id %q has user info", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("client_id %q has a fragment", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowLoopbackHTTP && isLoopbackHost(u.Hostname()):
	default:
		return fmt.Errorf("client_id %q must use https", raw)
	}
	if u.EscapedPath() == "" || u.EscapedPath() == "/" {
		return fmt.Errorf("client_id %q has no path", raw)
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("client_id %q has a dot segment", raw)
		}
	}
	return nil
}

// isURLClientID reports whether id is meant as a metadata document URL.
func isURLClientID(id string) bool {
	return strings.HasPrefix(id, "https://") || strings.HasPrefix(id, "http://")
}

// clientMetadata is the part of a metadata document oidctest interprets.
type clientMetadata struct {
	ClientID                string   `json:"client_id"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	GrantTypes              []string `json:"grant_types"`
	ClientSecret            *string  `json:"client_secret"`
}

// metadataClient fetches and checks the document at id (rules 1-4) and
// registers the client it describes.
func (p *Provider) metadataClient(ctx context.Context, id string, s *ClientMetadataSettings) (Client, error) {
	if err := checkClientIDURL(id, s.AllowLoopbackHTTP); err != nil {
		return Client{}, err
	}
	p.oauth.metadataFetches.Add(1)
	body, err := fetchDocument(ctx, s, id)
	if err != nil {
		return Client{}, err
	}
	var md clientMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return Client{}, fmt.Errorf("the client metadata document is not a valid JSON object: %w", err)
	}
	if md.ClientID != id {
		return Client{}, errors.New("the client metadata document's client_id is not its URL")
	}
	if len(md.RedirectURIs) == 0 {
		return Client{}, errors.New("the client metadata document has no redirect_uris")
	}
	for _, u := range md.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return Client{}, err
		}
	}
	if m := md.TokenEndpointAuthMethod; m != "" && m != "none" {
		return Client{}, fmt.Errorf("token_endpoint_auth_method %q is not supported for metadata documents", m)
	}
	if md.ClientSecret != nil {
		return Client{}, errors.New("a client metadata document must not carry a client_secret")
	}
	for _, g := range md.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return Client{}, fmt.Errorf("grant type %q is not supported for metadata documents", g)
		}
	}
	c := Client{ID: id, Audience: id, RedirectURIs: slices.Clone(md.RedirectURIs), loopbackAnyPort: true}
	o := &p.oauth
	o.mu.Lock()
	o.clients[id] = c
	o.mu.Unlock()
	return c, nil
}

// fetchDocument is rule 2.
func fetchDocument(ctx context.Context, s *ClientMetadataSettings, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil, fmt.Errorf("GET %s: content type %q is not JSON", u, resp.Header.Get("Content-Type"))
	}
	if resp.ContentLength > s.MaxDocumentSize {
		return nil, fmt.Errorf("GET %s: body of %d bytes exceeds the limit of %d", u, resp.ContentLength, s.MaxDocumentSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > s.MaxDocumentSize {
		return nil, fmt.Errorf("GET %s: body exceeds the limit of %d bytes", u, s.MaxDocumentSize)
	}
	return body, nil
}
