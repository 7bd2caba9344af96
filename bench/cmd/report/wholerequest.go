package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

const (
	wrPrefix    = "BenchmarkWholeRequest/"
	unprotected = "unprotected"
)

// wrModes are the whole-request cases, as the benchmark names them.
var wrModes = []struct{ name, title string }{
	{"fresh", "a fresh token per request (no cache can help)"},
	{"pool", "a pool of 1,000 tokens reused (oidcauth's token cache answers)"},
}

func wrName(mode, svc string) string { return wrPrefix + mode + "/" + svc }

// wrProcs are the GOMAXPROCS values the whole-request run has, ascending.
func (rep *report) wrProcs() []int {
	var ps []int
	for _, k := range rep.wr.order {
		if strings.HasPrefix(k.name, wrPrefix) && !slices.Contains(ps, k.procs) {
			ps = append(ps, k.procs)
		}
	}
	slices.Sort(ps)
	return ps
}

// wrServices are the services in benchmark order, unprotected first.
func (rep *report) wrServices() []string {
	var out []string
	for _, m := range wrModes {
		for _, s := range rep.wr.children(wrPrefix + m.name + "/") {
			if !contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for i, s := range out {
		if s == unprotected && i > 0 {
			copy(out[1:i+1], out[:i])
			out[0] = unprotected
		}
	}
	return out
}

// wholeRequest writes the whole-request tables: per case and core count,
// each service's req/s, p50 and p99 with the ratio to the unprotected
// handler of the same run, and allocations per request.
func (rep *report) wholeRequest(b *strings.Builder) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	procs := rep.wrProcs()
	svcs := rep.wrServices()
	if len(procs) == 0 || len(svcs) == 0 {
		return
	}
	m := rep.machine
	w("## The whole request\n\n")
	w("`BenchmarkWholeRequest`: each library's own middleware in front of the same handler (it writes the subject it was given), ")
	w("served by `net/http` on 127.0.0.1 over HTTP/1.1 with keep-alive, driven by the module's closed-loop load generator ")
	w("(8 clients, one connection each) in the same process, so `-cpu` sets the cores of server and clients together. ")
	w("RS256 tokens; %s requests per sample, medians of %s samples. ", orDash(m["wr-requests"]), orDash(m["wr-count"]))
	w("Every ratio is to the **unprotected** handler measured in the same run (1.00 = protection costs nothing); ")
	w("allocations per request include the client's, the same for every service, so the `+` column is the middleware's own. ")
	w("`TestServices` checks first that every service answers the good token and refuses a missing, tampered, expired or misaddressed one. ")
	w("oidcauth runs `Required` with `TokenCacheSize` 10,000; go-oidc behind the hand-written middleware its users write; ")
	w("jwtauth with the key configured by hand (it fetches no JWKS); zitadel, golang-jwt, go-jose and jwx ship no local-JWT middleware.\n\n")
	if v := m["others-wholerequest"]; v != "" {
		w("Other processes kept %s cores busy on average during this phase.\n\n", v)
	}
	for _, mode := range wrModes {
		w("### %s\n\n", strings.ToUpper(mode.title[:1])+mode.title[1:])
		w("| service |")
		for _, p := range procs {
			w(" req/s, %s | p50 / p99, %s |", cores(p), cores(p))
		}
		w(" allocs/req |\n|---|")
		for range procs {
			w("--:|--:|")
		}
		w("--:|\n")
		for _, s := range svcs {
			name := wrName(mode.name, s)
			if _, ok := rep.wr.median(name, procs[0], "req/s"); !ok {
				continue
			}
			if s == ourName {
				w("| **%s** |", s)
			} else {
				w("| %s |", s)
			}
			for _, p := range procs {
				rps, ok := rep.wr.median(name, p, "req/s")
				if !ok {
					w(" — | — |")
					continue
				}
				p50, _ := rep.wr.median(name, p, "p50-µs")
				p99, _ := rep.wr.median(name, p, "p99-µs")
				if s == unprotected {
					w(" %s | %.0f / %.0f µs |", thousands(rps), p50, p99)
					continue
				}
				base, _ := rep.wr.median(wrName(mode.name, unprotected), p, "req/s")
				b50, _ := rep.wr.median(wrName(mode.name, unprotected), p, "p50-µs")
				b99, _ := rep.wr.median(wrName(mode.name, unprotected), p, "p99-µs")
				w(" %s (**%.2f**) | %.0f (%.1f×) / %.0f (%.1f×) µs |", thousands(rps), safeDiv(rps, base), p50, safeDiv(p50, b50), p99, safeDiv(p99, b99))
			}
			al, _ := rep.wr.median(name, procs[0], "allocs/op")
			if s == unprotected {
				w(" %.0f |\n", al)
			} else {
				ba, _ := rep.wr.median(wrName(mode.name, unprotected), procs[0], "allocs/op")
				w(" %.0f (+%.0f) |\n", al, al-ba)
			}
		}
		w("\n")
	}
	w("![Requests per second per library, fresh tokens and a pool, at 1 and 2 cores](%s)\n\n", rep.requestsName)
	if len(procs) > 1 {
		for _, mode := range wrModes {
			one, ok1 := rep.wr.median(wrName(mode.name, unprotected), procs[0], "req/s")
			more, ok2 := rep.wr.median(wrName(mode.name, unprotected), procs[len(procs)-1], "req/s")
			if ok1 && ok2 && more < 1.2*one {
				w("In this run the unprotected handler did not scale with the cores (%s: %s → %s req/s): with server and clients in one process, ", mode.name, thousands(one), thousands(more))
				w("loopback HTTP (system calls, the scheduler) is the limit there, so the protected services' ratios at %s are higher than the libraries alone would make them.\n\n", cores(procs[len(procs)-1]))
				break
			}
		}
	}
}

func cores(p int) string {
	if p == 1 {
		return "1 core"
	}
	return fmt.Sprintf("%d cores", p)
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// thousands formats n with thin separators: 12 345.
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// requestsChart draws req/s per service as horizontal bars, one group per
// case and core count, with each bar's ratio to the unprotected handler.
func (rep *report) requestsChart() string {
	const (
		width    = 880
		left     = 200
		right    = 110
		top      = 88
		barH     = 16
		barGap   = 4
		groupGap = 14
		headH    = 22
	)
	procs := rep.wrProcs()
	svcs := rep.wrServices()
	type group struct {
		title string
		mode  string
		p     int
	}
	var groups []group
	maxR := 1.0
	for _, m := range wrModes {
		for _, p := range procs {
			groups = append(groups, group{fmt.Sprintf("%s, %s", m.name, cores(p)), m.name, p})
			for _, s := range svcs {
				if v, ok := rep.wr.median(wrName(m.name, s), p, "req/s"); ok {
					maxR = math.Max(maxR, v)
				}
			}
		}
	}
	step := math.Pow(10, math.Floor(math.Log10(maxR)))
	if maxR/step < 3 {
		step /= 2
	}
	maxR = math.Ceil(maxR/step) * step
	plotW := float64(width - left - right)
	x := func(v float64) float64 { return left + v/maxR*plotW }
	h := top
	for range groups {
		h += headH + len(svcs)*(barH+barGap) + groupGap
	}
	plotBottom := h
	h += 40

	colors := barColors(svcs, unprotected)
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	const halo = `stroke="#ffffff" stroke-width="3" paint-order="stroke"`
	var vals strings.Builder
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n", width, h, width, h)
	w(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	w(`<text x="16" y="26" font-size="18" font-weight="bold" fill="#222">Requests per second to a protected endpoint, per library</text>` + "\n")
	w(`<text x="16" y="46" font-size="12" fill="#555">HTTP/1.1 keep-alive on loopback, 8 clients, RS256; in brackets: the ratio to the unprotected handler. Higher is better.</text>` + "\n")
	w(`<text x="16" y="62" font-size="12" fill="#555">%s</text>`+"\n", html.EscapeString(fmt.Sprintf("%s, %s", rep.machine["cpu"], rep.machine["date"])))
	for t := 0.0; t <= maxR+1e-9; t += step {
		xx := x(t)
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e6e6e6" stroke-width="1"/>`+"\n", xx, top-6, xx, plotBottom)
		w(`<text x="%.1f" y="%d" font-size="12" fill="#444" text-anchor="middle">%s</text>`+"\n", xx, plotBottom+16, thousands(t))
	}
	w(`<text x="%.1f" y="%d" font-size="12" fill="#444" text-anchor="middle">requests per second</text>`+"\n", left+plotW/2, plotBottom+34)
	y := top
	for _, g := range groups {
		w(`<text x="16" y="%d" font-size="15" font-weight="bold" fill="#222">%s</text>`+"\n", y+16, html.EscapeString(g.title))
		y += headH
		base, _ := rep.wr.median(wrName(g.mode, unprotected), g.p, "req/s")
		for _, s := range svcs {
			v, ok := rep.wr.median(wrName(g.mode, s), g.p, "req/s")
			if !ok {
				y += barH + barGap
				continue
			}
			weight := "normal"
			if s == ourName {
				weight = "bold"
			}
			w(`<text x="%d" y="%d" font-size="13" fill="#222" text-anchor="end" font-weight="%s">%s</text>`+"\n", left-8, y+barH-3, weight, html.EscapeString(s))
			w(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %.0f req/s</title></rect>`+"\n",
				left, y, x(v)-left, barH, colors[s], html.EscapeString(g.title), html.EscapeString(s), v)
			label := thousands(v)
			if s != unprotected && base > 0 {
				label += fmt.Sprintf(" (%.2f)", v/base)
			}
			fmt.Fprintf(&vals, `<text x="%.1f" y="%d" font-size="12" fill="#222" font-weight="%s" %s>%s</text>`+"\n", x(v)+5, y+barH-3, weight, halo, label)
			y += barH + barGap
		}
		y += groupGap
	}
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444" stroke-width="1"/>`+"\n", left, top-6, left, plotBottom)
	b.WriteString(vals.String())
	w("</svg>\n")
	return b.String()
}

// curvesTable writes the cost curves: every BenchmarkCurve sub-benchmark
// with its medians and extra metrics.
func (rep *report) curvesTable(b *strings.Builder) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	var curves []string
	for _, k := range rep.curves.order {
		if c, _, ok := strings.Cut(strings.TrimPrefix(k.name, "Benchmark"), "/"); ok && strings.HasPrefix(k.name, "BenchmarkCurve") && !contains(curves, c) {
			curves = append(curves, c)
		}
	}
	if len(curves) == 0 {
		return
	}
	w("## Cost curves\n\n")
	w("Root-module benchmarks (`curves_bench_test.go`), one core, medians of %s runs. ", orDash(rep.machine["curve-count"]))
	w("Validation of a token not seen before (no cache) against a JWKS of 1 to 1,000 keys, behind `Issuers` of 1 to 1,000 issuers, ")
	w("from one of 1 to 10,000 admitted tenants of a template, and of tokens of 1 to 16 KiB (`MaxTokenSize`); ")
	w("then cache hits with `TokenCacheSize` from 1,000 to 1,000,000, with the entries the direct-mapped cache then holds and the heap per entry. ")
	w("Each should be flat, or linear in the token's size; the benchmarks' doc comments explain what is not.\n\n")
	for _, c := range curves {
		name := "Benchmark" + c
		subs := rep.curves.children(name + "/")
		extra := []string{}
		for _, s := range subs {
			for unit := range rep.curves.samples[key{name + "/" + s, 1}] {
				switch unit {
				case "ns/op", "B/op", "allocs/op", "MB/s":
				default:
					if !contains(extra, unit) {
						extra = append(extra, unit)
					}
				}
			}
		}
		slices.Sort(extra)
		w("**%s**\n\n| size | time | B/op | allocs/op |", strings.TrimPrefix(c, "Curve"))
		for _, u := range extra {
			w(" %s |", u)
		}
		w("\n|---|--:|--:|--:|")
		for range extra {
			w("--:|")
		}
		w("\n")
		for _, s := range subs {
			n := name + "/" + s
			ns, ok := rep.curves.median(n, 1, "ns/op")
			if !ok {
				continue
			}
			by, _ := rep.curves.median(n, 1, "B/op")
			al, _ := rep.curves.median(n, 1, "allocs/op")
			w("| %s | %s | %.0f | %.0f |", s, dur(ns), by, al)
			for _, u := range extra {
				if v, ok := rep.curves.median(n, 1, u); ok {
					w(" %.0f |", v)
				} else {
					w(" — |")
				}
			}
			w("\n")
		}
		w("\n")
	}
}

// featuresTable writes the hot-path features' own benchmarks (DPoP,
// observer hook, introspection cache), with DPoP's cost over its baseline.
func (rep *report) featuresTable(b *strings.Builder) {
	w := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	if len(rep.features.order) == 0 {
		return
	}
	w("## Hot-path features\n\n")
	w("Root-module benchmarks, one core, medians of %s runs: a DPoP request (proof checked, replay cache) beside `BenchmarkDPoPBaseline` ", orDash(rep.machine["feature-count"]))
	w("(the same Bearer validation plus one signature check of a message the proof's size), the observer hook, and an introspection cache hit.\n\n")
	w("| benchmark | time | B/op | allocs/op |\n|---|--:|--:|--:|\n")
	for _, k := range rep.features.order {
		if k.procs != 1 {
			continue
		}
		ns, ok := rep.features.median(k.name, 1, "ns/op")
		if !ok {
			continue
		}
		by, _ := rep.features.median(k.name, 1, "B/op")
		al, _ := rep.features.median(k.name, 1, "allocs/op")
		w("| %s | %s | %.0f | %.0f |\n", strings.TrimPrefix(k.name, "Benchmark"), dur(ns), by, al)
	}
	w("\n")
	var diffs []string
	for _, k := range rep.features.order {
		sub, ok := strings.CutPrefix(k.name, "BenchmarkDPoP/")
		if !ok || k.procs != 1 {
			continue
		}
		base := "BenchmarkDPoPBaseline/" + sub
		ns, ok1 := rep.features.median(k.name, 1, "ns/op")
		bns, ok2 := rep.features.median(base, 1, "ns/op")
		if !ok1 || !ok2 {
			continue
		}
		al, _ := rep.features.median(k.name, 1, "allocs/op")
		bal, _ := rep.features.median(base, 1, "allocs/op")
		diffs = append(diffs, fmt.Sprintf("%s %s, %+.0f allocs", sub, signedDur(ns-bns), al-bal))
	}
	if len(diffs) > 0 {
		w("DPoP over its baseline (budget: +2 µs, +10 allocs): %s.\n\n", strings.Join(diffs, "; "))
	}
}
