// Package testenv finds the servers that integration tests need (a
// redis-server, a PostgreSQL server) for the tests of this module.
//
// Without the variable that names a server, a test is skipped with a
// message saying what to set; with OIDCAUTH_REQUIRE_<THING>=1 (as .ci/run
// sets it, see oauth/ci.sh and oauth/sqlstore/ci.sh) a missing or silent
// server fails the test instead, so that CI never passes by skipping.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver, for tests only
	"github.com/redis/go-redis/v9"
)

// RedisAddr returns OIDCAUTH_REDIS_ADDR once the redis-server there has
// answered a PING. Skipped without it unless OIDCAUTH_REQUIRE_REDIS=1.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	addr := os.Getenv("OIDCAUTH_REDIS_ADDR")
	required := os.Getenv("OIDCAUTH_REQUIRE_REDIS") == "1"
	if addr == "" {
		if required {
			tb.Fatal("OIDCAUTH_REQUIRE_REDIS=1 but OIDCAUTH_REDIS_ADDR is not set")
		}
		tb.Skip("Redis test skipped: set OIDCAUTH_REDIS_ADDR=host:port of a redis-server (oauth/ci.sh starts one on 127.0.0.1:6390)")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if required {
			tb.Fatalf("OIDCAUTH_REQUIRE_REDIS=1 but redis-server at %s does not answer: %v", addr, err)
		}
		tb.Skipf("Redis test skipped: redis-server at %s does not answer: %v", addr, err)
	}
	return addr
}

// RedisClient returns a client of the redis-server of RedisAddr, closed
// when the test ends.
func RedisClient(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr(tb)})
	tb.Cleanup(func() { c.Close() })
	return c
}

// PostgresDSN returns OIDCAUTH_POSTGRES_DSN once the server there has
// answered. Skipped without it unless OIDCAUTH_REQUIRE_POSTGRES=1.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("OIDCAUTH_POSTGRES_DSN")
	required := os.Getenv("OIDCAUTH_REQUIRE_POSTGRES") == "1"
	if dsn == "" {
		if required {
			tb.Fatal("OIDCAUTH_REQUIRE_POSTGRES=1 but OIDCAUTH_POSTGRES_DSN is not set")
		}
		tb.Skip("PostgreSQL test skipped: set OIDCAUTH_POSTGRES_DSN=postgres://… (oauth/sqlstore/ci.sh starts a private cluster on 127.0.0.1:65432)")
	}
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatalf("OIDCAUTH_POSTGRES_DSN: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		if required {
			tb.Fatalf("OIDCAUTH_REQUIRE_POSTGRES=1 but PostgreSQL does not answer: %v", err)
		}
		tb.Skipf("PostgreSQL test skipped: the server does not answer: %v", err)
	}
	return dsn
}

// FreshPostgresDB creates an empty database named prefix + 12 random hex
// digits on the server of PostgresDSN and returns its URL; the database is
// dropped (WITH (FORCE)) when the test ends, after the test's own Cleanup
// functions registered later have closed their connections.
func FreshPostgresDB(tb testing.TB, prefix string) string {
	tb.Helper()
	dsn := PostgresDSN(tb)
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("OIDCAUTH_POSTGRES_DSN: %v", err)
	}
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		tb.Fatalf("CREATE DATABASE: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("DROP DATABASE %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
