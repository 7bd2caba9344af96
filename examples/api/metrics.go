package main

// GET /metrics: the Authorizer's Observer events as Prometheus metrics.
//
// This example is in the root module (go run ./examples/api), which cannot
// import the otel nested module; it implements oidcauth.Observer with
// client_golang collectors instead, under the same exported names, labels
// and help texts as github.com/oidcauth/oidcauth/otel produces through the
// OpenTelemetry Prometheus exporter, so that dashboards work with either.

import (
	"context"
	"net/http"
	"sync"

	"github.com/oidcauth/oidcauth"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// durationBuckets are oidcotel.DurationBuckets, in seconds.
var durationBuckets = []float64{
	0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
}

// metrics is an oidcauth.Observer that feeds a Prometheus registry.
type metrics struct {
	oidcauth.NopObserver
	reg *prometheus.Registry

	// Children prepared for every label value, so that an event is one
	// map lookup and an atomic add.
	validations map[[2]string]prometheus.Counter
	duration    map[string]prometheus.Observer
	fetches     map[string]prometheus.Counter
	refreshes   map[string]prometheus.Counter
	intro       map[string]prometheus.Counter
	hit, miss   prometheus.Counter
	replays     prometheus.Counter

	mu      sync.Mutex
	sources map[int]func() oidcauth.Stats
	next    int
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), sources: map[int]func() oidcauth.Stats{}}
	validations := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oidcauth_validations_total",
		Help: "Access tokens validated, by outcome (ok, refused, unavailable) and reason."}, []string{"outcome", "reason"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "oidcauth_validation_duration_seconds",
		Help: "Duration of access token validations, by outcome.", Buckets: durationBuckets}, []string{"outcome"})
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oidcauth_key_fetches_total",
		Help: "Fetches of the provider's signing keys (discovery and JWKS), by outcome (ok, error)."}, []string{"outcome"})
	refreshes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oidcauth_key_refreshes_total",
		Help: "Key fetches started, by cause (start, schedule, unknown_kid, manual)."}, []string{"cause"})
	intro := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oidcauth_introspections_total",
		Help: "Calls to the token introspection endpoint (RFC 7662), by outcome (ok, refused, unavailable)."}, []string{"outcome"})
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "oidcauth_introspection_cache_lookups_total",
		Help: "Lookups in the introspection answer cache, by result (hit, miss)."}, []string{"result"})
	m.replays = prometheus.NewCounter(prometheus.CounterOpts{Name: "oidcauth_dpop_replays_refused_total",
		Help: "DPoP proofs refused because their jti was seen before (RFC 9449)."})
	keys := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oidcauth_keys_cached",
		Help: "Usable signing keys in the key caches of the attached Authorizers."},
		func() float64 { k, _ := m.stats(); return float64(k) })
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "oidcauth_key_set_age_seconds",
		Help: "Age of the oldest key set among the attached Authorizers."},
		func() float64 { _, a := m.stats(); return a })
	m.reg.MustRegister(validations, duration, fetches, refreshes, intro, lookups, m.replays, keys, age)

	outcomes := []string{oidcauth.OutcomeOK, oidcauth.OutcomeRefused, oidcauth.OutcomeUnavailable}
	m.validations = map[[2]string]prometheus.Counter{}
	m.duration = map[string]prometheus.Observer{}
	m.intro = map[string]prometheus.Counter{}
	for _, o := range outcomes {
		for _, r := range oidcauth.Reasons() {
			m.validations[[2]string{o, r}] = validations.WithLabelValues(o, r)
		}
		m.duration[o] = duration.WithLabelValues(o)
		m.intro[o] = intro.WithLabelValues(o)
	}
	m.fetches = map[string]prometheus.Counter{}
	for _, o := range []string{oidcauth.FetchOK, oidcauth.FetchError} {
		m.fetches[o] = fetches.WithLabelValues(o)
	}
	m.refreshes = map[string]prometheus.Counter{}
	for _, c := range []string{oidcauth.RefreshStart, oidcauth.RefreshSchedule, oidcauth.RefreshUnknownKID, oidcauth.RefreshManual} {
		m.refreshes[c] = refreshes.WithLabelValues(c)
	}
	m.hit, m.miss = lookups.WithLabelValues("hit"), lookups.WithLabelValues("miss")
	return m
}

func (m *metrics) Validation(_ context.Context, ev oidcauth.ValidationEvent) {
	c, ok := m.validations[[2]string{ev.Outcome, ev.Reason}]
	if !ok {
		c = m.validations[[2]string{oidcauth.OutcomeUnavailable, oidcauth.ReasonOther}]
	}
	c.Inc()
	if h := m.duration[ev.Outcome]; h != nil {
		h.Observe(ev.Duration.Seconds())
	}
}

func (m *metrics) KeyFetch(_ context.Context, ev oidcauth.FetchEvent) {
	if c := m.fetches[ev.Outcome]; c != nil {
		c.Inc()
	}
}

func (m *metrics) Refresh(_ context.Context, cause string) {
	if c := m.refreshes[cause]; c != nil {
		c.Inc()
	}
}

func (m *metrics) Introspection(_ context.Context, ev oidcauth.FetchEvent) {
	if c := m.intro[ev.Outcome]; c != nil {
		c.Inc()
	}
}

func (m *metrics) IntrospectionCache(_ context.Context, hit bool) {
	if hit {
		m.hit.Inc()
	} else {
		m.miss.Inc()
	}
}

func (m *metrics) DPoPReplay(context.Context) { m.replays.Inc() }

func (m *metrics) AttachKeyCache(stats func() oidcauth.Stats) func() {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := m.next
	m.next++
	m.sources[id] = stats
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.sources, id)
	}
}

// stats sums the keys of the attached key caches and returns the oldest
// key set's age in seconds.
func (m *metrics) stats() (keys int, age float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sources {
		st := s()
		keys += st.Keys
		age = max(age, st.KeysAge.Seconds())
	}
	return keys, age
}

// withMetrics serves GET /metrics (Prometheus text format) beside next.
func withMetrics(next http.Handler, m *metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.Handle("/", next)
	return mux
}
