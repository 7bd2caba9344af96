package oidcauth

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of IssuerTemplate's fields.
const (
	DefaultMaxTenants          = 1000
	DefaultNewTenantsPerMinute = 30
	DefaultTenantIdleTimeout   = 24 * time.Hour
	DefaultTenantFailureTTL    = time.Minute
)

const (
	// budgetWindow is the window of IssuerTemplate.NewTenantsPerMinute.
	budgetWindow = time.Minute
	// maxFailures caps the failures remembered per template whatever the
	// budget and FailureTTL: about 13 MiB at worst.
	maxFailures = 1 << 16
)

// tenantFamily holds the tenants of one IssuerTemplate and owns the policy
// that admits and evicts them; see "Several issuers and tenants" in the
// package documentation for the contract.
//
// The read path (a token of an admitted tenant) is one lock-free load from
// a sync.Map and, at most once a second per tenant, an atomic store of its
// last use. Everything else (admission, eviction, failure memory, budget)
// happens under mu, which is never held across I/O; admitting a tenant
// stores one entry, whatever the number of tenants.
type tenantFamily struct {
	tmpl              IssuerTemplate
	prefix, suffix    string
	altPrefix         string // SchemelessIssuer: prefix without "https://"
	allowed           map[string]bool
	max, perMinute    int
	idle, failTTL     time.Duration
	now               func() time.Time
	log               *slog.Logger
	obs               Observer        // IssuersConfig.Observer, for Configs without one
	ctx               context.Context // the Issuers' context, cancelled by Close
	wg                *sync.WaitGroup // the Issuers' goroutines
	firstFetchesTotal atomic.Int64    // first fetches started, for tests and logs

	// known maps a tenant id to its admitted *tenant. Read without a
	// lock (lookup); written only under mu, which also guards count.
	known sync.Map

	mu       sync.Mutex
	count    int                   // entries in known
	pending  map[string]*admission // first fetches in flight
	failed   map[string]int        // tenant → its slot in failRing
	failRing []failure             // grows to failCap, then wraps
	failCap  int
	failNext int
	starts   []time.Time // budgeted first fetches of the last window, a ring
	startsAt int         // oldest entry once starts is full
	warned   time.Time   // last "budget exhausted" warning
	closed   bool
}

// tenant is an admitted tenant: its keys were fetched at least once.
type tenant struct {
	a        *Authorizer
	lastUsed atomic.Int64 // unix nanos
}

// touch records a use, storing at most once a second so that concurrent
// requests of one tenant do not contend on the cache line.
func (t *tenant) touch(now time.Time) {
	n := now.UnixNano()
	if n-t.lastUsed.Load() >= int64(time.Second) {
		t.lastUsed.Store(n)
	}
}

// admission is a tenant's first key fetch, shared by every request of that
// tenant while it is in flight.
type admission struct {
	done chan struct{}
	a    *Authorizer // on success
	err  error       // on failure: a *ValidationError with ErrKeysUnavailable
}

type failure struct {
	id    string
	until time.Time
}

func newTenantFamily(t IssuerTemplate, now func() time.Time, log *slog.Logger, ctx context.Context, wg *sync.WaitGroup) (*tenantFamily, error) {
	before, after, ok := strings.Cut(t.Template, "{tenant}")
	if !ok || strings.Contains(after, "{tenant}") {
		return nil, fmt.Errorf("oidcauth: issuer template %q must contain {tenant} once", t.Template)
	}
	if t.Config.Issuer != "" {
		return nil, fmt.Errorf("oidcauth: template %q: Config.Issuer is set from the template; leave it empty", t.Template)
	}
	if t.MaxTenants < 0 || t.NewTenantsPerMinute < 0 || t.IdleTimeout < 0 || t.FailureTTL < 0 {
		return nil, fmt.Errorf("oidcauth: template %q: MaxTenants, NewTenantsPerMinute, IdleTimeout and FailureTTL must not be negative", t.Template)
	}
	f := &tenantFamily{
		tmpl: t, prefix: before, suffix: after, allowed: make(map[string]bool),
		max:       orDefault(t.MaxTenants, DefaultMaxTenants),
		perMinute: orDefault(t.NewTenantsPerMinute, DefaultNewTenantsPerMinute),
		idle:      orDefault(t.IdleTimeout, DefaultTenantIdleTimeout),
		failTTL:   orDefault(t.FailureTTL, DefaultTenantFailureTTL),
		now:       now, log: log, ctx: ctx, wg: wg,
		pending: make(map[string]*admission),
		failed:  make(map[string]int),
	}
	if t.Config.SchemelessIssuer {
		rest, ok := strings.CutPrefix(before, "https://")
		if !ok {
			return nil, fmt.Errorf("oidcauth: template %q: SchemelessIssuer needs an https template", t.Template)
		}
		f.altPrefix = rest
	}
	// Check the template's Config now, with a placeholder tenant.
	probe, err := newAuthorizer(f.config("1"))
	if err != nil {
		return nil, fmt.Errorf("oidcauth: template %q: %w", t.Template, err)
	}
	probe.keys.close()
	for _, id := range t.Tenants {
		if !validTenant(id) {
			return nil, fmt.Errorf("oidcauth: template %q: invalid tenant id %q", t.Template, id)
		}
		f.allowed[id] = true
	}
	// A remembered failure is dropped early only if more tenants failed
	// within FailureTTL than the budget and the allow-list permit, or
	// than maxFailures; the budget still bounds the fetches.
	windows := int((f.failTTL + budgetWindow - 1) / budgetWindow)
	f.failCap = min(f.perMinute*(windows+1)+len(f.allowed), maxFailures)
	return f, nil
}

// lookup returns the admitted tenant id, or nil. It takes no lock.
func (f *tenantFamily) lookup(id string) *tenant {
	if v, ok := f.known.Load(id); ok {
		return v.(*tenant)
	}
	return nil
}

// snapshot returns a copy of the admitted tenants, for tests and
// diagnostics. It is not atomic against concurrent admissions.
func (f *tenantFamily) snapshot() map[string]*tenant {
	m := make(map[string]*tenant)
	f.known.Range(func(k, v any) bool {
		m[k.(string)] = v.(*tenant)
		return true
	})
	return m
}

// config is the Config of tenant id.
func (f *tenantFamily) config(id string) Config {
	cfg := f.tmpl.Config
	cfg.Issuer = f.prefix + id + f.suffix
	cfg.JWKSURL = strings.ReplaceAll(cfg.JWKSURL, "{tenant}", id)
	if cfg.Logger == nil {
		cfg.Logger = f.log
	}
	if cfg.Observer == nil {
		cfg.Observer = f.obs
	}
	return cfg
}

// tenantOf returns the tenant id of iss if iss belongs to the family.
func (f *tenantFamily) tenantOf(iss string) (string, bool) {
	rest, ok := strings.CutPrefix(iss, f.prefix)
	if !ok && f.altPrefix != "" {
		rest, ok = strings.CutPrefix(iss, f.altPrefix)
	}
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, f.suffix)
	if !ok || !validTenant(id) {
		return "", false
	}
	return id, true
}

// authorizer returns the Authorizer for iss if iss belongs to the family
// and its tenant is allowed and admitted (admitting it if need be); nil,
// nil if iss is not of this family.
func (f *tenantFamily) authorizer(ctx context.Context, iss string) (*Authorizer, error) {
	id, ok := f.tenantOf(iss)
	if !ok {
		return nil, nil
	}
	if t := f.lookup(id); t != nil {
		t.touch(f.now())
		return t.a, nil
	}
	if !f.allowed[id] && (f.tmpl.AllowTenant == nil || !f.tmpl.AllowTenant(ctx, id)) {
		return nil, invalid(ErrInvalidIssuer, fmt.Sprintf("tenant %s is not allowed", quote(id)))
	}
	return f.admit(ctx, id)
}

// admit joins or starts the first key fetch of an allowed tenant and waits
// for it or for ctx.
func (f *tenantFamily) admit(ctx context.Context, id string) (*Authorizer, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, &ValidationError{Err: ErrKeysUnavailable, Reason: "closed", RetryAfter: maxBackoff}
	}
	if t := f.lookup(id); t != nil {
		f.mu.Unlock()
		return t.a, nil
	}
	adm := f.pending[id]
	if adm == nil {
		id = strings.Clone(id) // kept in maps: not the token's iss behind it
		now := f.now()
		if slot, ok := f.failed[id]; ok && now.Before(f.failRing[slot].until) {
			f.mu.Unlock()
			return nil, &ValidationError{Err: ErrKeysUnavailable, RetryAfter: ceilSecond(f.failRing[slot].until.Sub(now)),
				Reason: fmt.Sprintf("the keys of tenant %s could not be fetched; not retried before FailureTTL", quote(id))}
		}
		if !f.allowed[id] {
			if wait := f.spendLocked(now); wait > 0 {
				f.mu.Unlock()
				return nil, &ValidationError{Err: ErrKeysUnavailable, RetryAfter: ceilSecond(wait),
					Reason: fmt.Sprintf("more than NewTenantsPerMinute (%d) new tenants in a minute", f.perMinute)}
			}
		}
		a, err := newAuthorizer(f.config(id))
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		adm = &admission{done: make(chan struct{})}
		f.pending[id] = adm
		f.firstFetchesTotal.Add(1)
		f.wg.Add(1)
		go f.firstFetch(id, a, adm)
	}
	f.mu.Unlock()
	select {
	case <-adm.done:
	case <-ctx.Done():
		return nil, &ValidationError{Err: ErrKeysUnavailable, Reason: "the tenant's first key fetch is still in flight", RetryAfter: time.Second}
	}
	return adm.a, adm.err
}

// spendLocked takes one first fetch from the budget, or returns how long
// until one is free. The budget is exact: at most perMinute fetches start
// in any window of budgetWindow.
func (f *tenantFamily) spendLocked(now time.Time) time.Duration {
	if len(f.starts) < f.perMinute {
		f.starts = append(f.starts, now)
		return 0
	}
	oldest := f.starts[f.startsAt]
	if wait := oldest.Add(budgetWindow).Sub(now); wait > 0 {
		if now.Sub(f.warned) >= budgetWindow {
			f.warned = now
			f.log.Warn("oidcauth: new-tenant budget exhausted; tokens of tenants without keys get 503",
				slog.String("template", f.tmpl.Template), slog.Int("per_minute", f.perMinute), slog.Duration("retry_after", ceilSecond(wait)))
		}
		return wait
	}
	f.starts[f.startsAt] = now
	f.startsAt = (f.startsAt + 1) % len(f.starts)
	return 0
}

// firstFetch runs a tenant's first key fetch on the Issuers' context and
// admits the tenant when it succeeds. On failure the Authorizer is closed
// and the failure remembered for FailureTTL.
func (f *tenantFamily) firstFetch(id string, a *Authorizer, adm *admission) {
	defer f.wg.Done()
	err := a.keys.refresh(f.ctx, RefreshStart)
	var evicted *tenant
	f.mu.Lock()
	delete(f.pending, id)
	switch {
	case err == nil && !f.closed:
		evicted = f.installLocked(id, a, f.now())
		a.keys.start()
		a.attachObserver()
		adm.a = a
	case err == nil || f.closed:
		adm.err = &ValidationError{Err: ErrKeysUnavailable, Reason: "closed", RetryAfter: maxBackoff}
	default:
		f.rememberLocked(id, f.now().Add(f.failTTL))
		adm.err = &ValidationError{Err: ErrKeysUnavailable, RetryAfter: ceilSecond(f.failTTL),
			Reason: fmt.Sprintf("first key fetch of tenant %s failed: %v", quote(id), err)}
	}
	f.mu.Unlock()
	close(adm.done)
	if adm.a == nil {
		a.Close()
		return
	}
	f.log.Debug("oidcauth: tenant admitted", slog.String("issuer", a.issuer))
	if evicted != nil {
		f.log.Info("oidcauth: tenant evicted", slog.String("issuer", evicted.a.issuer), slog.String("reason", "MaxTenants reached; least recently used"))
		evicted.a.Close()
	}
}

// installLocked adds tenant id and, when MaxTenants is reached, first
// removes the least recently used tenant; it returns the removed one. Only
// eviction looks at the other tenants.
func (f *tenantFamily) installLocked(id string, a *Authorizer, now time.Time) *tenant {
	var lru *tenant
	var lruID string
	if f.count >= f.max {
		f.known.Range(func(k, v any) bool {
			if t := v.(*tenant); lru == nil || t.lastUsed.Load() < lru.lastUsed.Load() {
				lru, lruID = t, k.(string)
			}
			return true
		})
	}
	if lru != nil {
		f.known.Delete(lruID)
		f.count--
	}
	t := &tenant{a: a}
	t.lastUsed.Store(now.UnixNano())
	if _, loaded := f.known.Swap(id, t); !loaded {
		f.count++
	}
	return lru
}

// rememberLocked records a failed first fetch in the bounded ring,
// overwriting the oldest entry when it is full.
func (f *tenantFamily) rememberLocked(id string, until time.Time) {
	if len(f.failRing) < f.failCap {
		f.failRing = append(f.failRing, failure{id: id, until: until})
		f.failed[id] = len(f.failRing) - 1
		return
	}
	slot := f.failNext
	if old := f.failRing[slot]; old.id != "" && f.failed[old.id] == slot {
		delete(f.failed, old.id)
	}
	f.failRing[slot] = failure{id: id, until: until}
	f.failed[id] = slot
	f.failNext = (slot + 1) % len(f.failRing)
}

// sweep evicts tenants idle for longer than IdleTimeout and tenants whose
// keys are past MaxStaleness, forgets expired failures, and closes the
// evicted tenants' Authorizers.
func (f *tenantFamily) sweep(now time.Time) {
	type gone struct {
		t      *tenant
		reason string
	}
	var evicted []gone
	f.mu.Lock()
	f.known.Range(func(k, v any) bool {
		t := v.(*tenant)
		reason := ""
		switch {
		case now.Sub(time.Unix(0, t.lastUsed.Load())) > f.idle:
			reason = "idle for longer than IdleTimeout"
		case t.a.keys.current(t.a.now()) == nil:
			reason = "keys older than MaxStaleness"
		default:
			return true
		}
		f.known.Delete(k)
		f.count--
		evicted = append(evicted, gone{t, reason})
		return true
	})
	for id, slot := range f.failed {
		if !now.Before(f.failRing[slot].until) {
			delete(f.failed, id)
			f.failRing[slot] = failure{}
		}
	}
	f.mu.Unlock()
	for _, g := range evicted {
		f.log.Info("oidcauth: tenant evicted", slog.String("issuer", g.t.a.issuer), slog.String("reason", g.reason))
		g.t.a.Close()
	}
}

// close refuses new tenants; first fetches in flight then close their
// Authorizers instead of admitting them.
func (f *tenantFamily) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
}

// closeTenants closes every admitted tenant's Authorizer.
func (f *tenantFamily) closeTenants() {
	f.mu.Lock()
	var tenants []*tenant
	f.known.Range(func(k, v any) bool {
		tenants = append(tenants, v.(*tenant))
		f.known.Delete(k)
		return true
	})
	f.count = 0
	f.mu.Unlock()
	for _, t := range tenants {
		t.a.Close()
	}
}

// sweepInterval is how often the Issuers' sweep runs: often enough that an
// expired failure or an idle tenant lingers at most a minute.
func sweepInterval(families []*tenantFamily) time.Duration {
	d := time.Minute
	for _, f := range families {
		d = min(d, f.idle, f.failTTL)
	}
	return max(d, time.Second)
}

func ceilSecond(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
