// Package oidcotel reports what an oidcauth Authorizer does as
// OpenTelemetry metrics and traces. It implements oidcauth.Observer: set
// the value New returns as oidcauth.Config.Observer (or
// IssuersConfig.Observer).
//
// It is its own module (github.com/oidcauth/oidcauth/otel) so that users
// of oidcauth who do not import it never download OpenTelemetry.
//
// Instruments (OpenTelemetry name, unit, attributes → the name the
// OpenTelemetry Prometheus exporter gives it):
//
//	oidcauth.validations                 {validation}  outcome, reason  oidcauth_validations_total
//	oidcauth.validation.duration         s             outcome          oidcauth_validation_duration_seconds
//	oidcauth.key_fetches                 {fetch}       outcome          oidcauth_key_fetches_total
//	oidcauth.key_refreshes               {refresh}     cause            oidcauth_key_refreshes_total
//	oidcauth.introspections              {call}        outcome          oidcauth_introspections_total
//	oidcauth.introspection.cache.lookups {lookup}      result           oidcauth_introspection_cache_lookups_total
//	oidcauth.dpop.replays_refused        {proof}       -                oidcauth_dpop_replays_refused_total
//	oidcauth.keys.cached                 {key}         -                oidcauth_keys_cached
//	oidcauth.key_set.age                 s             -                oidcauth_key_set_age_seconds
//
// Every attribute value comes from a fixed set: outcome is ok, refused or
// unavailable (key fetches: ok or error), reason one of oidcauth.Reasons,
// cause start, schedule, unknown_kid or manual, result hit or miss. No
// token, subject or issuer URL ever becomes a label. The gauges sum the
// keys of every attached Authorizer and report the oldest key set's age.
//
// Spans (kind client): oidcauth.key_fetch, with a child oidcauth.discovery
// when the JWKS URL is discovered, and oidcauth.introspection. A failed
// call's span has status Error and the error recorded. Validations get no
// span: one per request would double the cost of the request's own span
// for no information (the validation counter and histogram carry it).
package oidcotel

import (
	"context"
	"sync"
	"time"

	"github.com/oidcauth/oidcauth"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/oidcauth/oidcauth/otel"

// DurationBuckets are the histogram boundaries of
// oidcauth.validation.duration, in seconds: a cached or refused token takes
// microseconds, a signature check tens of microseconds to a millisecond, a
// validation that waits for a key refresh or an introspection call
// milliseconds to seconds.
var DurationBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// Config configures New. The zero value uses the global providers.
type Config struct {
	// MeterProvider makes the instruments. Default: otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider makes the spans. Default: otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
}

// Observer is an oidcauth.Observer that records metrics and spans. It is
// safe for concurrent use, and one Observer can serve several Authorizers.
type Observer struct {
	oidcauth.NopObserver

	tracer trace.Tracer

	validations  metric.Int64Counter
	duration     metric.Float64Histogram
	fetches      metric.Int64Counter
	refreshes    metric.Int64Counter
	intro        metric.Int64Counter
	cacheLookups metric.Int64Counter
	replays      metric.Int64Counter

	// Prepared attribute sets, so that recording allocates nothing.
	byReason  map[[2]string][]metric.AddOption // {outcome, reason}
	byOutcome map[string][]metric.AddOption
	byFetch   map[string][]metric.AddOption
	durOpts   map[string][]metric.RecordOption
	byCause   map[string][]metric.AddOption
	hit, miss []metric.AddOption

	mu      sync.Mutex
	sources map[int]func() oidcauth.Stats
	nextID  int
}

var _ oidcauth.Observer = (*Observer)(nil)

var (
	outcomes      = []string{oidcauth.OutcomeOK, oidcauth.OutcomeRefused, oidcauth.OutcomeUnavailable}
	fetchOutcomes = []string{oidcauth.FetchOK, oidcauth.FetchError}
	causes        = []string{oidcauth.RefreshStart, oidcauth.RefreshSchedule, oidcauth.RefreshUnknownKID, oidcauth.RefreshManual}
)

// New makes the instruments and returns the Observer.
func New(cfg Config) (*Observer, error) {
	mp, tp := cfg.MeterProvider, cfg.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	m := mp.Meter(ScopeName)
	o := &Observer{tracer: tp.Tracer(ScopeName), sources: map[int]func() oidcauth.Stats{}}
	var err error
	counter := func(name, unit, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		return c
	}
	o.validations = counter("oidcauth.validations", "{validation}", "Access tokens validated, by outcome (ok, refused, unavailable) and reason.")
	o.fetches = counter("oidcauth.key_fetches", "{fetch}", "Fetches of the provider's signing keys (discovery and JWKS), by outcome (ok, error).")
	o.refreshes = counter("oidcauth.key_refreshes", "{refresh}", "Key fetches started, by cause (start, schedule, unknown_kid, manual).")
	o.intro = counter("oidcauth.introspections", "{call}", "Calls to the token introspection endpoint (RFC 7662), by outcome (ok, refused, unavailable).")
	o.cacheLookups = counter("oidcauth.introspection.cache.lookups", "{lookup}", "Lookups in the introspection answer cache, by result (hit, miss).")
	o.replays = counter("oidcauth.dpop.replays_refused", "{proof}", "DPoP proofs refused because their jti was seen before (RFC 9449).")
	if err != nil {
		return nil, err
	}
	if o.duration, err = m.Float64Histogram("oidcauth.validation.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of access token validations, by outcome."),
		metric.WithExplicitBucketBoundaries(DurationBuckets...)); err != nil {
		return nil, err
	}
	if _, err = m.Int64ObservableGauge("oidcauth.keys.cached", metric.WithUnit("{key}"),
		metric.WithDescription("Usable signing keys in the key caches of the attached Authorizers."),
		metric.WithInt64Callback(o.observeKeys)); err != nil {
		return nil, err
	}
	if _, err = m.Float64ObservableGauge("oidcauth.key_set.age", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest key set among the attached Authorizers."),
		metric.WithFloat64Callback(o.observeAge)); err != nil {
		return nil, err
	}

	o.byReason = map[[2]string][]metric.AddOption{}
	o.byOutcome = map[string][]metric.AddOption{}
	o.durOpts = map[string][]metric.RecordOption{}
	for _, out := range outcomes {
		for _, r := range oidcauth.Reasons() {
			o.byReason[[2]string{out, r}] = addOpts(attribute.String("outcome", out), attribute.String("reason", r))
		}
		o.byOutcome[out] = addOpts(attribute.String("outcome", out))
		o.durOpts[out] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", out)))}
	}
	o.byFetch = map[string][]metric.AddOption{}
	for _, out := range fetchOutcomes {
		o.byFetch[out] = addOpts(attribute.String("outcome", out))
	}
	o.byCause = map[string][]metric.AddOption{}
	for _, c := range causes {
		o.byCause[c] = addOpts(attribute.String("cause", c))
	}
	o.hit = addOpts(attribute.String("result", "hit"))
	o.miss = addOpts(attribute.String("result", "miss"))
	return o, nil
}

func addOpts(kv ...attribute.KeyValue) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
}

// Validation counts the validation and records its duration.
func (o *Observer) Validation(ctx context.Context, ev oidcauth.ValidationEvent) {
	opts, ok := o.byReason[[2]string{ev.Outcome, ev.Reason}]
	if !ok {
		// A label this version does not know (a newer oidcauth): keep the
		// set bounded rather than invent a value.
		opts = o.byReason[[2]string{oidcauth.OutcomeUnavailable, oidcauth.ReasonOther}]
	}
	o.validations.Add(ctx, 1, opts...)
	o.duration.Record(ctx, ev.Duration.Seconds(), o.durOpts[ev.Outcome]...)
}

// KeyFetch counts the fetch by outcome.
func (o *Observer) KeyFetch(ctx context.Context, ev oidcauth.FetchEvent) {
	o.fetches.Add(ctx, 1, o.byFetch[ev.Outcome]...)
}

// Refresh counts the refresh by cause.
func (o *Observer) Refresh(ctx context.Context, cause string) {
	o.refreshes.Add(ctx, 1, o.byCause[cause]...)
}

// Introspection counts the call by outcome.
func (o *Observer) Introspection(ctx context.Context, ev oidcauth.FetchEvent) {
	o.intro.Add(ctx, 1, o.byOutcome[ev.Outcome]...)
}

// IntrospectionCache counts the lookup as a hit or a miss.
func (o *Observer) IntrospectionCache(ctx context.Context, hit bool) {
	if hit {
		o.cacheLookups.Add(ctx, 1, o.hit...)
	} else {
		o.cacheLookups.Add(ctx, 1, o.miss...)
	}
}

// DPoPReplay counts the refused proof.
func (o *Observer) DPoPReplay(ctx context.Context) { o.replays.Add(ctx, 1) }

// StartSpan starts a client span named name.
func (o *Observer) StartSpan(ctx context.Context, name string) (context.Context, func(error)) {
	ctx, span := o.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, func(err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}
}

// AttachKeyCache adds an Authorizer's key cache to the gauges.
func (o *Observer) AttachKeyCache(stats func() oidcauth.Stats) func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	id := o.nextID
	o.nextID++
	o.sources[id] = stats
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		delete(o.sources, id)
	}
}

func (o *Observer) stats() (keys int64, age time.Duration, any bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.sources {
		st := s()
		keys += int64(st.Keys)
		if !st.LastSuccess.IsZero() || st.Keys > 0 {
			age = max(age, st.KeysAge)
		}
		any = true
	}
	return keys, age, any
}

func (o *Observer) observeKeys(_ context.Context, obs metric.Int64Observer) error {
	if keys, _, ok := o.stats(); ok {
		obs.Observe(keys)
	}
	return nil
}

func (o *Observer) observeAge(_ context.Context, obs metric.Float64Observer) error {
	if _, age, ok := o.stats(); ok {
		obs.Observe(age.Seconds())
	}
	return nil
}
