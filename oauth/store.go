package oauth

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// Store keeps sessions. The Flow puts the value that Create or Update
// returns into the session cookie (splitting it into chunks when needed)
// and hands it back to Load, Update and Delete; all cookie handling stays
// in the Flow.
//
// Three stores come with the module:
//
//   - the encrypted cookie store, the default (Config.Store nil): the value
//     is the session itself, sealed with AES-256-GCM under Config.Keys.
//     Stateless: it works across replicas and restarts with nothing to run.
//     Its limit: a session cannot be revoked before it expires. Logout
//     clears the cookie in the browser, but a copy of the cookie taken
//     before (by malware, a shared computer, a log) stays valid until
//     Session.ExpiresAt. Keep SessionLifetime short, or use a server-side
//     store where that matters.
//   - [MemoryStore]: the value is the session ID. Single process; for
//     tests and single-instance apps. Sessions die with the process.
//   - redisstore.Store (package github.com/oidcauth/oidcauth/oauth/redisstore):
//     the value is the session ID. For many replicas; sessions survive
//     restarts, and logout deletes them everywhere at once.
//   - sqlstore.Store (package github.com/oidcauth/oidcauth/oauth/sqlstore):
//     the value is the session ID; sessions in a PostgreSQL table through
//     database/sql, for applications that already run a database.
//
// The server-side stores also implement [RevokingStore] (end all sessions
// of a subject or a provider session, list a subject's sessions).
//
// Implementations must be safe for concurrent use and must enforce
// Session.ExpiresAt themselves (the Flow checks it too).
type Store interface {
	// Create stores a new session and returns the cookie value that
	// refers to it.
	Create(ctx context.Context, s *Session) (value string, err error)

	// Load returns the session value refers to. It returns an error
	// wrapping ErrNoSession when there is none: unknown, malformed,
	// tampered with, expired or deleted. Other errors (wrap
	// ErrStoreUnavailable for transient ones) are not taken as "logged
	// out".
	Load(ctx context.Context, value string) (*Session, error)

	// Update replaces the session value refers to with s (same ID, new
	// tokens) and returns the cookie value to use from now on. It returns
	// ErrNoSession if the session no longer exists, so that a refresh
	// finishing after a logout cannot bring the session back.
	Update(ctx context.Context, value string, s *Session) (newValue string, err error)

	// Delete removes the session value refers to. Deleting a session that
	// does not exist is not an error.
	Delete(ctx context.Context, value string) error
}

// cookieStore is the default Store: the session, sealed, is the value.
type cookieStore struct {
	sealer *sealer
	now    func() time.Time
	ad     string // the session cookie's name: values are bound to it
}

func (c *cookieStore) Create(_ context.Context, s *Session) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	return c.sealer.seal(b, c.ad), nil
}

func (c *cookieStore) Load(_ context.Context, value string) (*Session, error) {
	b, err := c.sealer.open(value, c.ad)
	if err != nil {
		return nil, ErrNoSession
	}
	s := new(Session)
	if err := json.Unmarshal(b, s); err != nil || !c.now().Before(s.ExpiresAt) {
		return nil, ErrNoSession
	}
	return s, nil
}

func (c *cookieStore) Update(ctx context.Context, _ string, s *Session) (string, error) {
	return c.Create(ctx, s)
}

// Delete cannot revoke a cookie; the Flow clears it in the browser.
func (c *cookieStore) Delete(context.Context, string) error { return nil }

// MemoryStore is a Store that keeps sessions in the process's memory. The
// cookie carries only the session ID. Logout deletes the session, so an old
// cookie is refused at once. Expired sessions are dropped when looked up
// and swept at most once a minute when sessions are created; no goroutine
// is started. Sessions are lost when the process exits, and are not shared
// between replicas. Create one with NewMemoryStore.
type MemoryStore struct {
	now func() time.Time

	mu        sync.Mutex
	sessions  map[string]Session
	lastSweep time.Time
	index     memoryIndex        // by subject and sid, for RevokingStore
	locks     map[string]memLock // refresh locks (store_lock.go)
}

// NewMemoryStore returns an empty MemoryStore that uses time.Now.
func NewMemoryStore() *MemoryStore { return newMemoryStore(time.Now) }

func newMemoryStore(now func() time.Time) *MemoryStore {
	return &MemoryStore{now: now, sessions: make(map[string]Session)}
}

// Len returns the number of sessions held, expired ones not yet swept
// included.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, s *Session) (string, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastSweep) > time.Minute {
		for id, old := range m.sessions {
			if !now.Before(old.ExpiresAt) {
				m.drop(id)
			}
		}
		m.lastSweep = now
	}
	m.drop(s.ID)
	m.sessions[s.ID] = *s
	m.index.add(s)
	return s.ID, nil
}

// Load implements Store.
func (m *MemoryStore) Load(_ context.Context, value string) (*Session, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[value]
	if !ok {
		return nil, ErrNoSession
	}
	if !now.Before(s.ExpiresAt) {
		m.drop(value)
		return nil, ErrNoSession
	}
	return &s, nil
}

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, value string, s *Session) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[value]; !ok || value != s.ID {
		return "", ErrNoSession
	}
	m.drop(value)
	m.sessions[value] = *s
	m.index.add(s)
	return value, nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, value string) error {
	m.mu.Lock()
	m.drop(value)
	m.mu.Unlock()
	return nil
}
