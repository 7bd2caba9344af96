// Package oidcmcp protects a Model Context Protocol server built with the
// official Go SDK (github.com/modelcontextprotocol/go-sdk) with an
// oidcauth.Authorizer, as the MCP authorization specification requires
// (revisions 2025-06-18 onwards):
//
//   - the protected-resource metadata (RFC 9728) is served at the
//     well-known location derived from the resource identifier (§3.1);
//   - every 401 says where it is: WWW-Authenticate: Bearer
//     resource_metadata="…" (§5.1), with error="invalid_token" for a bad
//     token and scope="…" when scopes are required;
//   - only tokens issued for this resource are accepted (the Authorizer's
//     audience is the RFC 8707 resource: no token passthrough);
//   - a token without the required scopes gets 403 insufficient_scope with
//     scope and resource_metadata, so that clients step up.
//
// The answers are the root middleware's (oidcauth.Authorizer.Answer), with
// the resource_metadata attribute added. Behind the door, the SDK's own
// extension point fills the request's auth.TokenInfo (so that the SDK binds
// sessions to the token's subject and tools see req.Extra.TokenInfo), and
// the verified *oidcauth.Claims travel with it: tools read them with
// [Claims] and check per-tool scopes with [CheckScopes].
//
// In a few lines:
//
//	authz, _ := oidcauth.New(ctx, oidcauth.Config{Issuer: issuer, Audiences: []string{resource}})
//	guard, _ := oidcmcp.New(oidcmcp.Config{Authorizer: authz, Resource: resource, Scopes: []string{"mcp"}})
//	server := mcp.NewServer(&mcp.Implementation{Name: "demo"}, nil)
//	mux := http.NewServeMux()
//	mux.Handle(guard.MetadataPath(), guard.MetadataHandler())
//	mux.Handle("/mcp", guard.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
package oidcmcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/oidcauth/oidcauth"
)

// Config configures a [Guard].
type Config struct {
	// Authorizer validates the tokens. Required. Its accepted audience must
	// be the Resource (Config.Audiences = []string{Resource}): the MCP
	// specification forbids accepting tokens issued for another resource.
	Authorizer *oidcauth.Authorizer

	// Resource is this server's resource identifier (RFC 8707, RFC 9728
	// §1.2), e.g. "https://mcp.example.com/mcp": an absolute https URL, or
	// http on a loopback host, without fragment. Required.
	Resource string

	// AuthorizationServers are the issuers listed in the metadata
	// (authorization_servers). Default: [Authorizer.Issuer()].
	AuthorizationServers []string

	// Scopes are required of every token at the door (all of them), and
	// listed in the metadata as scopes_supported with ExtraScopes. Default:
	// none required.
	Scopes []string

	// ExtraScopes are further scopes listed in scopes_supported, for
	// example the ones single tools check with [CheckScopes].
	ExtraScopes []string

	// ResourceName and ResourceDocumentation fill the metadata's
	// resource_name and resource_documentation (RFC 9728 §2).
	ResourceName, ResourceDocumentation string
}

// Guard is the door of an MCP server. Its methods are safe for concurrent
// use.
type Guard struct {
	authz       *oidcauth.Authorizer
	required    oidcauth.Requirement // nil when no scope is required
	scope       string               // the required scopes, space-delimited
	meta        *oauthex.ProtectedResourceMetadata
	metaPath    string
	metaURL     string
	rmAttr      string // `, resource_metadata="…"`
	sdkProtect  func(http.Handler) http.Handler
	metaHandler http.Handler
}

// New checks cfg and returns its Guard.
func New(cfg Config) (*Guard, error) {
	if cfg.Authorizer == nil {
		return nil, errors.New("oidcauth: oidcmcp: Config.Authorizer is required")
	}
	if err := oidcauth.CheckURL("resource", cfg.Resource, false); err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: %w", err)
	}
	metaURL, metaPath, err := metadataLocation(cfg.Resource)
	if err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: %w", err)
	}
	for _, s := range append(append([]string{}, cfg.Scopes...), cfg.ExtraScopes...) {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return nil, fmt.Errorf("oidcauth: oidcmcp: scope %q is not a scope token (RFC 6749 §3.3)", s)
		}
	}
	servers := cfg.AuthorizationServers
	if len(servers) == 0 {
		servers = []string{cfg.Authorizer.Issuer()}
	}
	g := &Guard{
		authz:    cfg.Authorizer,
		metaPath: metaPath,
		metaURL:  metaURL,
		rmAttr:   `, resource_metadata="` + metaURL + `"`,
		meta: &oauthex.ProtectedResourceMetadata{
			Resource:               cfg.Resource,
			AuthorizationServers:   append([]string{}, servers...),
			ScopesSupported:        dedupe(append(append([]string{}, cfg.Scopes...), cfg.ExtraScopes...)),
			BearerMethodsSupported: []string{"header"},
			ResourceName:           cfg.ResourceName,
			ResourceDocumentation:  cfg.ResourceDocumentation,
		},
	}
	if len(cfg.Scopes) > 0 {
		g.required = oidcauth.RequireScopes(cfg.Scopes...)
		g.scope = strings.Join(cfg.Scopes, " ")
	}
	// The SDK's middleware runs behind our door only to fill its TokenInfo;
	// the token was validated already, and every refusal is ours.
	g.sdkProtect = auth.RequireBearerToken(g.Verifier(), &auth.RequireBearerTokenOptions{ResourceMetadataURL: metaURL})
	g.metaHandler = auth.ProtectedResourceMetadataHandler(g.meta)
	return g, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// metadataLocation derives the metadata URL and path from the resource
// identifier (RFC 9728 §3.1): the well-known segment is inserted between
// the host and the path, so https://api.example.com/mcp gives
// https://api.example.com/.well-known/oauth-protected-resource/mcp; a query
// is kept.
func metadataLocation(resource string) (string, string, error) {
	u, err := url.Parse(resource)
	if err != nil {
		return "", "", err
	}
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	m := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
	rawPath := "/.well-known/oauth-protected-resource" + p
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return "", "", err
	}
	m.Path, m.RawPath = path, rawPath
	return m.String(), path, nil
}

// Metadata returns the protected-resource metadata (RFC 9728 §2), the
// SDK's type. Do not modify it.
func (g *Guard) Metadata() *oauthex.ProtectedResourceMetadata { return g.meta }

// MetadataURL returns where the metadata is served, as the challenges say.
func (g *Guard) MetadataURL() string { return g.metaURL }

// MetadataPath returns the path of MetadataURL, to register the handler on
// a mux: "/.well-known/oauth-protected-resource/mcp" for a resource
// ".../mcp".
func (g *Guard) MetadataPath() string { return g.metaPath }

// MetadataHandler serves the metadata as application/json with CORS for
// browser-based clients (the SDK's auth.ProtectedResourceMetadataHandler).
func (g *Guard) MetadataHandler() http.Handler { return g.metaHandler }

// Protect is the door: a request without a valid token for this resource,
// or without the required scopes, gets the Authorizer's answer with
// resource_metadata added (and scope on a 401 when scopes are required);
// others reach next with the claims in their context
// (oidcauth.ClaimsFromContext) and the SDK's auth.TokenInfo filled.
func (g *Guard) Protect(next http.Handler) http.Handler {
	inner := g.sdkProtect(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := g.authz.Authenticate(r)
		if err == nil && g.required != nil {
			err = g.required.Check(c)
		}
		if err != nil {
			g.WriteError(w, err)
			return
		}
		inner.ServeHTTP(w, r.WithContext(oidcauth.ContextWithClaims(r.Context(), c)))
	})
}

// Answer is the Authorizer's answer for err with this resource's
// attributes added to its challenges: scope on a 401 when scopes are
// required (so that a client asks for them at once), resource_metadata on
// every challenge (RFC 9728 §5.1).
func (g *Guard) Answer(err error) oidcauth.Answer {
	ans := g.authz.Answer(err)
	for i := range ans.Challenges {
		if ans.Status == http.StatusUnauthorized && ans.Challenges[i].Scope == "" {
			ans.Challenges[i].Scope = g.scope
		}
	}
	return ans
}

// WriteError writes Answer(err).
func (g *Guard) WriteError(w http.ResponseWriter, err error) {
	ans := g.Answer(err)
	g.write(w, &ans)
}

// write writes ans with resource_metadata as the last attribute of each
// challenge: the place oidcauth's Challenge renders it.
func (g *Guard) write(w http.ResponseWriter, ans *oidcauth.Answer) {
	for i, c := range ans.Challenges {
		v := c.String() + g.rmAttr
		if c.Realm == "" && c.Error == "" && c.ErrorDescription == "" && c.Scope == "" {
			v = c.String() + " " + g.rmAttr[2:]
		}
		if i == 0 {
			w.Header().Set("WWW-Authenticate", v)
		} else {
			w.Header().Add("WWW-Authenticate", v)
		}
	}
	a := *ans
	a.Challenges = nil // written above
	a.Write(w)
}

// claimsKey is the TokenInfo.Extra member that carries the claims.
const claimsKey = "oidcauth.claims"

// Verifier is the SDK's extension point (auth.TokenVerifier): behind
// [Guard.Protect] it converts the claims already verified; used on its own
// (with auth.RequireBearerToken) it validates the token with the Authorizer
// and checks the required scopes. The TokenInfo carries the scopes, the
// expiry, the subject as UserID (which the SDK uses to bind a session to
// its user) and the claims in Extra (read them with [Claims]).
func (g *Guard) Verifier() auth.TokenVerifier {
	return func(ctx context.Context, token string, r *http.Request) (*auth.TokenInfo, error) {
		var c *oidcauth.Claims
		if r != nil {
			c, _ = oidcauth.ClaimsFromContext(r.Context())
		}
		if c == nil {
			var err error
			if c, err = g.authz.Validate(ctx, token); err != nil {
				return nil, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err)
			}
			if g.required != nil {
				if err := g.required.Check(c); err != nil {
					return nil, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err)
				}
			}
		}
		return &auth.TokenInfo{
			Scopes:     c.Scopes,
			Expiration: c.ExpiresAt,
			UserID:     c.Issuer + " " + c.Subject,
			Extra:      map[string]any{claimsKey: c},
		}, nil
	}
}

// Claims returns the verified claims carried by a TokenInfo made by
// [Guard.Verifier]: in a tool handler, Claims(req.Extra.TokenInfo).
func Claims(ti *auth.TokenInfo) (*oidcauth.Claims, bool) {
	if ti == nil {
		return nil, false
	}
	c, ok := ti.Extra[claimsKey].(*oidcauth.Claims)
	return c, ok && c != nil
}

// CheckScopes reports whether the token behind a tool call carries all of
// scopes: nil, or an error wrapping oidcauth.ErrInsufficientScope that
// names what is needed (never token content). Returned from a tool handler,
// it becomes the tool's error result (CallToolResult.IsError), as the SDK
// does with every handler error. Without verified claims (no Guard in
// front) it refuses with oidcauth.ErrNoToken.
func CheckScopes(ti *auth.TokenInfo, scopes ...string) error {
	c, ok := Claims(ti)
	if !ok {
		return fmt.Errorf("%w (no verified token behind this tool call)", oidcauth.ErrNoToken)
	}
	if err := oidcauth.RequireScopes(scopes...).Check(c); err != nil {
		return fmt.Errorf("%w (this tool needs scope %q)", err, strings.Join(scopes, " "))
	}
	return nil
}
