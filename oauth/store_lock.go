package oauth

import (
	"context"
	"crypto/rand"
	"time"
)

// memLock is a lock of a MemoryStore: its owner's token and its expiry.
type memLock struct {
	token   string
	expires time.Time
}

// LockRefresh implements [RefreshLocker], for Flows of one process sharing
// a MemoryStore. A lock past its ttl is taken over.
func (m *MemoryStore) LockRefresh(_ context.Context, key string, ttl time.Duration) (func(), bool, error) {
	now := m.now()
	token := rand.Text()
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.locks[key]; ok && now.Before(l.expires) {
		return nil, false, nil
	}
	if m.locks == nil {
		m.locks = make(map[string]memLock)
	}
	for k, l := range m.locks { // locks are few and short-lived
		if !now.Before(l.expires) {
			delete(m.locks, k)
		}
	}
	m.locks[key] = memLock{token, now.Add(ttl)}
	return func() {
		m.mu.Lock()
		if m.locks[key].token == token {
			delete(m.locks, key)
		}
		m.mu.Unlock()
	}, true, nil
}
