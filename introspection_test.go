package oidcauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// introSetup is a provider with introspection enabled and an Authorizer
// for it, both on one fake clock.
type introSetup struct {
	idp   *oidctest.Provider
	clock *fakeClock
	a     *Authorizer
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newIntroSetup(t *testing.T, ic IntrospectionConfig, edit ...func(*Config)) *introSetup {
	t.Helper()
	clock := newFakeClock()
	idp := oidctest.New(t, oidctest.Options{Now: clock.Now, Algorithm: "ES256"})
	idp.EnableIntrospection("my-api", "s3cr:t&+ é")
	if ic.ClientID == "" {
		ic.ClientID, ic.ClientSecret = "my-api", "s3cr:t&+ é"
	}
	logs := &syncBuffer{}
	cfg := Config{
		Issuer:        idp.Issuer(),
		Audiences:     []string{"my-api"},
		Now:           clock.Now,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Introspection: &ic,
	}
	for _, e := range edit {
		e(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &introSetup{idp: idp, clock: clock, a: a, logs: logs}
}

func (s *introSetup) opaque(t *testing.T, claims map[string]any) string {
	t.Helper()
	base := map[string]any{"sub": "alice", "aud": "my-api", "scope": "read write", "client_id": "spa"}
	for k, v := range claims {
		base[k] = v
	}
	return s.idp.MustMintOpaque(t, base)
}

// introTestKeys is a static key set for Authorizers that only introspect.
func introTestKeys() map[string]crypto.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	return map[string]crypto.PublicKey{"k": pub}
}

func TestIntrospectionAnswerRules(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now().Unix()
	const iss = "https://idp.example.com/"
	newA := func(t *testing.T, skipAbsent bool) *Authorizer {
		a, err := newAuthorizer(Config{
			Issuer: iss, Audiences: []string{"api"}, Now: clock.Now,
			StaticKeys:    introTestKeys(),
			Introspection: &IntrospectionConfig{Endpoint: "https://idp.example.com/introspect", ClientID: "c", ClientSecret: "s", SkipAudienceCheckWhenAbsent: skipAbsent},
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	good := fmt.Sprintf(`"aud":"api","iss":%q,"exp":%d`, iss, now+60)
	tests := []struct {
		name       string
		body       string
		skipAbsent bool
		want       error
	}{
		{"active true", `{"active":true,` + good + `}`, false, nil},
		{"active false", `{"active":false}`, false, ErrTokenInactive},
		{"active false whatever else", `{"active":false,"exp":"x"}`, false, ErrTokenInactive},
		{"active string true", `{"active":"true",` + good + `}`, false, ErrIntrospectionFailed},
		{"active number", `{"active":1,` + good + `}`, false, ErrIntrospectionFailed},
		{"active missing", `{` + good + `}`, false, ErrIntrospectionFailed},
		{"active null", `{"active":null,` + good + `}`, false, ErrIntrospectionFailed},
		{"not JSON", `active=true`, false, ErrIntrospectionFailed},
		{"array", `[{"active":true}]`, false, ErrIntrospectionFailed},
		{"duplicate active", `{"active":false,"active":true,` + good + `}`, false, ErrIntrospectionFailed},
		{"exp a string", `{"active":true,"aud":"api","exp":"99999999999"}`, false, ErrIntrospectionFailed},
		{"scope an array", `{"active":true,"aud":"api","scope":["a"]}`, false, ErrIntrospectionFailed},
		{"other issuer", fmt.Sprintf(`{"active":true,"aud":"api","iss":"https://evil.example.com/","exp":%d}`, now+60), false, ErrInvalidIssuer},
		{"issuer without slash", fmt.Sprintf(`{"active":true,"aud":"api","iss":"https://idp.example.com","exp":%d}`, now+60), false, ErrInvalidIssuer},
		{"no iss", fmt.Sprintf(`{"active":true,"aud":"api","exp":%d}`, now+60), false, nil},
		{"other audience", fmt.Sprintf(`{"active":true,"aud":"other","exp":%d}`, now+60), false, ErrInvalidAudience},
		{"audience array", fmt.Sprintf(`{"active":true,"aud":["other","api"],"exp":%d}`, now+60), false, nil},
		{"no aud refused", fmt.Sprintf(`{"active":true,"exp":%d}`, now+60), false, ErrInvalidAudience},
		{"no aud allowed", fmt.Sprintf(`{"active":true,"exp":%d}`, now+60), true, nil},
		{"other aud even when absent allowed", fmt.Sprintf(`{"active":true,"aud":"other","exp":%d}`, now+60), true, ErrInvalidAudience},
		{"expired beyond leeway", fmt.Sprintf(`{"active":true,"aud":"api","exp":%d}`, now-31), false, ErrTokenExpired},
		{"expired within leeway", fmt.Sprintf(`{"active":true,"aud":"api","exp":%d}`, now-29), false, nil},
		{"nbf beyond leeway", fmt.Sprintf(`{"active":true,"aud":"api","nbf":%d}`, now+31), false, ErrTokenNotYetValid},
		{"nbf within leeway", fmt.Sprintf(`{"active":true,"aud":"api","nbf":%d}`, now+29), false, nil},
		{"iat in the future", fmt.Sprintf(`{"active":true,"aud":"api","iat":%d}`, now+31), false, ErrTokenIssuedInFuture},
		{"no exp", `{"active":true,"aud":"api"}`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newA(t, tt.skipAbsent)
			c, verr := a.checkAnswer([]byte(tt.body), clock.Now())
			var err error
			if verr != nil {
				err = verr
			}
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("checkAnswer() error = %v, want %v", err, tt.want)
			}
			if err == nil && string(c.Raw) != tt.body {
				t.Fatalf("Raw = %s, want the whole answer", c.Raw)
			}
		})
	}
}

func TestIntrospectionAnswerFillsClaims(t *testing.T) {
	s := newIntroSetup(t, IntrospectionConfig{})
	tok := s.opaque(t, map[string]any{"jti": "j1", "org": "acme"})
	c, err := s.a.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	exp := s.clock.Now().Add(time.Hour).Unix()
	if c.Subject != "alice" || c.ClientID != "spa" || c.ID != "j1" || c.Issuer != s.idp.Issuer() ||
		strings.Join(c.Scopes, " ") != "read write" || len(c.Audience) != 1 || c.Audience[0] != "my-api" || c.ExpiresAt.Unix() != exp {
		t.Fatalf("Claims = %+v", c)
	}
	var custom struct{ Org string }
	if err := c.Decode(&custom); err != nil || custom.Org != "acme" {
		t.Fatalf("Decode() = %v, %+v; want the answer's members", err, custom)
	}
	if !c.HasScope("write") {
		t.Fatal("HasScope(write) = false")
	}
}

func TestIntrospectionMiddlewareAndRequirements(t *testing.T) {
	s := newIntroSetup(t, IntrospectionConfig{})
	tok := s.opaque(t, nil)
	h := s.a.Required(s.a.Require(RequireScopes("write"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFromContext(r.Context())
		fmt.Fprint(w, c.Subject)
	})))
	for _, tt := range []struct {
		name, token string
		want        int
	}{
		{"opaque active", tok, 200},
		{"opaque unknown", "not-a-real-token", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.want, w.Body)
			}
		})
	}
}

func TestIntrospectionConfigErrors(t *testing.T) {
	idp := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	base := func(ic IntrospectionConfig) Config {
		return Config{Issuer: idp.Issuer(), Audiences: []string{"api"}, Introspection: &ic}
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no client id", base(IntrospectionConfig{ClientSecret: "s"}), "ClientID and ClientSecret are required"},
		{"no secret", base(IntrospectionConfig{ClientID: "c"}), "ClientID and ClientSecret are required"},
		{"bad auth method", base(IntrospectionConfig{ClientID: "c", ClientSecret: "s", AuthMethod: "private_key_jwt"}), "AuthMethod"},
		{"http endpoint", base(IntrospectionConfig{ClientID: "c", ClientSecret: "s", Endpoint: "http://idp.example.com/introspect"}), "must use https"},
		{"negative size", base(IntrospectionConfig{ClientID: "c", ClientSecret: "s", CacheSize: -1}), "CacheSize"},
		{"not advertised", base(IntrospectionConfig{ClientID: "c", ClientSecret: "s"}), "no introspection_endpoint"},
		{"static keys without endpoint", Config{Issuer: "https://idp.example.com", Audiences: []string{"api"}, StaticKeys: introTestKeys(),
			Introspection: &IntrospectionConfig{ClientID: "c", ClientSecret: "s"}}, "Endpoint is required with static keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(context.Background(), tt.cfg)
			if err == nil {
				a.Close()
				t.Fatal("New() succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestIntrospectionClientAuthentication(t *testing.T) {
	for _, method := range []string{"", ClientSecretBasic, ClientSecretPost} {
		t.Run("method "+method, func(t *testing.T) {
			s := newIntroSetup(t, IntrospectionConfig{AuthMethod: method})
			if _, err := s.a.Validate(context.Background(), s.opaque(t, nil)); err != nil {
				t.Fatalf("Validate() error = %v (id and secret with ':', '&', '+', ' ' and non-ASCII)", err)
			}
		})
	}
}

func TestIntrospectionWrongCredentialsIs503AndLoggedAtError(t *testing.T) {
	s := newIntroSetup(t, IntrospectionConfig{ClientID: "my-api", ClientSecret: "wrong-secret"})
	tok := s.opaque(t, nil)
	_, err := s.a.Validate(context.Background(), tok)
	if !errors.Is(err, ErrIntrospectionFailed) || StatusCode(err) != 503 {
		t.Fatalf("Validate() error = %v (status %d), want ErrIntrospectionFailed, 503", err, StatusCode(err))
	}
	ans := s.a.Answer(err)
	if ans.RetryAfter <= 0 {
		t.Fatalf("Answer().RetryAfter = %v, want > 0", ans.RetryAfter)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "client credentials") || !strings.Contains(logs, "status 401") {
		t.Fatalf("log does not report the configuration error at Error:\n%s", logs)
	}
	if strings.Contains(logs, tok) || strings.Contains(logs, "wrong-secret") {
		t.Fatalf("log contains the token or the secret:\n%s", logs)
	}
	// Not cached: once the credentials work, the token is accepted.
	s.idp.EnableIntrospection("my-api", "wrong-secret")
	if _, err := s.a.Validate(context.Background(), tok); err != nil {
		t.Fatalf("Validate() after fixing the credentials: %v", err)
	}
}

func TestIntrospectionJWTs(t *testing.T) {
	t.Run("valid JWT validated locally", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{})
		jwt := s.idp.MustMint(t, map[string]any{"aud": "my-api", "sub": "bob"})
		if _, err := s.a.Validate(context.Background(), jwt); err != nil {
			t.Fatal(err)
		}
		if n := s.idp.IntrospectionCalls(); n != 0 {
			t.Fatalf("introspection calls = %d, want 0", n)
		}
	})
	t.Run("invalid JWT not retried by introspection", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{All: true})
		jwt := s.idp.MustMint(t, map[string]any{"aud": "my-api"})
		bad := jwt[:len(jwt)-4] + "AAAA"
		if _, err := s.a.Validate(context.Background(), bad); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("Validate() error = %v, want ErrInvalidSignature", err)
		}
		other := s.idp.MustMint(t, map[string]any{"aud": "other-api"})
		if _, err := s.a.Validate(context.Background(), other); !errors.Is(err, ErrInvalidAudience) {
			t.Fatalf("Validate() error = %v, want ErrInvalidAudience", err)
		}
		if n := s.idp.IntrospectionCalls(); n != 0 {
			t.Fatalf("introspection calls = %d, want 0", n)
		}
	})
	t.Run("All introspects JWTs and sees revocation", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{All: true})
		jwt := s.idp.MustMint(t, map[string]any{"aud": "my-api", "sub": "bob"})
		c, err := s.a.Validate(context.Background(), jwt)
		if err != nil || c.Subject != "bob" {
			t.Fatalf("Validate() = %+v, %v", c, err)
		}
		if n := s.idp.IntrospectionCalls(); n != 1 {
			t.Fatalf("introspection calls = %d, want 1", n)
		}
		s.idp.Revoke(jwt)
		s.clock.Advance(DefaultIntrospectionCacheTTL)
		if _, err := s.a.Validate(context.Background(), jwt); !errors.Is(err, ErrTokenInactive) {
			t.Fatalf("revoked JWT after the cache end: error = %v, want ErrTokenInactive", err)
		}
	})
}

// TestIntrospectionCacheContract proves the cache rules of the package
// docs ("Opaque tokens and introspection") on a fake clock.
func TestIntrospectionCacheContract(t *testing.T) {
	ctx := context.Background()
	t.Run("hit: one call for many uses", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{})
		tok := s.opaque(t, nil)
		for range 5 {
			if _, err := s.a.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
			s.clock.Advance(10 * time.Second)
		}
		if n := s.idp.IntrospectionCalls(); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
	t.Run("revoked: accepted until CacheTTL, refused after", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{CacheTTL: 30 * time.Second})
		tok := s.opaque(t, nil)
		if _, err := s.a.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		s.idp.Revoke(tok)
		s.clock.Advance(29 * time.Second)
		if _, err := s.a.Validate(ctx, tok); err != nil {
			t.Fatalf("within CacheTTL: %v, want the cached answer", err)
		}
		s.clock.Advance(time.Second)
		if _, err := s.a.Validate(ctx, tok); !errors.Is(err, ErrTokenInactive) || StatusCode(err) != 401 {
			t.Fatalf("at CacheTTL: error = %v, want ErrTokenInactive (401)", err)
		}
	})
	t.Run("never past exp, no leeway", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{})
		tok := s.opaque(t, map[string]any{"exp": s.clock.Now().Add(10 * time.Second)})
		if _, err := s.a.Validate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(10 * time.Second) // exp reached; leeway would allow 30 s more
		calls := s.idp.IntrospectionCalls()
		_, err := s.a.Validate(ctx, tok)
		if s.idp.IntrospectionCalls() != calls+1 {
			t.Fatal("an answer was served from the cache at its token's exp")
		}
		if !errors.Is(err, ErrTokenInactive) { // oidctest: inactive once exp is reached
			t.Fatalf("error = %v, want ErrTokenInactive", err)
		}
	})
	t.Run("negative answers for NegativeTTL", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{NegativeTTL: 5 * time.Second})
		for range 3 {
			if _, err := s.a.Validate(ctx, "made-up-token"); !errors.Is(err, ErrTokenInactive) {
				t.Fatalf("error = %v, want ErrTokenInactive", err)
			}
		}
		if n := s.idp.IntrospectionCalls(); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
		s.clock.Advance(5 * time.Second)
		s.a.Validate(ctx, "made-up-token")
		if n := s.idp.IntrospectionCalls(); n != 2 {
			t.Fatalf("calls after NegativeTTL = %d, want 2", n)
		}
	})
	t.Run("refused answers are negative too", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{})
		tok := s.opaque(t, map[string]any{"aud": "other-api"})
		for range 2 {
			if _, err := s.a.Validate(ctx, tok); !errors.Is(err, ErrInvalidAudience) {
				t.Fatalf("error = %v, want ErrInvalidAudience", err)
			}
		}
		if n := s.idp.IntrospectionCalls(); n != 1 {
			t.Fatalf("calls = %d, want 1", n)
		}
	})
	t.Run("negative CacheTTL: no cache", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{CacheTTL: -1})
		tok := s.opaque(t, nil)
		for range 3 {
			if _, err := s.a.Validate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.idp.IntrospectionCalls(); n != 3 {
			t.Fatalf("calls = %d, want 3", n)
		}
	})
	t.Run("concurrent requests share one call", func(t *testing.T) {
		s := newIntroSetup(t, IntrospectionConfig{})
		tok := s.opaque(t, nil)
		s.idp.SetIntrospectionFault(&oidctest.Fault{Delay: 100 * time.Millisecond})
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 50 {
			wg.Go(func() {
				if _, err := s.a.Validate(ctx, tok); err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := s.idp.IntrospectionCalls(); n != 1 || failed.Load() != 0 {
			t.Fatalf("calls = %d, failures = %d; want 1, 0", n, failed.Load())
		}
	})
}

func TestIntrospectionProviderDown(t *testing.T) {
	ctx := context.Background()
	faults := []struct {
		name string
		f    *oidctest.Fault
	}{
		{"500 with a valid body", &oidctest.Fault{Status: 500}},
		{"503", &oidctest.Fault{Status: 503}},
		{"connection closed", &oidctest.Fault{CloseConnection: true}},
		{"redirect to the same host", &oidctest.Fault{Redirect: "/introspect2"}},
		{"huge body", &oidctest.Fault{BodySize: 1 << 20}},
		{"HTML", &oidctest.Fault{Body: []byte("<html>maintenance</html>"), ContentType: "text/html"}},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			s := newIntroSetup(t, IntrospectionConfig{})
			cached, fresh := s.opaque(t, nil), s.opaque(t, nil)
			if _, err := s.a.Validate(ctx, cached); err != nil {
				t.Fatal(err)
			}
			s.idp.SetIntrospectionFault(tt.f)
			_, err := s.a.Validate(ctx, fresh)
			if !errors.Is(err, ErrIntrospectionFailed) || StatusCode(err) != 503 {
				t.Fatalf("uncached token: error = %v (status %d), want ErrIntrospectionFailed (503)", err, StatusCode(err))
			}
			w := httptest.NewRecorder()
			s.a.WriteError(w, httptest.NewRequest("GET", "/", nil), err)
			if w.Code != 503 || w.Header().Get("Retry-After") != "5" {
				t.Fatalf("answer %d Retry-After %q, want 503 and 5", w.Code, w.Header().Get("Retry-After"))
			}
			if _, err := s.a.Validate(ctx, cached); err != nil {
				t.Fatalf("cached token while the provider is down: %v", err)
			}
			// Failures are not cached: the token works once the
			// provider is back.
			s.idp.SetIntrospectionFault(nil)
			if _, err := s.a.Validate(ctx, fresh); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// introServer is an introspection endpoint that counts requests in flight
// and answers after a delay, to test the concurrency bound and Close.
type introServer struct {
	*httptest.Server
	inFlight, maxInFlight, calls atomic.Int32
	release                      chan struct{}
	once                         sync.Once
}

// Release lets every request waiting, and every later one, be answered.
func (s *introServer) Release() { s.once.Do(func() { close(s.release) }) }

func newIntroServer(t *testing.T, answer string) *introServer {
	s := &introServer{release: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxInFlight.Load()
			if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, answer)
	}))
	t.Cleanup(func() { s.Release(); s.Close() })
	return s
}

func staticIntroAuthorizer(t *testing.T, endpoint string, ic IntrospectionConfig) *Authorizer {
	t.Helper()
	ic.Endpoint, ic.ClientID, ic.ClientSecret = endpoint, "c", "s"
	a, err := New(context.Background(), Config{Issuer: "https://idp.example.com", Audiences: []string{"api"},
		StaticKeys: introTestKeys(), Introspection: &ic, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestIntrospectionFloodIsBounded(t *testing.T) {
	srv := newIntroServer(t, `{"active":false}`)
	a := staticIntroAuthorizer(t, srv.URL, IntrospectionConfig{CacheSize: 64})
	defer a.Close()
	// A good answer in the cache, put there directly: the endpoint of this
	// test only says no.
	good := &Claims{Subject: "alice", Raw: []byte(`{}`)}
	key := tokenKey("good-token")
	a.intro.cache.putPositive(&key, good, time.Now())

	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			a.Validate(ctx, fmt.Sprintf("made-up-%d", i))
		})
	}
	time.Sleep(200 * time.Millisecond)
	srv.Release()
	wg.Wait()
	if m := srv.maxInFlight.Load(); m > 8 { // the bound documented in SECURITY.md
		t.Fatalf("%d introspections in flight at once, want at most 8", m)
	}
	if c, err := a.Validate(context.Background(), "good-token"); err != nil || c != good {
		t.Fatalf("good token after a flood of %d made-up tokens: %v, %v; want the cached answer", 200, c, err)
	}
}

func TestIntrospectionCloseStopsGoroutines(t *testing.T) {
	srv := newIntroServer(t, `{"active":true,"aud":"api"}`)
	before := runtime.NumGoroutine()
	a := staticIntroAuthorizer(t, srv.URL, IntrospectionConfig{})
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			_, err := a.Validate(context.Background(), fmt.Sprintf("tok-%d", i))
			errs <- err
		})
	}
	for a.intro.running.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	a.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrIntrospectionFailed) {
			t.Fatalf("Validate() during Close: error = %v, want ErrIntrospectionFailed", err)
		}
	}
	if n := a.intro.running.Load(); n != 0 {
		t.Fatalf("%d introspection goroutines after Close", n)
	}
	if _, err := a.Validate(context.Background(), "after-close"); !errors.Is(err, ErrIntrospectionFailed) {
		t.Fatalf("Validate() after Close: error = %v, want ErrIntrospectionFailed", err)
	}
	// The test server's own handlers and connections end too.
	srv.Release()
	srv.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before New", n, before)
	}
}

func TestIntrospectionNoRedirectWithCredentials(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"active":true,"aud":"api"}`)
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusTemporaryRedirect))
	defer redirector.Close()
	a := staticIntroAuthorizer(t, redirector.URL, IntrospectionConfig{})
	defer a.Close()
	if _, err := a.Validate(context.Background(), "opaque"); !errors.Is(err, ErrIntrospectionFailed) {
		t.Fatalf("error = %v, want ErrIntrospectionFailed", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the request with our credentials followed a redirect")
	}
}

func TestLooksLikeJWT(t *testing.T) {
	for _, tt := range []struct {
		tok  string
		want bool
	}{
		{"eyJhbGciOiJFUzI1NiJ9.e30.c2ln", true},
		{"abc.def.ghi", false},        // header is not JSON
		{"opaque-token-value", false}, // one part
		{"eyJhbGciOiJFUzI1NiJ9.e30", false},
		{"W10.e30.c2ln", false}, // header is an array
		{"ory_at_abc.def", false},
	} {
		if got := looksLikeJWT(tt.tok); got != tt.want {
			t.Errorf("looksLikeJWT(%q) = %v, want %v", tt.tok, got, tt.want)
		}
	}
}
