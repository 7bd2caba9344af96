package oidcauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

// discardWriter is a ResponseWriter that keeps one header map, cleared per
// request, so that the benchmarks count what the handler allocates, not
// the recorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// BenchmarkChallenge measures the default answer of a refused request
// (WriteError), with a resource configured.
func BenchmarkChallenge(b *testing.B) {
	_, a := newResourceAuthorizer(b, oidcauth.Config{Resource: "https://api.example.com/mcp"})
	r := httptest.NewRequest("GET", "/mcp", nil)
	for _, bc := range []struct {
		name string
		err  error
	}{
		{"no_token", oidcauth.ErrNoToken},
		{"invalid_token", oidcauth.ErrTokenExpired},
		{"insufficient_scope", &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: "files:read files:write"}},
		{"step_up", &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientUserAuthentication, ACRValues: "mfa", MaxAge: "300"}},
		{"unavailable", &oidcauth.ValidationError{Err: oidcauth.ErrKeysUnavailable, RetryAfter: 5 * time.Second}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			a.WriteError(w, r, bc.err)
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				a.WriteError(w, r, bc.err)
			}
			if w.status == 0 || w.n == 0 {
				b.Fatal("nothing written")
			}
		})
	}
}

// BenchmarkResourceMetadataHandler measures serving the metadata document
// (GET, and GET with a matching If-None-Match).
func BenchmarkResourceMetadataHandler(b *testing.B) {
	_, a := newResourceAuthorizer(b, oidcauth.Config{Resource: "https://api.example.com/mcp", ScopesSupported: []string{"files:read"}})
	h := a.ResourceMetadataHandler()
	get := httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil)
	w := &discardWriter{h: make(http.Header)}
	h.ServeHTTP(w, get)
	cond := httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil)
	cond.Header.Set("If-None-Match", w.h.Get("ETag"))
	for _, bc := range []struct {
		name   string
		r      *http.Request
		status int
	}{{"get", get, 200}, {"not_modified", cond, 304}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, bc.r)
			}
			if w.status != bc.status {
				b.Fatalf("status %d, want %d", w.status, bc.status)
			}
		})
	}
}
