package oidcotel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
	oidcotel "github.com/oidcauth/oidcauth/otel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Metrics through the OpenTelemetry Prometheus exporter: the Observer goes
// into Config.Observer, and promhttp serves the scrape (mount it at
// /metrics).
func Example_prometheus() {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	obs, err := oidcotel.New(oidcotel.Config{MeterProvider: mp})
	if err != nil {
		log.Fatal(err)
	}

	p, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, Observer: obs,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	tok, _ := p.Mint(map[string]any{"sub": "alice", "aud": "api"})
	a.Validate(context.Background(), tok)     //nolint:errcheck
	a.Validate(context.Background(), "a.b.c") //nolint:errcheck

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "oidcauth_validations_total") || strings.HasPrefix(line, "# HELP oidcauth_validations_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// # HELP oidcauth_validations_total Access tokens validated, by outcome (ok, refused, unavailable) and reason.
	// oidcauth_validations_total{outcome="ok",reason="none"} 1
	// oidcauth_validations_total{outcome="refused",reason="malformed"} 1
}
