package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads GET /metrics with Prometheus's own text parser and lints it.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("text parser: %v", err)
	}
	var list []*dto.MetricFamily
	for _, mf := range mfs {
		list = append(list, mf)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return mfs
}

func counter(mfs map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	var sum float64
	for _, m := range mfs[name].GetMetric() {
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !slices.ContainsFunc(m.GetLabel(), func(lp *dto.LabelPair) bool {
				return lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
			}) {
				ok = false
			}
		}
		if ok {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	s := startAPI(t, "--addr", "127.0.0.1:0")
	m := curlRE.FindStringSubmatch(nextLine(t, s.lines))
	if m == nil {
		t.Fatal("no curl line")
	}
	token := m[1]
	get := func(auth string) {
		req, _ := http.NewRequest("GET", s.base+"/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	before := scrape(t, s.base)
	if got := counter(before, "oidcauth_key_refreshes_total", "cause", "start"); got != 1 {
		t.Errorf("key refreshes (start) = %v, want 1", got)
	}
	if got := counter(before, "oidcauth_key_fetches_total", "outcome", "ok"); got != 1 {
		t.Errorf("key fetches (ok) = %v, want 1", got)
	}
	if g := before["oidcauth_keys_cached"]; g == nil || g.GetMetric()[0].GetGauge().GetValue() < 1 {
		t.Errorf("oidcauth_keys_cached = %v, want at least 1", g)
	}

	get("Bearer " + token)
	get("Bearer " + token)
	get("Bearer not.a.token")
	get("Bearer " + token[:len(token)-4] + "AAAA")
	get("") // no token: refused before any validation, not counted
	after := scrape(t, s.base)
	for _, c := range []struct {
		labels []string
		delta  float64
	}{
		{[]string{"outcome", "ok", "reason", "none"}, 2},
		{[]string{"outcome", "refused", "reason", "malformed"}, 1},
		{[]string{"outcome", "refused", "reason", "invalid_signature"}, 1},
		{[]string{"outcome", "refused"}, 2},
		{nil, 4},
	} {
		got := counter(after, "oidcauth_validations_total", c.labels...) - counter(before, "oidcauth_validations_total", c.labels...)
		if got != c.delta {
			t.Errorf("oidcauth_validations_total%v moved by %v, want %v", c.labels, got, c.delta)
		}
	}
	var samples uint64
	for _, m := range after["oidcauth_validation_duration_seconds"].GetMetric() {
		samples += m.GetHistogram().GetSampleCount()
	}
	if samples != 4 {
		t.Errorf("validation duration samples = %d, want 4", samples)
	}

	// Every label value is from a fixed set, whatever the requests sent.
	allowed := map[string][]string{
		"outcome": {"ok", "refused", "unavailable", "error"},
		"reason":  oidcauth.Reasons(),
		"cause":   {"start", "schedule", "unknown_kid", "manual"},
		"result":  {"hit", "miss"},
	}
	for name, mf := range after {
		if !strings.HasPrefix(name, "oidcauth_") {
			t.Errorf("unexpected family %s", name)
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !slices.Contains(allowed[lp.GetName()], lp.GetValue()) {
					t.Errorf("%s: label %s=%q outside the fixed set", name, lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}
