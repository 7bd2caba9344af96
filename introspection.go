package oidcauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

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

// Bounds of introspection that are not configurable.
const (
	// maxIntrospections is the most introspection requests an Authorizer
	// has in flight at once: a flood of made-up tokens costs the provider
	// at most this many concurrent requests per replica.
	maxIntrospections = 8
	// maxIntrospectionAnswer bounds the body of an introspection answer
	// (or Config.MaxResponseSize when smaller).
	maxIntrospectionAnswer = 64 << 10
	// introspectionRetryAfter is the Retry-After of ErrIntrospectionFailed.
	introspectionRetryAfter = 5 * time.Second
	// logEvery throttles the log of introspection failures.
	logEvery = 10 * time.Second
)

// introspector asks the provider about tokens (RFC 7662 §2.1) and
// remembers its answers. Requests for one token share one call; calls run
// in goroutines of the introspector (never on a request's context), at most
// maxIntrospections at a time, and stop on close.
type introspector struct {
	issuer   string // for discovering the endpoint
	endpoint atomic.Pointer[string]
	f        *fetcher
	client   *http.Client // NoRedirects: the request carries our secret
	auth     string       // the Authorization header (client_secret_basic)
	postID   string       // client_secret_post: the id and secret in the body
	postPW   string
	all      bool
	audAbsOK bool
	maxBody  int64
	cache    *introCache // nil: no cache
	log      *slog.Logger
	obs      Observer // Config.Observer, or nil

	sem    chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	calls  map[[32]byte]*introCall
	closed bool

	lastWarn, lastConfigErr atomic.Int64 // unix nanos of the last log line
	running                 atomic.Int32 // goroutines, for tests
}

// introCall is one introspection in flight; claims and err are set before
// done is closed.
type introCall struct {
	done   chan struct{}
	claims *Claims
	err    *ValidationError
}

func newIntrospector(cfg Config, f *fetcher) (*introspector, error) {
	ic := cfg.Introspection
	if ic.ClientID == "" || ic.ClientSecret == "" {
		return nil, errors.New("oidcauth: IntrospectionConfig.ClientID and ClientSecret are required (RFC 7662 §2.1)")
	}
	if ic.CacheSize < 0 {
		return nil, errors.New("oidcauth: IntrospectionConfig.CacheSize must not be negative")
	}
	in := &introspector{
		issuer:   cfg.Issuer,
		f:        f,
		client:   NoRedirects(cfg.HTTPClient),
		all:      ic.All,
		audAbsOK: ic.SkipAudienceCheckWhenAbsent,
		maxBody:  min(f.maxBody, maxIntrospectionAnswer),
		sem:      make(chan struct{}, maxIntrospections),
		calls:    make(map[[32]byte]*introCall),
		obs:      cfg.Observer,
	}
	switch ic.AuthMethod {
	case "", ClientSecretBasic:
		// RFC 6749 §2.3.1: id and secret are form-urlencoded before
		// Basic encoding (RFC 7617), so ':' and non-ASCII survive.
		cred := url.QueryEscape(ic.ClientID) + ":" + url.QueryEscape(ic.ClientSecret)
		in.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	case ClientSecretPost:
		in.postID, in.postPW = ic.ClientID, ic.ClientSecret
	default:
		return nil, fmt.Errorf("oidcauth: IntrospectionConfig.AuthMethod %q is not %q or %q", ic.AuthMethod, ClientSecretBasic, ClientSecretPost)
	}
	if ic.Endpoint != "" {
		if err := checkURL("introspection endpoint", ic.Endpoint, cfg.InsecureAllowHTTP); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
		ep := ic.Endpoint
		in.endpoint.Store(&ep)
	} else if cfg.StaticKeys != nil || cfg.StaticJWKS != nil || cfg.HMACSecret != nil {
		return nil, errors.New("oidcauth: IntrospectionConfig.Endpoint is required with static keys (nothing is discovered)")
	}
	if ic.CacheTTL >= 0 {
		neg := orDefault(ic.NegativeTTL, DefaultIntrospectionNegativeTTL)
		if ic.NegativeTTL < 0 {
			neg = 0
		}
		in.cache = newIntroCache(orDefault(ic.CacheSize, DefaultIntrospectionCacheSize),
			orDefault(ic.CacheTTL, DefaultIntrospectionCacheTTL), neg)
	}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	return in, nil
}

// discoverEndpoint reads introspection_endpoint from the provider's
// metadata (RFC 8414 §2), unless it is known already.
func (in *introspector) discoverEndpoint(ctx context.Context) (string, error) {
	if ep := in.endpoint.Load(); ep != nil {
		return *ep, nil
	}
	dctx, end := startSpan(ctx, in.obs, SpanDiscovery)
	md, err := in.f.discover(dctx, in.issuer)
	end(err)
	if err != nil {
		return "", err
	}
	var ep string
	err = jsonx.Members(md.Raw, func(name []byte, kind jsonx.Kind, raw []byte) error {
		if string(name) == "introspection_endpoint" {
			var err error
			if ep, err = jsonx.String(raw); err != nil {
				return errors.New("introspection_endpoint is not a string")
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", md.SourceURL, err)
	}
	if ep == "" {
		return "", fmt.Errorf("%s has no introspection_endpoint: set IntrospectionConfig.Endpoint", md.SourceURL)
	}
	if err := checkURL("introspection_endpoint", ep, in.f.insecureHTTP); err != nil {
		return "", err
	}
	in.endpoint.Store(&ep)
	return ep, nil
}

// close stops every introspection in flight and waits for them.
func (in *introspector) close() {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	in.cancel()
	in.wg.Wait()
}

// looksLikeJWT reports whether token has the shape of a compact JWS: three
// base64url parts whose first decodes to a JSON object. Anything else is
// an opaque token, for the introspection endpoint.
func looksLikeJWT(token string) bool {
	h1, _, ok := splitToken(token)
	if !ok {
		return false
	}
	var buf [384]byte
	if b64.DecodedLen(h1) > len(buf) {
		return decodesToObject(token[:h1])
	}
	hb, err := b64.AppendDecode(buf[:0], []byte(token[:h1]))
	return err == nil && len(hb) > 0 && hb[0] == '{' && jsonx.Validate(hb) == nil
}

func decodesToObject(part string) bool {
	hb, err := b64.DecodeString(part)
	return err == nil && len(hb) > 0 && hb[0] == '{' && jsonx.Validate(hb) == nil
}

// validateOrIntrospect is Validate with Config.Introspection set: a
// JWT-shaped token is validated locally, and with All then introspected
// too; any other token is introspected.
func (a *Authorizer) validateOrIntrospect(ctx context.Context, token string) (*Claims, error) {
	in := a.intro
	if looksLikeJWT(token) {
		c, err := a.validateJWT(ctx, token)
		if err != nil || !in.all {
			return c, err
		}
		if _, err := a.introspect(ctx, token); err != nil {
			return nil, err
		}
		// The signed claims, now known to be active.
		return c, nil
	}
	return a.introspect(ctx, token)
}

// introspect returns the cached answer for token or asks the endpoint,
// sharing a call already in flight for the same token.
func (a *Authorizer) introspect(ctx context.Context, token string) (*Claims, error) {
	in := a.intro
	key := tokenKey(token)
	now := a.now()
	if in.cache != nil {
		c, verr, ok := in.cache.get(&key, now)
		if in.obs != nil {
			in.obs.IntrospectionCache(ctx, ok)
		}
		if ok {
			if verr != nil {
				return nil, verr
			}
			return c, nil
		}
	}
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil, errIntrospectorClosed
	}
	call := in.calls[key]
	if call == nil {
		call = &introCall{done: make(chan struct{})}
		in.calls[key] = call
		in.wg.Add(1)
		in.running.Add(1)
		go a.runIntrospection(key, token, call)
	}
	in.mu.Unlock()
	select {
	case <-call.done:
		if call.err != nil {
			return nil, call.err
		}
		return call.claims, nil
	case <-ctx.Done():
		return nil, &ValidationError{Err: ErrIntrospectionFailed, Reason: "gave up waiting for the introspection: " + ctx.Err().Error(), RetryAfter: introspectionRetryAfter}
	}
}

var (
	errIntrospectorClosed = &ValidationError{Err: ErrIntrospectionFailed, Reason: "authorizer closed", RetryAfter: introspectionRetryAfter}
	errIntrospectionBusy  = &ValidationError{Err: ErrIntrospectionFailed, Reason: fmt.Sprintf("%d introspections in flight for longer than the fetch timeout", maxIntrospections), RetryAfter: time.Second}
)

// runIntrospection is the goroutine of one call: it waits for one of the
// maxIntrospections slots (at most the fetch timeout), asks, caches the
// answer, and only then lets the waiters go, so that a request arriving
// after the call finds the answer in the cache.
func (a *Authorizer) runIntrospection(key [32]byte, token string, call *introCall) {
	in := a.intro
	defer func() {
		in.mu.Lock()
		delete(in.calls, key)
		in.mu.Unlock()
		close(call.done)
		in.running.Add(-1)
		in.wg.Done()
	}()
	t := time.NewTimer(in.f.timeout)
	defer t.Stop()
	select {
	case in.sem <- struct{}{}:
		defer func() { <-in.sem }()
	case <-in.ctx.Done():
		call.err = errIntrospectorClosed
		return
	case <-t.C:
		call.err = errIntrospectionBusy
		return
	}
	if in.obs == nil {
		call.claims, call.err = a.ask(in.ctx, token)
	} else {
		start := time.Now()
		ctx, end := in.obs.StartSpan(in.ctx, SpanIntrospection)
		call.claims, call.err = a.ask(ctx, token)
		err := errOrNil(call.err)
		end(err)
		in.obs.Introspection(in.ctx, FetchEvent{Outcome: Outcome(err), Duration: time.Since(start)})
	}
	if in.cache == nil {
		return
	}
	now := a.now()
	switch {
	case call.err == nil:
		in.cache.putPositive(&key, call.claims, now)
	case !errors.Is(call.err, ErrIntrospectionFailed):
		// The provider's verdict on this token: remember it briefly.
		in.cache.putNegative(&key, call.err, now)
	}
}

// ask sends token to the introspection endpoint (RFC 7662 §2.1) and checks
// the answer.
func (a *Authorizer) ask(ctx context.Context, token string) (*Claims, *ValidationError) {
	in := a.intro
	ep, err := in.discoverEndpoint(ctx)
	if err != nil {
		return nil, in.failed(slog.LevelWarn, "discovering the introspection endpoint failed", err.Error())
	}
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if in.postID != "" {
		form.Set("client_id", in.postID)
		form.Set("client_secret", in.postPW)
	}
	status, body, err := in.f.postForm(ctx, in.client, ep, form, in.auth, in.maxBody)
	switch {
	case err != nil && in.ctx.Err() != nil:
		return nil, errIntrospectorClosed
	case err != nil:
		return nil, in.failed(slog.LevelWarn, "introspection request failed", err.Error())
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		// RFC 7662 §2.3: an unknown or bad token is {"active":false};
		// these statuses mean the endpoint refused us.
		return nil, in.failed(slog.LevelError, "the introspection endpoint refused our client credentials (check IntrospectionConfig.ClientID, ClientSecret and AuthMethod)",
			fmt.Sprintf("POST %s: status %d%s", ep, status, oauthErrorCode(body)))
	case status != http.StatusOK:
		return nil, in.failed(slog.LevelWarn, "introspection endpoint failed", fmt.Sprintf("POST %s: status %d", ep, status))
	}
	c, verr := a.checkAnswer(body, a.now())
	if verr != nil && errors.Is(verr, ErrIntrospectionFailed) {
		in.logThrottled(slog.LevelWarn, "malformed introspection answer", verr.Reason)
	}
	return c, verr
}

// failed logs (throttled) and returns ErrIntrospectionFailed.
func (in *introspector) failed(level slog.Level, msg, reason string) *ValidationError {
	in.logThrottled(level, msg, reason)
	return &ValidationError{Err: ErrIntrospectionFailed, Reason: reason, RetryAfter: introspectionRetryAfter}
}

func (in *introspector) logThrottled(level slog.Level, msg, reason string) {
	last := &in.lastWarn
	if level >= slog.LevelError {
		last = &in.lastConfigErr
	}
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(logEvery) || !last.CompareAndSwap(prev, now) {
		return
	}
	in.log.Log(in.ctx, level, "oidcauth: "+msg, slog.String("issuer", in.issuer), slog.String("error", reason))
}

// oauthErrorCode returns ", error=CODE" for an OAuth error answer
// (RFC 6749 §5.2) whose code is a plain short token, or "".
func oauthErrorCode(body []byte) string {
	var code string
	jsonx.Members(body, func(name []byte, kind jsonx.Kind, raw []byte) error { //nolint:errcheck // best effort
		if string(name) == "error" && kind == jsonx.KindString {
			code, _ = jsonx.String(raw)
		}
		return nil
	})
	if code == "" || len(code) > 40 || strings.ContainsFunc(code, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) {
		return ""
	}
	return ", error=" + code
}

// checkAnswer checks an introspection answer (RFC 7662 §2.2, §4) and
// turns it into Claims. In order:
//
//  1. strict JSON (as for JWT claims); a member that RFC 7662 §2.2 types
//     with another type, or an active that is not a JSON boolean, makes
//     the answer malformed: ErrIntrospectionFailed;
//  2. active must be true: ErrTokenInactive;
//  3. iss, when present, equals Config.Issuer: ErrInvalidIssuer;
//  4. aud contains one of Config.Audiences (unless SkipAudienceCheck); an
//     answer without aud is refused unless SkipAudienceCheckWhenAbsent:
//     ErrInvalidAudience;
//  5. exp, nbf and iat, when present, with Config.Leeway.
func (a *Authorizer) checkAnswer(body []byte, now time.Time) (*Claims, *ValidationError) {
	c := &Claims{Raw: body, Issuer: a.issuer, by: a}
	var active, hasActive, hasAud bool
	var issRaw []byte
	var bad string
	err := jsonx.Members(body, func(name []byte, kind jsonx.Kind, raw []byte) error {
		ok := true
		switch string(name) {
		case "active":
			hasActive = kind == jsonx.KindTrue || kind == jsonx.KindFalse
			active = kind == jsonx.KindTrue
			ok = hasActive
		case "iss":
			ok = kind == jsonx.KindString
			issRaw = raw
		default:
			hasAud = hasAud || string(name) == "aud"
			_, ok = a.registered(c, name, kind, raw)
		}
		if !ok && bad == "" {
			bad = "member " + string(name) + " has the wrong type (" + kind.String() + ")"
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, &ValidationError{Err: ErrIntrospectionFailed, Reason: "introspection answer is not a strict JSON object: " + err.Error(), RetryAfter: introspectionRetryAfter}
	case !hasActive:
		return nil, &ValidationError{Err: ErrIntrospectionFailed, Reason: "introspection answer has no boolean active", RetryAfter: introspectionRetryAfter}
	case !active:
		return nil, errInactive
	case bad != "":
		return nil, &ValidationError{Err: ErrIntrospectionFailed, Reason: "introspection answer: " + bad, RetryAfter: introspectionRetryAfter}
	}
	if issRaw != nil && !jsonx.EqualString(issRaw, a.issuer) && (a.issuerAlt == "" || !jsonx.EqualString(issRaw, a.issuerAlt)) {
		got, _ := jsonx.String(issRaw)
		return nil, invalid(ErrInvalidIssuer, fmt.Sprintf("introspection iss %s is not %q", quote(got), a.issuer))
	}
	if !a.skipAud {
		switch {
		case !hasAud && !a.intro.audAbsOK:
			return nil, errNoAudience
		case hasAud && !a.audienceOK(c.Audience):
			return nil, invalid(ErrInvalidAudience, fmt.Sprintf("introspection aud %s not in %v", quoteList(c.Audience), a.audiences))
		}
	}
	if !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt.Add(a.leeway)) {
		return nil, invalid(ErrTokenExpired, "introspection exp "+c.ExpiresAt.UTC().Format(time.RFC3339)+" is past")
	}
	if !c.NotBefore.IsZero() && now.Add(a.leeway).Before(c.NotBefore) {
		return nil, invalid(ErrTokenNotYetValid, "introspection nbf "+c.NotBefore.UTC().Format(time.RFC3339)+" is in the future")
	}
	if !c.IssuedAt.IsZero() && now.Add(a.leeway).Before(c.IssuedAt) {
		return nil, invalid(ErrTokenIssuedInFuture, "introspection iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is in the future")
	}
	return c, nil
}

var (
	errInactive   = invalid(ErrTokenInactive, "the introspection endpoint says the token is not active")
	errNoAudience = invalid(ErrInvalidAudience, "introspection answer has no aud (see IntrospectionConfig.SkipAudienceCheckWhenAbsent)")
)
