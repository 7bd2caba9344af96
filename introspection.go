package oidcauth

import "time"

// IntrospectionConfig enables OAuth 2.0 token introspection (RFC 7662) for
// tokens that are not JWTs (opaque tokens), or for every token with All.
// Set it as Config.Introspection. The zero value of every field but
// ClientID and ClientSecret is the secure default.
type IntrospectionConfig struct {
	// Endpoint is the introspection endpoint (RFC 7662 §2). Default "":
	// the introspection_endpoint of the provider's metadata (RFC 8414 §2).
	// Same URL rules as Config.Issuer: https, or http for a loopback host
	// or with Config.InsecureAllowHTTP.
	Endpoint string

	// ClientID and ClientSecret authenticate this API to the endpoint
	// (RFC 7662 §2.1: the endpoint must require authorization). Required.
	ClientID     string
	ClientSecret string

	// AuthMethod is how the client authenticates (RFC 6749 §2.3.1):
	// "client_secret_basic" (default: HTTP Basic with the form-urlencoded
	// id and secret, which every server must support) or
	// "client_secret_post" (id and secret in the form body, which RFC 6749
	// does not recommend).
	AuthMethod string

	// All introspects every token, JWTs too, so that a token revoked at
	// the provider is refused at once (within CacheTTL). Default false:
	// JWTs are validated locally and only other tokens are introspected.
	All bool

	// CacheTTL is the longest a positive answer ("active": true) is
	// remembered: a token revoked at the provider keeps being accepted for
	// at most this long. An answer is never kept past the token's exp (no
	// leeway extends it). Default (zero): DefaultIntrospectionCacheTTL,
	// one minute. A negative value disables the cache: every request is
	// one call to the endpoint.
	CacheTTL time.Duration

	// NegativeTTL is how long an answer refusing a token ("active": false,
	// or an answer that fails the checks) is remembered, so that a client
	// retrying a bad token does not cost a call per request. Default
	// (zero): DefaultIntrospectionNegativeTTL, 5 seconds. Ignored when
	// CacheTTL is negative.
	NegativeTTL time.Duration

	// CacheSize is the number of answers remembered. Default (zero):
	// DefaultIntrospectionCacheSize, 10,000.
	CacheSize int

	// SkipAudienceCheckWhenAbsent accepts an answer that has no aud member
	// (many providers omit it: RFC 7662 §2.2 makes it optional). Default
	// false: such an answer is refused with ErrInvalidAudience, because a
	// token issued for another API of the same provider would otherwise be
	// accepted. An answer with an aud that names none of Config.Audiences
	// is always refused (unless Config.SkipAudienceCheck).
	SkipAudienceCheckWhenAbsent bool
}

// Defaults of IntrospectionConfig's fields.
const (
	DefaultIntrospectionCacheTTL    = time.Minute
	DefaultIntrospectionNegativeTTL = 5 * time.Second
	DefaultIntrospectionCacheSize   = 10_000
)

// Client authentication methods of IntrospectionConfig.AuthMethod
// (RFC 6749 §2.3.1, OpenID Connect Core §9).
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
)
