package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcauth/oidcauth"
)

// Config configures a [Flow]. The zero value of every field is the secure
// default; Issuer, ClientID, RedirectURL and Keys must be set.
type Config struct {
	// Issuer is the provider's issuer identifier, e.g.
	// "https://example.eu.auth0.com/"; its metadata is discovered from
	// {Issuer}/.well-known/openid-configuration and must name exactly
	// this issuer. Must be https, or http on a loopback host. Required.
	Issuer string

	// ClientID and ClientSecret are the client's credentials (RFC 6749
	// §2.3.1). ClientID is required. Without a ClientSecret the client is
	// a public client: the code is protected by PKCE alone.
	ClientID, ClientSecret string

	// RedirectURL is the absolute URL where CallbackHandler is mounted,
	// registered with the provider (e.g. "https://app.example.com/callback").
	// Must be https, or http on a loopback host (127.0.0.1, ::1,
	// localhost) for local development: cookies then lose Secure and the
	// __Host- prefix, and New logs a warning. Required.
	RedirectURL string

	// Scopes are the scopes requested. Default: "openid"; "openid" is
	// added when missing. Most providers issue refresh tokens only with
	// "offline_access".
	Scopes []string

	// AuthParams are extra parameters of the authorization request, e.g.
	// {"audience": "https://api.example.com"} for Auth0 or
	// {"prompt": "select_account"}. The protocol's own parameters
	// (state, nonce, code_challenge, redirect_uri, ...) are refused.
	AuthParams map[string]string

	// EndSessionRedirect makes LogoutHandler send the browser to the
	// provider's end_session_endpoint with a 303 redirect carrying
	// client_id and post_logout_redirect_uri only, without id_token_hint
	// (OpenID Connect RP-Initiated Logout 1.0 §2 requires client_id
	// then), for providers whose end-session endpoint takes no POST or
	// whose logout redirects through other hosts. Most providers then ask
	// the user to confirm the logout. Default: false, LogoutHandler
	// answers a page that POSTs the hint (see [Flow.LogoutHandler]).
	EndSessionRedirect bool

	// InsecureEndSessionHintInURL makes LogoutHandler redirect to the
	// end_session_endpoint with the ID token in the query
	// (id_token_hint), the behaviour before the POST form: the ID token,
	// with the user's claims, then lands in the browser's history and the
	// access logs of the provider and of every proxy on the way. Takes
	// precedence over EndSessionRedirect. Default: false.
	InsecureEndSessionHintInURL bool

	// Keys seal the session and transaction cookies: each KeySize (32)
	// random bytes, e.g. from GenerateKey. The first key seals; all of
	// them open, so a new key is rotated in by putting it first and the
	// old one is dropped once the old cookies have expired
	// (SessionLifetime). At most 8. Every replica needs the same keys.
	// Keys are per application: the Flow derives its sealing keys from
	// them, its issuer, client ID and redirect origin, so a cookie made
	// by one Flow never opens in another, but give each application its
	// own keys anyway. Required.
	Keys [][]byte

	// IdleTimeout ends a session that no request has used for this long
	// (OWASP Session Management: idle timeout), with every store. The
	// last use is recorded in the session at most once per IdleTimeout/10,
	// so a session ends between 0.9 and 1 IdleTimeout after its last
	// request, and the cookie store sets a new cookie at most that often.
	// A token refresh records the use too. With a server-side store that
	// implements RefreshLocker (memory, Redis) the record is written
	// under the refresh lock on a fresh load (lock, load, write, unlock:
	// Redis round trips 1 per request inside the interval, 5 for the
	// record), so it never writes back tokens another replica refreshed.
	// Negative disables it. Default: 30 minutes.
	IdleTimeout time.Duration

	// MaxNextLen is the longest next (LoginPath?next=...) a login keeps
	// in its transaction cookie; a longer one is replaced by
	// PostLoginPath, so that logins in progress cannot fill the browser's
	// Cookie header (RFC 6265bis §5.6). At most 2000. Default: 512 bytes.
	MaxNextLen int

	// Store keeps the sessions. Default: the encrypted cookie store (see
	// [Store] for what it cannot do: revoke). [NewMemoryStore] and
	// package redisstore keep them on the server.
	Store Store

	// CookieName is the base of the cookie names: the session cookie is
	// __Host-NAME, the transaction cookies __Host-NAME-tx-XXXX. Letters,
	// digits, "-" and "_", not starting with "__". Default:
	// "oidcauth-XXXXXXXX", XXXXXXXX a hash of Issuer and ClientID, so
	// that two Flows on one origin do not share cookies
	// ([Flow.SessionCookieName] tells the name).
	CookieName string

	// LoginPath is where LoginHandler is mounted; RequireLogin sends
	// visitors there. Default: "/login".
	LoginPath string

	// PostLoginPath is where the callback sends the user when the login
	// had no next, or one IsLocalRedirect refused. Default: "/".
	PostLoginPath string

	// PostLogoutPath is where LogoutHandler sends the user when there is
	// no RP-initiated logout at the provider. Default: "/".
	PostLogoutPath string

	// PostLogoutRedirectURL is the post_logout_redirect_uri of the
	// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2); it
	// must be registered with the provider. Default: RedirectURL's origin
	// followed by PostLogoutPath.
	PostLogoutRedirectURL string

	// SkipEndSession makes LogoutHandler end only the local session, even
	// when the provider has an end_session_endpoint.
	SkipEndSession bool

	// SessionLifetime is the absolute lifetime of a session, however long
	// its tokens live. Default: 8 hours.
	SessionLifetime time.Duration

	// TransactionLifetime is how long a login may take between the login
	// handler and the callback. Default: 10 minutes.
	TransactionLifetime time.Duration

	// MaxTransactions is how many logins may be in progress in one
	// browser (one cookie each); starting another drops the oldest.
	// Default: 5.
	MaxTransactions int

	// MaxCookieChunks is the most cookies a session may take (about 3800
	// bytes each). A login whose session is larger fails with
	// ErrSessionTooLarge; nothing is truncated. Default: 3. Mind the
	// limits on request headers of proxies in front of the app (nginx
	// allows 8 KiB per header line by default).
	MaxCookieChunks int

	// RefreshMargin is how long before its expiry an access token is
	// refreshed, when the session has a refresh token. Default: 1 minute.
	RefreshMargin time.Duration

	// TrustedOrigins are other origins (e.g. "https://admin.example.com")
	// whose pages may send unsafe requests (POST, ...) with the session,
	// logout included. By default only same-origin requests may; see
	// [http.CrossOriginProtection].
	TrustedOrigins []string

	// Authorizer, when set, lets Required accept a bearer token (RFC
	// 6750) instead of a session. The Flow does not close it.
	Authorizer *oidcauth.Authorizer

	// HTTPClient makes the requests to the provider. Default:
	// http.DefaultClient. A copy is used, with Timeout set when it has
	// none.
	HTTPClient *http.Client

	// Timeout bounds each request to the provider (discovery, keys, token
	// exchange, refresh). Default: 10 seconds.
	Timeout time.Duration

	// Now returns the current time. Default: time.Now.
	Now func() time.Time

	// Logger receives failed logins, ended sessions and configuration
	// warnings: never tokens, codes, secrets or cookie values. Default:
	// slog.Default().
	Logger *slog.Logger

	// ErrorHandler writes the response when a handler or middleware
	// fails. err wraps one of the Err... sentinels; StatusCode(err) gives
	// the status. Default: a short plain-text page with that status and a
	// fixed message per error kind.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)

	// UserInfo makes the callback fetch the provider's UserInfo claims
	// (OpenID Connect Core 1.0 §5.3) after verifying the ID token, for
	// providers that put email or groups there rather than in the ID
	// token (Google, Okta, Keycloak), and keep them in the session
	// (Session.UserInfo). An answer whose sub is not the ID token's fails
	// the login (§5.3.2). The claims add to the session's size (mind
	// MaxCookieChunks with the cookie store). See package doc "UserInfo"
	// in userinfo.go. Default: false, no request.
	UserInfo bool

	// StartWithoutProvider makes New succeed when the provider cannot be
	// reached (network error, timeout, an error status) at the first
	// discovery, like oidcauth.Config.StartWithoutKeys: the Flow retries
	// discovery in the background (from 250 ms, doubling up to 30 s, with
	// jitter; the goroutine stops on Close) and until it succeeds the
	// login and callback answer 503 (ErrProviderUnavailable) with
	// Retry-After, sessions whose token is due for a refresh answer 503
	// once the token has expired (a still-valid one is served), logout
	// ends the local session without the provider's end-session step, and
	// the back-channel logout handler answers 503 with Retry-After (no
	// keys to check a logout token with yet; the provider may retry). A
	// provider that answers with unusable metadata (another issuer, no
	// PKCE S256, ...) still makes New fail. Default: false, New fails when
	// the provider is unreachable.
	StartWithoutProvider bool

	// MetadataURL, JWKSURL, TokenURL and UserInfoURL, when set, replace
	// the URLs of the discovery document, the keys, the token endpoint
	// and the UserInfo endpoint for the Flow's own requests, for a
	// provider reached inside a cluster by another name than its issuer;
	// the issuer is still checked exactly, and the browser still goes to
	// the discovered authorization and end-session endpoints. See
	// internal_urls.go. Default: the discovered URLs.
	MetadataURL, JWKSURL, TokenURL, UserInfoURL string

	// InsecureInternalHTTP allows plain http (not only on loopback) for
	// MetadataURL, JWKSURL, TokenURL and UserInfoURL: the client secret,
	// codes and tokens then cross that network in the clear. Default:
	// false, https required.
	InsecureInternalHTTP bool

	// IssuerTemplate and Tenants serve multi-tenant providers (Entra ID
	// common/organizations): IssuerTemplate is the tenants' issuer with
	// "{tenant}" where the tenant id goes (e.g.
	// "https://login.microsoftonline.com/{tenant}/v2.0"), Tenants the
	// allow-list of tenant ids (required with a template). The metadata
	// at Config.Issuer may then name the template as its issuer, and ID
	// tokens must carry an allowed tenant's issuer (and tid, when
	// present). See tenants.go. Default: none, the issuer is exact.
	IssuerTemplate string
	Tenants        []string
}

// Defaults of Config's fields.
const (
	DefaultCookieName          = "oidcauth"
	DefaultLoginPath           = "/login"
	DefaultSessionLifetime     = 8 * time.Hour
	DefaultTransactionLifetime = 10 * time.Minute
	DefaultMaxTransactions     = 5
	DefaultMaxCookieChunks     = 3
	DefaultRefreshMargin       = time.Minute
	DefaultTimeout             = 10 * time.Second
)

// reservedAuthParams are set by the Flow and cannot be overridden.
var reservedAuthParams = []string{
	"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "response_mode", "request", "request_uri",
}

// Flow runs the OpenID Connect authorization code flow (OpenID Connect
// Core 1.0 §3.1, RFC 6749 §4.1 with PKCE, RFC 7636) for browsers, and
// keeps the signed-in users' sessions. It is safe for concurrent use.
//
// Mount its handlers (the paths are the defaults):
//
//	mux.Handle("GET /login", flow.LoginHandler())
//	mux.Handle("GET /callback", flow.CallbackHandler()) // the path of RedirectURL
//	mux.Handle("POST /logout", flow.LogoutHandler())
//	mux.Handle("GET /account", flow.RequireLogin(account))
//
// A Flow starts no goroutine, except the background discovery of
// Config.StartWithoutProvider, which Close stops. Close cancels token
// refreshes in flight.
type Flow struct {
	issuer, clientID string
	oauth2           oauth2.Config
	authOptions      []oauth2.AuthCodeOption
	verifier         *oidc.IDTokenVerifier
	endSession       string // end_session_endpoint, "" without or when skipped
	endSessionMode   endSessionMode
	issRequired      bool // authorization_response_iss_parameter_supported

	store   Store
	tx      *sealer
	cookies cookieNames

	loginPath, postLoginPath, postLogoutPath, postLogoutURL string

	sessionLifetime, txLifetime, refreshMargin, timeout time.Duration
	maxTx                                               int
	idleTimeout                                         time.Duration // 0: disabled
	maxNext                                             int

	cop          *http.CrossOriginProtection
	authorizer   *oidcauth.Authorizer
	client       *http.Client // discovery and keys: oidcauth.RestrictRedirects
	tokenClient  *http.Client // token requests: oidcauth.NoRedirects
	now          func() time.Time
	log          *slog.Logger
	errorHandler func(http.ResponseWriter, *http.Request, error)
	challenge    string // WWW-Authenticate of 401 answers (CookieChallenge)

	ctx     context.Context // the Flow's own: refreshes run on it
	cancel  context.CancelFunc
	refresh refreshGroup

	userInfoURL string         // userinfo_endpoint with Config.UserInfo, else ""
	tenants     *tenantMatcher // Config.IssuerTemplate, or nil

	// Discovery in the background (StartWithoutProvider, flow_start.go):
	// the fields discover sets are read only once ready is true.
	ready   atomic.Bool
	retryAt atomic.Int64 // Unix nanoseconds of the next attempt
	bg      sync.WaitGroup
}

// New validates cfg, discovers the provider's metadata (OpenID Connect
// Discovery 1.0 §4) and returns a Flow. It fails fast: on a bad Config, an
// unreachable provider, an issuer mismatch, or a provider that cannot do
// PKCE S256 or the client's authentication method. ctx bounds the
// discovery.
func New(ctx context.Context, cfg Config) (*Flow, error) {
	if err := checkInternalURLs(cfg); err != nil {
		return nil, err
	}
	tenants, err := newTenantMatcher(cfg)
	if err != nil {
		return nil, err
	}
	f, err := newFlow(cfg)
	if err != nil {
		return nil, err
	}
	f.tenants = tenants
	if err := f.discover(ctx, cfg); err != nil {
		var u *unreachableError
		if !cfg.StartWithoutProvider || !errors.As(err, &u) {
			f.cancel()
			return nil, err
		}
		f.startDiscovery(cfg, err)
		return f, nil
	}
	f.ready.Store(true)
	return f, nil
}

func newFlow(cfg Config) (*Flow, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: Config.Issuer is required")
	}
	if _, err := checkURL("Config.Issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oauth: Config.ClientID is required")
	}
	if cfg.RedirectURL == "" {
		return nil, errors.New("oauth: Config.RedirectURL is required")
	}
	redirect, err := checkURL("Config.RedirectURL", cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	if redirect.RawQuery != "" || redirect.ForceQuery {
		return nil, errors.New("oauth: Config.RedirectURL must not have a query")
	}
	secure := redirect.Scheme == "https"

	base := cfg.CookieName
	if base == "" {
		base = defaultCookieBase(cfg.Issuer, cfg.ClientID)
	}
	if !validCookieBase(base) {
		return nil, fmt.Errorf("oauth: Config.CookieName %q: use 1 to 64 letters, digits, - or _, not starting with __", base)
	}
	app := appBinding(cfg.Issuer, cfg.ClientID, redirect.Scheme+"://"+redirect.Host)
	tx, err := newSealer(cfg.Keys, "transaction", app)
	if err != nil {
		return nil, err
	}
	sess, err := newSealer(cfg.Keys, "session", app)
	if err != nil {
		return nil, err
	}
	if cfg.MaxTransactions > maxMaxTransactions {
		return nil, fmt.Errorf("oauth: Config.MaxTransactions above %d would let logins in progress fill the Cookie header", maxMaxTransactions)
	}
	if cfg.MaxNextLen < 0 || cfg.MaxNextLen > maxMaxNextLen {
		return nil, fmt.Errorf("oauth: Config.MaxNextLen must be between 0 (default %d) and %d", DefaultMaxNextLen, maxMaxNextLen)
	}
	idle := orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	if idle < 0 {
		idle = 0 // disabled
	}

	paths := map[string]*string{"LoginPath": &cfg.LoginPath, "PostLoginPath": &cfg.PostLoginPath, "PostLogoutPath": &cfg.PostLogoutPath}
	for name, p := range paths {
		if *p == "" {
			*p = "/"
			if name == "LoginPath" {
				*p = DefaultLoginPath
			}
		}
		if !IsLocalRedirect(*p) {
			return nil, fmt.Errorf("oauth: Config.%s %q must be a local path such as /login (see IsLocalRedirect)", name, *p)
		}
	}
	postLogoutURL := cfg.PostLogoutRedirectURL
	if postLogoutURL == "" {
		postLogoutURL = redirect.Scheme + "://" + redirect.Host + cfg.PostLogoutPath
	} else if _, err := checkURL("Config.PostLogoutRedirectURL", postLogoutURL); err != nil {
		return nil, err
	}

	for _, k := range slices.Sorted(maps.Keys(cfg.AuthParams)) {
		if slices.Contains(reservedAuthParams, k) || k == "" {
			return nil, fmt.Errorf("oauth: Config.AuthParams must not set %q: the Flow sets it", k)
		}
	}
	durations := []struct {
		name string
		v    time.Duration
	}{
		{"SessionLifetime", cfg.SessionLifetime}, {"TransactionLifetime", cfg.TransactionLifetime},
		{"RefreshMargin", cfg.RefreshMargin}, {"Timeout", cfg.Timeout},
	}
	for _, d := range durations {
		if d.v < 0 {
			return nil, fmt.Errorf("oauth: Config.%s must not be negative", d.name)
		}
	}
	if cfg.MaxTransactions < 0 || cfg.MaxCookieChunks < 0 {
		return nil, errors.New("oauth: Config.MaxTransactions and MaxCookieChunks must not be negative")
	}
	if cfg.MaxCookieChunks > 10 {
		return nil, errors.New("oauth: Config.MaxCookieChunks above 10 would exceed what browsers and servers accept")
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("oauth: Config.TrustedOrigins: %w", err)
		}
	}

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	timeout := orDefault(cfg.Timeout, DefaultTimeout)
	client := http.DefaultClient
	if cfg.HTTPClient != nil {
		client = cfg.HTTPClient
	}
	hc := *client
	if hc.Timeout == 0 {
		hc.Timeout = timeout
	}

	scopes := slices.Clone(cfg.Scopes)
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	var opts []oauth2.AuthCodeOption
	for _, k := range slices.Sorted(maps.Keys(cfg.AuthParams)) {
		opts = append(opts, oauth2.SetAuthURLParam(k, cfg.AuthParams[k]))
	}

	ctx, cancel := context.WithCancel(context.Background())
	f := &Flow{
		issuer:   cfg.Issuer,
		clientID: cfg.ClientID,
		oauth2: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Scopes:       scopes,
		},
		authOptions:     opts,
		tx:              tx,
		cookies:         newCookieNames(base, secure, orDefault(cfg.MaxCookieChunks, DefaultMaxCookieChunks)),
		loginPath:       cfg.LoginPath,
		postLoginPath:   cfg.PostLoginPath,
		postLogoutPath:  cfg.PostLogoutPath,
		postLogoutURL:   postLogoutURL,
		endSessionMode:  endSessionModeOf(cfg),
		sessionLifetime: orDefault(cfg.SessionLifetime, DefaultSessionLifetime),
		txLifetime:      orDefault(cfg.TransactionLifetime, DefaultTransactionLifetime),
		refreshMargin:   orDefault(cfg.RefreshMargin, DefaultRefreshMargin),
		timeout:         timeout,
		maxTx:           orDefault(cfg.MaxTransactions, DefaultMaxTransactions),
		idleTimeout:     idle,
		maxNext:         orDefault(cfg.MaxNextLen, DefaultMaxNextLen),
		cop:             cop,
		authorizer:      cfg.Authorizer,
		client:          oidcauth.RestrictRedirects(&hc),
		tokenClient:     oidcauth.NoRedirects(&hc),
		now:             now,
		log:             logger,
		errorHandler:    cfg.ErrorHandler,
		ctx:             ctx,
		cancel:          cancel,
	}
	f.store = cfg.Store
	if f.store == nil {
		f.store = &cookieStore{sealer: sess, now: now, ad: f.cookies.session}
	}
	if f.errorHandler == nil {
		f.errorHandler = f.WriteError
	}
	f.challenge = cookieChallenge(redirect.Scheme+"://"+redirect.Host, f.loginPath, f.cookies.session)
	if !secure {
		logger.Warn("oauth: RedirectURL is plain http on a loopback host: cookies are set without Secure and the __Host- prefix; use https anywhere but local development",
			"redirect_url", cfg.RedirectURL)
	}
	return f, nil
}

// maxMetadataBody bounds the provider's metadata document.
const maxMetadataBody = 1 << 20

// providerMetadata holds the discovery members the Flow reads (OpenID
// Connect Discovery 1.0 §3).
type providerMetadata struct {
	Issuer           string   `json:"issuer"`
	AuthURL          string   `json:"authorization_endpoint"`
	TokenURL         string   `json:"token_endpoint"`
	JWKSURL          string   `json:"jwks_uri"`
	UserInfoURL      string   `json:"userinfo_endpoint"`
	EndSession       string   `json:"end_session_endpoint"`
	IssParameter     bool     `json:"authorization_response_iss_parameter_supported"`
	TokenAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	PKCEMethods      []string `json:"code_challenge_methods_supported"`
	IDTokenAlgs      []string `json:"id_token_signing_alg_values_supported"`
}

// idTokenAlgs are the ID token signature algorithms the Flow accepts: the
// asymmetric ones go-oidc verifies. HS256 (signed with the client secret)
// and "none" are never accepted, whatever the provider lists.
var idTokenAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// discover fetches the provider's metadata (OpenID Connect Discovery 1.0
// §4) from {Issuer}/.well-known/openid-configuration, in this order:
//
//  1. one GET through the Flow's client (Timeout, at most 5 redirects,
//     none to another host or from https to http), a 200 answer of at
//     most 1 MiB of JSON; the body of an error answer is never shown;
//  2. issuer must equal Config.Issuer exactly (§4.3): a mismatch is
//     reported first, before anything else about the document;
//  3. authorization_endpoint, token_endpoint and jwks_uri present, and
//     each, like end_session_endpoint, https (or http on a loopback host);
//  4. PKCE S256 and a usable client authentication method.
func (f *Flow) discover(ctx context.Context, cfg Config) error {
	dctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	wellKnown := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	if cfg.MetadataURL != "" {
		wellKnown = cfg.MetadataURL
	}
	md, err := f.fetchMetadata(dctx, wellKnown)
	if err != nil {
		return &unreachableError{fmt.Errorf("oauth: discovery of %s: %w", cfg.Issuer, err)}
	}
	if md.Issuer != cfg.Issuer && !f.tenants.templateIssuer(md.Issuer) {
		hint := ""
		if strings.TrimSuffix(md.Issuer, "/") == strings.TrimSuffix(cfg.Issuer, "/") {
			hint = " (they differ in the trailing slash: use the provider's spelling)"
		}
		return fmt.Errorf("oauth: issuer mismatch: the provider's metadata at %s names issuer %q, not Config.Issuer %q%s; they must be equal byte for byte (OpenID Connect Discovery 1.0 §4.3)",
			wellKnown, md.Issuer, cfg.Issuer, hint)
	}
	for _, e := range []struct{ what, u, internal string }{
		{"authorization_endpoint", md.AuthURL, ""}, {"token_endpoint", md.TokenURL, cfg.TokenURL}, {"jwks_uri", md.JWKSURL, cfg.JWKSURL},
	} {
		if e.u == "" && e.internal == "" {
			return fmt.Errorf("oauth: the provider's metadata has no %s", e.what)
		}
		if e.internal != "" {
			continue // replaced by an internal URL, checked by checkInternalURLs
		}
		if _, err := checkURL("the provider's "+e.what, e.u); err != nil {
			return err
		}
	}
	applyInternalURLs(cfg, md)
	if md.EndSession != "" && !cfg.SkipEndSession {
		if _, err := checkURL("the provider's end_session_endpoint", md.EndSession); err != nil {
			return err
		}
		f.endSession = md.EndSession
	}
	if cfg.UserInfo {
		if md.UserInfoURL == "" {
			return errors.New("oauth: Config.UserInfo is set but the provider's metadata has no userinfo_endpoint")
		}
		if _, err := checkURL("the provider's userinfo_endpoint", md.UserInfoURL); err != nil && cfg.UserInfoURL == "" {
			return err
		}
		f.userInfoURL = md.UserInfoURL
	}
	if md.PKCEMethods != nil && !slices.Contains(md.PKCEMethods, "S256") {
		return errors.New("oauth: the provider does not support PKCE with S256 (code_challenge_methods_supported)")
	}
	style := oauth2.AuthStyleInParams // public client: client_id in the body
	if cfg.ClientSecret != "" {
		// OpenID Connect Discovery 1.0 §3: the default is client_secret_basic.
		switch m := md.TokenAuthMethods; {
		case len(m) == 0 || slices.Contains(m, "client_secret_basic"):
			style = oauth2.AuthStyleInHeader
		case slices.Contains(m, "client_secret_post"):
			style = oauth2.AuthStyleInParams
		default:
			return fmt.Errorf("oauth: the provider supports neither client_secret_basic nor client_secret_post (it lists %v)", m)
		}
	}
	var algs []string
	for _, a := range md.IDTokenAlgs {
		if slices.Contains(idTokenAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = idTokenAlgs // the provider did not say (or listed only HS256/none)
	}
	f.issRequired = md.IssParameter
	f.oauth2.Endpoint = oauth2.Endpoint{AuthURL: md.AuthURL, TokenURL: md.TokenURL, AuthStyle: style}
	pc := oidc.ProviderConfig{
		IssuerURL: md.Issuer, AuthURL: md.AuthURL, TokenURL: md.TokenURL,
		UserInfoURL: md.UserInfoURL, JWKSURL: md.JWKSURL, Algorithms: algs,
	}
	// go-oidc keeps the client (not the context) for its key set.
	provider := pc.NewProvider(oidc.ClientContext(context.Background(), f.client))
	// With a template, iss is checked by checkTenant instead (exact issuer
	// or an allowed tenant's).
	f.verifier = provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: f.now, SupportedSigningAlgs: algs,
		SkipIssuerCheck: f.tenants != nil})
	return nil
}

// fetchMetadata GETs the metadata document at u.
func (f *Flow) fetchMetadata(ctx context.Context, u string) (*providerMetadata, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) //nolint:errcheck // draining for reuse
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxMetadataBody {
		return nil, fmt.Errorf("GET %s: the metadata exceeds %d bytes", u, maxMetadataBody)
	}
	var md providerMetadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, fmt.Errorf("GET %s: the metadata is not a JSON object of the expected members: %v", u, err)
	}
	return &md, nil
}

// Close cancels token refreshes in flight; requests waiting for them get
// ErrProviderUnavailable. Call it once the server has stopped serving.
// It does not close Config.Store or Config.Authorizer. Close always
// returns nil.
func (f *Flow) Close() error {
	f.cancel()
	f.bg.Wait() // the background discovery, with StartWithoutProvider
	return nil
}

// LoginURL returns the URL of the login handler that signs in and then
// sends the user to next (LoginPath?next=...). An invalid next is left out.
func (f *Flow) LoginURL(next string) string {
	if next == "" || !IsLocalRedirect(next) {
		return f.loginPath
	}
	return f.loginPath + "?next=" + url.QueryEscape(next)
}

// providerContext returns a context for token requests (code exchange
// and refresh), derived from parent, bounded by the timeout, and carrying
// the Flow's no-redirect client as x/oauth2 expects it (its only way to
// take one): a token request carries the code, the PKCE verifier and the
// client secret, and is never replayed to another URL (RFC 6749 §2.3.1,
// §3.2).
func (f *Flow) providerContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, f.timeout)
	return context.WithValue(ctx, oauth2.HTTPClient, f.tokenClient), cancel
}

// checkURL parses an absolute provider or application URL with the root
// package's rule (oidcauth.CheckURL): https, or http on a loopback host.
// Package oauth has no opt-out for plain http elsewhere.
func checkURL(what, raw string) (*url.URL, error) {
	if err := oidcauth.CheckURL(what, raw, false); err != nil {
		if u, perr := url.Parse(raw); perr == nil && u.Scheme == "http" && u.Host != "" && u.User == nil && u.Fragment == "" {
			return nil, fmt.Errorf("oauth: %s %q must use https (http is allowed only on a loopback host)", what, raw)
		}
		return nil, fmt.Errorf("oauth: %w", err)
	}
	return url.Parse(raw)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
