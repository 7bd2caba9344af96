package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// palette gives each peer a color; oidcauth stands out, the floors are grey.
var palette = []string{"#e07b39", "#6a9f58", "#c85a8a", "#8c6bb1", "#c9a227", "#4aa3a2", "#7f7f7f", "#b5651d"}

// chart draws the ratios to the floor as horizontal bars, one group per
// algorithm, with lines at 1.0 (the floor) and 1.10 (oidcauth's goal).
func (rep *report) chart() string {
	const (
		width    = 880
		left     = 200 // room for labels
		right    = 70  // room for values
		top      = 74
		barH     = 18
		barGap   = 5
		groupGap = 16
		headH    = 24
	)
	type bar struct {
		alg, c string
		q      float64
	}
	var groups [][]bar
	maxQ := 1.2
	for _, alg := range rep.algs {
		var g []bar
		for _, c := range rep.contenders {
			if c == floorName {
				continue
			}
			q, ok := rep.ratio(alg, c, floorName)
			if !ok {
				continue
			}
			g = append(g, bar{alg, c, q})
			maxQ = math.Max(maxQ, q)
		}
		groups = append(groups, g)
	}
	maxQ = math.Ceil(maxQ*4) / 4 // next 0.25
	plotW := float64(width - left - right)
	x := func(q float64) float64 { return left + q/maxQ*plotW }

	h := top
	for _, g := range groups {
		h += headH + len(g)*(barH+barGap) + groupGap
	}
	plotBottom := h
	h += 40 // axis labels

	colors := barColors(rep.contenders, floorName, asn1Name)

	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	const halo = `stroke="#ffffff" stroke-width="3" paint-order="stroke"`
	var vals strings.Builder // bar values, drawn last
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n", width, h, width, h)
	w(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	w(`<text x="%d" y="26" font-size="18" font-weight="bold" fill="#222">Time to validate an access token, relative to the signature check alone</text>`+"\n", 16)
	sub := fmt.Sprintf("floor = 1.00× (base64url + crypto/rsa, ecdsa, ed25519); lower is better. Medians, one core. %s, %s", rep.machine["cpu"], rep.machine["date"])
	w(`<text x="%d" y="48" font-size="12" fill="#555">%s</text>`+"\n", 16, html.EscapeString(sub))

	// Grid and axis.
	for t := 0.0; t <= maxQ+1e-9; t += 0.25 {
		xx := x(t)
		w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e6e6e6" stroke-width="1"/>`+"\n", xx, top-6, xx, plotBottom)
		w(`<text x="%.1f" y="%d" font-size="12" fill="#444" text-anchor="middle">%.2f×</text>`+"\n", xx, plotBottom+16, t)
	}
	w(`<text x="%.1f" y="%d" font-size="12" fill="#444" text-anchor="middle">time ÷ floor time</text>`+"\n", left+plotW/2, plotBottom+34)

	// Bars.
	y := top
	for gi, g := range groups {
		w(`<text x="%d" y="%d" font-size="15" font-weight="bold" fill="#222">%s</text>`+"\n", 16, y+16, html.EscapeString(rep.algs[gi]))
		y += headH
		for _, br := range g {
			weight := "normal"
			if br.c == ourName {
				weight = "bold"
			}
			w(`<text x="%d" y="%d" font-size="13" fill="#222" text-anchor="end" font-weight="%s">%s</text>`+"\n", left-8, y+barH-4, weight, html.EscapeString(label(br.c)))
			w(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %.3f×</title></rect>`+"\n",
				left, y, x(br.q)-left, barH, colors[br.c], html.EscapeString(br.alg), html.EscapeString(label(br.c)), br.q)
			fmt.Fprintf(&vals, `<text x="%.1f" y="%d" font-size="12" fill="#222" font-weight="%s" %s>%.2f×</text>`+"\n", x(br.q)+5, y+barH-4, weight, halo, br.q)
			y += barH + barGap
		}
		y += groupGap
	}

	// Reference lines on top of the bars (values are drawn again above
	// them so that no line crosses a number).
	w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222" stroke-width="1.5"/>`+"\n", x(1), top-6, x(1), plotBottom)
	w(`<text x="%.1f" y="%d" font-size="11" fill="#222" text-anchor="end" font-weight="bold">floor 1.00×</text>`+"\n", x(1)-3, top-10)
	w(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5,3"/>`+"\n", x(1.10), top-6, x(1.10), plotBottom)
	w(`<text x="%.1f" y="%d" font-size="11" fill="#c0392b">goal 1.10×</text>`+"\n", x(1.10)+3, top-10)
	w(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#444" stroke-width="1"/>`+"\n", left, top-6, left, plotBottom)
	b.WriteString(vals.String())
	w("</svg>\n")
	return b.String()
}

// barColors gives oidcauth its blue, the references (floors, the
// unprotected handler) grey, and every other name the next palette color.
func barColors(names []string, grey ...string) map[string]string {
	colors := map[string]string{}
	i := 0
	for _, c := range names {
		switch {
		case c == ourName:
			colors[c] = "#1f5fbf"
		case slices.Contains(grey, c):
			colors[c] = "#a0a0a0"
		default:
			colors[c] = palette[i%len(palette)]
			i++
		}
	}
	return colors
}
