package oidcauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// tenantServer is a multi-tenant provider on 127.0.0.1 in the shape of
// Entra ID: issuer {base}/{tenant}/v2.0, discovery and JWKS under it. It
// serves the tenants in real and answers 404 for every other path, and
// counts every request.
type tenantServer struct {
	t        *testing.T
	p        *oidctest.Provider // the signing keys, shared by every tenant
	srv      *httptest.Server
	requests atomic.Int64
	client   *http.Client

	mu   sync.Mutex
	real map[string]bool
	hang chan struct{} // when non-nil, requests wait for it (or their context)
}

func newTenantServer(t *testing.T, real ...string) *tenantServer {
	ts := &tenantServer{t: t, p: oidctest.New(t, oidctest.Options{Algorithm: "ES256"}), real: map[string]bool{}}
	for _, id := range real {
		ts.real[id] = true
	}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	ts.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		ts.client.CloseIdleConnections()
		ts.srv.Close()
	})
	return ts
}

func (ts *tenantServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.requests.Add(1)
	ts.mu.Lock()
	hang := ts.hang
	ts.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	id, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	ts.mu.Lock()
	ok := ts.real[id]
	ts.mu.Unlock()
	switch {
	case ok && rest == "v2.0/.well-known/openid-configuration":
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, ts.issuer(id), ts.issuer(id)+"/jwks")
	case ok && rest == "v2.0/jwks":
		w.Write(ts.p.JWKS())
	default:
		http.NotFound(w, r)
	}
}

func (ts *tenantServer) issuer(id string) string { return ts.srv.URL + "/" + id + "/v2.0" }
func (ts *tenantServer) template() string        { return ts.srv.URL + "/{tenant}/v2.0" }

// token is a token of tenant id signed with the tenants' key.
func (ts *tenantServer) token(id string) string {
	return ts.p.MustMint(ts.t, map[string]any{"iss": ts.issuer(id), "aud": "api", "sub": "u-" + id})
}

// unsigned is a token naming tenant id with a signature that was never
// made: what anyone can write.
func (ts *tenantServer) unsigned(id string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","kid":"k1"}`)) + "." +
		enc(fmt.Appendf(nil, `{"iss":%q,"aud":"api","exp":%d}`, ts.issuer(id), time.Now().Unix()+600)) + ".AAAA"
}

// newTenantIssuers makes an Issuers with one template on ts, its policy on
// clock (the sweep included), admitting every well-formed tenant id.
func newTenantIssuers(t *testing.T, ts *tenantServer, clock *fakeClock, tmpl IssuerTemplate) *Issuers {
	t.Helper()
	tmpl.Template = ts.template()
	if tmpl.AllowTenant == nil && tmpl.Tenants == nil {
		tmpl.AllowTenant = func(context.Context, string) bool { return true }
	}
	tmpl.Config.Audiences = []string{"api"}
	tmpl.Config.HTTPClient = ts.client
	m, err := NewIssuers(context.Background(), IssuersConfig{Templates: []IssuerTemplate{tmpl}, Logger: discard, Now: clock.Now, newTimer: clock.NewTimer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// serve sends token through m.Required and returns the recorder.
func serve(m *Issuers, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	m.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFromContext(r.Context())
		fmt.Fprint(w, c.Subject)
	})).ServeHTTP(rec, req)
	return rec
}

// settle waits until the goroutine count is back to at most base.
func settle(t *testing.T, ts *tenantServer, base int) int {
	t.Helper()
	n := runtime.NumGoroutine()
	for i := 0; i < 500 && n > base; i++ {
		ts.client.CloseIdleConnections()
		time.Sleep(10 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}

// TestTenantFloodIsBounded is the flood of issue 11: 1,000 unsigned tokens
// naming invented tenants of a template that admits any well-formed id.
// Provider requests stay within NewTenantsPerMinute first fetches per
// minute, no goroutine survives the flood, no slot is taken, and real
// tenants are then served.
func TestTenantFloodIsBounded(t *testing.T) {
	ts := newTenantServer(t, "listed", "customer")
	clock := newFakeClock()
	m := newTenantIssuers(t, ts, clock, IssuerTemplate{
		Tenants:     []string{"listed"},
		AllowTenant: func(_ context.Context, id string) bool { return true },
	})
	f := m.families[0]
	base := runtime.NumGoroutine()
	const perFetch = 3 // discovery: three metadata URLs, each answering 404

	flood := func(round int) (status map[int]int, retryAfter bool) {
		status = map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		retryAfter = true
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 1000; i += 8 {
					rec := serve(m, ts.unsigned(fmt.Sprintf("r%d-invented-%d", round, i)))
					mu.Lock()
					status[rec.Code]++
					if rec.Code == 503 && rec.Header().Get("Retry-After") == "" {
						retryAfter = false
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return status, retryAfter
	}

	status, retryAfter := flood(1)
	first := ts.requests.Load()
	t.Logf("flood of 1000 invented tenants: %d provider requests (%d first fetches), statuses %v", first, f.firstFetchesTotal.Load(), status)
	if max := int64(DefaultNewTenantsPerMinute * perFetch); first > max {
		t.Errorf("flood made %d provider requests, want at most %d (NewTenantsPerMinute × %d)", first, max, perFetch)
	}
	if status[503] != 1000 || !retryAfter {
		t.Errorf("flood statuses %v (Retry-After on every 503: %v), want 1000 × 503 with Retry-After", status, retryAfter)
	}
	if n := len(f.snapshot()); n != 0 {
		t.Errorf("%d invented tenants took a slot, want 0", n)
	}

	// Later in the same minute: another 1,000 invented tenants cost nothing.
	clock.Advance(59 * time.Second)
	flood(2)
	if n := ts.requests.Load() - first; n != 0 {
		t.Errorf("second flood within the minute made %d provider requests, want 0", n)
	}

	if n := settle(t, ts, base); n > base {
		t.Errorf("goroutines after the flood = %d, want at most %d (before it)", n, base)
	}

	// A listed tenant is never behind the budget.
	if rec := serve(m, ts.token("listed")); rec.Code != 200 || rec.Body.String() != "u-listed" {
		t.Errorf("listed tenant after the flood: %d %q, want 200", rec.Code, rec.Body.String())
	}
	// A real customer admitted by AllowTenant waits at most the window.
	rec := serve(m, ts.token("customer"))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("customer within the exhausted minute: %d Retry-After %q, want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	clock.Advance(time.Second)
	if rec := serve(m, ts.token("customer")); rec.Code != 200 || rec.Body.String() != "u-customer" {
		t.Errorf("customer once the minute passed: %d %q, want 200", rec.Code, rec.Body.String())
	}

	// The next minute's flood is bounded again.
	before := ts.requests.Load()
	clock.Advance(time.Minute)
	flood(3)
	second := ts.requests.Load() - before
	t.Logf("flood in the next minute: %d provider requests", second)
	if max := int64(DefaultNewTenantsPerMinute * perFetch); second > max {
		t.Errorf("next minute's flood made %d provider requests, want at most %d", second, max)
	}
	for _, id := range []string{"listed", "customer"} {
		if rec := serve(m, ts.token(id)); rec.Code != 200 {
			t.Errorf("%s during a flood: %d, want 200", id, rec.Code)
		}
	}
	if n := len(f.snapshot()); n != 2 {
		t.Errorf("%d tenants admitted, want 2 (listed, customer)", n)
	}
}

// TestTenantFirstFetchShared: concurrent first tokens of a tenant share one
// fetch, which a request giving up does not cancel.
func TestTenantFirstFetchShared(t *testing.T) {
	ts := newTenantServer(t, "a")
	m := newTenantIssuers(t, ts, newFakeClock(), IssuerTemplate{})
	hang := make(chan struct{})
	ts.mu.Lock()
	ts.hang = hang
	ts.mu.Unlock()
	// One request gives up while the fetch hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := m.Validate(ctx, ts.token("a")); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("request that gave up: error = %v, want ErrKeysUnavailable", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Validate(context.Background(), ts.token("a"))
			errs <- err
		}()
	}
	time.Sleep(20 * time.Millisecond)
	ts.mu.Lock()
	ts.hang = nil
	ts.mu.Unlock()
	close(hang)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Validate() error = %v", err)
		}
	}
	if n := ts.requests.Load(); n != 2 {
		t.Errorf("provider requests = %d, want 2 (one discovery, one JWKS)", n)
	}
	if n := m.families[0].firstFetchesTotal.Load(); n != 1 {
		t.Errorf("first fetches = %d, want 1", n)
	}
}

// TestTenantFailureRemembered: a failed first fetch is not repeated within
// FailureTTL (503 with the time left as Retry-After), and is after it.
func TestTenantFailureRemembered(t *testing.T) {
	ts := newTenantServer(t)
	clock := newFakeClock()
	m := newTenantIssuers(t, ts, clock, IssuerTemplate{Tenants: []string{"late"}, FailureTTL: 2 * time.Minute})
	_, err := m.Validate(context.Background(), ts.token("late"))
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrKeysUnavailable) || ve.RetryAfter != 2*time.Minute {
		t.Fatalf("first token: error = %v, want ErrKeysUnavailable with RetryAfter 2m", err)
	}
	n := ts.requests.Load()
	clock.Advance(90 * time.Second)
	for range 10 {
		_, err = m.Validate(context.Background(), ts.token("late"))
	}
	if !errors.As(err, &ve) || ve.RetryAfter != 30*time.Second || ts.requests.Load() != n {
		t.Fatalf("within FailureTTL: error = %v, %d more requests; want RetryAfter 30s and none", err, ts.requests.Load()-n)
	}
	if len(m.families[0].snapshot()) != 0 {
		t.Fatal("a failed tenant took a slot")
	}
	ts.mu.Lock()
	ts.real["late"] = true
	ts.mu.Unlock()
	clock.Advance(30 * time.Second)
	if _, err := m.Validate(context.Background(), ts.token("late")); err != nil {
		t.Fatalf("after FailureTTL: error = %v", err)
	}
}

// TestTenantFailureMemoryBounded: the failure ring holds what the budget
// can produce within FailureTTL, so no fresh failure is dropped by a flood,
// and its size is fixed.
func TestTenantFailureMemoryBounded(t *testing.T) {
	ts := newTenantServer(t)
	clock := newFakeClock()
	m := newTenantIssuers(t, ts, clock, IssuerTemplate{NewTenantsPerMinute: 5, FailureTTL: 90 * time.Second})
	f := m.families[0]
	if f.failCap != 5*3 {
		t.Fatalf("failure ring of %d entries, want 15 (5 per minute × (2 windows + 1))", f.failCap)
	}
	for i := range 200 {
		m.Validate(context.Background(), ts.unsigned(fmt.Sprint("x", i)))
		if i%10 == 9 {
			clock.Advance(10 * time.Second)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.failed) > f.failCap || len(f.failRing) != f.failCap {
		t.Errorf("%d remembered failures, ring of %d/%d", len(f.failed), len(f.failRing), f.failCap)
	}
	for id, slot := range f.failed {
		if f.failRing[slot].id != id {
			t.Errorf("failed[%q] points at slot %d holding %q", id, slot, f.failRing[slot].id)
		}
	}
}

// TestTenantBudgetExact: at most NewTenantsPerMinute first fetches start in
// any 60 seconds, a sliding window, not a fixed one.
func TestTenantBudgetExact(t *testing.T) {
	f := &tenantFamily{perMinute: 3, log: discard}
	t0 := time.Unix(1_800_000_000, 0)
	steps := []struct {
		at   time.Duration
		wait time.Duration
	}{
		{0, 0}, {10 * time.Second, 0}, {50 * time.Second, 0},
		{59 * time.Second, time.Second}, // window [0, 60) holds 3
		{60 * time.Second, 0},           // the fetch at 0 left the window
		{61 * time.Second, 9 * time.Second},
		{70 * time.Second, 0},
		{109 * time.Second, time.Second},
		{110 * time.Second, 0},
	}
	for _, s := range steps {
		if got := f.spendLocked(t0.Add(s.at)); got != s.wait {
			t.Errorf("spend at %v: wait %v, want %v", s.at, got, s.wait)
		}
	}
}

// TestTenantLRUEviction: when MaxTenants is reached, a new real tenant is
// admitted and the least recently used one evicted, its goroutines stopped.
func TestTenantLRUEviction(t *testing.T) {
	ts := newTenantServer(t, "a", "b", "c")
	clock := newFakeClock()
	m := newTenantIssuers(t, ts, clock, IssuerTemplate{MaxTenants: 2})
	f := m.families[0]
	for _, id := range []string{"a", "b"} {
		if rec := serve(m, ts.token(id)); rec.Code != 200 {
			t.Fatalf("tenant %s: %d", id, rec.Code)
		}
		clock.Advance(2 * time.Second)
	}
	a := f.snapshot()["a"].a
	serve(m, ts.token("a")) // b is now the least recently used
	clock.Advance(2 * time.Second)
	b := f.snapshot()["b"].a
	if rec := serve(m, ts.token("c")); rec.Code != 200 {
		t.Fatalf("new tenant with MaxTenants reached: %d, want 200", rec.Code)
	}
	known := f.snapshot()
	if len(known) != 2 || known["a"] == nil || known["c"] == nil {
		t.Errorf("tenants after eviction: %v, want a and c", known)
	}
	eventually(t, "the evicted tenant's goroutines to stop", func() bool { return b.keys.running.Load() == 0 })
	if a.keys.running.Load() == 0 {
		t.Error("the tenant kept has no refresh goroutine")
	}
	if _, ok := m.Authorizer(ts.issuer("b")); ok {
		t.Error("Authorizer of the evicted tenant still found")
	}
	// The evicted tenant comes back on its next token.
	if rec := serve(m, ts.token("b")); rec.Code != 200 {
		t.Errorf("evicted tenant's next token: %d, want 200", rec.Code)
	}
}

// TestTenantIdleAndStaleEviction: the sweep evicts tenants idle for longer
// than IdleTimeout and tenants whose keys passed MaxStaleness.
func TestTenantIdleAndStaleEviction(t *testing.T) {
	ts := newTenantServer(t, "idle", "busy", "stale")
	clock := newFakeClock()
	m := newTenantIssuers(t, ts, clock, IssuerTemplate{IdleTimeout: 10 * time.Minute})
	f := m.families[0]
	for _, id := range []string{"idle", "busy", "stale"} {
		if rec := serve(m, ts.token(id)); rec.Code != 200 {
			t.Fatalf("tenant %s: %d", id, rec.Code)
		}
	}
	known := f.snapshot()
	idle, stale := known["idle"].a, known["stale"].a
	// The stale tenant's provider stops answering, and its keys (on a clock
	// of their own) are past MaxStaleness.
	ts.mu.Lock()
	delete(ts.real, "stale")
	ts.mu.Unlock()
	stale.keys.set.Load().fetched = time.Now().Add(-25 * time.Hour)
	for range 11 {
		clock.Advance(time.Minute)
		serve(m, ts.token("busy"))
		serve(m, ts.token("stale")) // 503, but in use: only staleness evicts it
	}
	eventually(t, "the sweep", func() bool { return len(f.snapshot()) == 1 })
	if f.snapshot()["busy"] == nil {
		t.Fatalf("tenants after the sweep: %v, want busy", f.snapshot())
	}
	eventually(t, "the evicted tenants' goroutines to stop", func() bool {
		return idle.keys.running.Load() == 0 && stale.keys.running.Load() == 0
	})
}

// TestTenantCloseStopsFirstFetch: Close cancels a first fetch in flight,
// the request waiting on it gets 503, and no goroutine is left.
func TestTenantCloseStopsFirstFetch(t *testing.T) {
	ts := newTenantServer(t, "a")
	m := newTenantIssuers(t, ts, newFakeClock(), IssuerTemplate{})
	hang := make(chan struct{})
	defer close(hang)
	ts.mu.Lock()
	ts.hang = hang
	ts.mu.Unlock()
	errc := make(chan error)
	go func() {
		_, err := m.Validate(context.Background(), ts.token("a"))
		errc <- err
	}()
	eventually(t, "the first fetch", func() bool { return ts.requests.Load() == 1 })
	start := time.Now()
	m.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v with a fetch hanging", d)
	}
	if err := <-errc; !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("request waiting on the first fetch: error = %v, want ErrKeysUnavailable", err)
	}
	if _, err := m.Validate(context.Background(), ts.token("a")); !errors.Is(err, ErrKeysUnavailable) {
		t.Errorf("after Close: error = %v, want ErrKeysUnavailable", err)
	}
}

// TestSchemelessIssuerThroughIssuers: SchemelessIssuer routes a token whose
// iss lacks "https://" for a fixed issuer and for an https template, and is
// refused where it cannot apply.
func TestSchemelessIssuerThroughIssuers(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", TLS: true, IssuerPath: "/v2.0"})
	u, _ := url.Parse(p.Issuer())
	m, err := NewIssuers(context.Background(), IssuersConfig{
		Logger:  discard,
		Issuers: []Config{{Issuer: "https://accounts.google.com", Audiences: []string{"g"}, SchemelessIssuer: true, StaticJWKS: p.JWKS()}},
		Templates: []IssuerTemplate{{
			Template: "https://127.0.0.1:{tenant}/v2.0", Tenants: []string{u.Port()},
			Config: Config{Audiences: []string{"api"}, SchemelessIssuer: true, HTTPClient: p.Client()},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tests := []struct {
		iss, aud string
		want     error
	}{
		{"accounts.google.com", "g", nil},
		{"https://accounts.google.com", "g", nil},
		{"http://accounts.google.com", "g", ErrInvalidIssuer},
		{"127.0.0.1:" + u.Port() + "/v2.0", "api", nil},
		{p.Issuer(), "api", nil},
		{"http://127.0.0.1:" + u.Port() + "/v2.0", "api", ErrInvalidIssuer},
	}
	for _, tt := range tests {
		c, err := m.Validate(context.Background(), p.MustMint(t, map[string]any{"iss": tt.iss, "aud": tt.aud}))
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("iss %q: Validate() error = %v, want %v", tt.iss, err, tt.want)
		} else if err == nil && !strings.HasPrefix(c.Issuer, "https://") {
			t.Errorf("iss %q: Claims.Issuer = %q, want the https form", tt.iss, c.Issuer)
		}
	}
	for name, cfg := range map[string]IssuersConfig{
		"http issuer":   {Issuers: []Config{{Issuer: "http://127.0.0.1:1", Audiences: []string{"a"}, SchemelessIssuer: true}}},
		"static issuer": {Issuers: []Config{{Issuer: "svc", Audiences: []string{"a"}, SchemelessIssuer: true, StaticJWKS: p.JWKS()}}},
		"http template": {Templates: []IssuerTemplate{{Template: "http://127.0.0.1:{tenant}", Config: Config{Audiences: []string{"a"}, SchemelessIssuer: true}}}},
		"alt collides": {Issuers: []Config{
			{Issuer: "https://accounts.google.com", Audiences: []string{"a"}, SchemelessIssuer: true, StaticJWKS: p.JWKS()},
			{Issuer: "accounts.google.com", Audiences: []string{"a"}, StaticJWKS: p.JWKS()},
		}},
	} {
		if m, err := NewIssuers(context.Background(), cfg); err == nil {
			m.Close()
			t.Errorf("%s: NewIssuers succeeded, want an error", name)
		} else if name != "alt collides" && !strings.Contains(err.Error(), "SchemelessIssuer needs an https") {
			t.Errorf("%s: error = %v, want it to say SchemelessIssuer needs https", name, err)
		}
	}
}

// BenchmarkTenantPick measures choosing the Authorizer of an admitted
// tenant of a template: the unverified iss decode and the tenant lookup.
func BenchmarkTenantPick(b *testing.B) {
	m, tok := benchTenant(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := m.pick(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTenantPickParallel is BenchmarkTenantPick on all cores, one
// tenant: the contention of the lookup.
func BenchmarkTenantPickParallel(b *testing.B) {
	m, tok := benchTenant(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.pick(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchTenant(b *testing.B) (*Issuers, string) {
	p := oidctest.New(b, oidctest.Options{Algorithm: "ES256", IssuerPath: "/v2.0"})
	u, _ := url.Parse(p.Issuer())
	m, err := NewIssuers(context.Background(), IssuersConfig{Logger: discard, Templates: []IssuerTemplate{{
		Template: "http://127.0.0.1:{tenant}/v2.0",
		Tenants:  []string{u.Port()},
		Config:   Config{Audiences: []string{"api"}},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	tok := p.MustMint(b, map[string]any{"aud": "api", "sub": "alice"})
	if _, err := m.Validate(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	return m, tok
}
