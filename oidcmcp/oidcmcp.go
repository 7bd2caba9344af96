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
// The answers are the root middleware's (oidcauth.Authorizer.Answer with
// oidcauth.Config.Resource), with scope added to 401s when scopes are
// required. Behind the door, the SDK's own
// extension point fills the request's auth.TokenInfo (so that the SDK binds
// sessions to the token's subject and tools see req.Extra.TokenInfo), and
// the verified *oidcauth.Claims travel with it: tools read them with
// [Claims] and check per-tool scopes with [CheckScopes].
//
// In a few lines:
//
//	authz, _ := oidcauth.New(ctx, oidcauth.Config{Issuer: issuer, Resource: resource})
//	guard, _ := oidcmcp.New(oidcmcp.Config{Authorizer: authz, Scopes: []string{"mcp"}})
//	server := mcp.NewServer(&mcp.Implementation{Name: "demo"}, nil)
//	mux := http.NewServeMux()
//	mux.Handle(guard.MetadataPath(), guard.MetadataHandler())
//	mux.Handle("/mcp", guard.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
package oidcmcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/oidcauth/oidcauth"
)

// Config configures a [Guard].
type Config struct {
	// Authorizer validates the tokens. Required. Configure it with
	// oidcauth.Config.Resource set to the resource identifier: its accepted
	// audience is then the resource (the MCP specification forbids
	// accepting tokens issued for another resource), its challenges carry
	// resource_metadata, and its metadata document is the one served.
	Authorizer *oidcauth.Authorizer

	// Resource is this server's resource identifier (RFC 8707, RFC 9728
	// §1.2), e.g. "https://mcp.example.com/mcp". Default: the Authorizer's
	// Config.Resource; when both are set they must be equal. Set it here
	// only for an Authorizer configured with Audiences alone: the Guard then
	// adds resource_metadata to its challenges itself.
	Resource string

	// AuthorizationServers are the issuers listed in the metadata
	// (authorization_servers). Default: the Authorizer's
	// (oidcauth.Authorizer.ResourceMetadata).
	AuthorizationServers []string

	// Scopes are required of every token at the door (all of them) and
	// named in the 401 challenge (scope="…"), so that a client asks for
	// them at once.
	Scopes []string

	// ExtraScopes are further scopes single tools check with
	// [CheckScopes]. When Scopes or ExtraScopes are set, scopes_supported
	// is Scopes then ExtraScopes; otherwise the Authorizer's
	// Config.ScopesSupported.
	ExtraScopes []string

	// ResourceName and ResourceDocumentation replace the metadata's
	// resource_name and resource_documentation (RFC 9728 §2) when set.
	ResourceName, ResourceDocumentation string
}

// Guard is the door of an MCP server. Its methods are safe for concurrent
// use.
type Guard struct {
	authz       *oidcauth.Authorizer
	required    oidcauth.Requirement // nil when no scope is required
	scope       string               // the required scopes, space-delimited
	meta        oidcauth.ResourceMetadata
	sdkMeta     *oauthex.ProtectedResourceMetadata
	metaPath    string
	metaURL     string
	sdkProtect  func(http.Handler) http.Handler
	metaHandler http.Handler
	answers     answers // rendered refusals
}

// New checks cfg and returns its Guard.
func New(cfg Config) (*Guard, error) {
	if cfg.Authorizer == nil {
		return nil, errors.New("oidcauth: oidcmcp: Config.Authorizer is required")
	}
	meta := cfg.Authorizer.ResourceMetadata()
	resource := cfg.Resource
	switch {
	case resource == "" && meta.Resource == "":
		return nil, errors.New("oidcauth: oidcmcp: the resource is required (oidcauth.Config.Resource of the Authorizer, or Config.Resource)")
	case resource == "":
		resource = meta.Resource
	case meta.Resource != "" && meta.Resource != resource:
		return nil, fmt.Errorf("oidcauth: oidcmcp: Config.Resource %q differs from the Authorizer's %q", resource, meta.Resource)
	}
	if err := oidcauth.CheckURL("resource", resource, false); err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: %w", err)
	}
	metaURL, err := oidcauth.ResourceMetadataURL(resource)
	if err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: %w", err) // the root's message has the prefix once
	}
	u, err := url.Parse(metaURL)
	if err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: %w", err)
	}
	for _, s := range append(append([]string{}, cfg.Scopes...), cfg.ExtraScopes...) {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return nil, fmt.Errorf("oidcauth: oidcmcp: scope %q is not a scope token (RFC 6749 §3.3)", s)
		}
	}
	if meta.Resource == "" {
		meta = oidcauth.ResourceMetadata{Resource: resource, AuthorizationServers: []string{cfg.Authorizer.Issuer()}, BearerMethodsSupported: []string{"header"}}
	}
	if len(cfg.AuthorizationServers) > 0 {
		meta.AuthorizationServers = append([]string{}, cfg.AuthorizationServers...)
	}
	if len(cfg.Scopes)+len(cfg.ExtraScopes) > 0 {
		meta.ScopesSupported = dedupe(append(append([]string{}, cfg.Scopes...), cfg.ExtraScopes...))
	}
	if cfg.ResourceName != "" {
		meta.ResourceName = cfg.ResourceName
	}
	if cfg.ResourceDocumentation != "" {
		meta.ResourceDocumentation = cfg.ResourceDocumentation
	}
	g := &Guard{authz: cfg.Authorizer, meta: meta, metaPath: u.Path, metaURL: metaURL, metaHandler: meta.Handler()}
	// The SDK's type, for code that works with the SDK: the same JSON.
	b, err := json.Marshal(meta)
	if err == nil {
		err = json.Unmarshal(b, &g.sdkMeta)
	}
	if err != nil {
		return nil, fmt.Errorf("oidcauth: oidcmcp: metadata: %w", err)
	}
	if len(cfg.Scopes) > 0 {
		g.required = oidcauth.RequireScopes(cfg.Scopes...)
		g.scope = strings.Join(cfg.Scopes, " ")
	}
	// The SDK's middleware runs behind our door only to fill its TokenInfo;
	// the token was validated already, and every refusal is ours.
	g.sdkProtect = auth.RequireBearerToken(g.Verifier(), &auth.RequireBearerTokenOptions{ResourceMetadataURL: metaURL})
	return g, nil
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// Metadata returns the protected-resource metadata (RFC 9728 §2) as the
// SDK's type. Do not modify it.
func (g *Guard) Metadata() *oauthex.ProtectedResourceMetadata { return g.sdkMeta }

// ResourceMetadata returns the metadata document served, as oidcauth's
// type.
func (g *Guard) ResourceMetadata() oidcauth.ResourceMetadata { return g.meta }

// MetadataURL returns where the metadata is served, as the challenges say
// (oidcauth.ResourceMetadataURL of the resource).
func (g *Guard) MetadataURL() string { return g.metaURL }

// MetadataPath returns the path of MetadataURL, to register the handler on
// a mux: "/.well-known/oauth-protected-resource/mcp" for a resource
// ".../mcp".
func (g *Guard) MetadataPath() string { return g.metaPath }

// MetadataHandler serves the metadata (oidcauth.ResourceMetadata.Handler:
// application/json, cacheable, ETag, CORS for browser-based clients).
func (g *Guard) MetadataHandler() http.Handler { return g.metaHandler }

// Protect is the door: a request without a valid token for this resource,
// or without the required scopes, gets [Guard.Answer]; others reach next
// with the claims in their context (oidcauth.ClaimsFromContext) and the
// SDK's auth.TokenInfo filled (req.Extra.TokenInfo in tool handlers).
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

// Answer is the Authorizer's answer for err (oidcauth.Authorizer.Answer:
// resource_metadata in every challenge, scope with insufficient_scope),
// plus scope on a 401 when scopes are required, so that a client asks for
// them at once (MCP authorization, scope selection).
func (g *Guard) Answer(err error) oidcauth.Answer {
	ans := g.authz.Answer(err)
	if len(ans.Challenges) == 0 {
		return ans
	}
	ch := slices.Clone(ans.Challenges)
	for i := range ch {
		if ans.Status == http.StatusUnauthorized && ch[i].Scope == "" {
			ch[i].Scope = g.scope
		}
		if ch[i].ResourceMetadata == "" {
			ch[i].ResourceMetadata = g.metaURL
		}
	}
	ans.Challenges = ch
	return ans
}

// WriteError writes Answer(err).
func (g *Guard) WriteError(w http.ResponseWriter, err error) {
	ans := g.Answer(err)
	g.answers.write(w, &ans)
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
