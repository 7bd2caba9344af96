package oauth

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// unreachableError marks a discovery that did not get the metadata at all
// (network, timeout, an error status, not JSON): with
// Config.StartWithoutProvider it is retried in the background.
type unreachableError struct{ error }

func (e *unreachableError) Unwrap() error { return e.error }

// Backoff of the background discovery.
const (
	discoveryFirstRetry = 250 * time.Millisecond
	discoveryMaxRetry   = 30 * time.Second
)

// startDiscovery starts the goroutine that retries discovery until it
// succeeds or the Flow is closed.
func (f *Flow) startDiscovery(cfg Config, first error) {
	f.log.LogAttrs(f.ctx, slog.LevelWarn, "oauth: the provider is unreachable at start; retrying discovery in the background (Config.StartWithoutProvider)", errAttr(first))
	f.retryAt.Store(time.Now().Add(discoveryFirstRetry).UnixNano())
	f.bg.Add(1)
	go func() {
		defer f.bg.Done()
		wait := discoveryFirstRetry
		for attempt := 2; ; attempt++ {
			// ±20% jitter, so that a fleet restarted together does not
			// retry in step.
			d := time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
			f.retryAt.Store(time.Now().Add(d).UnixNano())
			t := time.NewTimer(d)
			select {
			case <-f.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			err := f.discover(f.ctx, cfg)
			if err == nil {
				f.ready.Store(true)
				f.log.LogAttrs(f.ctx, slog.LevelInfo, "oauth: provider discovered; logins enabled", slog.Int("attempt", attempt))
				return
			}
			if f.ctx.Err() != nil {
				return
			}
			f.log.LogAttrs(f.ctx, slog.LevelWarn, "oauth: discovery failed; retrying", errAttr(err), slog.Duration("next", min(2*wait, discoveryMaxRetry)))
			wait = min(2*wait, discoveryMaxRetry)
		}
	}()
}

// providerReady reports whether the provider's metadata is known. When it
// is not, it answers 503 with Retry-After (the seconds until the next
// discovery attempt, at least 1) through the ErrorHandler.
func (f *Flow) providerReady(w http.ResponseWriter, r *http.Request) bool {
	if f.ready.Load() {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(f.retryAfterSeconds()))
	f.errorHandler(w, r, fmt.Errorf("%w: the provider's metadata is not known yet (discovery is being retried)", ErrProviderUnavailable))
	return false
}

// retryAfterSeconds is the Retry-After of a 503 while the provider's
// metadata is not known: the seconds until the next discovery attempt,
// at least 1.
func (f *Flow) retryAfterSeconds() int {
	secs := (time.Until(time.Unix(0, f.retryAt.Load())) + time.Second - 1) / time.Second
	return max(1, int(secs))
}

// notReadyRefresh is the refresh of s while the provider's metadata is
// not known: s itself while its access token is valid, else 503.
func (f *Flow) notReadyRefresh(s *Session, value string) (*Session, string, error) {
	if f.now().Before(s.AccessTokenExpiry) {
		return s, value, nil
	}
	return nil, "", fmt.Errorf("%w: the provider's metadata is not known yet (discovery is being retried)", ErrProviderUnavailable)
}
