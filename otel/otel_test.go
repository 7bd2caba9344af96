package oidcotel_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
	oidcotel "github.com/oidcauth/oidcauth/otel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

type rig struct {
	reg   *prometheus.Registry
	spans *tracetest.SpanRecorder
	obs   *oidcotel.Observer
	p     *oidctest.Provider
	a     *oidcauth.Authorizer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := oidcotel.New(oidcotel.Config{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	p := oidctest.New(t, oidctest.Options{})
	p.EnableIntrospection("api", "secret")
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, Observer: obs,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Introspection: &oidcauth.IntrospectionConfig{ClientID: "api", ClientSecret: "secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &rig{reg: reg, spans: spans, obs: obs, p: p, a: a}
}

// gather scrapes the registry over HTTP in the Prometheus text format,
// runs promlint on the scrape and parses it with Prometheus's text parser.
func (r *rig) gather(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept", "text/plain")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	out, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("text parser: %v\n%s", err, body)
	}
	return out
}

// count is the value of the counter family name with the given labels.
func count(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	mf := mfs[name]
	if mf == nil {
		return 0
	}
	var sum float64
	for _, m := range mf.GetMetric() {
		if matches(m, labels) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestPrometheusNamesAndLabels(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	good := r.p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	expired := r.p.MustMint(t, map[string]any{"aud": "api", "exp": 1})
	opaque := r.p.MustMintOpaque(t, map[string]any{"sub": "bob", "aud": "api"})
	for _, tok := range []string{good, good, expired, "a.b", opaque, opaque} {
		r.a.Validate(ctx, tok) //nolint:errcheck // the metrics matter
	}
	if err := r.a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	mfs := r.gather(t)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"oidcauth_validations_total", []string{"outcome", "ok", "reason", "none"}, 4},
		{"oidcauth_validations_total", []string{"outcome", "refused", "reason", "expired"}, 1},
		// Not JWT-shaped: introspected, and unknown to the provider.
		{"oidcauth_validations_total", []string{"outcome", "refused", "reason", "inactive"}, 1},
		{"oidcauth_introspections_total", []string{"outcome", "refused"}, 1},
		{"oidcauth_key_fetches_total", []string{"outcome", "ok"}, 2},
		{"oidcauth_key_refreshes_total", []string{"cause", "start"}, 1},
		{"oidcauth_key_refreshes_total", []string{"cause", "manual"}, 1},
		{"oidcauth_introspections_total", []string{"outcome", "ok"}, 1},
		{"oidcauth_introspection_cache_lookups_total", []string{"result", "miss"}, 2},
		{"oidcauth_introspection_cache_lookups_total", []string{"result", "hit"}, 1},
	} {
		if got := count(mfs, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	h := mfs["oidcauth_validation_duration_seconds"]
	if h == nil || h.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("oidcauth_validation_duration_seconds missing or not a histogram: %v", h)
	}
	var n uint64
	for _, m := range h.GetMetric() {
		n += m.GetHistogram().GetSampleCount()
	}
	if n != 6 {
		t.Errorf("histogram sample count = %d, want 6", n)
	}
	if g := mfs["oidcauth_keys_cached"]; g == nil || g.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("oidcauth_keys_cached = %v, want 1", g)
	}
	if g := mfs["oidcauth_key_set_age_seconds"]; g == nil || g.GetMetric()[0].GetGauge().GetValue() < 0 {
		t.Errorf("oidcauth_key_set_age_seconds = %v, want >= 0", g)
	}
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "oidcauth_") && name != "target_info" {
			t.Errorf("unexpected family %s", name)
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", name)
		}
	}

	// Label values are bounded: every value is from the fixed sets.
	allowed := map[string][]string{
		"outcome": {"ok", "refused", "unavailable", "error"},
		"reason":  oidcauth.Reasons(),
		"cause":   {"start", "schedule", "unknown_kid", "manual"},
		"result":  {"hit", "miss"},
	}
	for name, mf := range mfs {
		if name == "target_info" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				vals, known := allowed[lp.GetName()]
				if !known && lp.GetName() != "le" {
					t.Errorf("%s: unexpected label %s=%q", name, lp.GetName(), lp.GetValue())
				}
				if known && !slices.Contains(vals, lp.GetValue()) {
					t.Errorf("%s: label %s=%q outside the fixed set", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

func TestSpans(t *testing.T) {
	r := newRig(t)
	r.p.SetJWKSFault(&oidctest.Fault{Status: 500})
	r.a.Refresh(context.Background()) //nolint:errcheck // fails on purpose
	opaque := r.p.MustMintOpaque(t, map[string]any{"sub": "bob", "aud": "api"})
	r.a.Validate(context.Background(), opaque) //nolint:errcheck // the span matters
	var got []string
	for _, s := range r.spans.Ended() {
		got = append(got, s.Name()+":"+s.Status().Code.String())
	}
	want := []string{
		"oidcauth.discovery:Unset", "oidcauth.key_fetch:Unset", // New
		"oidcauth.discovery:Unset", // the introspection endpoint, in New
		"oidcauth.key_fetch:Error", // the failed Refresh
		"oidcauth.introspection:Unset",
	}
	if !slices.Equal(got, want) {
		t.Errorf("spans = %v, want %v", got, want)
	}
	// The discovery span is a child of the key fetch span.
	ended := r.spans.Ended()
	if ended[0].Parent().SpanID() != ended[1].SpanContext().SpanID() {
		t.Error("discovery span is not a child of the key fetch span")
	}
}

func TestGaugesFollowClose(t *testing.T) {
	r := newRig(t)
	r.a.Close()
	mfs := r.gather(t)
	if g := mfs["oidcauth_keys_cached"]; g != nil && len(g.GetMetric()) > 0 {
		t.Errorf("oidcauth_keys_cached after Close = %v, want no sample", g)
	}
}

func BenchmarkValidation(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	obs, err := oidcotel.New(oidcotel.Config{MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	ev := oidcauth.ValidationEvent{Outcome: oidcauth.OutcomeRefused, Reason: "expired", Duration: 30_000}
	b.ReportAllocs()
	for b.Loop() {
		obs.Validation(ctx, ev)
	}
}
