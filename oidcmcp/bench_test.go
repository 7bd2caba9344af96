package oidcmcp_test

import (
	"net/http"
	"testing"
)

// discardWriter is a ResponseWriter that keeps one header map, cleared
// between requests, so that only the door's own allocations are counted.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkRefusal: a request without a token, and one whose token lacks
// the required scope, answered by Guard.Protect.
func BenchmarkRefusal(b *testing.B) {
	f := newFixture(b, "mcp")
	h := f.guard.Protect(http.NotFoundHandler())
	noScope := f.idp.MustMint(b, map[string]any{"sub": "alice", "aud": f.resource, "scope": "other"})
	for _, bc := range []struct{ name, token string }{{"no-token-401", ""}, {"no-scope-403", noScope}} {
		b.Run(bc.name, func(b *testing.B) {
			r, _ := http.NewRequest(http.MethodPost, f.resource, nil)
			if bc.token != "" {
				r.Header.Set("Authorization", "Bearer "+bc.token)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkMetadata: the metadata document.
func BenchmarkMetadata(b *testing.B) {
	f := newFixture(b, "mcp")
	h := f.guard.MetadataHandler()
	r, _ := http.NewRequest(http.MethodGet, f.guard.MetadataURL(), nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
