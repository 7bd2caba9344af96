package oidcauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ResourceMetadata is an OAuth 2.0 protected resource metadata document
// (RFC 9728 §2): what a client needs to know to obtain a token for this
// API. Build it with Authorizer.ResourceMetadata or Issuers.ResourceMetadata
// (from the Config), or by hand, and serve it with Handler at the URL that
// ResourceMetadataURL derives from Resource (RFC 9728 §3.1).
//
// Optional members are omitted when zero (omitzero): a nil slice is left
// out, an empty non-nil slice is written as [] (RFC 9728 §2 gives [] a
// meaning for bearer_methods_supported: no method).
type ResourceMetadata struct {
	// Resource is the protected resource's identifier (RFC 8707 §2), an
	// https URL without fragment. Required; clients check that it equals
	// the URL they derived the metadata URL from (RFC 9728 §3.3).
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers (RFC 8414) of the
	// authorization servers that issue tokens for this resource.
	AuthorizationServers []string `json:"authorization_servers,omitzero"`
	// JWKSURI is the URL of the resource's own JWK Set (for signed
	// responses), not the authorization server's.
	JWKSURI string `json:"jwks_uri,omitzero"`
	// ScopesSupported are the scopes used in requests to the resource.
	ScopesSupported []string `json:"scopes_supported,omitzero"`
	// BearerMethodsSupported are "header", "body" and "query" (RFC 6750 §2).
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitzero"`
	// ResourceSigningAlgValuesSupported are the JWS algorithms the
	// resource signs its responses with.
	ResourceSigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitzero"`
	// ResourceName is a human-readable name of the resource.
	ResourceName string `json:"resource_name,omitzero"`
	// ResourceDocumentation is the URL of developer documentation.
	ResourceDocumentation string `json:"resource_documentation,omitzero"`
	// ResourcePolicyURI and ResourceTOSURI are the URLs of the resource's
	// policy on data use and its terms of service.
	ResourcePolicyURI string `json:"resource_policy_uri,omitzero"`
	ResourceTOSURI    string `json:"resource_tos_uri,omitzero"`
	// TLSClientCertificateBoundAccessTokens says the resource supports
	// certificate-bound tokens (RFC 8705).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitzero"`
	// AuthorizationDetailsTypesSupported are the RFC 9396 types accepted.
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitzero"`
	// DPoPSigningAlgValuesSupported are the JWS algorithms accepted for
	// DPoP proofs (RFC 9449).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitzero"`
	// DPoPBoundAccessTokensRequired says every token must be DPoP-bound.
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitzero"`
}

// wellKnownResource is the well-known URI suffix of RFC 9728 §3.
const wellKnownResource = "/.well-known/oauth-protected-resource"

// ResourceMetadataURL returns the URL of the metadata of the protected
// resource identified by resource (RFC 9728 §3.1): the well-known suffix
// "/.well-known/oauth-protected-resource" inserted between the host (with
// its port) and the path, a terminating "/" of the path removed first:
//
//	https://api.example.com          → https://api.example.com/.well-known/oauth-protected-resource
//	https://api.example.com/         → https://api.example.com/.well-known/oauth-protected-resource
//	https://api.example.com/mcp      → https://api.example.com/.well-known/oauth-protected-resource/mcp
//	http://127.0.0.1:8090/a/b/       → http://127.0.0.1:8090/.well-known/oauth-protected-resource/a/b
//
// resource must be an absolute http or https URL with a host and without
// user information, query or fragment (RFC 8707 §2; RFC 9728 §1.2).
func ResourceMetadataURL(resource string) (string, error) {
	u, err := parseResource(resource)
	if err != nil {
		return "", err
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + wellKnownResource + path, nil
}

// parseResource checks the shape of a resource identifier (not the
// https rule, which New applies with the InsecureAllowHTTP exception).
func parseResource(resource string) (*url.URL, error) {
	u, err := url.Parse(resource)
	switch {
	case err != nil:
		return nil, fmt.Errorf("oidcauth: resource %q is not a URL: %w", resource, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Opaque != "":
		return nil, fmt.Errorf("oidcauth: resource %q is not an absolute http or https URL", resource)
	case u.User != nil:
		return nil, fmt.Errorf("oidcauth: resource %q must not contain user info", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("oidcauth: resource %q must not contain a query (RFC 9728 §3.1)", resource)
	case u.Fragment != "" || strings.Contains(resource, "#"):
		return nil, fmt.Errorf("oidcauth: resource %q must not contain a fragment (RFC 8707 §2)", resource)
	}
	return u, nil
}

// checkResource is New's rule for Config.Resource: the shape of
// parseResource, and https unless the host is loopback or insecureHTTP.
func checkResource(resource string, insecureHTTP bool) error {
	if _, err := parseResource(resource); err != nil {
		return err
	}
	if err := CheckURL("resource", resource, insecureHTTP); err != nil {
		return fmt.Errorf("oidcauth: %w", err)
	}
	return nil
}

// resourceInfo is what an Authorizer or Issuers knows about the resource
// it protects, computed once by New.
type resourceInfo struct {
	meta    ResourceMetadata
	url     string       // ResourceMetadataURL(meta.Resource); "" without a resource
	handler http.Handler // meta.Handler(), or 404 without a resource
}

func newResourceInfo(meta ResourceMetadata) (resourceInfo, error) {
	if meta.Resource == "" {
		return resourceInfo{handler: http.NotFoundHandler()}, nil
	}
	u, err := ResourceMetadataURL(meta.Resource)
	if err != nil {
		return resourceInfo{}, err
	}
	return resourceInfo{meta: meta, url: u, handler: meta.Handler()}, nil
}

// copyMeta returns m with its own copies of the slices.
func copyMeta(m ResourceMetadata) ResourceMetadata {
	clone := func(s []string) []string {
		if s == nil {
			return nil
		}
		return append([]string{}, s...)
	}
	m.AuthorizationServers = clone(m.AuthorizationServers)
	m.ScopesSupported = clone(m.ScopesSupported)
	m.BearerMethodsSupported = clone(m.BearerMethodsSupported)
	m.ResourceSigningAlgValuesSupported = clone(m.ResourceSigningAlgValuesSupported)
	m.AuthorizationDetailsTypesSupported = clone(m.AuthorizationDetailsTypesSupported)
	m.DPoPSigningAlgValuesSupported = clone(m.DPoPSigningAlgValuesSupported)
	return m
}

// ResourceMetadata returns the metadata document of the resource the
// Authorizer protects (RFC 9728 §2), built from the Config: resource is
// Config.Resource, authorization_servers the Issuer, scopes_supported
// Config.ScopesSupported, bearer_methods_supported ["header"] (and
// "query" with InsecureAllowQueryToken), resource_name and
// resource_documentation Config.ResourceName and ResourceDocumentation.
// Its Resource is "" when Config.Resource is not set. The result is a
// copy: changing it changes nothing in the Authorizer.
func (a *Authorizer) ResourceMetadata() ResourceMetadata { return copyMeta(a.resource.meta) }

// ResourceMetadataHandler serves ResourceMetadata as Handler does; mount
// it at the path of ResourceMetadataURL(Config.Resource). Without
// Config.Resource it answers 404.
func (a *Authorizer) ResourceMetadataHandler() http.Handler { return a.resource.handler }

// ResourceMetadata returns the metadata document of the resource the
// Issuers protect: as Authorizer.ResourceMetadata, from IssuersConfig,
// with authorization_servers listing every fixed issuer in the order of
// IssuersConfig.Issuers, then for each template the issuers of its listed
// Tenants (tenants admitted by AllowTenant alone are not listed: the
// document is fixed at NewIssuers). bearer_methods_supported is
// ["header"].
func (m *Issuers) ResourceMetadata() ResourceMetadata { return copyMeta(m.resource.meta) }

// ResourceMetadataHandler serves Issuers.ResourceMetadata as Handler
// does. Without IssuersConfig.Resource it answers 404.
func (m *Issuers) ResourceMetadataHandler() http.Handler { return m.resource.handler }

// Handler returns a handler serving m as JSON (RFC 9728 §3.2). The
// document is encoded once, here: later changes to m are not seen, and
// a request costs no encoding. The handler answers
//
//   - GET and HEAD: 200 with Content-Type: application/json,
//     Cache-Control: public, max-age=3600 (the document changes only
//     with the configuration, and clients fetch it after every 401), an
//     ETag, and 304 for a matching If-None-Match;
//   - OPTIONS: 204, a CORS preflight answer;
//   - anything else: 405 with Allow: GET, HEAD, OPTIONS.
//
// Every answer carries Access-Control-Allow-Origin: *: the document is
// public, carries no credential, and browser-based clients (MCP clients
// among them) must be able to read it from another origin.
//
// Handler serves whatever path it is mounted at; mount it at the path of
// ResourceMetadataURL(m.Resource).
func (m ResourceMetadata) Handler() http.Handler {
	body, err := json.Marshal(m)
	if err != nil { // cannot happen: only strings, bools and slices of strings
		panic("oidcauth: encoding ResourceMetadata: " + err.Error())
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	return &metadataHandler{
		body:   body,
		etag:   []string{etag},
		length: []string{strconv.Itoa(len(body))},
	}
}

// metadataHandler serves a precomputed document. The header values are
// slices shared by every response, each of length and capacity 1, so
// that setting them costs nothing and appending to them copies.
type metadataHandler struct {
	body   []byte
	etag   []string
	length []string
}

var (
	hdrJSON       = []string{"application/json"}
	hdrPublic     = []string{"public, max-age=3600"}
	hdrAnyOrigin  = []string{"*"}
	hdrAllow      = []string{"GET, HEAD, OPTIONS"}
	hdrAllowHdrs  = []string{"*"}
	hdrPreflightS = []string{"86400"}
)

func (h *metadataHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd["Access-Control-Allow-Origin"] = hdrAnyOrigin[:1:1]
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		hd["Access-Control-Allow-Methods"] = hdrAllow[:1:1]
		hd["Access-Control-Allow-Headers"] = hdrAllowHdrs[:1:1]
		hd["Access-Control-Max-Age"] = hdrPreflightS[:1:1]
		hd["Allow"] = hdrAllow[:1:1]
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		hd["Allow"] = hdrAllow[:1:1]
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	hd["Cache-Control"] = hdrPublic[:1:1]
	hd["Etag"] = h.etag[:1:1]
	if etagMatch(r.Header["If-None-Match"], h.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd["Content-Type"] = hdrJSON[:1:1]
	hd["Content-Length"] = h.length[:1:1]
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(h.body) //nolint:errcheck
	}
}

// etagMatch reports whether an If-None-Match field (RFC 9110 §13.1.2)
// matches etag: "*", or a list holding etag with or without the weak
// prefix W/ (the weak comparison). It allocates nothing.
func etagMatch(fields []string, etag string) bool {
	for _, f := range fields {
		for f != "" {
			var item string
			item, f, _ = strings.Cut(f, ",")
			item = strings.Trim(item, " \t")
			if item == "*" {
				return true
			}
			item = strings.TrimPrefix(item, "W/")
			if item == etag {
				return true
			}
		}
	}
	return false
}
