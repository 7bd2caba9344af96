package oidcauth

import (
	"context"
	"errors"
	"time"
)

// Observer receives what an Authorizer does, for metrics and traces: set
// it as Config.Observer (or IssuersConfig.Observer). The module
// github.com/oidcauth/oidcauth/otel implements it with OpenTelemetry; see
// the package docs, "Observability".
//
// Every label an Observer is given comes from a small fixed set (the
// constants below and Reasons), never from a token, a subject or an issuer
// URL, so metrics built on them have bounded cardinality. Methods are
// called synchronously on the path they observe (Validation on every
// Validate call), so they must be fast, must not block, and must be safe
// for concurrent use. An Observer never changes an outcome.
//
// Implementations should embed NopObserver: methods added to Observer in
// later versions then have a no-op default, and the implementation keeps
// compiling.
//
// With Config.Observer nil (the default) nothing is measured and nothing
// is called: Validate costs what it costs without this hook.
type Observer interface {
	// Validation is called when Validate returns: Outcome and Reason are
	// Outcome(err) and Reason(err), Duration the time Validate took.
	Validation(ctx context.Context, ev ValidationEvent)

	// KeyFetch is called when a fetch of the provider's keys (discovery,
	// if needed, then the JWKS; Stats counts the two as one fetch) ends,
	// with FetchOK or FetchError.
	KeyFetch(ctx context.Context, ev FetchEvent)

	// Refresh is called when a fetch of the keys starts, with why it
	// started: RefreshStart, RefreshSchedule, RefreshUnknownKID or
	// RefreshManual. A request that joins a fetch in flight starts none.
	Refresh(ctx context.Context, cause string)

	// Introspection is called when a call to the introspection endpoint
	// (RFC 7662 §2.1) ends: Outcome is OutcomeOK (the token is active
	// and acceptable), OutcomeRefused (the endpoint's verdict refuses it)
	// or OutcomeUnavailable (ErrIntrospectionFailed).
	Introspection(ctx context.Context, ev FetchEvent)

	// IntrospectionCache is called for each token looked up in the
	// introspection cache (IntrospectionConfig.CacheTTL not negative):
	// hit reports whether a remembered answer was used.
	IntrospectionCache(ctx context.Context, hit bool)

	// DPoPReplay is called when a DPoP proof (RFC 9449 §11.1) is refused
	// because its jti was seen before.
	DPoPReplay(ctx context.Context)

	// StartSpan is called before an outgoing call of the Authorizer:
	// SpanKeyFetch (around SpanDiscovery, when the JWKS URL is discovered,
	// and the JWKS request) and SpanIntrospection. The returned context,
	// which must derive from ctx, is the one the call's HTTP request
	// carries; end is called once with the call's error (nil for
	// success). Validations get no span.
	StartSpan(ctx context.Context, name string) (_ context.Context, end func(err error))

	// AttachKeyCache is called by New (and by Issuers when a tenant is
	// admitted) with the Authorizer's Stats, for gauges read at
	// collection time (Stats.Keys, Stats.KeysAge). The Authorizer calls
	// detach when it is closed; after that stats must not be called.
	AttachKeyCache(stats func() Stats) (detach func())
}

// ValidationEvent is one call of Validate, for Observer.Validation.
type ValidationEvent struct {
	Outcome  string        // OutcomeOK, OutcomeRefused or OutcomeUnavailable
	Reason   string        // Reason(err): one of Reasons
	Duration time.Duration // wall time of the call
}

// FetchEvent is one outgoing call, for Observer.KeyFetch and
// Observer.Introspection.
type FetchEvent struct {
	Outcome  string // FetchOK or FetchError; for introspection, an Outcome… constant
	Duration time.Duration
}

// Outcomes of Observer events.
const (
	OutcomeOK          = "ok"          // Validate accepted the token
	OutcomeRefused     = "refused"     // the token or request is not acceptable (4xx)
	OutcomeUnavailable = "unavailable" // not the client's fault: keys or introspection unavailable (5xx)

	FetchOK    = "ok"
	FetchError = "error"
)

// Causes of Observer.Refresh.
const (
	RefreshStart      = "start"       // the first fetch, in New or at a tenant's first token
	RefreshSchedule   = "schedule"    // the background refresh, ahead of expiry or after a failure
	RefreshUnknownKID = "unknown_kid" // a token named a kid the key set lacks
	RefreshManual     = "manual"      // Authorizer.Refresh
)

// Span names of Observer.StartSpan.
const (
	SpanKeyFetch      = "oidcauth.key_fetch"
	SpanDiscovery     = "oidcauth.discovery"
	SpanIntrospection = "oidcauth.introspection"
)

// Outcome maps the error of Validate (or of Authenticate, Check, or an
// Issuers' Validate) to OutcomeOK (nil), OutcomeUnavailable (StatusCode
// 5xx: ErrKeysUnavailable, ErrKeyNotYetKnown, ErrIntrospectionFailed, and
// unknown errors) or OutcomeRefused (every other error).
func Outcome(err error) string {
	_, outcome := classify(err)
	return outcome
}

// reasons maps each sentinel to its label and outcome. Order matters
// where one sentinel is also another (ErrKeyNotYetKnown is
// ErrKeysUnavailable): the more specific comes first.
var reasons = []struct {
	err     error
	label   string
	outcome string
}{
	{ErrNoToken, "no_token", OutcomeRefused},
	{ErrInvalidRequest, "invalid_request", OutcomeRefused},
	{ErrMalformedToken, "malformed", OutcomeRefused},
	{ErrInvalidHeader, "invalid_header", OutcomeRefused},
	{ErrUnsupportedAlgorithm, "unsupported_algorithm", OutcomeRefused},
	{ErrUnknownKey, "unknown_key", OutcomeRefused},
	{ErrInvalidSignature, "invalid_signature", OutcomeRefused},
	{ErrInvalidClaims, "invalid_claims", OutcomeRefused},
	{ErrInvalidIssuer, "invalid_issuer", OutcomeRefused},
	{ErrInvalidAudience, "invalid_audience", OutcomeRefused},
	{ErrIDToken, "id_token", OutcomeRefused},
	{ErrTokenExpired, "expired", OutcomeRefused},
	{ErrTokenNotYetValid, "not_yet_valid", OutcomeRefused},
	{ErrTokenIssuedInFuture, "issued_in_future", OutcomeRefused},
	{ErrTokenInactive, "inactive", OutcomeRefused},
	{ErrInsufficientScope, "insufficient_scope", OutcomeRefused},
	{ErrInsufficientUserAuthentication, "insufficient_user_authentication", OutcomeRefused},
	{ErrDPoPReplay, "dpop_replay", OutcomeRefused},
	{ErrInvalidDPoPProof, "invalid_dpop_proof", OutcomeRefused},
	{ErrUseDPoPNonce, "use_dpop_nonce", OutcomeRefused},
	{ErrDPoPRequired, "dpop_required", OutcomeRefused},
	{ErrCertificateMismatch, "certificate_mismatch", OutcomeRefused},
	{ErrReplayCacheUnavailable, "replay_cache_unavailable", OutcomeUnavailable},
	{ErrKeyNotYetKnown, "key_not_yet_known", OutcomeUnavailable},
	{ErrKeysUnavailable, "keys_unavailable", OutcomeUnavailable},
	{ErrIntrospectionFailed, "introspection_failed", OutcomeUnavailable},
}

// Labels of Reason outside the sentinels.
const (
	ReasonNone  = "none"  // err is nil
	ReasonOther = "other" // an error that wraps none of the sentinels
)

// Reason maps err to a label from a small fixed set (see Reasons), for
// metrics: ReasonNone for nil, the sentinel's name in snake case for an
// error wrapping one of the Err… sentinels ("expired" for ErrTokenExpired,
// "invalid_audience", "keys_unavailable", "key_not_yet_known", …), and
// ReasonOther for anything else. The label never carries anything from the
// token or the request. It does not allocate.
func Reason(err error) string {
	label, _ := classify(err)
	return label
}

// classify returns Reason(err) and Outcome(err) in one pass.
func classify(err error) (label, outcome string) {
	if err == nil {
		return ReasonNone, OutcomeOK
	}
	// Validate's errors are a *ValidationError holding a sentinel: one
	// comparison each, without walking a chain.
	if ve, ok := err.(*ValidationError); ok {
		for _, r := range reasons {
			if ve.Err == r.err {
				return r.label, r.outcome
			}
		}
	}
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.label, r.outcome
		}
	}
	return ReasonOther, OutcomeUnavailable
}

// Reasons returns every label Reason can return, ReasonNone and
// ReasonOther included, for observers that prepare their label sets and
// for tests that check a metric's labels are bounded.
func Reasons() []string {
	out := make([]string, 0, len(reasons)+2)
	out = append(out, ReasonNone)
	for _, r := range reasons {
		out = append(out, r.label)
	}
	return append(out, ReasonOther)
}

// NopObserver is an Observer that does nothing. Embed it in an Observer
// implementation so that methods added to Observer later have a default.
type NopObserver struct{}

func (NopObserver) Validation(context.Context, ValidationEvent) {}
func (NopObserver) KeyFetch(context.Context, FetchEvent)        {}
func (NopObserver) Refresh(context.Context, string)             {}
func (NopObserver) Introspection(context.Context, FetchEvent)   {}
func (NopObserver) IntrospectionCache(context.Context, bool)    {}
func (NopObserver) DPoPReplay(context.Context)                  {}
func (NopObserver) AttachKeyCache(func() Stats) (detach func()) { return func() {} }
func (NopObserver) StartSpan(ctx context.Context, _ string) (context.Context, func(error)) {
	return ctx, func(error) {}
}

var _ Observer = NopObserver{}

// monoBase is the origin of monotonic: time.Since of a time with a
// monotonic reading reads only the monotonic clock, about a third of what
// time.Now costs (which reads the wall clock too).
var monoBase = time.Now()

// monotonic is a reading of the monotonic clock, for durations.
func monotonic() time.Duration { return time.Since(monoBase) }

// observe records one Validate call that started at start (a monotonic
// reading).
func observe(ctx context.Context, obs Observer, start time.Duration, err error) {
	label, outcome := classify(err)
	obs.Validation(ctx, ValidationEvent{Outcome: outcome, Reason: label, Duration: monotonic() - start})
}

// startSpan is obs.StartSpan, or nothing without an Observer.
func startSpan(ctx context.Context, obs Observer, name string) (context.Context, func(error)) {
	if obs == nil {
		return ctx, func(error) {}
	}
	return obs.StartSpan(ctx, name)
}

// fetchOutcome is FetchOK or FetchError.
func fetchOutcome(err error) string {
	if err != nil {
		return FetchError
	}
	return FetchOK
}

// attachObserver gives the Observer the Authorizer's key cache, once.
func (a *Authorizer) attachObserver() {
	if a.obs == nil {
		return
	}
	a.detachMu.Lock()
	defer a.detachMu.Unlock()
	if a.detach == nil && !a.closed {
		a.detach = a.obs.AttachKeyCache(a.Stats)
	}
}

// detachObserver undoes attachObserver; Close calls it.
func (a *Authorizer) detachObserver() {
	if a.obs == nil {
		return
	}
	a.detachMu.Lock()
	defer a.detachMu.Unlock()
	a.closed = true
	if a.detach != nil {
		a.detach()
		a.detach = nil
	}
}

// errOrNil turns a nil *ValidationError into a nil error.
func errOrNil(verr *ValidationError) error {
	if verr == nil {
		return nil
	}
	return verr
}
