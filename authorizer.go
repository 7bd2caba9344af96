package oidcauth

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config configures an [Authorizer]. The zero value of every field is the
// secure default; only Issuer and Audiences must be set.
type Config struct {
	// Issuer is the provider's issuer identifier, e.g.
	// "https://example.eu.auth0.com/". Tokens must carry exactly this iss
	// (byte for byte, trailing slash included), and the discovered metadata
	// must name exactly this issuer. Required. Must be https, except for a
	// loopback host (127.0.0.1, ::1, localhost) or with InsecureAllowHTTP.
	Issuer string

	// Audiences lists the identifiers of this API. A token's aud must
	// contain at least one of them (RFC 7519 §4.1.3). Required unless
	// SkipAudienceCheck is set.
	Audiences []string

	// SkipAudienceCheck accepts tokens whatever their aud. Only for APIs
	// that check the audience themselves; a token issued for another API of
	// the same provider would otherwise be accepted.
	SkipAudienceCheck bool

	// Algorithms is the allow-list of JWS algorithms (RFC 8725 §3.1).
	// Default: DefaultAlgorithms (RS256/384/512, PS256/384/512,
	// ES256/384/512, EdDSA, Ed25519). "none" and HMAC algorithms are
	// refused: a provider's public keys must never be usable as HMAC
	// secrets.
	Algorithms []string

	// TokenType is the expected JOSE typ header, e.g. "at+jwt" for RFC 9068
	// access tokens. Compared case-insensitively, with an optional
	// "application/" prefix (RFC 9068 §4, RFC 7515 §4.1.9). When set, a
	// token without typ is rejected. Default "": any typ of a plain JWT is
	// accepted (absent, "JWT", "at+jwt", "application/jwt"), but a typ
	// naming another kind of token ("logout+jwt", "dpop+jwt", ...) is
	// rejected (RFC 8725 §3.11).
	TokenType string

	// Leeway is the clock skew tolerated when checking exp, nbf and iat.
	// Default (zero): 30 seconds. A negative value means no leeway.
	Leeway time.Duration

	// JWKSURL, when set, is used instead of discovering jwks_uri from the
	// issuer's metadata. Same scheme rules as Issuer.
	JWKSURL string

	// HTTPClient makes the discovery and JWKS requests. Default:
	// http.DefaultClient. Its CheckRedirect is wrapped so that redirects to
	// another host are refused.
	HTTPClient *http.Client

	// Now returns the current time. Default: time.Now.
	Now func() time.Time

	// Logger receives fetch failures and key changes (Info and Warn), and
	// every request the middleware refuses (Debug: the reason, method, path
	// and status), never tokens, query strings or key material. Default:
	// slog.Default().
	Logger *slog.Logger

	// InsecureAllowHTTP allows http URLs for non-loopback issuers and JWKS
	// endpoints. Keys fetched over http can be replaced by anyone on the
	// network path.
	InsecureAllowHTTP bool

	// InsecureAllowQueryToken makes the middleware also accept a token in
	// the access_token query parameter (RFC 6750 §2.3). Off by default:
	// URLs end up in logs, browser history and Referer headers. With it, a
	// token in both the header and the query, or twice in the query, is
	// ErrInvalidRequest (400).
	InsecureAllowQueryToken bool

	// MaxTokenSize is the largest token accepted, in bytes, checked before
	// any decoding. Default: 16 KiB.
	MaxTokenSize int

	// TokenCacheSize is the number of verified tokens remembered so that a
	// token seen before is accepted without repeating the signature check
	// (exp and nbf are checked on every use). Default 0: no cache. The
	// cache is direct-mapped (one slot per entry), so it holds about 63 %
	// of TokenCacheSize distinct tokens; size it a few times the tokens in
	// use (4× holds about 88 % of them). A held entry costs about 820 B of
	// heap with the tokens of BenchmarkCurveTokenCache, more with larger
	// tokens (the entry keeps a copy of the token and its claims).
	TokenCacheSize int

	// MinRefreshInterval is the cooldown between refreshes triggered by
	// tokens naming an unknown kid. Within it such tokens fail at once
	// with ErrKeyNotYetKnown (503, Retry-After = the cooldown left), or
	// ErrUnknownKey (401) for a kid a refresh saw removed. Default: 15
	// seconds.
	MinRefreshInterval time.Duration

	// RefreshInterval is how often keys are refreshed when the JWKS
	// response has no Cache-Control max-age or Expires. Default: 1 hour.
	RefreshInterval time.Duration

	// MinKeyTTL and MaxKeyTTL bound the cache lifetime a JWKS response
	// asks for. Defaults: 1 minute and 24 hours.
	MinKeyTTL, MaxKeyTTL time.Duration

	// MaxStaleness is how long the last good keys keep being trusted while
	// every refresh fails. After it, tokens get ErrKeysUnavailable (503).
	// Default: 24 hours.
	MaxStaleness time.Duration

	// FetchTimeout bounds each discovery or JWKS request. Default: 5 s.
	FetchTimeout time.Duration

	// MaxResponseSize bounds the body of each discovery or JWKS response.
	// Default: 1 MiB.
	MaxResponseSize int64

	// StartWithoutKeys makes New succeed even when the first discovery or
	// JWKS fetch fails: the Authorizer retries in the background with
	// backoff and answers requests with ErrKeysUnavailable (503 with
	// Retry-After) until keys arrive. Default false: New fails, so a
	// misconfigured issuer is found at start-up, not at the first request.
	StartWithoutKeys bool

	// Realm is the realm of the WWW-Authenticate challenge (RFC 6750 §3).
	// Default: the first audience, or "api".
	Realm string

	// ErrorHandler writes the response for a request the middleware
	// rejects. err wraps one of the sentinel errors; StatusCode(err) gives
	// the status. Default: RFC 6750 answers (see WriteError).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// StaticKeys, when set, are trusted instead of a provider's JWKS: no
	// discovery, no fetches, no background work. The map key is the kid
	// ("" for a key without kid, found by the single-key rule). Values are
	// *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey; see
	// ParsePublicKeyPEM. For service-to-service tokens and tests.
	StaticKeys map[string]crypto.PublicKey

	// StaticJWKS, when set, is a JWKS document (RFC 7517 §5) trusted
	// instead of fetching one; it may be combined with StaticKeys.
	StaticJWKS []byte

	// HMACSecret, when set, makes the Authorizer accept only tokens signed
	// with this shared secret (RFC 7518 §3.2), at least as long as the
	// hash output of every HMAC algorithm listed: 32 bytes for HS256, 48
	// for HS384, 64 for HS512 (New fails otherwise).
	// Algorithms must then list the HMAC algorithms to accept (HS256,
	// HS384, HS512) and nothing else, and no provider keys may be
	// configured: a secret is never mixed with asymmetric keys.
	HMACSecret []byte

	// CognitoAccessTokens accepts Amazon Cognito access tokens, which have
	// no aud: when aud is absent and token_use is "access", client_id must
	// be one of Audiences instead. Off by default.
	CognitoAccessTokens bool

	// SchemelessIssuer also accepts iss equal to Issuer without its
	// "https://" prefix, as Google writes "accounts.google.com" in some ID
	// tokens. Off by default; New refuses it for an issuer that is not
	// https.
	SchemelessIssuer bool

	// SkipIDTokenCheck accepts tokens that look like OpenID Connect ID
	// tokens (see ErrIDToken). Default false: a token whose header typ is
	// not at+jwt and that carries at_hash, c_hash, s_hash, nonce, a typ
	// claim "ID" or token_use "id" is refused, because an API whose
	// audience equals a client ID would otherwise accept the user's ID
	// token — which travels in logout URLs and browser history — as a
	// bearer token. Only for providers whose access tokens carry such
	// claims; prefer NonceInAccessTokens when nonce is the only one.
	SkipIDTokenCheck bool

	// NonceInAccessTokens tolerates a nonce claim in access tokens, as
	// Keycloak before version 24 put it there (keycloak/keycloak#26893);
	// the other ID-token claims are still refused. Default false.
	NonceInAccessTokens bool

	// Introspection, when non-nil, enables token introspection (RFC 7662)
	// for tokens that are not JWTs, or for every token with
	// IntrospectionConfig.All; see IntrospectionConfig and the package
	// docs, "Opaque tokens and introspection". Default nil: only JWTs are
	// accepted.
	Introspection *IntrospectionConfig

	// Resource is the resource identifier of this API (RFC 8707 §2): an
	// absolute https URL (http for a loopback host or with
	// InsecureAllowHTTP) without query or fragment, e.g.
	// "https://api.example.com/mcp". It says "this API is resource R":
	//
	//   - accepted audiences: when Audiences is empty, tokens must carry
	//     Resource in aud (RFC 8707 §2, RFC 9068 §3: the authorization
	//     server puts the requested resource there); when Audiences is
	//     set, it alone decides and Resource only names the API;
	//   - every 401, 403 and 400 challenge carries
	//     resource_metadata="<ResourceMetadataURL(Resource)>"
	//     (RFC 9728 §5.1);
	//   - ResourceMetadata and ResourceMetadataHandler describe it
	//     (RFC 9728 §2);
	//   - with Audiences empty it is also the default Realm.
	//
	// Default "": no resource metadata, and Audiences is required.
	Resource string

	// ResourceName and ResourceDocumentation are the resource_name and
	// resource_documentation (a URL) of the metadata document
	// (RFC 9728 §2). Default "": omitted.
	ResourceName, ResourceDocumentation string

	// ScopesSupported are the scopes_supported of the metadata document
	// (RFC 9728 §2). Default nil: omitted.
	ScopesSupported []string

	// DPoP configures DPoP (RFC 9449; see DPoPConfig and the package docs,
	// "DPoP proofs"). Default nil: the DPoP scheme is accepted with the
	// defaults of DPoPConfig (a memory replay cache of
	// DefaultReplayCacheSize entries, no goroutine), unbound Bearer tokens
	// too; a token bound to a DPoP key (cnf.jkt) is never accepted without
	// a valid proof, whatever this setting.
	DPoP *DPoPConfig

	// InsecureClientCertificateHeader names a request header from which
	// the client's TLS certificate is read to check certificate-bound
	// tokens (cnf.x5t#S256, RFC 8705 §3) when a TLS-terminating proxy sits
	// in front: the URL-encoded PEM that nginx ($ssl_client_escaped_cert)
	// and Envoy (the Cert field of x-forwarded-client-cert) send. Set it
	// only when that proxy always overwrites the header: any client can
	// send it. Default "": only r.TLS.PeerCertificates[0] counts.
	InsecureClientCertificateHeader string

	// Observer, when non-nil, receives the Authorizer's events for metrics
	// and traces: every validation's outcome, reason and duration, key
	// fetches and their causes, introspection calls and cache hits, and
	// spans for discovery, key fetches and introspection (see Observer and
	// the module github.com/oidcauth/oidcauth/otel). Default nil: nothing
	// is measured and validation costs nothing more.
	Observer Observer

	// newTimer lets tests drive the background loop with a fake clock.
	newTimer func(time.Duration) timer
}

// Defaults of Config's fields.
const (
	DefaultLeeway             = 30 * time.Second
	DefaultMaxTokenSize       = 16 << 10
	DefaultMinRefreshInterval = 15 * time.Second
	DefaultRefreshInterval    = time.Hour
	DefaultMinKeyTTL          = time.Minute
	DefaultMaxKeyTTL          = 24 * time.Hour
	DefaultMaxStaleness       = 24 * time.Hour
	DefaultFetchTimeout       = 5 * time.Second
	DefaultMaxResponseSize    = 1 << 20
	maxBackoff                = time.Minute
)

// An Authorizer validates access tokens issued by one OpenID Connect or
// OAuth 2.0 provider. It is safe for concurrent use. It owns a background
// goroutine that refreshes the provider's keys; call Close to stop it.
type Authorizer struct {
	issuer       string
	issuerAlt    string // SchemelessIssuer: Issuer without "https://"
	cognito      bool
	skipIDCheck  bool
	idTolerated  idSignal // ID-token claims accepted in access tokens
	audiences    []string
	audOne       []string // a copy of audiences: audOne[i:i+1:i+1] is Claims.Audience of a token with aud audiences[i]
	skipAud      bool
	allowed      algSet
	tokenType    string // lower case, without "application/"
	leeway       time.Duration
	now          func() time.Time
	maxTokenSize int
	realm        string
	errorHandler func(http.ResponseWriter, *http.Request, error)
	log          *slog.Logger
	queryToken   bool
	keys         *keyCache
	cache        *tokenCache
	intro        *introspector // Config.Introspection; see introspection.go
	resource     resourceInfo  // Config.Resource; see metadata.go
	answers      *answerCache  // precomputed challenges; see challenge.go

	dpop       *dpopVerifier // Config.DPoP; see dpop.go
	certHeader string        // Config.InsecureClientCertificateHeader

	obs Observer // Config.Observer; see observer.go

	detachMu sync.Mutex
	detach   func() // from obs.AttachKeyCache, called by Close
	closed   bool   // Close ran: attachObserver does nothing
}

// New validates cfg, fetches the provider's metadata and keys, and starts
// the background key refresh. It fails fast on a bad Config, and when the
// keys cannot be fetched unless cfg.StartWithoutKeys is set. ctx bounds the
// initial fetch only.
func New(ctx context.Context, cfg Config) (*Authorizer, error) {
	a, err := newAuthorizer(cfg)
	if err != nil {
		return nil, err
	}
	if a.keys.static {
		a.attachObserver()
		return a, nil
	}
	err = a.keys.refresh(ctx, RefreshStart)
	if err != nil && !cfg.StartWithoutKeys {
		a.Close()
		return nil, wrapf(err, "fetching keys of %s", cfg.Issuer)
	}
	if a.intro != nil {
		// Without StartWithoutKeys a provider that does not advertise an
		// introspection endpoint is found at start-up; with it, the
		// endpoint is discovered at the first opaque token.
		if _, err := a.intro.discoverEndpoint(ctx); err != nil && !cfg.StartWithoutKeys {
			a.keys.close()
			a.intro.close()
			return nil, wrapf(err, "discovering the introspection endpoint of %s", cfg.Issuer)
		}
	}
	a.keys.start()
	a.attachObserver()
	return a, nil
}

func newAuthorizer(cfg Config) (*Authorizer, error) {
	static := cfg.StaticKeys != nil || cfg.StaticJWKS != nil || cfg.HMACSecret != nil
	if cfg.Issuer == "" {
		return nil, errors.New("oidcauth: Config.Issuer is required")
	}
	if !static {
		if err := checkURL("issuer", cfg.Issuer, cfg.InsecureAllowHTTP); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
		if u, _ := url.Parse(cfg.Issuer); u.RawQuery != "" || u.ForceQuery {
			return nil, fmt.Errorf("oidcauth: issuer %q must not contain a query", cfg.Issuer)
		}
	}
	if cfg.SchemelessIssuer && !strings.HasPrefix(cfg.Issuer, "https://") {
		return nil, errors.New("oidcauth: SchemelessIssuer needs an https issuer")
	}
	if static && cfg.JWKSURL != "" {
		return nil, errors.New("oidcauth: Config.JWKSURL cannot be combined with static keys")
	}
	if cfg.JWKSURL != "" {
		if err := checkURL("JWKSURL", cfg.JWKSURL, cfg.InsecureAllowHTTP); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
	}
	if cfg.Resource != "" {
		if err := checkResource(cfg.Resource, cfg.InsecureAllowHTTP); err != nil {
			return nil, err
		}
		if len(cfg.Audiences) == 0 {
			cfg.Audiences = []string{cfg.Resource}
		}
	}
	if cfg.ResourceDocumentation != "" {
		if err := CheckURL("ResourceDocumentation", cfg.ResourceDocumentation, true); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
	}
	if cfg.Resource == "" && (cfg.ResourceName != "" || cfg.ResourceDocumentation != "" || cfg.ScopesSupported != nil) {
		return nil, errors.New("oidcauth: Config.ResourceName, ResourceDocumentation and ScopesSupported need Config.Resource")
	}
	if len(cfg.Audiences) == 0 && !cfg.SkipAudienceCheck {
		return nil, errors.New("oidcauth: Config.Audiences (or Config.Resource) is required (or set SkipAudienceCheck)")
	}
	for _, aud := range cfg.Audiences {
		if aud == "" {
			return nil, errors.New("oidcauth: Config.Audiences contains an empty audience")
		}
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	var allowed algSet
	for _, name := range algs {
		a := parseAlg([]byte(name))
		switch {
		case a == algUnknown && strings.EqualFold(name, "none"):
			return nil, errors.New(`oidcauth: algorithm "none" is never accepted`)
		case a == algUnknown:
			return nil, fmt.Errorf("oidcauth: unknown algorithm %q (supported: %s, and HS256/384/512 with HMACSecret)", name, strings.Join(DefaultAlgorithms, ", "))
		case hmacAlgs.has(a) && cfg.HMACSecret == nil:
			return nil, fmt.Errorf("oidcauth: algorithm %q needs Config.HMACSecret; it is never accepted with a provider's keys", name)
		case !hmacAlgs.has(a) && cfg.HMACSecret != nil:
			return nil, fmt.Errorf("oidcauth: algorithm %q cannot be combined with HMACSecret", name)
		}
		allowed.add(a)
	}
	if cfg.HMACSecret != nil {
		if len(cfg.Algorithms) == 0 {
			return nil, errors.New("oidcauth: HMACSecret needs Config.Algorithms to list the HMAC algorithms to accept")
		}
		for a := algHS256; a <= algHS512; a++ {
			if n := hmacMinSecret(a); allowed.has(a) && len(cfg.HMACSecret) < n {
				return nil, fmt.Errorf("oidcauth: HMACSecret of %d bytes is too short for %s (at least %d bytes, RFC 7518 §3.2)", len(cfg.HMACSecret), a, n)
			}
		}
		if cfg.StaticKeys != nil || cfg.StaticJWKS != nil {
			return nil, errors.New("oidcauth: HMACSecret cannot be combined with StaticKeys or StaticJWKS")
		}
	}
	typ := strings.ToLower(strings.TrimSpace(cfg.TokenType))
	typ = strings.TrimPrefix(typ, "application/")
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"MinRefreshInterval", cfg.MinRefreshInterval}, {"RefreshInterval", cfg.RefreshInterval},
		{"MinKeyTTL", cfg.MinKeyTTL}, {"MaxKeyTTL", cfg.MaxKeyTTL}, {"MaxStaleness", cfg.MaxStaleness},
		{"FetchTimeout", cfg.FetchTimeout},
	}
	for _, d := range durations {
		if d.v < 0 {
			return nil, fmt.Errorf("oidcauth: Config.%s must not be negative", d.name)
		}
	}
	if cfg.MaxTokenSize < 0 || cfg.MaxResponseSize < 0 || cfg.TokenCacheSize < 0 {
		return nil, errors.New("oidcauth: Config sizes must not be negative")
	}
	leeway := orDefault(cfg.Leeway, DefaultLeeway)
	if cfg.Leeway < 0 {
		leeway = 0
	}
	minTTL := orDefault(cfg.MinKeyTTL, DefaultMinKeyTTL)
	maxTTL := orDefault(cfg.MaxKeyTTL, DefaultMaxKeyTTL)
	if minTTL > maxTTL {
		return nil, fmt.Errorf("oidcauth: Config.MinKeyTTL %s exceeds MaxKeyTTL %s", minTTL, maxTTL)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	realm := cfg.Realm
	if realm == "" {
		realm = "api"
		if len(cfg.Audiences) > 0 {
			realm = cfg.Audiences[0]
		}
	}
	newTimer := cfg.newTimer
	if newTimer == nil {
		newTimer = newRealTimer
	}
	ctx, cancel := context.WithCancel(context.Background())
	kc := &keyCache{
		f:          newFetcher(cfg.HTTPClient, orDefault(cfg.FetchTimeout, DefaultFetchTimeout), orDefault(cfg.MaxResponseSize, DefaultMaxResponseSize), cfg.InsecureAllowHTTP),
		issuer:     cfg.Issuer,
		allowed:    allowed,
		now:        now,
		log:        logger,
		newTimer:   newTimer,
		minRefresh: orDefault(cfg.MinRefreshInterval, DefaultMinRefreshInterval),
		interval:   orDefault(cfg.RefreshInterval, DefaultRefreshInterval),
		minTTL:     minTTL,
		maxTTL:     maxTTL,
		maxStale:   orDefault(cfg.MaxStaleness, DefaultMaxStaleness),
		maxBackoff: maxBackoff,
		ctx:        ctx,
		cancel:     cancel,
		kick:       make(chan struct{}, 1),
		obs:        cfg.Observer,
	}
	if cfg.JWKSURL != "" {
		u := cfg.JWKSURL
		kc.jwksURL.Store(&u)
	}
	if static {
		set, err := staticKeySet(cfg, allowed, logger)
		if err != nil {
			cancel()
			return nil, err
		}
		set.fetched = now()
		kc.set.Store(set)
		kc.static = true
		kc.maxStale = 0
	}
	a := &Authorizer{
		issuer:       cfg.Issuer,
		cognito:      cfg.CognitoAccessTokens,
		skipIDCheck:  cfg.SkipIDTokenCheck,
		audiences:    append([]string(nil), cfg.Audiences...),
		skipAud:      cfg.SkipAudienceCheck,
		allowed:      allowed,
		tokenType:    typ,
		leeway:       leeway,
		now:          now,
		maxTokenSize: orDefault(cfg.MaxTokenSize, DefaultMaxTokenSize),
		realm:        realm,
		errorHandler: cfg.ErrorHandler,
		log:          logger,
		queryToken:   cfg.InsecureAllowQueryToken,
		keys:         kc,
		obs:          cfg.Observer,
	}
	a.audOne = append([]string(nil), a.audiences...)
	if cfg.NonceInAccessTokens {
		a.idTolerated = sigNonce
	}
	if cfg.SchemelessIssuer {
		if rest, ok := strings.CutPrefix(cfg.Issuer, "https://"); ok {
			a.issuerAlt = rest
		}
	}
	if cfg.TokenCacheSize > 0 {
		a.cache = newTokenCache(cfg.TokenCacheSize)
	}
	if cfg.Introspection != nil {
		in, err := newIntrospector(cfg, kc.f)
		if err != nil {
			cancel()
			return nil, err
		}
		in.log = logger
		a.intro = in
	}
	meta := ResourceMetadata{}
	if cfg.Resource != "" {
		methods := []string{"header"}
		if cfg.InsecureAllowQueryToken {
			methods = append(methods, "query")
		}
		meta = ResourceMetadata{
			Resource:               cfg.Resource,
			AuthorizationServers:   []string{cfg.Issuer},
			ScopesSupported:        append([]string(nil), cfg.ScopesSupported...),
			BearerMethodsSupported: methods,
			ResourceName:           cfg.ResourceName,
			ResourceDocumentation:  cfg.ResourceDocumentation,
		}
	}
	dv, err := newDPoPVerifier(cfg.DPoP, allowed, now)
	if err != nil {
		cancel()
		return nil, err
	}
	dv.obs = cfg.Observer
	// RFC 9728 §2: what the resource accepts for sender-constrained
	// tokens, advertised when configured: the DPoP members with
	// Config.DPoP (as the DPoP challenge is), the mutual-TLS one with
	// Config.InsecureClientCertificateHeader. Bound tokens are checked
	// either way.
	if cfg.Resource != "" && dv.advertise {
		meta.DPoPSigningAlgValuesSupported = strings.Fields(dv.algs)
		meta.DPoPBoundAccessTokensRequired = dv.required
	}
	if cfg.Resource != "" && cfg.InsecureClientCertificateHeader != "" {
		meta.TLSClientCertificateBoundAccessTokens = true
	}
	ri, err := newResourceInfo(meta)
	if err != nil {
		cancel()
		return nil, err
	}
	a.resource = ri
	a.answers = newAnswerCache(realm, ri.url)
	a.answers.decorate = a.dpopAnswer

	a.dpop = dv
	a.certHeader = cfg.InsecureClientCertificateHeader
	if a.errorHandler == nil {
		a.errorHandler = a.WriteError
	}
	return a, nil
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Close stops the background key refresh and any introspection in flight,
// and waits for them. Validate keeps working with the keys already fetched;
// tokens that need introspection get ErrIntrospectionFailed. Close always returns nil.
func (a *Authorizer) Close() error {
	a.detachObserver()
	a.keys.close()
	if a.intro != nil {
		a.intro.close()
	}
	return nil
}

// Stats returns a snapshot of the key cache's counters.
func (a *Authorizer) Stats() Stats { return a.keys.snapshot() }

// Keys describes the usable keys currently trusted, sorted by kid, or nil
// when none are.
func (a *Authorizer) Keys() []KeyInfo {
	s := a.keys.current(a.now())
	if s == nil {
		return nil
	}
	return s.info()
}

// Issuer returns the configured issuer.
func (a *Authorizer) Issuer() string { return a.issuer }

// Refresh fetches the provider's keys now, sharing a fetch already in
// flight, and waits for it or for ctx. Cancelling ctx stops the wait, not
// the fetch. It is not subject to MinRefreshInterval.
func (a *Authorizer) Refresh(ctx context.Context) error {
	return a.keys.refresh(ctx, RefreshManual)
}
