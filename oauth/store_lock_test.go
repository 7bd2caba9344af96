package oauth

import (
	"context"
	"testing"
	"time"
)

func TestMemoryStoreLockRefresh(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	m := newMemoryStore(func() time.Time { return now })
	ctx := context.Background()
	unlockA, ok, err := m.LockRefresh(ctx, "k", time.Second)
	if !ok || err != nil {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, _ := m.LockRefresh(ctx, "k", time.Second); ok {
		t.Fatal("a held lock was taken twice")
	}
	if _, ok, _ := m.LockRefresh(ctx, "other", time.Second); !ok {
		t.Fatal("another key was blocked")
	}
	now = now.Add(time.Second) // A's lock expires: B takes it over
	unlockB, ok, _ := m.LockRefresh(ctx, "k", time.Second)
	if !ok {
		t.Fatal("an expired lock was not taken over")
	}
	unlockA() // A's late unlock must not release B's lock
	if _, ok, _ := m.LockRefresh(ctx, "k", time.Second); ok {
		t.Fatal("a stale unlock released another owner's lock")
	}
	unlockB()
	if _, ok, _ := m.LockRefresh(ctx, "k", time.Second); !ok {
		t.Fatal("unlock did not release the lock")
	}
	m.mu.Lock()
	n := len(m.locks)
	m.mu.Unlock()
	if n != 1 { // "k"; "other" expired and was swept
		t.Errorf("%d locks held", n)
	}
}

var _ RefreshLocker = (*MemoryStore)(nil)
