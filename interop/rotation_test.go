package interop

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

// TestKeyRotation rotates the provider's RS256 signing key three ways while
// an Authorizer is running and tokens are minted and validated continuously
// from several goroutines:
//
//  1. overlap: a new key is published, the Authorizer refreshes (as its
//     background refresh would), then the key starts signing;
//  2. a new key signs at once, before the Authorizer has seen it: the first
//     token naming it triggers one refresh and is accepted in that same
//     Validate call;
//  3. the old keys are removed: tokens they signed still validate until the
//     next refresh, and are rejected after it, cached verdicts included.
//
// Not one of the valid tokens minted during the sequence may be rejected.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	const alg = "RS256"
	api := resource(alg)
	ctx := context.Background()
	a := newAuthorizer(t, oidcauth.Config{
		Issuer:         p.Issuer,
		Audiences:      []string{api},
		TokenType:      "at+jwt",
		TokenCacheSize: 1024, // removal must also drop cached verdicts
	})

	k1 := p.Signer(t, alg)
	oldToken := p.MustClientCredentials(t, api)
	if _, err := a.Validate(ctx, oldToken); err != nil {
		t.Fatalf("Validate(%s token) error = %v", k1, err)
	}

	l := startLoad(p, a, api, 4)
	t.Cleanup(l.stop)
	const perPhase = 25
	l.waitFor(t, k1, perPhase)

	// 1. Overlap: publish, let the Authorizer see it, then sign with it.
	k2 := p.AddKey(t, alg, false)
	if err := a.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if !hasKey(a, k2) {
		t.Fatalf("after Refresh, Keys() = %v, want %s", kids(a), k2)
	}
	misses := a.Stats().KIDMissRefreshes
	p.UseKey(t, k2)
	l.waitFor(t, k2, perPhase)
	k2Token := p.MustClientCredentials(t, api)
	if got := a.Stats().KIDMissRefreshes - misses; got != 0 {
		t.Errorf("overlap rotation caused %d unknown-kid refreshes, want 0", got)
	}

	// 2. A key that signs before the Authorizer has seen it.
	k3 := p.AddKey(t, alg, true)
	l.waitFor(t, k3, perPhase)
	if got := a.Stats().KIDMissRefreshes - misses; got != 1 {
		t.Errorf("an unseen signing key caused %d unknown-kid refreshes, want exactly 1", got)
	}
	if !hasKey(a, k3) {
		t.Errorf("Keys() = %v, want %s", kids(a), k3)
	}
	// From here on no token signed by k1 or k2 is in flight.
	l.drain(t)

	// 3. Removal of the old keys.
	p.RemoveKey(t, k1)
	p.RemoveKey(t, k2)
	if _, err := a.Validate(ctx, oldToken); err != nil {
		t.Errorf("before the next refresh, Validate(%s token) error = %v, want nil (keys are trusted until a refresh drops them)", k1, err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	for kid, tok := range map[string]string{k1: oldToken, k2: k2Token} {
		if _, err := a.Validate(ctx, tok); !errors.Is(err, oidcauth.ErrUnknownKey) {
			t.Errorf("after removal and refresh, Validate(%s token) error = %v, want ErrUnknownKey", kid, err)
		}
	}
	if hasKey(a, k1) || hasKey(a, k2) || !hasKey(a, k3) {
		t.Errorf("Keys() = %v, want %s and not %s, %s", kids(a), k3, k1, k2)
	}
	l.waitFor(t, k3, l.count(k3)+perPhase)

	l.stop()
	s := a.Stats()
	t.Logf("validated %d tokens (by kid: %s); fetches %d, unknown-kid refreshes %d, cooldown rejections %d",
		l.total(), l.summary(), s.Fetches, s.KIDMissRefreshes, s.CooldownRejections)
	if len(l.rejected) > 0 {
		t.Errorf("%d valid tokens rejected during the rotation, want 0; first: %s", len(l.rejected), l.rejected[0])
	}
	if len(l.mintErrors) > 0 {
		t.Errorf("%d token requests failed during the rotation; first: %s", len(l.mintErrors), l.mintErrors[0])
	}
}

func hasKey(a *oidcauth.Authorizer, kid string) bool {
	for _, k := range a.Keys() {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

func kids(a *oidcauth.Authorizer) []string {
	var out []string
	for _, k := range a.Keys() {
		out = append(out, k.KeyID)
	}
	return out
}

// load mints access tokens and validates each at once, from several
// goroutines, until stopped.
type load struct {
	epoch    atomic.Int64
	finished []atomic.Int64 // per worker: the epoch at the start of its last finished cycle
	quit     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once

	mu         sync.Mutex
	valid      map[string]int // kid -> tokens accepted
	rejected   []string
	mintErrors []string
}

func startLoad(p *provider, a *oidcauth.Authorizer, api string, workers int) *load {
	l := &load{
		finished: make([]atomic.Int64, workers),
		quit:     make(chan struct{}),
		valid:    make(map[string]int),
	}
	for i := range workers {
		l.finished[i].Store(-1)
		l.wg.Add(1)
		go l.work(i, p, a, api)
	}
	return l
}

func (l *load) work(i int, p *provider, a *oidcauth.Authorizer, api string) {
	defer l.wg.Done()
	for {
		select {
		case <-l.quit:
			return
		default:
		}
		e := l.epoch.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		tok, err := p.ClientCredentials(ctx, api)
		if err != nil {
			cancel()
			l.mu.Lock()
			l.mintErrors = append(l.mintErrors, err.Error())
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		_, err = a.Validate(ctx, tok)
		cancel()
		kid := kidOf(tok)
		l.mu.Lock()
		if err != nil {
			l.rejected = append(l.rejected, fmt.Sprintf("kid %s: %v", kid, err))
		} else {
			l.valid[kid]++
		}
		l.mu.Unlock()
		l.finished[i].Store(e)
	}
}

func (l *load) count(kid string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.valid[kid]
}

func (l *load) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.valid {
		n += c
	}
	return n + len(l.rejected)
}

func (l *load) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var parts []string
	for kid, n := range l.valid {
		parts = append(parts, fmt.Sprintf("%s %d", kid, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// waitFor waits until n tokens signed by kid were accepted.
func (l *load) waitFor(t *testing.T, kid string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for l.count(kid) < n {
		if time.Now().After(deadline) {
			l.mu.Lock()
			rej, mint := len(l.rejected), len(l.mintErrors)
			l.mu.Unlock()
			t.Fatalf("after 30s, %d tokens signed by %s accepted, want %d (by kid: %s; %d rejected, %d mint errors)",
				l.count(kid), kid, n, l.summary(), rej, mint)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// drain waits until every worker has finished a cycle that began after the
// call: tokens minted before it are then no longer in flight.
func (l *load) drain(t *testing.T) {
	t.Helper()
	e := l.epoch.Add(1)
	deadline := time.Now().Add(30 * time.Second)
	for i := range l.finished {
		for l.finished[i].Load() < e {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d did not finish a cycle within 30s", i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (l *load) stop() {
	l.once.Do(func() {
		close(l.quit)
		l.wg.Wait()
	})
}

// TestBackgroundRefresh shows the Authorizer's own refresh loop picking up a
// new key, with no request asking for it: the provider's JWKS has no caching
// headers, so RefreshInterval applies (shortened here, as is MinKeyTTL).
func TestBackgroundRefresh(t *testing.T) {
	t.Parallel()
	p := startProvider(t, providerOptions{})
	a := newAuthorizer(t, oidcauth.Config{
		Issuer:          p.Issuer,
		Audiences:       []string{resource("EdDSA")},
		TokenType:       "at+jwt",
		RefreshInterval: time.Second,
		MinKeyTTL:       time.Second,
	})
	kid := p.AddKey(t, "EdDSA", false)
	deadline := time.Now().Add(10 * time.Second)
	for !hasKey(a, kid) {
		if time.Now().After(deadline) {
			t.Fatalf("10s after the provider published %s, Keys() = %v; Stats() = %+v", kid, kids(a), a.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.UseKey(t, kid)
	if _, err := a.Validate(context.Background(), p.MustClientCredentials(t, resource("EdDSA"))); err != nil {
		t.Errorf("Validate(token signed by %s) error = %v", kid, err)
	}
	if s := a.Stats(); s.KIDMissRefreshes != 0 || s.Fetches < 2 {
		t.Errorf("Stats() = %+v, want background fetches and no unknown-kid refresh", s)
	}
}
