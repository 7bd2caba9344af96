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
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the driver, for the tests only

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/sqlstore"
	"github.com/oidcauth/oidcauth/oauth/storetest"
)

// dsn returns OIDCAUTH_POSTGRES_DSN. Without it the test is skipped, unless
// OIDCAUTH_REQUIRE_POSTGRES=1 (as in CI, see oauth/sqlstore/ci.sh).
func dsn(t *testing.T) string {
	t.Helper()
	d := os.Getenv("OIDCAUTH_POSTGRES_DSN")
	required := os.Getenv("OIDCAUTH_REQUIRE_POSTGRES") == "1"
	if d == "" {
		if required {
			t.Fatal("OIDCAUTH_REQUIRE_POSTGRES=1 but OIDCAUTH_POSTGRES_DSN is not set")
		}
		t.Skip("PostgreSQL tests skipped: set OIDCAUTH_POSTGRES_DSN=postgres://... (oauth/sqlstore/ci.sh starts a private cluster on 127.0.0.1:65432)")
	}
	return d
}

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
	s := newStore(t, db, sqlstore.Config{})
	ctx := t.Context()
	unlock, ok, err := s.LockRefresh(ctx, "k", time.Minute)
	if err != nil || !ok {
		t.Fatalf("LockRefresh() = %v, %v; want acquired", ok, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
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
	u2, ok, err := s.LockRefresh(ctx, "k", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("LockRefresh() after unlock = %v, %v", ok, err)
	}
	unlock() // the first holder's again: must not release u2's lock
	if _, ok, _ := s.LockRefresh(ctx, "k", time.Minute); ok {
		t.Error("an old holder's unlock released the new holder's lock")
	}
	time.Sleep(100 * time.Millisecond)
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
