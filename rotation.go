package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// keyCache holds the provider's keys and owns the policy for refreshing
// them. See the package documentation for the contract it implements.
//
// The read path (current) is one atomic load. Fetches run in goroutines
// owned by the cache, never on a request's context, at most one at a time;
// callers that need the result wait for it without holding a lock.
type keyCache struct {
	f        *fetcher
	issuer   string // for discovery; empty when the JWKS URL was configured
	allowed  algSet
	now      func() time.Time
	log      *slog.Logger
	newTimer func(time.Duration) timer

	minRefresh time.Duration // cooldown between kid-miss refreshes
	interval   time.Duration // refresh interval when the JWKS says nothing
	minTTL     time.Duration
	maxTTL     time.Duration
	maxStale   time.Duration
	maxBackoff time.Duration

	set         atomic.Pointer[keySet]
	jwksURL     atomic.Pointer[string]
	nextAttempt atomic.Int64 // unix nanos of the next scheduled fetch, for Retry-After

	mu       sync.Mutex
	call     *fetchCall // the fetch in flight, if any
	lastMiss time.Time  // start of the last kid-miss refresh
	failures int        // consecutive failed fetches
	closed   bool
	static   bool     // Config.StaticKeys/StaticJWKS/HMACSecret: never fetch
	retired  []string // kids removed from the key set, the last maxRetired, oldest first

	ctx    context.Context // cancelled by close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the background loop after a fetch
	// running counts the goroutines of this cache (the loop and fetches),
	// so tests can check that Close stops them all.
	running atomic.Int32

	stats cacheStats
	obs   Observer // Config.Observer, or nil
}

type fetchCall struct {
	done chan struct{}
	err  error
}

type cacheStats struct {
	fetches, failures, kidMisses, cooldowns atomic.Uint64
	lastSuccess, lastFailure                atomic.Int64
	lastError                               atomic.Pointer[string]
}

// timer is the part of *time.Timer the cache uses, so tests can inject a
// fake clock.
type timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

func newRealTimer(d time.Duration) timer { return realTimer{time.NewTimer(d)} }

// errCooldown is returned for an unknown kid while a kid-miss refresh is
// cooling down: the request fails at once instead of queueing.
var errCooldown = errors.New("key refresh cooling down")

// errStaticKeys: an Authorizer with static keys never fetches.
var errStaticKeys = errors.New("static keys are never refreshed")

// errClosed: a closed Authorizer never fetches.
var errClosed = errors.New("authorizer closed")

// maxRetired is how many kids removed from the key set are remembered, so
// that a token signed with a retired key is told so (401) rather than to
// retry (503) within the cooldown.
const maxRetired = 64

// cooldownLeft is how long until an unknown kid may trigger a refresh
// again, at least a second.
func (c *keyCache) cooldownLeft(now time.Time) time.Duration {
	c.mu.Lock()
	left := c.lastMiss.Add(c.minRefresh).Sub(now)
	c.mu.Unlock()
	return max(left, time.Second)
}

// wasRetired reports whether kid was removed from the key set by one of
// the refreshes this cache made (the last maxRetired such kids).
func (c *keyCache) wasRetired(kid []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.retired {
		if r == string(kid) {
			return true
		}
	}
	return false
}

// noteRetired remembers the kids of old that cur no longer has.
func (c *keyCache) noteRetired(old, cur *keySet) {
	if old == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for kid := range old.byKID {
		if cur.byKID[kid] != nil {
			continue
		}
		c.retired = slices.DeleteFunc(c.retired, func(r string) bool { return r == kid })
		c.retired = append(c.retired, kid)
	}
	if n := len(c.retired) - maxRetired; n > 0 {
		c.retired = slices.Delete(c.retired, 0, n)
	}
}

// current returns the key set, or nil when no keys were ever obtained or
// the last good keys are older than MaxStaleness.
func (c *keyCache) current(now time.Time) *keySet {
	s := c.set.Load()
	if s == nil || (c.maxStale > 0 && now.Sub(s.fetched) > c.maxStale) {
		return nil
	}
	return s
}

// retryAfter is how long until the next scheduled fetch, at least a second.
func (c *keyCache) retryAfter(now time.Time) time.Duration {
	d := time.Duration(c.nextAttempt.Load() - now.UnixNano())
	if d < time.Second {
		return time.Second
	}
	return d.Round(time.Second)
}

// start launches the background refresh loop.
func (c *keyCache) start() {
	c.wg.Add(1)
	c.running.Add(1)
	go c.loop()
}

// close stops the background loop and any fetch in flight, and waits for
// them.
func (c *keyCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// refresh starts a fetch unless one is in flight, and waits for it or for
// ctx. Cancelling ctx stops the wait, never the shared fetch.
func (c *keyCache) refresh(ctx context.Context, cause string) error {
	c.mu.Lock()
	call, err := c.startLocked(cause)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	return c.wait(ctx, call)
}

// refreshForKID is refresh for a token naming an unknown kid: it joins a
// fetch in flight, or starts one unless the last kid-miss refresh began less
// than MinRefreshInterval ago, in which case it fails at once.
func (c *keyCache) refreshForKID(ctx context.Context) error {
	c.mu.Lock()
	call := c.call
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	if call == nil {
		now := c.now()
		if !c.lastMiss.IsZero() && now.Sub(c.lastMiss) < c.minRefresh {
			c.mu.Unlock()
			return errCooldown
		}
		var err error
		if call, err = c.startLocked(RefreshUnknownKID); err != nil {
			c.mu.Unlock()
			return err
		}
		c.lastMiss = now
		c.stats.kidMisses.Add(1)
	}
	c.mu.Unlock()
	return c.wait(ctx, call)
}

func (c *keyCache) wait(ctx context.Context, call *fetchCall) error {
	select {
	case <-call.done:
		return call.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startLocked returns the fetch in flight or starts one, for cause (an
// Observer.Refresh cause). c.mu is held.
func (c *keyCache) startLocked(cause string) (*fetchCall, error) {
	if c.static {
		return nil, errStaticKeys
	}
	if c.closed {
		return nil, errClosed
	}
	if c.call != nil {
		return c.call, nil
	}
	call := &fetchCall{done: make(chan struct{})}
	c.call = call
	c.wg.Add(1)
	c.running.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.running.Add(-1)
		if c.obs != nil {
			c.obs.Refresh(c.ctx, cause)
		}
		err := c.fetch()
		c.mu.Lock()
		call.err = err
		c.call = nil
		if err != nil {
			c.failures++
		} else {
			c.failures = 0
		}
		c.mu.Unlock()
		close(call.done)
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}()
	return call, nil
}

// fetch discovers the JWKS URL if needed, fetches and parses the key set and
// installs it. On any failure the current set is kept.
func (c *keyCache) fetch() (err error) {
	c.stats.fetches.Add(1)
	ctx := c.ctx
	if c.obs != nil {
		start := time.Now()
		var end func(error)
		ctx, end = c.obs.StartSpan(ctx, SpanKeyFetch)
		defer func() {
			end(err)
			c.obs.KeyFetch(c.ctx, FetchEvent{Outcome: fetchOutcome(err), Duration: time.Since(start)})
		}()
	}
	defer func() {
		now := c.now()
		if err != nil {
			c.stats.failures.Add(1)
			c.stats.lastFailure.Store(now.UnixNano())
			msg := err.Error()
			c.stats.lastError.Store(&msg)
			last := c.set.Load()
			attrs := []any{slog.String("issuer", c.issuer), slog.String("error", msg)}
			if last == nil {
				// Nothing to keep: say so, not "keeping the last good keys".
				c.log.Warn("oidcauth: key set fetch failed; no keys fetched yet", attrs...)
				return
			}
			attrs = append(attrs, slog.Duration("keys_age", now.Sub(last.fetched)))
			c.log.Warn("oidcauth: key set fetch failed; keeping the last good keys", attrs...)
		}
	}()
	url := c.jwksURL.Load()
	if url == nil {
		dctx, end := startSpan(ctx, c.obs, SpanDiscovery)
		md, err := c.f.discover(dctx, c.issuer)
		end(err)
		if err != nil {
			return err
		}
		url = &md.JWKSURL
		c.jwksURL.Store(url)
	}
	body, hdr, err := c.f.get(ctx, *url)
	if err != nil {
		return err
	}
	set, skipped, err := parseJWKS(body, c.allowed)
	for _, s := range skipped {
		level := slog.LevelWarn
		if s.Expected {
			level = slog.LevelDebug
		}
		c.log.Log(c.ctx, level, "oidcauth: skipped key", slog.String("kid", s.KeyID), slog.Int("index", s.Index), slog.String("reason", s.Reason))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", *url, err)
	}
	now := c.now()
	set.fetched = now
	set.carryOver(c.set.Load())
	ttl, said := cacheTTL(hdr, now)
	if !said {
		ttl = c.interval
	}
	ttl = min(max(ttl, c.minTTL), c.maxTTL)
	old := c.set.Swap(set)
	c.noteRetired(old, set)
	c.stats.lastSuccess.Store(now.UnixNano())
	c.logChanges(old, set)
	// Refresh ahead of expiry: at 75–90% of the TTL, jittered so that
	// replicas started together spread their fetches.
	c.nextAttempt.Store(now.Add(jitter(ttl, 0.75, 0.90)).UnixNano())
	return nil
}

func (c *keyCache) logChanges(old, cur *keySet) {
	if old == nil {
		c.log.Info("oidcauth: keys loaded", slog.String("issuer", c.issuer), slog.Any("kids", cur.kids()))
		return
	}
	ok, nk := old.kids(), cur.kids()
	if !slices.Equal(ok, nk) || len(old.keys) != len(cur.keys) {
		c.log.Info("oidcauth: keys changed", slog.String("issuer", c.issuer), slog.Any("old_kids", ok), slog.Any("kids", nk))
	}
}

// loop refreshes the keys when they are due, and retries with exponential
// backoff after failures, until close.
func (c *keyCache) loop() {
	defer c.wg.Done()
	defer c.running.Add(-1)
	for {
		d := c.nextDelay()
		t := c.newTimer(d)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-c.kick:
			t.Stop()
			continue
		case <-t.C():
		}
		c.refresh(c.ctx, RefreshSchedule) //nolint:errcheck // logged and counted by fetch
	}
}

// nextDelay is the time until the next background fetch: the refresh point
// of the current set, or a backoff after failures (1 s doubling up to
// maxBackoff, jittered).
func (c *keyCache) nextDelay() time.Duration {
	c.mu.Lock()
	failures := c.failures
	c.mu.Unlock()
	now := c.now()
	if failures > 0 {
		b := time.Second << min(failures-1, 20)
		b = jitter(min(b, c.maxBackoff), 0.8, 1.0)
		next := now.Add(b)
		if s := c.set.Load(); s != nil {
			// Keep serving; but never schedule beyond the normal refresh point.
			if at := time.Unix(0, c.nextAttempt.Load()); at.After(now) && at.Before(next) {
				next = at
			}
		}
		c.nextAttempt.Store(next.UnixNano())
		return next.Sub(now)
	}
	d := time.Duration(c.nextAttempt.Load() - now.UnixNano())
	return max(d, 0)
}

func jitter(d time.Duration, lo, hi float64) time.Duration {
	return time.Duration(float64(d) * (lo + rand.Float64()*(hi-lo)))
}

// Stats is a snapshot of the key cache's counters, for export to a metrics
// system.
type Stats struct {
	Fetches            uint64    // fetch attempts (discovery + JWKS count as one)
	FetchFailures      uint64    // failed attempts
	KIDMissRefreshes   uint64    // fetches started because a token named an unknown kid
	CooldownRejections uint64    // unknown-kid tokens rejected without a fetch (cooldown)
	LastSuccess        time.Time // zero if never
	LastFailure        time.Time // zero if never
	LastError          string    // error of the last failed fetch
	Keys               int       // usable keys in the current set
	KeysAge            time.Duration
}

func (c *keyCache) snapshot() Stats {
	s := Stats{
		Fetches:            c.stats.fetches.Load(),
		FetchFailures:      c.stats.failures.Load(),
		KIDMissRefreshes:   c.stats.kidMisses.Load(),
		CooldownRejections: c.stats.cooldowns.Load(),
	}
	if t := c.stats.lastSuccess.Load(); t != 0 {
		s.LastSuccess = time.Unix(0, t)
	}
	if t := c.stats.lastFailure.Load(); t != 0 {
		s.LastFailure = time.Unix(0, t)
	}
	if e := c.stats.lastError.Load(); e != nil {
		s.LastError = *e
	}
	if set := c.set.Load(); set != nil {
		s.Keys = len(set.keys)
		s.KeysAge = c.now().Sub(set.fetched)
	}
	return s
}
