package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Refresh policy (RFC 6749 §6, OpenID Connect Core 1.0 §12):
//
//   - A session's tokens are refreshed when a request comes with it less
//     than Config.RefreshMargin before its access token expires, if it has
//     a refresh token. Without one, the session simply lasts until
//     Session.ExpiresAt.
//   - Concurrent requests of one session share one refresh: the first
//     makes the token request, on the Flow's context (a request that gives
//     up cancels only its own wait), and the others wait for its result.
//   - For a minute after a refresh, a request still carrying the cookie
//     from before it (sent before the browser got the new one) gets the
//     result of that refresh instead of a second refresh, which a provider
//     that rotates refresh tokens would refuse.
//   - Across replicas: with a store that implements RefreshLocker (the
//     memory and Redis stores do), one replica redeems the refresh token
//     under the store's lock and writes the new tokens back; the others
//     reload the session for up to 2 seconds and use them, or keep
//     serving the current access token while it is valid (503 once it has
//     expired, the session kept). The cookie store cannot share a lock:
//     see RefreshLocker for what happens, and use a server-side store for
//     fleets whose provider rotates refresh tokens.
//   - A returned ID token is verified as at login (nonce aside) and must
//     name the same iss, sub, aud and azp (§12.2).
//   - A refusal (a 4xx answer such as invalid_grant, or an ID token that
//     does not fit) ends the session: it is deleted and the request
//     continues without one. A provider that cannot be reached or answers
//     5xx gives ErrProviderUnavailable (503) and the session is kept.

const (
	recentTTL = time.Minute
	maxRecent = 10000
)

// refreshGroup makes concurrent refreshes of one session share one token
// request, and remembers recent results.
type refreshGroup struct {
	mu     sync.Mutex
	calls  map[string]*refreshCall   // by session ID
	recent map[[32]byte]recentResult // by hash of session ID and old refresh token
}

var errRefreshPanicked = errors.New("oauth: token refresh panicked")

type refreshCall struct {
	done  chan struct{}
	s     *Session
	value string
	err   error
}

type recentResult struct {
	s     *Session
	value string
	until time.Time
}

func recentKey(s *Session) [32]byte {
	return sha256.Sum256([]byte(s.ID + "\x00" + s.RefreshToken))
}

// needsRefresh reports whether s's access token is due for a refresh.
func (f *Flow) needsRefresh(s *Session, now time.Time) bool {
	return s.RefreshToken != "" && !s.AccessTokenExpiry.IsZero() &&
		!now.Before(s.AccessTokenExpiry.Add(-f.refreshMargin))
}

// refreshSession returns s with fresh tokens and the cookie value that now
// refers to it.
func (f *Flow) refreshSession(ctx context.Context, value string, s *Session) (*Session, string, error) {
	g := &f.refresh
	key := recentKey(s)
	g.mu.Lock()
	if r, ok := g.recent[key]; ok && f.now().Before(r.until) {
		g.mu.Unlock()
		return r.s, r.value, nil
	}
	c, joined := g.calls[s.ID]
	if !joined {
		c = &refreshCall{done: make(chan struct{})}
		if g.calls == nil {
			g.calls = make(map[string]*refreshCall)
		}
		g.calls[s.ID] = c
	}
	g.mu.Unlock()

	if !joined {
		func() {
			c.err = errRefreshPanicked // replaced unless doRefresh panics
			defer func() {
				g.mu.Lock()
				delete(g.calls, s.ID)
				if c.err == nil && c.s != s { // s itself: not refreshed (refreshShared)
					g.remember(key, recentResult{c.s, c.value, f.now().Add(recentTTL)}, f.now())
				}
				g.mu.Unlock()
				close(c.done)
			}()
			c.s, c.value, c.err = f.doRefresh(value, s)
		}()
	}
	select {
	case <-c.done:
		return c.s, c.value, c.err
	case <-ctx.Done():
		return nil, "", fmt.Errorf("%w: gave up waiting for a token refresh: %v", ErrProviderUnavailable, ctx.Err())
	}
}

// remember stores a result, dropping expired ones when the map is full.
// g.mu must be held.
func (g *refreshGroup) remember(key [32]byte, r recentResult, now time.Time) {
	if g.recent == nil {
		g.recent = make(map[[32]byte]recentResult)
	}
	if len(g.recent) >= maxRecent {
		for k, old := range g.recent {
			if !now.Before(old.until) {
				delete(g.recent, k)
			}
		}
		if len(g.recent) >= maxRecent {
			clear(g.recent) // a flood: forget everything rather than grow
		}
	}
	g.recent[key] = r
}

// doRefresh refreshes s, under the store's refresh lock when it has one
// (see RefreshLocker).
func (f *Flow) doRefresh(value string, s *Session) (*Session, string, error) {
	if l, ok := f.store.(RefreshLocker); ok {
		return f.refreshShared(l, value, s)
	}
	return f.redeemRefresh(value, s)
}

// redeemRefresh makes the refresh request (RFC 6749 §6) on the Flow's context
// and stores the result.
func (f *Flow) redeemRefresh(value string, s *Session) (*Session, string, error) {
	ctx, cancel := f.providerContext(f.ctx)
	defer cancel()
	tok, err := f.oauth2.TokenSource(ctx, &oauth2.Token{RefreshToken: s.RefreshToken}).Token()
	if err != nil {
		return nil, "", tokenEndpointError(ErrRefreshFailed, err)
	}
	ns := *s
	ns.AccessToken = tok.AccessToken
	ns.AccessTokenExpiry = f.expiry(tok, f.now())
	if tok.RefreshToken != "" {
		ns.RefreshToken = tok.RefreshToken
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		nc, err := f.verifyIDToken(ctx, raw, tok.AccessToken, "")
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrRefreshFailed, err)
		}
		var oc idClaims
		if p, err := payload(s.IDToken); err != nil || json.Unmarshal(p, &oc) != nil {
			return nil, "", fail(ErrRefreshFailed, "the session's ID token does not parse")
		}
		if err := sameIdentity(&oc, nc); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrRefreshFailed, err)
		}
		ns.IDToken = raw
	}
	nv, err := f.store.Update(ctx, value, &ns)
	if errors.Is(err, ErrNoSession) {
		return nil, "", fail(ErrRefreshFailed, "the session ended during the refresh")
	}
	if err != nil {
		return nil, "", fmt.Errorf("oauth: storing refreshed session: %w", err)
	}
	return &ns, nv, nil
}
