package oidcauth_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// recorder is an Observer that remembers every event.
type recorder struct {
	oidcauth.NopObserver
	mu          sync.Mutex
	validations []oidcauth.ValidationEvent
	fetches     []oidcauth.FetchEvent
	causes      []string
	intro       []oidcauth.FetchEvent
	cache       []bool
	spans       []string // "name:ok" or "name:error", when ended
	started     []string
	attached    int
	sources     map[int]func() oidcauth.Stats
	replays     int
}

func (r *recorder) Validation(_ context.Context, ev oidcauth.ValidationEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.validations = append(r.validations, ev)
}

func (r *recorder) KeyFetch(_ context.Context, ev oidcauth.FetchEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fetches = append(r.fetches, ev)
}

func (r *recorder) Refresh(_ context.Context, cause string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.causes = append(r.causes, cause)
}

func (r *recorder) Introspection(_ context.Context, ev oidcauth.FetchEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.intro = append(r.intro, ev)
}

func (r *recorder) IntrospectionCache(_ context.Context, hit bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cache = append(r.cache, hit)
}

func (r *recorder) DPoPReplay(context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replays++
}

type spanKey struct{}

func (r *recorder) StartSpan(ctx context.Context, name string) (context.Context, func(error)) {
	r.mu.Lock()
	r.started = append(r.started, name)
	r.mu.Unlock()
	if parent, ok := ctx.Value(spanKey{}).(string); ok {
		name = parent + ">" + name
	}
	return context.WithValue(ctx, spanKey{}, name), func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.spans = append(r.spans, name+":"+map[bool]string{true: "ok", false: "error"}[err == nil])
	}
}

func (r *recorder) AttachKeyCache(stats func() oidcauth.Stats) func() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sources == nil {
		r.sources = map[int]func() oidcauth.Stats{}
	}
	id := r.attached
	r.attached++
	r.sources[id] = stats
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.sources, id)
	}
}

func (r *recorder) snapshot() recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return recorder{
		validations: slices.Clone(r.validations), fetches: slices.Clone(r.fetches),
		causes: slices.Clone(r.causes), intro: slices.Clone(r.intro), cache: slices.Clone(r.cache),
		spans: slices.Clone(r.spans), started: slices.Clone(r.started), attached: r.attached,
		sources: maps(r.sources), replays: r.replays,
	}
}

func maps(m map[int]func() oidcauth.Stats) map[int]func() oidcauth.Stats {
	out := make(map[int]func() oidcauth.Stats, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestObserverValidation(t *testing.T) {
	rec := &recorder{}
	p, a := newPair(t, oidcauth.Config{Observer: rec, MinRefreshInterval: time.Hour})
	valid := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	tests := []struct {
		name    string
		token   string
		outcome string
		reason  string
	}{
		{"valid", valid, oidcauth.OutcomeOK, oidcauth.ReasonNone},
		{"expired", p.MustMint(t, map[string]any{"aud": "api", "exp": t0.Add(-time.Hour).Unix()}), oidcauth.OutcomeRefused, "expired"},
		{"wrong audience", p.MustMint(t, map[string]any{"aud": "other"}), oidcauth.OutcomeRefused, "invalid_audience"},
		{"malformed", "not.a.jwt!", oidcauth.OutcomeRefused, "malformed"},
		{"bad signature", valid[:len(valid)-4] + "AAAA", oidcauth.OutcomeRefused, "invalid_signature"},
		{"unknown kid, refresh runs", mintWithKID(t, p, "nope-1"), oidcauth.OutcomeRefused, "unknown_key"},
		{"unknown kid, cooling down", mintWithKID(t, p, "nope-2"), oidcauth.OutcomeUnavailable, "key_not_yet_known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(rec.snapshot().validations)
			_, err := a.Validate(context.Background(), tt.token)
			if got := oidcauth.Reason(err); got != tt.reason {
				t.Fatalf("Reason(Validate()) = %q (err %v), want %q", got, err, tt.reason)
			}
			evs := rec.snapshot().validations[before:]
			if len(evs) != 1 {
				t.Fatalf("%d Validation events, want 1", len(evs))
			}
			if evs[0].Outcome != tt.outcome || evs[0].Reason != tt.reason {
				t.Errorf("event = %+v, want outcome %q reason %q", evs[0], tt.outcome, tt.reason)
			}
			if evs[0].Duration <= 0 || evs[0].Duration > time.Minute {
				t.Errorf("event Duration = %v, want a small positive duration", evs[0].Duration)
			}
		})
	}
}

// mintWithKID mints a token whose header names kid, which the provider
// does not publish (so its signature cannot matter).
func mintWithKID(t *testing.T, p *oidctest.Provider, kid string) string {
	t.Helper()
	return p.MustMintToken(t, oidctest.Token{Header: map[string]any{"kid": kid}, Claims: map[string]any{"aud": "api"}})
}

func TestObserverKeyFetches(t *testing.T) {
	rec := &recorder{}
	p, a := newPair(t, oidcauth.Config{Observer: rec, MinRefreshInterval: time.Hour})
	got := rec.snapshot()
	if !slices.Equal(got.causes, []string{oidcauth.RefreshStart}) {
		t.Errorf("causes after New = %v, want [start]", got.causes)
	}
	if len(got.fetches) != 1 || got.fetches[0].Outcome != oidcauth.FetchOK {
		t.Errorf("fetches after New = %+v, want one ok", got.fetches)
	}
	wantSpans := []string{"oidcauth.key_fetch>oidcauth.discovery:ok", "oidcauth.key_fetch:ok"}
	if !slices.Equal(got.spans, wantSpans) {
		t.Errorf("spans after New = %v, want %v", got.spans, wantSpans)
	}

	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Validate(context.Background(), mintWithKID(t, p, "nope")) //nolint:errcheck // refused; the refresh matters
	p.SetJWKSFault(&oidctest.Fault{Status: 500})
	if err := a.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh() with a failing JWKS = nil, want an error")
	}
	got = rec.snapshot()
	wantCauses := []string{oidcauth.RefreshStart, oidcauth.RefreshManual, oidcauth.RefreshUnknownKID, oidcauth.RefreshManual}
	if !slices.Equal(got.causes, wantCauses) {
		t.Errorf("causes = %v, want %v", got.causes, wantCauses)
	}
	var outcomes []string
	for _, f := range got.fetches {
		outcomes = append(outcomes, f.Outcome)
	}
	if want := []string{"ok", "ok", "ok", "error"}; !slices.Equal(outcomes, want) {
		t.Errorf("fetch outcomes = %v, want %v", outcomes, want)
	}
	// The JWKS URL is discovered once; later fetches have no discovery span.
	if last := got.spans[len(got.spans)-1]; last != "oidcauth.key_fetch:error" {
		t.Errorf("last span = %q, want oidcauth.key_fetch:error", last)
	}
	if n := len(got.started); n != len(got.spans) {
		t.Errorf("%d spans started, %d ended", n, len(got.spans))
	}
	if st := a.Stats(); st.Fetches != uint64(len(got.fetches)) {
		t.Errorf("Stats().Fetches = %d, KeyFetch events = %d", st.Fetches, len(got.fetches))
	}
}

func TestObserverAttachKeyCache(t *testing.T) {
	rec := &recorder{}
	p := oidctest.New(t, oidctest.Options{})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Observer: rec, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	got := rec.snapshot()
	if len(got.sources) != 1 {
		t.Fatalf("%d key caches attached after New, want 1", len(got.sources))
	}
	for _, stats := range got.sources {
		if st := stats(); st.Keys != 1 || st.KeysAge < 0 {
			t.Errorf("attached Stats() = %+v, want 1 key", st)
		}
	}
	a.Close()
	a.Close()
	if got := rec.snapshot(); len(got.sources) != 0 || got.attached != 1 {
		t.Errorf("after Close: %d attached, %d attach calls; want 0 and 1", len(got.sources), got.attached)
	}

	// A failed New attaches nothing.
	p.SetJWKSFault(&oidctest.Fault{Status: 500})
	rec2 := &recorder{}
	if _, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Observer: rec2, Logger: quietLogger()}); err == nil {
		t.Fatal("New() with a failing JWKS = nil error")
	}
	if got := rec2.snapshot(); got.attached != 0 {
		t.Errorf("failed New attached %d key caches", got.attached)
	}
}

func TestObserverIntrospection(t *testing.T) {
	rec := &recorder{}
	p := oidctest.New(t, oidctest.Options{})
	p.EnableIntrospection("my-api", "secret")
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"my-api"}, Observer: rec, Logger: quietLogger(),
		Introspection: &oidcauth.IntrospectionConfig{ClientID: "my-api", ClientSecret: "secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	tok := p.MustMintOpaque(t, map[string]any{"sub": "alice", "aud": "my-api"})
	for range 2 {
		if _, err := a.Validate(context.Background(), tok); err != nil {
			t.Fatalf("Validate() error = %v", err)
		}
	}
	if _, err := a.Validate(context.Background(), "opaque-token-the-provider-never-issued"); !errors.Is(err, oidcauth.ErrTokenInactive) {
		t.Fatalf("Validate(unknown opaque) error = %v, want ErrTokenInactive", err)
	}
	got := rec.snapshot()
	if want := []bool{false, true, false}; !slices.Equal(got.cache, want) {
		t.Errorf("cache hits = %v, want %v", got.cache, want)
	}
	var outcomes []string
	for _, ev := range got.intro {
		outcomes = append(outcomes, ev.Outcome)
	}
	if want := []string{oidcauth.OutcomeOK, oidcauth.OutcomeRefused}; !slices.Equal(outcomes, want) {
		t.Errorf("introspection outcomes = %v, want %v", outcomes, want)
	}
	if n := slices.Index(got.spans, "oidcauth.introspection:ok"); n < 0 {
		t.Errorf("spans = %v, want an oidcauth.introspection span", got.spans)
	}
	if n := p.IntrospectionCalls(); n != int64(len(got.intro)) {
		t.Errorf("provider saw %d introspection calls, observer %d", n, len(got.intro))
	}
}

func TestObserverIssuers(t *testing.T) {
	rec := &recorder{}
	p := oidctest.New(t, oidctest.Options{})
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{
		Issuers:  []oidcauth.Config{{Issuer: p.Issuer(), Audiences: []string{"api"}}},
		Observer: rec, Logger: quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	other := oidctest.New(t, oidctest.Options{})
	for _, tok := range []string{
		p.MustMint(t, map[string]any{"aud": "api"}),
		other.MustMint(t, map[string]any{"aud": "api"}),
	} {
		m.Validate(context.Background(), tok) //nolint:errcheck // the events matter
	}
	got := rec.snapshot()
	var reasons []string
	for _, ev := range got.validations {
		reasons = append(reasons, ev.Reason)
	}
	if want := []string{oidcauth.ReasonNone, "invalid_issuer"}; !slices.Equal(reasons, want) {
		t.Errorf("reasons = %v, want %v (one event per Validate)", reasons, want)
	}
	if got.attached != 1 || !slices.Equal(got.causes, []string{oidcauth.RefreshStart}) {
		t.Errorf("attached %d, causes %v; want the fixed issuer's key cache, started once", got.attached, got.causes)
	}
}

func TestReason(t *testing.T) {
	sentinels := map[error]string{
		oidcauth.ErrNoToken: "no_token", oidcauth.ErrInvalidRequest: "invalid_request",
		oidcauth.ErrMalformedToken: "malformed", oidcauth.ErrInvalidHeader: "invalid_header",
		oidcauth.ErrUnsupportedAlgorithm: "unsupported_algorithm", oidcauth.ErrUnknownKey: "unknown_key",
		oidcauth.ErrInvalidSignature: "invalid_signature", oidcauth.ErrInvalidClaims: "invalid_claims",
		oidcauth.ErrInvalidIssuer: "invalid_issuer", oidcauth.ErrInvalidAudience: "invalid_audience",
		oidcauth.ErrIDToken: "id_token", oidcauth.ErrTokenExpired: "expired",
		oidcauth.ErrTokenNotYetValid: "not_yet_valid", oidcauth.ErrTokenIssuedInFuture: "issued_in_future",
		oidcauth.ErrTokenInactive: "inactive", oidcauth.ErrInsufficientScope: "insufficient_scope",
		oidcauth.ErrKeysUnavailable: "keys_unavailable", oidcauth.ErrKeyNotYetKnown: "key_not_yet_known",
		oidcauth.ErrIntrospectionFailed:            "introspection_failed",
		oidcauth.ErrInsufficientUserAuthentication: "insufficient_user_authentication",
		oidcauth.ErrDPoPReplay:                     "dpop_replay", oidcauth.ErrInvalidDPoPProof: "invalid_dpop_proof",
		oidcauth.ErrUseDPoPNonce: "use_dpop_nonce", oidcauth.ErrDPoPRequired: "dpop_required",
		oidcauth.ErrCertificateMismatch:    "certificate_mismatch",
		oidcauth.ErrReplayCacheUnavailable: "replay_cache_unavailable",
	}
	all := oidcauth.Reasons()
	if len(all) != len(sentinels)+2 {
		t.Errorf("Reasons() has %d labels, want %d", len(all), len(sentinels)+2)
	}
	for err, want := range sentinels {
		for _, e := range []error{
			err,
			&oidcauth.ValidationError{Err: err, Reason: "x"},
			fmt.Errorf("wrapped: %w", &oidcauth.ValidationError{Err: err}),
		} {
			if got := oidcauth.Reason(e); got != want {
				t.Errorf("Reason(%v) = %q, want %q", e, got, want)
			}
		}
		wantOutcome := oidcauth.OutcomeRefused
		if oidcauth.StatusCode(err) >= 500 {
			wantOutcome = oidcauth.OutcomeUnavailable
		}
		if got := oidcauth.Outcome(err); got != wantOutcome {
			t.Errorf("Outcome(%v) = %q, want %q (StatusCode %d)", err, got, wantOutcome, oidcauth.StatusCode(err))
		}
		if !slices.Contains(all, want) {
			t.Errorf("Reasons() lacks %q", want)
		}
	}
	if got := oidcauth.Reason(nil); got != oidcauth.ReasonNone {
		t.Errorf("Reason(nil) = %q", got)
	}
	if got := oidcauth.Reason(errors.New("boom")); got != oidcauth.ReasonOther {
		t.Errorf("Reason(other) = %q", got)
	}
	for err, want := range map[error]string{
		nil: oidcauth.OutcomeOK, oidcauth.ErrTokenExpired: oidcauth.OutcomeRefused,
		oidcauth.ErrInsufficientScope: oidcauth.OutcomeRefused, oidcauth.ErrInvalidRequest: oidcauth.OutcomeRefused,
		oidcauth.ErrKeyNotYetKnown: oidcauth.OutcomeUnavailable, oidcauth.ErrIntrospectionFailed: oidcauth.OutcomeUnavailable,
		errors.New("boom"): oidcauth.OutcomeUnavailable,
	} {
		if got := oidcauth.Outcome(err); got != want {
			t.Errorf("Outcome(%v) = %q, want %q", err, got, want)
		}
	}
	ve := &oidcauth.ValidationError{Err: oidcauth.ErrTokenExpired}
	if n := testing.AllocsPerRun(100, func() { oidcauth.Reason(ve); oidcauth.Outcome(ve) }); n != 0 {
		t.Errorf("Reason and Outcome allocate %v times", n)
	}
}

// BenchmarkObserver measures what Config.Observer adds to a validation:
// "nil" is Validate without an Observer, "nop" with NopObserver (the
// hook's own cost: two clock reads, Outcome, Reason, one interface call),
// on a token-cache hit and on a refusal (both cheap, so the hook's share
// shows).
func BenchmarkObserver(b *testing.B) {
	for _, bc := range []struct {
		name string
		obs  oidcauth.Observer
	}{{"nil", nil}, {"nop", oidcauth.NopObserver{}}} {
		b.Run(bc.name, func(b *testing.B) {
			a, tok := benchSetup(b, "ES256", oidcauth.Config{TokenCacheSize: 1000, Observer: bc.obs})
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.Validate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/refused", func(b *testing.B) {
			a, tok := benchSetup(b, "ES256", oidcauth.Config{Observer: bc.obs})
			_ = tok
			bad := "not-a-compact-jws"
			ctx := context.Background()
			for b.Loop() {
				if _, err := a.Validate(ctx, bad); err == nil {
					b.Fatal("accepted a malformed token")
				}
			}
		})
	}
}

func TestObserverDPoPReplay(t *testing.T) {
	rec := &recorder{}
	p, a := newPair(t, oidcauth.Config{Realm: "api", Observer: rec,
		DPoP: &oidcauth.DPoPConfig{Algorithms: []string{"ES256"}}})
	k := mustKey(t, "ES256")
	tok, err := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	proof := mustProof(t, k, "GET", dpopURL, tok)
	if _, err := a.ValidateDPoP(context.Background(), tok, proof, "GET", dpopURL); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if got := rec.snapshot().replays; got != 0 {
		t.Fatalf("DPoPReplay events after a fresh proof = %d, want 0", got)
	}
	for i := 1; i <= 2; i++ {
		_, err := a.ValidateDPoP(context.Background(), tok, proof, "GET", dpopURL)
		if !errors.Is(err, oidcauth.ErrDPoPReplay) || oidcauth.Reason(err) != "dpop_replay" {
			t.Fatalf("replay: %v (Reason %q), want ErrDPoPReplay", err, oidcauth.Reason(err))
		}
		if got := rec.snapshot().replays; got != i {
			t.Errorf("DPoPReplay events = %d, want %d", got, i)
		}
	}
}
