package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/leakcheck"
	"github.com/oidcauth/oidcauth/oidctest"
)

// fakeClock drives Config.Now and the background loop's timers, so the
// rotation tests never sleep for real.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       chan time.Time
	at      time.Time
	stopped atomic.Bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }
func (t *fakeTimer) Stop() bool {
	return !t.stopped.Swap(true)
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_800_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped.Load() {
			continue
		}
		if !t.at.After(c.now) {
			t.c <- c.now
			continue
		}
		kept = append(kept, t)
	}
	c.timers = kept
}

// pending returns the earliest armed timer's deadline relative to now.
func (c *fakeClock) pending() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Duration
	found := false
	for _, t := range c.timers {
		if t.stopped.Load() {
			continue
		}
		if d := t.at.Sub(c.now); !found || d < best {
			best, found = d, true
		}
	}
	return best, found
}

// eventually polls cond every millisecond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// rig is a provider, a fake clock and an Authorizer on both.
type rig struct {
	t     *testing.T
	p     *oidctest.Provider
	clock *fakeClock
	a     *Authorizer
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	clock := newFakeClock()
	p := oidctest.New(t, oidctest.Options{Now: clock.Now})
	cfg.Issuer = p.Issuer()
	cfg.Audiences = []string{"api"}
	cfg.Now = clock.Now
	cfg.newTimer = clock.NewTimer
	if cfg.Logger == nil {
		cfg.Logger = discard
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	checkNoLeak(t, a)
	return &rig{t: t, p: p, clock: clock, a: a}
}

// checkNoLeak closes a at the end of the test and checks that every
// goroutine its key cache started has returned.
func checkNoLeak(t *testing.T, a *Authorizer) {
	t.Cleanup(func() {
		a.Close()
		if n := a.keys.running.Load(); n != 0 {
			t.Errorf("%d key cache goroutines still running after Close", n)
		}
	})
}

// TestMain checks, after all tests, that no goroutine of the package is
// left running: every Authorizer a test made was closed and stopped.
func TestMain(m *testing.M) {
	leakcheck.Main(m, "oidcauth.(*keyCache)")
}

func (r *rig) mint(claims map[string]any, kid string) string {
	r.t.Helper()
	if claims == nil {
		claims = map[string]any{}
	}
	if _, ok := claims["aud"]; !ok {
		claims["aud"] = "api"
	}
	return r.p.MustMintToken(r.t, oidctest.Token{Claims: claims, KeyID: kid})
}

func (r *rig) validate(tok string) error {
	_, err := r.a.Validate(context.Background(), tok)
	return err
}

// Contract 1: a token naming a kid not in the cache triggers one refresh
// and the same request is validated against the new set.
func TestRotationUnknownKIDSameRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	before := r.p.JWKSFetches()
	kid, err := r.p.Rotate("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.validate(r.mint(nil, kid)); err != nil {
		t.Fatalf("first request with the new kid: Validate() error = %v, want success", err)
	}
	if got := r.p.JWKSFetches() - before; got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
	if st := r.a.Stats(); st.KIDMissRefreshes != 1 {
		t.Errorf("Stats.KIDMissRefreshes = %d, want 1", st.KIDMissRefreshes)
	}
}

// Contract 2: kid-miss refreshes happen at most once per
// MinRefreshInterval; within the cooldown an unknown kid fails at once
// (ErrKeyNotYetKnown, 503).
func TestRotationCooldown(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	before := r.p.JWKSFetches()
	unknown := func(kid string) string {
		return r.p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"aud": "api"}, Header: map[string]any{"kid": kid}})
	}
	if err := r.validate(unknown("x1")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Validate(unknown kid) error = %v, want ErrUnknownKey", err)
	}
	// The provider is now slow: were a request to trigger a fetch within
	// the cooldown, it would take 10 s.
	r.p.SetJWKSFault(&oidctest.Fault{Delay: 10 * time.Second})
	start := time.Now()
	err := r.validate(unknown("x2"))
	if !errors.Is(err, ErrKeyNotYetKnown) || !strings.Contains(err.Error(), "cooling down") {
		t.Fatalf("Validate(unknown kid in cooldown) error = %v, want ErrKeyNotYetKnown (cooling down)", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("rejection within the cooldown took %s; it must not wait", d)
	}
	r.p.SetJWKSFault(nil)
	if got := r.p.JWKSFetches() - before; got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
	// After the cooldown, a new unknown kid refreshes again.
	r.clock.Advance(DefaultMinRefreshInterval)
	kid, _ := r.p.Rotate("RS256")
	if err := r.validate(r.mint(nil, kid)); err != nil {
		t.Fatalf("after the cooldown: Validate() error = %v", err)
	}
	st := r.a.Stats()
	if st.KIDMissRefreshes != 2 || st.CooldownRejections != 1 {
		t.Errorf("Stats = %+v, want 2 kid-miss refreshes and 1 cooldown rejection", st)
	}
}

// Contract 2 and 3 under load: 1,000 concurrent requests with random
// unknown kids cause at most one fetch and are all rejected.
func TestRotationStorm(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	before := r.p.JWKSFetches()
	r.p.SetJWKSFault(&oidctest.Fault{Delay: 20 * time.Millisecond})
	toks := make([]string, 1000)
	for i := range toks {
		toks[i] = r.p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"aud": "api"}, Header: map[string]any{"kid": fmt.Sprintf("rand-%d", rand.Int())}})
	}
	var wg sync.WaitGroup
	var accepted, unknown atomic.Int64
	for _, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.validate(tok)
			switch {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, ErrUnknownKey), errors.Is(err, ErrKeyNotYetKnown):
				// A request that arrives after the shared fetch, inside
				// the cooldown, is told to retry later (contract 3).
				unknown.Add(1)
			default:
				t.Errorf("Validate() error = %v, want ErrUnknownKey or ErrKeyNotYetKnown", err)
			}
		}()
	}
	wg.Wait()
	if got := r.p.JWKSFetches() - before; got != 1 {
		t.Errorf("JWKS fetches for 1,000 random kids = %d, want 1", got)
	}
	if accepted.Load() != 0 || unknown.Load() != 1000 {
		t.Errorf("accepted %d, unknown %d; want 0 and 1000", accepted.Load(), unknown.Load())
	}
}

// Contract 3: concurrent refreshes share one fetch, and a request that
// gives up does not cancel it for the others.
func TestRotationCoalescingSurvivesCancel(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	before := r.p.JWKSFetches()
	kid, _ := r.p.Rotate("RS256")
	tok := r.mint(nil, kid)
	r.p.SetJWKSFault(&oidctest.Fault{Delay: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	var impatient error
	go func() {
		defer wg.Done()
		_, impatient = r.a.Validate(ctx, tok)
	}()
	eventually(t, "the shared fetch to start", func() bool { return r.p.JWKSFetches() > before })
	errs := make([]error, 10)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.validate(tok)
		}()
	}
	wg.Wait()
	if !errors.Is(impatient, ErrUnknownKey) || !strings.Contains(impatient.Error(), "deadline") {
		t.Errorf("cancelled request: error = %v, want ErrUnknownKey after its deadline", impatient)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: Validate() error = %v, want success from the shared fetch", i, err)
		}
	}
	if got := r.p.JWKSFetches() - before; got != 1 {
		t.Errorf("JWKS fetches = %d, want 1", got)
	}
}

// Contract 4: the background refresh honours max-age, clamped to
// [MinKeyTTL, MaxKeyTTL], at 75–90% of it.
func TestRotationBackgroundSchedule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		header   http.Header
		min, max time.Duration
	}{
		{name: "no caching headers: RefreshInterval", min: 45 * time.Minute, max: 54 * time.Minute},
		{name: "max-age=600", header: http.Header{"Cache-Control": {"public, max-age=600"}}, min: 450 * time.Second, max: 540 * time.Second},
		{name: "max-age=1 clamped to 1 minute", header: http.Header{"Cache-Control": {"max-age=1"}}, min: 45 * time.Second, max: 54 * time.Second},
		{name: "max-age of a year clamped to 24 h", header: http.Header{"Cache-Control": {"max-age=31536000"}}, min: 18 * time.Hour, max: 21*time.Hour + 36*time.Minute},
		{name: "no-store: minimum", header: http.Header{"Cache-Control": {"no-store"}}, min: 45 * time.Second, max: 54 * time.Second},
		{name: "Expires in 2 hours", header: http.Header{"Expires": {time.Unix(1_800_000_000, 0).Add(2 * time.Hour).UTC().Format(http.TimeFormat)}, "Date": {time.Unix(1_800_000_000, 0).UTC().Format(http.TimeFormat)}}, min: 90 * time.Minute, max: 108 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			p := oidctest.New(t, oidctest.Options{Now: clock.Now})
			p.SetJWKSHeader(tt.header)
			a, err := New(context.Background(), Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: clock.Now, newTimer: clock.NewTimer, Logger: discard})
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, a)
			var d time.Duration
			eventually(t, "the background timer", func() bool {
				var ok bool
				d, ok = clock.pending()
				return ok
			})
			if d < tt.min || d > tt.max {
				t.Fatalf("next background refresh in %s, want within [%s, %s]", d, tt.min, tt.max)
			}
			before := p.JWKSFetches()
			clock.Advance(d)
			eventually(t, "the background fetch", func() bool { return p.JWKSFetches() == before+1 })
		})
	}
}

// Contract 5: when fetches fail in any way, the last good keys keep
// serving, retries back off, and after MaxStaleness the keys stop being
// trusted.
func TestRotationOutage(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name  string
		fault *oidctest.Fault
		want  string // in Stats.LastError
	}{
		{name: "500", fault: &oidctest.Fault{Status: 500}, want: "status 500"},
		{name: "garbage", fault: &oidctest.Fault{Body: []byte("<html>oops")}, want: "invalid JWKS"},
		{name: "no usable key", fault: &oidctest.Fault{Body: []byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`)}, want: "no usable signing key"},
		{name: "50 MiB body", fault: &oidctest.Fault{BodySize: 50 << 20}, want: "exceeds the limit"},
		{name: "stall past the timeout", fault: &oidctest.Fault{Delay: 10 * time.Second}, want: "timed out"},
		{name: "connection closed", fault: &oidctest.Fault{CloseConnection: true}, want: "EOF"},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Only the stall needs a short timeout; the others get a
			// generous one so that a loaded machine cannot turn them into
			// timeouts.
			timeout := 5 * time.Second
			if tt.fault.Delay > 0 {
				timeout = 100 * time.Millisecond
			}
			r := newRig(t, Config{FetchTimeout: timeout})
			good := r.mint(nil, "")
			r.p.SetJWKSFault(tt.fault)
			// A failing background refresh, then a failing kid-miss refresh.
			if err := r.a.Refresh(context.Background()); err == nil {
				t.Fatal("Refresh() succeeded against a faulty provider")
			}
			if err := r.validate(good); err != nil {
				t.Fatalf("cached key during outage: Validate() error = %v", err)
			}
			st := r.a.Stats()
			if st.FetchFailures != 1 || !strings.Contains(st.LastError, tt.want) || st.Keys != 1 {
				t.Errorf("Stats = %+v, want 1 failure with %q and 1 key", st, tt.want)
			}
			// Backoff: the loop retries after about 1 s, then 2 s, then 4 s.
			for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
				var d time.Duration
				eventually(t, "the retry timer", func() bool {
					var ok bool
					d, ok = r.clock.pending()
					return ok && d <= want && d >= want*8/10
				})
				fails := r.a.Stats().FetchFailures
				r.clock.Advance(d)
				eventually(t, fmt.Sprintf("retry %d", i+1), func() bool { return r.a.Stats().FetchFailures == fails+1 })
				if err := r.validate(good); err != nil {
					t.Fatalf("cached key during outage (retry %d): Validate() error = %v", i+1, err)
				}
			}
		})
	}
}

// Contract 5: after MaxStaleness without a successful fetch the keys are no
// longer trusted, visibly; a successful fetch restores service.
func TestRotationMaxStaleness(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{MaxStaleness: 2 * time.Hour})
	r.p.SetJWKSFault(&oidctest.Fault{Status: 503})
	r.clock.Advance(2*time.Hour - time.Second)
	good := r.mint(nil, "") // minted now, so only the keys' age matters
	if err := r.validate(good); err != nil {
		t.Fatalf("just under MaxStaleness: Validate() error = %v", err)
	}
	r.clock.Advance(2 * time.Second)
	err := r.validate(good)
	var ve *ValidationError
	if !errors.Is(err, ErrKeysUnavailable) || !errors.As(err, &ve) || !strings.Contains(ve.Reason, "stale") {
		t.Fatalf("past MaxStaleness: Validate() error = %v, want ErrKeysUnavailable (stale)", err)
	}
	if StatusCode(err) != http.StatusServiceUnavailable {
		t.Errorf("StatusCode = %d, want 503", StatusCode(err))
	}
	r.p.SetJWKSFault(nil)
	if err := r.a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.validate(good); err != nil {
		t.Fatalf("after recovery: Validate() error = %v", err)
	}
}

// Contract 6: started while the provider is down, the Authorizer answers
// ErrKeysUnavailable, retries in the background, and recovers by itself.
func TestRotationStartWhileDown(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	p := oidctest.New(t, oidctest.Options{Now: clock.Now})
	p.SetDiscoveryFault(&oidctest.Fault{Status: 502})
	a, err := New(context.Background(), Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: clock.Now, newTimer: clock.NewTimer, Logger: discard, StartWithoutKeys: true})
	if err != nil {
		t.Fatalf("New(StartWithoutKeys) error = %v", err)
	}
	checkNoLeak(t, a)
	tok := p.MustMint(t, map[string]any{"aud": "api"})
	if _, err := a.Validate(context.Background(), tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("Validate() error = %v, want ErrKeysUnavailable", err)
	}
	p.SetDiscoveryFault(nil)
	var d time.Duration
	eventually(t, "the retry timer", func() bool {
		var ok bool
		d, ok = clock.pending()
		return ok
	})
	if d > time.Second {
		t.Errorf("first retry in %s, want within 1 s", d)
	}
	clock.Advance(d)
	eventually(t, "keys after recovery", func() bool { return a.Stats().Keys == 1 })
	if _, err := a.Validate(context.Background(), tok); err != nil {
		t.Fatalf("after recovery: Validate() error = %v", err)
	}
}

// Contract 7: a key removed from the JWKS stops validating after the next
// successful refresh, also for tokens in the token cache.
func TestRotationRemoval(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{TokenCacheSize: 16})
	old := r.p.ActiveKeyID()
	tok := r.mint(nil, old)
	if err := r.validate(tok); err != nil {
		t.Fatal(err)
	}
	next, _ := r.p.Rotate("RS256")
	if err := r.p.RemoveKey(old); err != nil {
		t.Fatal(err)
	}
	if err := r.validate(tok); err != nil {
		t.Fatalf("before the refresh: Validate() error = %v (the cache still holds the old key)", err)
	}
	if err := r.a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.validate(tok); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after the refresh: Validate(old kid) error = %v, want ErrUnknownKey", err)
	}
	if err := r.validate(r.mint(nil, next)); err != nil {
		t.Fatalf("new key: Validate() error = %v", err)
	}
}

// Contract 8: redirects to another host are refused.
func TestRotationRedirectRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	other := oidctest.New(t)
	r.p.SetJWKSFault(&oidctest.Fault{Redirect: other.JWKSURL()})
	err := r.a.Refresh(context.Background())
	if err == nil || !strings.Contains(err.Error(), "redirect to another host") {
		t.Fatalf("Refresh() error = %v, want the redirect refused", err)
	}
	if other.JWKSFetches() != 0 {
		t.Errorf("the other host was fetched %d times", other.JWKSFetches())
	}
}

// Contract 9: Close stops everything, even with a fetch stalled in flight.
func TestRotationCloseWithFetchInFlight(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	r.p.SetJWKSFault(&oidctest.Fault{Delay: time.Minute})
	done := make(chan error)
	go func() { done <- r.a.Refresh(context.Background()) }()
	eventually(t, "the fetch to start", func() bool { return r.p.JWKSFetches() == 2 })
	start := time.Now()
	r.a.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with a stalled fetch", d)
	}
	if err := <-done; err == nil {
		t.Error("Refresh() succeeded after Close")
	}
	if err := r.a.Refresh(context.Background()); err == nil {
		t.Error("Refresh() after Close succeeded")
	}
	if err := r.validate(r.mint(nil, "")); err != nil {
		t.Errorf("Validate after Close with cached keys: error = %v", err)
	}
}

// An unknown kid while the provider is down may be a good token signed
// with a key not yet fetched: 503 with Retry-After, not 401. Within the
// cooldown that follows, unknown kids get ErrUnknownKey at once.
func TestRotationUnknownKIDDuringOutage(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{})
	kid, _ := r.p.Rotate("ES256")
	r.p.SetJWKSFault(&oidctest.Fault{Status: 502})
	err := r.validate(r.mint(nil, kid))
	var ve *ValidationError
	if !errors.Is(err, ErrKeysUnavailable) || !errors.As(err, &ve) || ve.RetryAfter <= 0 {
		t.Fatalf("unknown kid, provider down: error = %v, want ErrKeysUnavailable with RetryAfter", err)
	}
	if err := r.validate(r.mint(nil, kid)); !errors.Is(err, ErrKeyNotYetKnown) || StatusCode(err) != http.StatusServiceUnavailable {
		t.Fatalf("same kid within the cooldown: error = %v, want ErrKeyNotYetKnown (503)", err)
	}
	if st := r.a.Stats(); st.CooldownRejections != 1 || st.KIDMissRefreshes != 1 {
		t.Errorf("Stats = %+v, want 1 kid-miss refresh and 1 cooldown rejection", st)
	}
}

// Contract 2, the answer within the cooldown: an unknown kid is 503 with
// Retry-After equal to the cooldown left (the key may be new), but a kid
// the Authorizer saw removed from the JWKS stays 401, and so does any
// unknown kid once the Authorizer is closed.
func TestRotationCooldownAnswer(t *testing.T) {
	t.Parallel()
	r := newRig(t, Config{MinRefreshInterval: 15 * time.Second})
	old := r.p.ActiveKeyID()
	retiredTok := r.mint(nil, old)
	if _, err := r.p.Rotate("ES256"); err != nil {
		t.Fatal(err)
	}
	if err := r.p.RemoveKey(old); err != nil {
		t.Fatal(err)
	}
	// This unknown kid starts the cooldown; the refresh it triggers
	// retires old.
	unknown := func(kid string) string {
		return r.p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"aud": "api"}, Header: map[string]any{"kid": kid}})
	}
	if err := r.validate(unknown("never-published")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("first unknown kid: error = %v, want ErrUnknownKey (refreshed, still unknown)", err)
	}
	r.clock.Advance(4 * time.Second)

	// A key the provider starts using now, within the cooldown.
	newKID, _ := r.p.Rotate("RS256")
	err := r.validate(r.mint(nil, newKID))
	var ve *ValidationError
	if !errors.Is(err, ErrKeyNotYetKnown) || !errors.Is(err, ErrKeysUnavailable) || !errors.As(err, &ve) {
		t.Fatalf("new kid in cooldown: error = %v, want ErrKeyNotYetKnown (is ErrKeysUnavailable)", err)
	}
	ans := r.a.Answer(err)
	if ans.Status != http.StatusServiceUnavailable || ans.RetryAfter != 11*time.Second {
		t.Errorf("new kid in cooldown: answer %d, Retry-After %s; want 503, 11s (cooldown left)", ans.Status, ans.RetryAfter)
	}
	if err := r.validate(retiredTok); !errors.Is(err, ErrUnknownKey) || StatusCode(err) != http.StatusUnauthorized {
		t.Errorf("retired kid in cooldown: error = %v, want ErrUnknownKey (401)", err)
	}
	// After Retry-After, the same token is accepted.
	r.clock.Advance(ans.RetryAfter)
	if err := r.validate(r.mint(nil, newKID)); err != nil {
		t.Fatalf("new kid after the cooldown: error = %v", err)
	}

	r.a.Close()
	err = r.validate(unknown("after-close"))
	if !errors.Is(err, ErrUnknownKey) || StatusCode(err) != http.StatusUnauthorized {
		t.Errorf("unknown kid after Close: error = %v, want ErrUnknownKey (401)", err)
	}
}
