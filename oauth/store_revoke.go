package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"
	"unicode/utf8"
)

// RevokingStore is implemented by stores that can end sessions other than
// the one a request carries: all sessions of a subject, all sessions of a
// provider session (the sid claim, OpenID Connect Front-Channel and
// Back-Channel Logout 1.0), and list a subject's sessions for "where am I
// signed in" pages. Admin tools and [Flow.BackChannelLogoutHandler] use
// it; it is discovered by type assertion, so a Store need not implement it.
//
// [MemoryStore], redisstore.Store and sqlstore.Store implement it. The
// cookie store cannot: its sessions live in the browsers, and nothing on
// the server can end a copy of a cookie before it expires.
//
// Sessions are indexed by the iss, sub and sid claims of their ID token
// ([Session.Info]), recorded when the session is created or updated. A
// session whose ID token has no sid is found by subject only. Revoked
// sessions are deleted: their cookies load as ErrNoSession from then on,
// on every replica. Errors wrap ErrStoreUnavailable when the store cannot
// be reached; the count is then unknown.
type RevokingStore interface {
	// RevokeSubject deletes every session of subject at issuer and
	// returns how many it deleted.
	RevokeSubject(ctx context.Context, issuer, subject string) (int, error)

	// RevokeSID deletes every session whose ID token carries the sid at
	// issuer and returns how many it deleted.
	RevokeSID(ctx context.Context, issuer, sid string) (int, error)

	// ListSessions returns the unexpired sessions of subject at issuer,
	// oldest first. It never returns session IDs or tokens.
	ListSessions(ctx context.Context, issuer, subject string) ([]SessionInfo, error)
}

// SessionInfo describes a session without its secrets (no session ID, no
// tokens), for listings.
type SessionInfo struct {
	// Created is the time of the login, LastSeen the last recorded use
	// (zero before the first record, see Session.LastSeen).
	Created, LastSeen time.Time

	// UserAgent is the User-Agent header of the login request, at most
	// MaxUserAgentLen bytes; empty when the browser sent none.
	UserAgent string

	// SID is the sid claim of the session's ID token, empty without.
	SID string

	// ExpiresAt is the end of the session (Session.ExpiresAt).
	ExpiresAt time.Time

	// Issuer and Subject are the iss and sub claims of the session's ID
	// token.
	Issuer, Subject string
}

// MaxUserAgentLen is the most bytes of the User-Agent header a session
// records (Session.UserAgent); a longer one is cut.
const MaxUserAgentLen = 256

// Info returns the session's description for listings and the index keys
// of a RevokingStore: iss, sub and sid from the ID token's payload (the
// token was verified when it entered the session). It fails when the ID
// token does not parse or has no iss or sub.
func (s *Session) Info() (SessionInfo, error) {
	p, err := payload(s.IDToken)
	if err != nil {
		return SessionInfo{}, err
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Sid string `json:"sid"`
	}
	if err := json.Unmarshal(p, &c); err != nil {
		return SessionInfo{}, errors.New("oauth: session ID token claims do not parse")
	}
	if c.Iss == "" || c.Sub == "" {
		return SessionInfo{}, errors.New("oauth: session ID token has no iss or sub")
	}
	return SessionInfo{Created: s.CreatedAt, LastSeen: s.LastSeen, UserAgent: s.UserAgent,
		SID: c.Sid, ExpiresAt: s.ExpiresAt, Issuer: c.Iss, Subject: c.Sub}, nil
}

// userAgent cuts a User-Agent header to MaxUserAgentLen bytes, on a rune
// boundary.
func userAgent(ua string) string {
	if len(ua) <= MaxUserAgentLen {
		return ua
	}
	n := MaxUserAgentLen
	for n > 0 && !utf8.RuneStart(ua[n]) {
		n-- // ua[n] continues the rune before: cut before that rune
	}
	return ua[:n]
}

// memoryIndex maps "iss\x00sub" and "iss\x00sid" to the IDs of the
// MemoryStore's sessions; guarded by the store's mutex.
type memoryIndex struct {
	subject, sid map[string]map[string]struct{}
}

func indexKey(issuer, v string) string { return issuer + "\x00" + v }

func (x *memoryIndex) add(s *Session) {
	info, err := s.Info()
	if err != nil {
		return
	}
	if x.subject == nil {
		x.subject = make(map[string]map[string]struct{})
		x.sid = make(map[string]map[string]struct{})
	}
	addTo(x.subject, indexKey(info.Issuer, info.Subject), s.ID)
	if info.SID != "" {
		addTo(x.sid, indexKey(info.Issuer, info.SID), s.ID)
	}
}

func (x *memoryIndex) remove(s *Session) {
	info, err := s.Info()
	if err != nil {
		return
	}
	removeFrom(x.subject, indexKey(info.Issuer, info.Subject), s.ID)
	if info.SID != "" {
		removeFrom(x.sid, indexKey(info.Issuer, info.SID), s.ID)
	}
}

func addTo(m map[string]map[string]struct{}, k, id string) {
	set := m[k]
	if set == nil {
		set = make(map[string]struct{})
		m[k] = set
	}
	set[id] = struct{}{}
}

func removeFrom(m map[string]map[string]struct{}, k, id string) {
	if set := m[k]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

// drop deletes the session id and its index entries; m.mu is held.
func (m *MemoryStore) drop(id string) {
	if old, ok := m.sessions[id]; ok {
		m.index.remove(&old)
		delete(m.sessions, id)
	}
}

// RevokeSubject implements RevokingStore.
func (m *MemoryStore) RevokeSubject(_ context.Context, issuer, subject string) (int, error) {
	return m.revoke(false, indexKey(issuer, subject)), nil
}

// RevokeSID implements RevokingStore.
func (m *MemoryStore) RevokeSID(_ context.Context, issuer, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	return m.revoke(true, indexKey(issuer, sid)), nil
}

// revoke deletes the sessions listed under k (in the sid index or the
// subject index) and returns how many of them had not expired.
func (m *MemoryStore) revoke(bySID bool, k string) int {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := m.index.subject
	if bySID {
		idx = m.index.sid
	}
	ids := make([]string, 0, len(idx[k]))
	for id := range idx[k] {
		ids = append(ids, id)
	}
	n := 0
	for _, id := range ids {
		if now.Before(m.sessions[id].ExpiresAt) {
			n++
		}
		m.drop(id)
	}
	return n
}

// ListSessions implements RevokingStore.
func (m *MemoryStore) ListSessions(_ context.Context, issuer, subject string) ([]SessionInfo, error) {
	now := m.now()
	m.mu.Lock()
	var out []SessionInfo
	for id := range m.index.subject[indexKey(issuer, subject)] {
		s := m.sessions[id]
		if info, err := s.Info(); err == nil && now.Before(s.ExpiresAt) {
			out = append(out, info)
		}
	}
	m.mu.Unlock()
	SortSessionInfos(out)
	return out, nil
}

// SortSessionInfos sorts infos oldest first (by Created, then ExpiresAt),
// the order of ListSessions; for implementations of RevokingStore.
func SortSessionInfos(infos []SessionInfo) {
	slices.SortStableFunc(infos, func(a, b SessionInfo) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return a.ExpiresAt.Compare(b.ExpiresAt)
	})
}
