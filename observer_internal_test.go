package oidcauth

import (
	"context"
	"testing"
)

// BenchmarkObserveHook measures the hook alone, what Validate adds with an
// Observer around its own work: two monotonic clock reads, classify and one
// interface call (to NopObserver), for an accepted and a refused token.
func BenchmarkObserveHook(b *testing.B) {
	var obs Observer = NopObserver{}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"refused", errBadSignature}, {"unavailable", &ValidationError{Err: ErrKeysUnavailable}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				start := monotonic()
				observe(ctx, obs, start, bc.err)
			}
		})
	}
}
