package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// RefreshLocker is implemented by stores shared by several replicas
// ([MemoryStore] within a process, redisstore.Store, sqlstore.Store) so
// that only one replica redeems a session's refresh token at a time. The
// Flow discovers it by a type assertion on Config.Store.
//
// LockRefresh tries once, without waiting, to take the lock named key for
// ttl. acquired reports whether it was taken; unlock, valid only then,
// releases it if it is still this caller's (a lock that outlived its ttl
// and was taken by another caller is left alone). err means the store
// could not be asked (wrap ErrStoreUnavailable). key is not secret: the
// Flow passes a hash of the session ID, never the ID.
//
// Across replicas sharing a RefreshLocker store, a refresh goes so:
//
//   - the replica that takes the lock loads the session again; if another
//     replica has refreshed it meanwhile, it uses those tokens; otherwise it
//     redeems the refresh token, writes the new tokens to the store, and
//     releases the lock;
//   - a replica that does not get the lock reloads the session every
//     25 ms (and tries the lock again) for up to 2 seconds, and uses the
//     new tokens as soon as the store has them; when the wait ends without
//     them it keeps serving the current access token if it has not
//     expired, and answers 503 (ErrProviderUnavailable) otherwise; the
//     session is kept either way;
//   - a refresh token is thus redeemed once, which matters with providers
//     that rotate refresh tokens and revoke the whole grant when a rotated
//     token comes back (RFC 9700 §4.14.2).
//
// The cookie store cannot share a lock: each replica holds its own copy
// of the session (in the cookie), so two replicas that get requests of
// one session at the same moment across the expiry each redeem the
// refresh token. With a provider that rotates refresh tokens the second
// redemption fails (or revokes the grant): the session of that request
// ends and the user logs in again. Within one replica, concurrent
// requests share one refresh with every store. Use a server-side store
// for fleets whose provider rotates refresh tokens.
type RefreshLocker interface {
	LockRefresh(ctx context.Context, key string, ttl time.Duration) (unlock func(), acquired bool, err error)
}

const (
	// refreshWait bounds how long a replica waits for another replica's
	// refresh of the same session.
	refreshWait = 2 * time.Second
	// refreshPoll is how often it looks for the result meanwhile.
	refreshPoll = 25 * time.Millisecond
)

// refreshLockKey is the lock name of a session: a hash of its ID.
func refreshLockKey(id string) string {
	sum := sha256.Sum256([]byte("oidcauth refresh lock\x00" + id))
	return "refresh:" + hex.EncodeToString(sum[:])
}

// refreshed reports whether cur, loaded from the store, carries other
// tokens than s: another replica refreshed the session.
func refreshed(s, cur *Session) bool {
	return cur.RefreshToken != s.RefreshToken || cur.AccessToken != s.AccessToken
}

// refreshShared refreshes s under the store's refresh lock (see
// RefreshLocker). It returns s itself, unchanged, when another replica's
// refresh did not finish in time and s's access token is still valid.
func (f *Flow) refreshShared(l RefreshLocker, value string, s *Session) (*Session, string, error) {
	ctx, cancel := context.WithTimeout(f.ctx, refreshWait+2*f.timeout)
	defer cancel()
	key := refreshLockKey(s.ID)
	deadline := time.Now().Add(refreshWait)
	var lastErr error
	for {
		unlock, acquired, err := l.LockRefresh(ctx, key, 2*f.timeout)
		if err != nil {
			lastErr = fmt.Errorf("%w: refresh lock: %w", ErrStoreUnavailable, err)
		} else {
			// Whether or not the lock was taken, someone may have
			// refreshed the session since it was loaded.
			cur, lerr := f.store.Load(ctx, value)
			switch {
			case errors.Is(lerr, ErrNoSession):
				if acquired {
					unlock()
				}
				return nil, "", fail(ErrNoSession, "the session ended during the refresh")
			case lerr == nil && refreshed(s, cur):
				if acquired {
					unlock()
				}
				return cur, value, nil
			case acquired && lerr == nil:
				defer unlock()
				return f.redeemRefresh(value, s)
			case acquired:
				unlock()
				lastErr = fmt.Errorf("%w: %w", ErrStoreUnavailable, lerr)
			}
		}
		if !time.Now().Add(refreshPoll).Before(deadline) {
			break
		}
		t := time.NewTimer(refreshPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, "", fmt.Errorf("%w: token refresh cancelled: %v", ErrProviderUnavailable, ctx.Err())
		}
	}
	if f.now().Before(s.AccessTokenExpiry) {
		return s, value, nil // still valid: serve it, refresh on a later request
	}
	if lastErr != nil {
		return nil, "", lastErr
	}
	return nil, "", fmt.Errorf("%w: another replica's token refresh did not finish within %v", ErrProviderUnavailable, refreshWait)
}

// errTouchSkipped: another replica holds the session's refresh lock; the
// record of use waits for a later request.
var errTouchSkipped = errors.New("oauth: record of use skipped: the session is being refreshed")

// touchShared records the use of a session of a RefreshLocker store under
// the refresh lock, on the session as the store has it now, so that a
// replica never writes back tokens that another replica has refreshed
// (the next refresh would redeem a rotated-out refresh token). It costs
// three round trips more than a plain Update (lock, load, unlock), once per
// touch interval. When the lock is held elsewhere the record is skipped.
func (f *Flow) touchShared(ctx context.Context, l RefreshLocker, value string, s *Session, now time.Time) (Session, string, error) {
	unlock, acquired, err := l.LockRefresh(ctx, refreshLockKey(s.ID), 2*f.timeout)
	if err != nil {
		return Session{}, "", err
	}
	if !acquired {
		return Session{}, "", errTouchSkipped
	}
	defer unlock()
	cur, err := f.store.Load(ctx, value)
	if err != nil {
		return Session{}, "", err
	}
	ns := *cur
	ns.LastSeen = now
	nv, err := f.store.Update(ctx, value, &ns)
	return ns, nv, err
}
