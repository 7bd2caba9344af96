package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oauth/redisstore"
	"github.com/oidcauth/oidcauth/oauth/storetest"
)

// redisClient connects to the redis-server at OIDCAUTH_REDIS_ADDR
// (internal/testenv: skipped without it unless OIDCAUTH_REQUIRE_REDIS=1).
func redisClient(t *testing.T) *redis.Client { return testenv.RedisClient(t) }

// newStore returns a Store with a prefix of its own, whose keys are
// deleted at the end of the test.
func newStore(t *testing.T, c *redis.Client) (*redisstore.Store, string) {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "oidcauth-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	s, err := redisstore.New(redisstore.Config{Client: c, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s, prefix
}

func session(lifetime time.Duration) *oauth.Session {
	b := make([]byte, 32)
	rand.Read(b)
	now := time.Now()
	return &oauth.Session{ID: base64.RawURLEncoding.EncodeToString(b), IDToken: "h.e30.s", AccessToken: "at",
		RefreshToken: "rt", CreatedAt: now, ExpiresAt: now.Add(lifetime)}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestStore(t *testing.T) {
	c := redisClient(t)
	s, prefix := newStore(t, c)
	ctx := t.Context()
	sess := session(time.Hour)
	if !oauth.ValidSessionID(sess.ID) {
		t.Fatalf("test session ID %q", sess.ID)
	}
	v, err := s.Create(ctx, sess)
	if err != nil || v != sess.ID {
		t.Fatalf("Create = %q, %v", v, err)
	}
	if _, err := s.Create(ctx, sess); err == nil {
		t.Error("Create overwrote an existing session")
	}
	got, err := s.Load(ctx, v)
	if err != nil || got.RefreshToken != "rt" || !got.ExpiresAt.Equal(sess.ExpiresAt.Truncate(time.Second)) {
		t.Fatalf("Load = %+v, %v", got, err)
	}

	// Keys are hashed and expire with the session.
	keys, _ := c.Keys(ctx, prefix+"*").Result()
	if len(keys) != 1 || strings.Contains(keys[0], sess.ID) {
		t.Errorf("keys %v", keys)
	}
	if ttl := c.TTL(ctx, keys[0]).Val(); ttl <= 0 || ttl > time.Hour {
		t.Errorf("TTL %v", ttl)
	}

	ns := *sess
	ns.AccessToken = "at2"
	if v2, err := s.Update(ctx, v, &ns); err != nil || v2 != v {
		t.Fatalf("Update = %q, %v", v2, err)
	}
	if got, _ := s.Load(ctx, v); got.AccessToken != "at2" {
		t.Errorf("after Update: %+v", got)
	}
	if err := s.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, v); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Load after Delete: %v", err)
	}
	if _, err := s.Update(ctx, v, &ns); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Update after Delete re-created the session: %v", err)
	}
	for _, junk := range []string{"", "x", strings.Repeat("A", 44), "../../etc"} {
		if _, err := s.Load(ctx, junk); !errors.Is(err, oauth.ErrNoSession) {
			t.Errorf("Load(%q): %v", junk, err)
		}
	}

	// A session whose expiry passed is gone.
	short := session(time.Second)
	s.Create(ctx, short)
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.Load(ctx, short.ID); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("expired session: %v", err)
	}
}

func TestFlowWithRedis(t *testing.T) {
	c := redisClient(t)
	s, prefix := newStore(t, c)
	env := oauthtest.Start(t, oauthtest.Options{Store: s})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	cookies := env.SessionCookies(b)
	if len(cookies) != 1 || len(cookies[0].Value) != 43 {
		t.Fatalf("session cookies %v", cookies)
	}

	// A restart: a new Flow with the same keys and Redis knows the session.
	env.Flow.Close()
	s2, _ := redisstore.New(redisstore.Config{Client: c, Prefix: prefix})
	flow2, err := oauth.New(t.Context(), oauth.Config{
		Issuer: env.IdP.Issuer(), ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		RedirectURL: env.App.URL + "/callback", Keys: env.Keys, Store: s2, HTTPClient: env.IdP.Client(),
		CookieName: oauth.DefaultCookieName, // as the test application names it
		Now:        env.Clock.Now, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer flow2.Close()
	me := flow2.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := oidcauth.ClaimsFromContext(r.Context())
		io.WriteString(w, claims.Subject)
	}))
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header = oauthtest.WithCookies(cookies)
	w := httptest.NewRecorder()
	me.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Body.String() != "alice" {
		t.Errorf("after a restart: %d %q", w.Code, w.Body)
	}

	// Logout deletes the session in Redis: the old cookie is refused,
	// by this replica and by the other.
	env.Logout(b)
	for i, h := range []http.Handler{me, env.App.Config.Handler} {
		req := httptest.NewRequest(http.MethodGet, oauthtest.PathMe, nil)
		req.Header = oauthtest.WithCookies(cookies)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusFound {
			t.Errorf("replica %d accepted the logged-out cookie: %d %q", i, w.Code, w.Body)
		}
	}
}

func TestRedisUnavailable(t *testing.T) {
	t.Parallel()
	// No server needed: a client for a port where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	s, _ := redisstore.New(redisstore.Config{Client: c})
	if _, err := s.Load(t.Context(), strings.Repeat("A", 43)); !errors.Is(err, oauth.ErrStoreUnavailable) {
		t.Errorf("Load with Redis down: %v", err)
	}
	// The Flow answers 503 rather than treating the user as logged out.
	env := oauthtest.Start(t, oauthtest.Options{Store: s})
	b := env.NewBrowser(t)
	r := b.Do(http.MethodGet, env.App.URL+oauthtest.PathMe, nil,
		oauthtest.WithCookies([]*http.Cookie{{Name: oauthtest.SessionCookieName, Value: strings.Repeat("A", 43)}}))
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("page with Redis down: %d %q", r.Status, r.Body)
	}
	// And the login fails with 503 too, rather than pretending.
	rs := b.Walk(env.App.URL + "/login")
	if last := oauthtest.Last(rs); last.Status != http.StatusInternalServerError && last.Status != http.StatusServiceUnavailable {
		t.Errorf("login with Redis down: %d", last.Status)
	}
}

func TestNewNeedsClient(t *testing.T) {
	t.Parallel()
	if _, err := redisstore.New(redisstore.Config{}); err == nil {
		t.Error("New without a client succeeded")
	}
}

func TestConformance(t *testing.T) {
	c := redisClient(t)
	storetest.Run(t, func(t *testing.T) oauth.Store { s, _ := newStore(t, c); return s })
}

// A Redis outage (the server behind a proxy, cut) answers 503, never a
// login redirect, and the session is back with Redis.
func TestOutage(t *testing.T) {
	c := redisClient(t)
	p := newProxy(t, c.Options().Addr)
	pc := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { pc.Close() })
	_, prefix := newStore(t, c) // cleanup of the keys through c
	s, err := redisstore.New(redisstore.Config{Client: pc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Outage(t, s, func(*testing.T) { p.setCut(true) }, func(*testing.T) { p.setCut(false) })
}

// proxy is a TCP proxy to a target that can be cut (connections closed,
// new ones refused) and restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setCut(true); p.wg.Wait() })
	return p
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(u, c); u.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, u); c.Close() }()
	}
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// countHook counts the commands (and pipelines, as one) sent to Redis.
type countHook struct {
	mu sync.Mutex
	n  int
}

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		// An EVALSHA refused with NOSCRIPT (the script is not yet in this
		// Redis's script cache, once per script and server start) is
		// followed by the EVAL that does the work: it is not a round trip
		// of the request's own, and counting it would make the figure
		// depend on which test ran first.
		if err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			return err
		}
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		return err
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.n++
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countHook) take() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.n = 0
	return n
}

// A request with a session costs one round trip (GET); a touch, once per
// IdleTimeout/10, one more (the SET script, EVALSHA).
func TestRoundTripsPerRequest(t *testing.T) {
	c := redisClient(t)
	rc := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
	t.Cleanup(func() { rc.Close() })
	h := &countHook{}
	rc.AddHook(h)
	_, prefix := newStore(t, c)
	s, _ := redisstore.New(redisstore.Config{Client: rc, Prefix: prefix})
	env := oauthtest.Start(t, oauthtest.Options{Store: s})
	b := env.NewBrowser(t)
	env.Login(b, oauthtest.PathMe)
	h.take()
	for i := range 3 {
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusOK {
			t.Fatalf("GET = %d", r.Status)
		}
		if n := h.take(); n != 1 {
			t.Errorf("request %d inside the touch interval: %d round trips, want 1", i, n)
		}
	}
	env.Clock.Advance(oauth.DefaultIdleTimeout/10 + time.Second)
	b.Get(env.App.URL + oauthtest.PathMe)
	// A record of use runs under the refresh lock on a fresh load, so that
	// it never writes back tokens another replica refreshed
	// (TestTouchAcrossReplicas): once per touch interval.
	if n := h.take(); n != 5 {
		t.Errorf("request with a touch: %d round trips, want 5 (GET; lock SET NX PX, GET, SET script, unlock script)", n)
	}
}

// BenchmarkLoad is Store.Load of one session from Redis (loopback).
func BenchmarkLoad(b *testing.B) {
	addr := os.Getenv("OIDCAUTH_REDIS_ADDR")
	if addr == "" {
		b.Skip("set OIDCAUTH_REDIS_ADDR (oauth/ci.sh)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	s, _ := redisstore.New(redisstore.Config{Client: c, Prefix: "oidcauth-bench:"})
	sess := storetest.NewSession("https://idp.example", "alice", "sid", time.Hour)
	ctx := context.Background()
	v, err := s.Create(ctx, sess)
	if err != nil {
		b.Fatal(err)
	}
	defer s.RevokeSubject(ctx, "https://idp.example", "alice")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}
