// Package sqlstore keeps the sessions of an [oauth.Flow] in a PostgreSQL
// table through database/sql, for applications with several replicas that
// already run a database: every replica sees every session, sessions
// survive restarts, and a logout or a revocation deletes them everywhere
// at once.
//
//	db, err := sql.Open("postgres", dsn) // a driver: github.com/lib/pq, pgx's stdlib, ...
//	store, err := sqlstore.New(ctx, db, sqlstore.Config{})
//	defer store.Close()
//	flow, err := oauth.New(ctx, oauth.Config{..., Store: store})
//
// The package imports only database/sql: pick and import the driver in
// your main package. The store speaks PostgreSQL's SQL ($1 parameters,
// ON CONFLICT, bytea, timestamptz).
//
// A request with a session costs one statement (the SELECT of Load); a
// touch of the idle timeout (at most once per IdleTimeout/10) one more,
// the UPDATE. With github.com/lib/pq, put binary_parameters=yes in the
// connection string: without it lib/pq spends two round trips on every
// statement with parameters (Parse and Describe, then Bind and Execute);
// with it, one (TestRoundTripsPerRequest counts them through a proxy).
// pgx's stdlib caches prepared statements and needs one round trip too.
//
// SQLite is not supported: the statements are PostgreSQL's (ctid,
// timestamptz, ON CONFLICT … WHERE); a single-node application can use
// [oauth.MemoryStore] or Redis.
//
// # Schema
//
// New creates the table (default "oidcauth_sessions") and its indexes if
// missing:
//
//	CREATE TABLE IF NOT EXISTS oidcauth_sessions (
//	    id         bytea PRIMARY KEY,      -- SHA-256 of the session ID, never the ID
//	    data       bytea NOT NULL,         -- the session's JSON (tokens included)
//	    issuer     text NOT NULL,          -- iss of the ID token
//	    subject    text NOT NULL,          -- sub
//	    sid        text,                   -- sid, NULL without
//	    created    timestamptz NOT NULL,
//	    last_seen  timestamptz,            -- NULL before the first recorded use
//	    user_agent text NOT NULL DEFAULT '',
//	    expires    timestamptz NOT NULL
//	);
//	CREATE INDEX IF NOT EXISTS oidcauth_sessions_expires ON oidcauth_sessions (expires);
//	CREATE INDEX IF NOT EXISTS oidcauth_sessions_subject ON oidcauth_sessions (issuer, subject);
//	CREATE INDEX IF NOT EXISTS oidcauth_sessions_sid ON oidcauth_sessions (issuer, sid) WHERE sid IS NOT NULL;
//
// The cookie carries only the session ID (256 random bits); the table
// keeps its SHA-256, so that someone who can read the table (a replica, a
// backup, a support query) cannot turn rows into cookies. The data column
// holds the tokens in the clear: protect the database as you protect the
// tokens.
//
// # Expiry
//
// Load refuses expired rows itself (expires > now() in the query). A
// background sweep owned by the Store deletes them: every
// Config.SweepInterval (default 5 minutes) it deletes expired rows in
// batches of Config.SweepBatch (default 500) through a ctid subquery, so
// that no statement holds many row locks, until a batch comes back short.
// Close stops it and waits for it.
//
// # Refresh lock
//
// Store implements LockRefresh (the oauth RefreshLocker) with a lock row
// in a second table (Table + "_locks": key text primary key, token,
// expires): INSERT … ON CONFLICT DO UPDATE … WHERE the lock expired takes
// it; unlock deletes the row only if it still holds the taker's random
// token. A lock row rather than pg_try_advisory_lock: advisory locks
// belong to a database connection, and database/sql hands a different
// pooled connection to every statement, so holding one would pin a
// connection per refresh in flight; a lock row also expires on its own if
// its holder dies.
//
// Errors of the database are returned wrapping [oauth.ErrStoreUnavailable]
// (the Flow answers 503), never as "no session".
package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
)

// Defaults of Config's fields.
const (
	DefaultTable         = "oidcauth_sessions"
	DefaultSweepInterval = 5 * time.Minute
	DefaultSweepBatch    = 500
)

// Config configures a Store. The zero value is usable.
type Config struct {
	// Table is the table's name: letters, digits and "_", optionally
	// schema-qualified ("auth.sessions"). Default: DefaultTable.
	Table string

	// SweepInterval is how often expired rows are deleted. Negative
	// disables the sweep (then delete them yourself). Default:
	// DefaultSweepInterval.
	SweepInterval time.Duration

	// SweepBatch is how many rows one DELETE of the sweep removes at
	// most. Default: DefaultSweepBatch.
	SweepBatch int

	// SkipCreateTable makes New leave the schema alone (for databases
	// where the application's role cannot create tables: create them
	// from the package doc).
	SkipCreateTable bool

	// Now returns the current time, written into created/last_seen/
	// expires comparisons made in Go. Default: time.Now. Queries compare
	// with the database's now() only in the sweep.
	Now func() time.Time

	// Logger receives failed sweeps. Default: slog.Default().
	Logger *slog.Logger
}

// Store is an [oauth.Store] and [oauth.RevokingStore] on a PostgreSQL
// table. It is safe for concurrent use. Close stops its sweep; it does not
// close the *sql.DB.
type Store struct {
	db        *sql.DB
	table     string
	locks     string
	now       func() time.Time
	log       *slog.Logger
	batch     int
	q         queries
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type queries struct {
	insert, update, load, del, bySubject, bySID, list, sweep, lock, unlock string
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}(\.[A-Za-z_][A-Za-z0-9_]{0,40})?$`)

// New returns a Store on db, creating the tables if missing (unless
// SkipCreateTable), and starts its sweep. ctx bounds the schema
// statements only.
func New(ctx context.Context, db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: db is nil")
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	if !tableName.MatchString(table) {
		return nil, fmt.Errorf("sqlstore: Config.Table %q: want letters, digits and _, optionally schema.table", table)
	}
	s := &Store{db: db, table: table, locks: table + "_locks", now: cfg.Now, log: cfg.Logger, batch: cfg.SweepBatch,
		stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.batch <= 0 {
		s.batch = DefaultSweepBatch
	}
	s.prepare()
	if !cfg.SkipCreateTable {
		if err := s.createTables(ctx); err != nil {
			return nil, err
		}
	}
	interval := cfg.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	if interval > 0 {
		go s.sweeper(interval)
	} else {
		close(s.done)
	}
	return s, nil
}

func (s *Store) prepare() {
	t, l := s.table, s.locks
	cols := "id, data, issuer, subject, sid, created, last_seen, user_agent, expires"
	s.q = queries{
		insert: "INSERT INTO " + t + " (" + cols + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
		update: "UPDATE " + t + " SET data = $2, issuer = $3, subject = $4, sid = $5, created = $6, last_seen = $7, user_agent = $8, expires = $9 WHERE id = $1 AND expires > $10",
		load:   "SELECT data FROM " + t + " WHERE id = $1 AND expires > $2",
		del:    "DELETE FROM " + t + " WHERE id = $1",
		bySubject: "WITH d AS (DELETE FROM " + t + " WHERE issuer = $1 AND subject = $2 RETURNING expires) " +
			"SELECT count(*) FROM d WHERE expires > $3",
		bySID: "WITH d AS (DELETE FROM " + t + " WHERE issuer = $1 AND sid = $2 RETURNING expires) " +
			"SELECT count(*) FROM d WHERE expires > $3",
		list: "SELECT created, last_seen, user_agent, coalesce(sid, ''), expires FROM " + t +
			" WHERE issuer = $1 AND subject = $2 AND expires > $3 ORDER BY created, expires",
		sweep: "DELETE FROM " + t + " WHERE ctid IN (SELECT ctid FROM " + t + " WHERE expires < now() LIMIT $1)",
		lock: "INSERT INTO " + l + " (key, token, expires) VALUES ($1, $2, $3) " +
			"ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE " + l + ".expires <= $4",
		unlock: "DELETE FROM " + l + " WHERE key = $1 AND token = $2",
	}
}

func indexName(table, suffix string) string {
	return strings.ReplaceAll(table, ".", "_") + "_" + suffix
}

func (s *Store) createTables(ctx context.Context) error {
	t := s.table
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS " + t + ` (
	id         bytea PRIMARY KEY,
	data       bytea NOT NULL,
	issuer     text NOT NULL,
	subject    text NOT NULL,
	sid        text,
	created    timestamptz NOT NULL,
	last_seen  timestamptz,
	user_agent text NOT NULL DEFAULT '',
	expires    timestamptz NOT NULL)`,
		"CREATE INDEX IF NOT EXISTS " + indexName(t, "expires") + " ON " + t + " (expires)",
		"CREATE INDEX IF NOT EXISTS " + indexName(t, "subject") + " ON " + t + " (issuer, subject)",
		"CREATE INDEX IF NOT EXISTS " + indexName(t, "sid") + " ON " + t + " (issuer, sid) WHERE sid IS NOT NULL",
		"CREATE TABLE IF NOT EXISTS " + s.locks + " (key text PRIMARY KEY, token text NOT NULL, expires timestamptz NOT NULL)",
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return unavailable("creating the schema", err)
		}
	}
	return nil
}

// Close stops the sweep and waits for it. It does not close the *sql.DB.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *Store) sweeper(interval time.Duration) {
	defer close(s.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-s.stop:
			case <-ctx.Done():
			}
			cancel()
		}()
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "sqlstore: sweep failed", slog.String("error", err.Error()))
		}
		cancel()
	}
}

// Sweep deletes expired rows now, in batches of Config.SweepBatch, and
// returns how many it deleted. The background sweep calls it.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		res, err := s.db.ExecContext(ctx, s.q.sweep, s.batch)
		if err != nil {
			return total, unavailable("sweep", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < int64(s.batch) {
			return total, nil
		}
	}
}

func hash(id string) []byte {
	sum := sha256.Sum256([]byte(id))
	return sum[:]
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: sqlstore: %s: %v", oauth.ErrStoreUnavailable, op, err)
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

func (s *Store) row(sess *oauth.Session) ([]any, error) {
	if !oauth.ValidSessionID(sess.ID) {
		return nil, errors.New("sqlstore: malformed session ID")
	}
	info, err := sess.Info()
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	sid := sql.NullString{String: info.SID, Valid: info.SID != ""}
	return []any{hash(sess.ID), b, info.Issuer, info.Subject, sid, sess.CreatedAt, nullTime(sess.LastSeen),
		sess.UserAgent, sess.ExpiresAt}, nil
}

// Create implements oauth.Store.
func (s *Store) Create(ctx context.Context, sess *oauth.Session) (string, error) {
	args, err := s.row(sess)
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, s.q.insert, args...); err != nil {
		return "", unavailable("INSERT", err)
	}
	return sess.ID, nil
}

// Update implements oauth.Store: an UPDATE of the row, so that a session
// deleted meanwhile (a logout, a revocation) is not re-created; it then
// returns oauth.ErrNoSession.
func (s *Store) Update(ctx context.Context, value string, sess *oauth.Session) (string, error) {
	if value != sess.ID {
		return "", oauth.ErrNoSession
	}
	args, err := s.row(sess)
	if err != nil {
		return "", err
	}
	res, err := s.db.ExecContext(ctx, s.q.update, append(args, s.now())...)
	if err != nil {
		return "", unavailable("UPDATE", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", unavailable("UPDATE", err)
	} else if n == 0 {
		return "", oauth.ErrNoSession
	}
	return value, nil
}

// Load implements oauth.Store: one SELECT.
func (s *Store) Load(ctx context.Context, value string) (*oauth.Session, error) {
	if !oauth.ValidSessionID(value) {
		return nil, oauth.ErrNoSession
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, s.q.load, hash(value), s.now()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, oauth.ErrNoSession
	}
	if err != nil {
		return nil, unavailable("SELECT", err)
	}
	sess := new(oauth.Session)
	if err := json.Unmarshal(b, sess); err != nil || sess.ID != value || !s.now().Before(sess.ExpiresAt) {
		return nil, oauth.ErrNoSession
	}
	return sess, nil
}

// Delete implements oauth.Store.
func (s *Store) Delete(ctx context.Context, value string) error {
	if !oauth.ValidSessionID(value) {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, s.q.del, hash(value)); err != nil {
		return unavailable("DELETE", err)
	}
	return nil
}

// RevokeSubject implements oauth.RevokingStore: one DELETE on the
// (issuer, subject) index.
func (s *Store) RevokeSubject(ctx context.Context, issuer, subject string) (int, error) {
	return s.revoke(ctx, s.q.bySubject, issuer, subject)
}

// RevokeSID implements oauth.RevokingStore: one DELETE on the (issuer,
// sid) index.
func (s *Store) RevokeSID(ctx context.Context, issuer, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	return s.revoke(ctx, s.q.bySID, issuer, sid)
}

func (s *Store) revoke(ctx context.Context, q, issuer, v string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, q, issuer, v, s.now()).Scan(&n); err != nil {
		return 0, unavailable("DELETE", err)
	}
	return n, nil
}

// ListSessions implements oauth.RevokingStore.
func (s *Store) ListSessions(ctx context.Context, issuer, subject string) ([]oauth.SessionInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.q.list, issuer, subject, s.now())
	if err != nil {
		return nil, unavailable("SELECT", err)
	}
	defer rows.Close()
	var out []oauth.SessionInfo
	for rows.Next() {
		i := oauth.SessionInfo{Issuer: issuer, Subject: subject}
		var last sql.NullTime
		if err := rows.Scan(&i.Created, &last, &i.UserAgent, &i.SID, &i.ExpiresAt); err != nil {
			return nil, unavailable("SELECT", err)
		}
		i.LastSeen = last.Time
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("SELECT", err)
	}
	return out, nil
}

// LockRefresh takes the lock named key for ttl, if no one holds it (see
// Refresh lock in the package doc). acquired is false when another holder
// has it; err wraps oauth.ErrStoreUnavailable when the database fails.
// unlock releases it if it is still this caller's.
func (s *Store) LockRefresh(ctx context.Context, key string, ttl time.Duration) (unlock func(), acquired bool, err error) {
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q.lock, key, token, now.Add(ttl), now)
	if err != nil {
		return nil, false, unavailable("lock", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.db.ExecContext(ctx, s.q.unlock, key, token) //nolint:errcheck // the row expires anyway
		})
	}, true, nil
}
