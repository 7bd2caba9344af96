package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	_ "github.com/lib/pq" // the driver, for the tests only

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oauth/sqlstore"
	"github.com/oidcauth/oidcauth/oauth/storetest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// dsn returns OIDCAUTH_POSTGRES_DSN (internal/testenv: skipped without it
// unless OIDCAUTH_REQUIRE_POSTGRES=1, as in CI, see oauth/sqlstore/ci.sh).
func dsn(t *testing.T) string { return testenv.PostgresDSN(t) }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if os.Getenv("OIDCAUTH_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("OIDCAUTH_REQUIRE_POSTGRES=1 but PostgreSQL does not answer: %v", err)
		}
		t.Skipf("PostgreSQL tests skipped: the server does not answer: %v", err)
	}
	return db
}

// newStore returns a Store on a table of its own, dropped at the end.
func newStore(t *testing.T, db *sql.DB, cfg sqlstore.Config) *sqlstore.Store {
	t.Helper()
	if cfg.Table == "" {
		b := make([]byte, 6)
		rand.Read(b)
		cfg.Table = "oidcauth_test_" + hex.EncodeToString(b)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sqlstore.New(t.Context(), db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		db.Exec("DROP TABLE IF EXISTS " + cfg.Table + ", " + cfg.Table + "_locks")
	})
	return s
}

func TestConformance(t *testing.T) {
	db := open(t, dsn(t))
	storetest.Run(t, func(t *testing.T) oauth.Store { return newStore(t, db, sqlstore.Config{}) })
}

func TestNewRefusesBadTable(t *testing.T) {
	for _, name := range []string{"x; DROP TABLE y", "a-b", "1abc", "a.b.c", `"q"`} {
		if _, err := sqlstore.New(t.Context(), &sql.DB{}, sqlstore.Config{Table: name}); err == nil {
			t.Errorf("New(Table %q) error = nil, want an error", name)
		}
	}
}

// The table holds SHA-256 of the session ID, never the ID; the schema is
// the one of the package doc (created if missing, twice is fine).
func TestSchemaAndHashedIDs(t *testing.T) {
	db := open(t, dsn(t))
	s := newStore(t, db, sqlstore.Config{Table: "oidcauth_test_schema"})
	if _, err := sqlstore.New(t.Context(), db, sqlstore.Config{Table: "oidcauth_test_schema", SweepInterval: -1}); err != nil {
		t.Fatalf("New() on an existing table error = %v", err)
	}
	sess := storetest.NewSession("https://idp.example", "alice", "sid-1", time.Hour)
	if _, err := s.Create(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	var id []byte
	var iss, sub, sid, ua string
	err := db.QueryRow("SELECT id, issuer, subject, sid, user_agent FROM oidcauth_test_schema").Scan(&id, &iss, &sub, &sid, &ua)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 || strings.Contains(string(id), sess.ID) || iss != "https://idp.example" || sub != "alice" || sid != "sid-1" || ua != sess.UserAgent {
		t.Errorf("row = %x %q %q %q %q", id, iss, sub, sid, ua)
	}
	var idx int
	db.QueryRow("SELECT count(*) FROM pg_indexes WHERE tablename = 'oidcauth_test_schema'").Scan(&idx)
	if idx != 4 { // primary key, expires, (issuer, subject), (issuer, sid)
		t.Errorf("%d indexes, want 4", idx)
	}
}

// The sweep deletes expired rows in bounded batches; Close stops it and
// leaves no goroutine behind.
func TestSweepAndClose(t *testing.T) {
	db := open(t, dsn(t))
	before := runtime.NumGoroutine()
	s := newStore(t, db, sqlstore.Config{SweepBatch: 3, SweepInterval: time.Hour})
	for i := range 8 {
		sess := storetest.NewSession("https://idp.example", "u", "", time.Hour)
		if i < 7 {
			sess.ExpiresAt = time.Now().Add(-time.Minute) // expired
		}
		if _, err := s.Create(t.Context(), sess); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Sweep(t.Context())
	if err != nil || n != 7 {
		t.Errorf("Sweep() = %d, %v; want 7 (in batches of 3)", n, err)
	}
	if n, _ := s.Sweep(t.Context()); n != 0 {
		t.Errorf("Sweep() again = %d, want 0", n)
	}
	s.Close()
	s.Close() // twice is fine
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) { // +1: the pool's connection opener
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before+1 {
		t.Errorf("%d goroutines after Close, %d before", g, before)
	}
}

// LockRefresh: one holder at a time; released by unlock or by expiry; an
// old holder's unlock does not release a newer holder's lock.
func TestLockRefresh(t *testing.T) {
	db := open(t, dsn(t))
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newStore(t, db, sqlstore.Config{Now: clock})
	ctx := t.Context()
	unlock, ok, err := s.LockRefresh(ctx, "k", time.Minute)
	if err != nil || !ok {
		t.Fatalf("LockRefresh() = %v, %v; want acquired", ok, err)
	}
	var wg sync.WaitGroup
	got := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := s.LockRefresh(ctx, "k", time.Minute); err == nil && ok {
				mu.Lock()
				got++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if got != 0 {
		t.Errorf("%d others acquired a held lock", got)
	}
	unlock()
	u2, ok, err := s.LockRefresh(ctx, "k", time.Second)
	if err != nil || !ok {
		t.Fatalf("LockRefresh() after unlock = %v, %v", ok, err)
	}
	unlock() // the first holder's again: must not release u2's lock
	if _, ok, _ := s.LockRefresh(ctx, "k", time.Minute); ok {
		t.Error("an old holder's unlock released the new holder's lock")
	}
	mu.Lock()
	now = now.Add(2 * time.Second) // u2's lock expired
	mu.Unlock()
	u3, ok, err := s.LockRefresh(ctx, "k", time.Minute)
	if err != nil || !ok {
		t.Fatalf("LockRefresh() after expiry = %v, %v", ok, err)
	}
	u2()
	u3()
}

// proxy is a TCP proxy to addr that can be cut (every connection closed,
// new ones refused) and restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
	wg     sync.WaitGroup

	trips       int  // client→server flights
	clientSpoke bool // the last bytes came from the client
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
		go func() { defer p.wg.Done(); p.pipe(u, c, true); u.Close() }()
		go func() { defer p.wg.Done(); p.pipe(c, u, false); c.Close() }()
	}
}

// pipe copies src to dst. Client bytes arriving after the server last
// spoke start a new round trip.
func (p *proxy) pipe(dst, src net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if fromClient && !p.clientSpoke {
				p.trips++
			}
			p.clientSpoke = fromClient
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// roundTrips returns the round trips counted since the last call.
func (p *proxy) roundTrips() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.trips
	p.trips = 0
	return n
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

// A database outage answers 503, never a login redirect, and the session
// is back with the database.
func TestOutage(t *testing.T) {
	d := dsn(t)
	open(t, d) // skip without a server
	u, err := url.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	db := open(t, u.String())
	s := newStore(t, db, sqlstore.Config{})
	storetest.Outage(t, s,
		func(*testing.T) { p.setCut(true) },
		func(*testing.T) { p.setCut(false) })
}

func TestUnavailable(t *testing.T) {
	d := dsn(t)
	db := open(t, d)
	s := newStore(t, db, sqlstore.Config{})
	db.Close()
	sess := storetest.NewSession("https://idp.example", "u", "", time.Hour)
	if _, err := s.Load(t.Context(), sess.ID); !errors.Is(err, oauth.ErrStoreUnavailable) {
		t.Errorf("Load() on a closed DB error = %v, want ErrStoreUnavailable", err)
	}
	if _, err := s.RevokeSubject(t.Context(), "i", "u"); !errors.Is(err, oauth.ErrStoreUnavailable) {
		t.Errorf("RevokeSubject() on a closed DB error = %v, want ErrStoreUnavailable", err)
	}
}

// A request with a session costs one round trip to the database (the
// SELECT), and a touch (once per IdleTimeout/10) one more (the UPDATE).
func TestRoundTripsPerRequest(t *testing.T) {
	d := dsn(t)
	open(t, d)
	u, _ := url.Parse(d)
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("binary_parameters", "yes") // lib/pq: Parse, Bind and Execute in one flight
	u.RawQuery = q.Encode()
	db := open(t, u.String())
	s := newStore(t, db, sqlstore.Config{SweepInterval: -1})
	env := oauthtest.Start(t, oauthtest.Options{Store: s})
	b := env.NewBrowser(t)
	env.Login(b, oauthtest.PathMe)
	p.roundTrips()
	for i := range 3 {
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != http.StatusOK {
			t.Fatalf("GET = %d", r.Status)
		}
		if n := p.roundTrips(); n != 1 {
			t.Errorf("request %d inside the touch interval: %d round trips, want 1", i, n)
		}
	}
	env.Clock.Advance(oauth.DefaultIdleTimeout/10 + time.Second)
	b.Get(env.App.URL + oauthtest.PathMe)
	// A record of use runs under the refresh lock on a fresh load (see
	// oauth's TestTouchAcrossReplicas): once per touch interval.
	if n := p.roundTrips(); n != 5 {
		t.Errorf("request with a touch: %d round trips, want 5 (load; lock, load, update, unlock)", n)
	}
}

// BenchmarkLoad is Store.Load of one session from PostgreSQL (loopback).
func BenchmarkLoad(b *testing.B) {
	d := os.Getenv("OIDCAUTH_POSTGRES_DSN")
	if d == "" {
		b.Skip("set OIDCAUTH_POSTGRES_DSN (oauth/sqlstore/ci.sh)")
	}
	db, err := sql.Open("postgres", d)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(context.Background(), db, sqlstore.Config{Table: "oidcauth_bench", SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Exec("DROP TABLE IF EXISTS oidcauth_bench, oidcauth_bench_locks")
	sess := storetest.NewSession("https://idp.example", "alice", "sid", time.Hour)
	v, err := s.Create(context.Background(), sess)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(ctx, v); err != nil {
			b.Fatal(err)
		}
	}
}

// Two replicas (two Flows, two Stores, one table): a back-channel logout
// received by one ends the session on both.
func TestBackChannelLogoutAcrossReplicas(t *testing.T) {
	db := open(t, dsn(t))
	rb := make([]byte, 6)
	rand.Read(rb)
	table := "oidcauth_test_replicas_" + hex.EncodeToString(rb)
	s1 := newStore(t, db, sqlstore.Config{Table: table})
	env := oauthtest.Start(t, oauthtest.Options{Store: s1,
		Settings: oidctest.OAuthSettings{IDTokenClaims: map[string]any{"sid": "op-session-7"}}})
	b := env.NewBrowser(t)
	env.Login(b, oauthtest.PathMe)
	cookies := env.SessionCookies(b)

	s2, err := sqlstore.New(t.Context(), db, sqlstore.Config{Table: table, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	flow2, err := oauth.New(t.Context(), oauth.Config{
		Issuer: env.IdP.Issuer(), ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		RedirectURL: env.App.URL + "/callback", Keys: env.Keys, Store: s2, HTTPClient: env.IdP.Client(),
		CookieName: oauth.DefaultCookieName, Now: env.Clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer flow2.Close()
	me2 := flow2.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	get := func(h http.Handler) int {
		req := httptest.NewRequest(http.MethodGet, oauthtest.PathMe, nil)
		req.Header = oauthtest.WithCookies(cookies)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c1, c2 := get(env.App.Config.Handler), get(me2); c1 != http.StatusOK || c2 != http.StatusOK {
		t.Fatalf("before: replicas answer %d, %d; want 200, 200", c1, c2)
	}
	bcl, err := flow2.BackChannelLogoutHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bcl)
	defer srv.Close()
	tok, err := env.IdP.MintLogoutToken(oidctest.LogoutToken{Audience: oauthtest.ClientID, SID: "op-session-7"})
	if err != nil {
		t.Fatal(err)
	}
	if status, body, err := oidctest.PostLogoutToken(t.Context(), nil, srv.URL, tok); err != nil || status != http.StatusOK {
		t.Fatalf("PostLogoutToken() = %d %q, %v", status, body, err)
	}
	if c1, c2 := get(env.App.Config.Handler), get(me2); c1 != http.StatusFound || c2 != http.StatusFound {
		t.Errorf("after: replicas answer %d, %d; want 302, 302 (signed out)", c1, c2)
	}
}
