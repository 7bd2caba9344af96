// Package storetest checks that an [oauth.Store] keeps the store contract
// of package oauth, for the stores of this module and for your own:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) oauth.Store { return newMyStore(t) })
//	}
//
// Run checks, each in a subtest with a fresh store from newStore:
//
//  1. Create then Load gives the session back, every field (times to the
//     second); a junk, unknown or deleted value loads as ErrNoSession;
//  2. Update replaces the session; Update of a deleted session answers
//     ErrNoSession and does not bring it back; Delete of an unknown
//     session is no error;
//  3. a session past its ExpiresAt loads as ErrNoSession (the test waits
//     about two seconds for it);
//  4. concurrent Updates of one session all succeed and leave one of
//     them; Updates racing a Delete never bring the session back;
//  5. when the store implements [oauth.RevokingStore]: RevokeSID and
//     RevokeSubject delete exactly the sessions of that sid or subject at
//     that issuer and count them; ListSessions lists a subject's
//     unexpired sessions oldest first, with user agent and sid, without
//     secrets; revoked sessions load as ErrNoSession and cannot be
//     updated back.
//
// [Outage] checks what a Flow answers while the store is down: 503, never
// a redirect to the login, and the same session once the store is back.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
)

// Run runs the conformance tests against the stores newStore returns. Each
// subtest calls newStore once; newStore should give each call a store of
// its own (a key prefix, a table) and clean it up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) oauth.Store) {
	t.Run("CreateLoad", func(t *testing.T) { testCreateLoad(t, newStore(t)) })
	t.Run("UpdateDelete", func(t *testing.T) { testUpdateDelete(t, newStore(t)) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, newStore(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, newStore(t)) })
}

// NewSession returns a session of subject at issuer, with sid when not
// empty, lasting lifetime from now. Its ID token is not signed (stores do
// not verify it): only its payload, with iss, sub, aud and sid, means
// anything.
func NewSession(issuer, subject, sid string, lifetime time.Duration) *oauth.Session {
	b := make([]byte, 32)
	rand.Read(b)
	claims := map[string]any{"iss": issuer, "sub": subject, "aud": "storetest"}
	if sid != "" {
		claims["sid"] = sid
	}
	p, _ := json.Marshal(claims)
	now := time.Now().Truncate(time.Second)
	return &oauth.Session{
		ID:                base64.RawURLEncoding.EncodeToString(b),
		IDToken:           "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(p) + ".c2ln",
		AccessToken:       "at-" + hex.EncodeToString(b[:4]),
		AccessTokenExpiry: now.Add(5 * time.Minute),
		RefreshToken:      "rt-" + hex.EncodeToString(b[4:8]),
		CreatedAt:         now,
		ExpiresAt:         now.Add(lifetime),
		UserAgent:         "storetest/1.0 (" + subject + ")",
	}
}

func issuer() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "https://idp-" + hex.EncodeToString(b) + ".example"
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// same reports the first difference between two sessions, times compared
// to the second (the JSON form keeps seconds).
func same(got, want *oauth.Session) error {
	sec := func(a, b time.Time) bool { return a.Unix() == b.Unix() && a.IsZero() == b.IsZero() }
	switch {
	case got == nil:
		return errors.New("nil session")
	case got.ID != want.ID:
		return errors.New("ID differs")
	case got.IDToken != want.IDToken:
		return errors.New("IDToken differs")
	case got.AccessToken != want.AccessToken || !sec(got.AccessTokenExpiry, want.AccessTokenExpiry):
		return errors.New("access token differs")
	case got.RefreshToken != want.RefreshToken:
		return errors.New("RefreshToken differs")
	case !sec(got.CreatedAt, want.CreatedAt) || !sec(got.ExpiresAt, want.ExpiresAt) || !sec(got.LastSeen, want.LastSeen):
		return fmt.Errorf("times differ: got %v/%v/%v, want %v/%v/%v", got.CreatedAt, got.ExpiresAt, got.LastSeen,
			want.CreatedAt, want.ExpiresAt, want.LastSeen)
	case got.UserAgent != want.UserAgent:
		return fmt.Errorf("UserAgent = %q, want %q", got.UserAgent, want.UserAgent)
	}
	return nil
}

func mustCreate(t *testing.T, s oauth.Store, sess *oauth.Session) string {
	t.Helper()
	v, err := s.Create(ctx(t), sess)
	if err != nil {
		t.Fatalf("Create() error = %v", err)
	}
	return v
}

func wantNoSession(t *testing.T, s oauth.Store, v, what string) {
	t.Helper()
	if got, err := s.Load(ctx(t), v); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Load(%s) = %v, %v; want ErrNoSession", what, got != nil, err)
	}
}

func testCreateLoad(t *testing.T, s oauth.Store) {
	sess := NewSession(issuer(), "alice", "sid-1", time.Hour)
	sess.LastSeen = sess.CreatedAt.Add(time.Minute)
	v := mustCreate(t, s, sess)
	if v == "" {
		t.Fatal("Create() returned an empty value")
	}
	got, err := s.Load(ctx(t), v)
	if err != nil {
		t.Fatalf("Load() error = %v", err)
	}
	if err := same(got, sess); err != nil {
		t.Errorf("Load() after Create: %v", err)
	}
	other := NewSession(issuer(), "alice", "", time.Hour)
	for _, junk := range []string{"", "x", strings.Repeat("A", 44), "../../etc/passwd", "' OR 1=1 --", other.ID} {
		wantNoSession(t, s, junk, fmt.Sprintf("%.12q", junk))
	}
}

func testUpdateDelete(t *testing.T, s oauth.Store) {
	sess := NewSession(issuer(), "bob", "", time.Hour)
	v := mustCreate(t, s, sess)
	ns := *sess
	ns.AccessToken, ns.RefreshToken = "at-new", "rt-new"
	ns.LastSeen = sess.CreatedAt.Add(2 * time.Minute)
	v2, err := s.Update(ctx(t), v, &ns)
	if err != nil {
		t.Fatalf("Update() error = %v", err)
	}
	got, err := s.Load(ctx(t), v2)
	if err != nil {
		t.Fatalf("Load() after Update error = %v", err)
	}
	if err := same(got, &ns); err != nil {
		t.Errorf("Load() after Update: %v", err)
	}
	if err := s.Delete(ctx(t), v2); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	wantNoSession(t, s, v2, "deleted")
	if _, err := s.Update(ctx(t), v2, &ns); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Update() of a deleted session error = %v, want ErrNoSession", err)
	}
	wantNoSession(t, s, v2, "deleted then updated")
	if err := s.Delete(ctx(t), v2); err != nil {
		t.Errorf("Delete() of a deleted session error = %v, want nil", err)
	}
	if err := s.Delete(ctx(t), "unknown"); err != nil {
		t.Errorf("Delete(junk) error = %v, want nil", err)
	}
}

func testExpiry(t *testing.T, s oauth.Store) {
	short := NewSession(issuer(), "carol", "", 0)
	short.ExpiresAt = time.Now().Truncate(time.Second).Add(time.Second)
	v := mustCreate(t, s, short)
	long := NewSession(issuer(), "carol", "", time.Hour)
	lv := mustCreate(t, s, long)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := s.Load(ctx(t), v)
		if errors.Is(err, oauth.ErrNoSession) {
			break
		}
		if err != nil {
			t.Fatalf("Load() error = %v", err)
		}
		if time.Now().After(short.ExpiresAt.Add(time.Second)) || time.Now().After(deadline) {
			t.Fatalf("Load() served a session past its ExpiresAt %v (now %v)", short.ExpiresAt, time.Now())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.Load(ctx(t), lv); err != nil {
		t.Errorf("Load() of an unexpired session error = %v", err)
	}
}

func testConcurrent(t *testing.T, s oauth.Store) {
	sess := NewSession(issuer(), "dave", "sid-c", time.Hour)
	v := mustCreate(t, s, sess)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := *sess
			ns.AccessToken = fmt.Sprintf("at-%d", i)
			if _, err := s.Update(ctx(t), v, &ns); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update() error = %v", err)
	}
	got, err := s.Load(ctx(t), v)
	if err != nil || !strings.HasPrefix(got.AccessToken, "at-") || got.ID != sess.ID {
		t.Fatalf("Load() after concurrent updates = %+v, %v", got, err)
	}

	// Updates racing a Delete: whatever the order, the session ends
	// deleted (a refresh finishing after a logout cannot bring it back).
	for range 4 {
		sess := NewSession(issuer(), "dave", "", time.Hour)
		v := mustCreate(t, s, sess)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ns := *sess
				ns.AccessToken = fmt.Sprintf("race-%d", i)
				s.Update(ctx(t), v, &ns) //nolint:errcheck // ErrNoSession after the Delete is expected
			}()
		}
		if err := s.Delete(ctx(t), v); err != nil {
			t.Fatalf("Delete() error = %v", err)
		}
		wg.Wait()
		ns := *sess
		if _, err := s.Update(ctx(t), v, &ns); !errors.Is(err, oauth.ErrNoSession) {
			t.Errorf("Update() after Delete error = %v, want ErrNoSession", err)
		}
		wantNoSession(t, s, v, "deleted while updated")
	}
}

func testRevoke(t *testing.T, s oauth.Store) {
	rs, ok := s.(oauth.RevokingStore)
	if !ok {
		t.Skipf("%T does not implement oauth.RevokingStore", s)
	}
	iss, iss2 := issuer(), issuer()
	a1 := NewSession(iss, "alice", "sid-x", time.Hour)
	a2 := NewSession(iss, "alice", "sid-x", time.Hour)
	a2.CreatedAt = a2.CreatedAt.Add(time.Second)
	a3 := NewSession(iss, "alice", "sid-y", time.Hour)
	a3.CreatedAt = a3.CreatedAt.Add(2 * time.Second)
	a4 := NewSession(iss, "alice", "", time.Hour) // no sid: by subject only
	a4.CreatedAt = a4.CreatedAt.Add(3 * time.Second)
	b1 := NewSession(iss, "bob", "sid-x", time.Hour)    // same sid, other subject: a provider bug, but same sid
	o1 := NewSession(iss2, "alice", "sid-x", time.Hour) // other issuer
	vals := map[*oauth.Session]string{}
	for _, sess := range []*oauth.Session{a3, a1, a4, a2, b1, o1} {
		vals[sess] = mustCreate(t, s, sess)
	}
	// An update keeps the session indexed.
	a1u := *a1
	a1u.LastSeen = a1.CreatedAt.Add(time.Minute)
	if _, err := s.Update(ctx(t), vals[a1], &a1u); err != nil {
		t.Fatalf("Update() error = %v", err)
	}

	list, err := rs.ListSessions(ctx(t), iss, "alice")
	if err != nil {
		t.Fatalf("ListSessions() error = %v", err)
	}
	want := []*oauth.Session{&a1u, a2, a3, a4}
	if len(list) != len(want) {
		t.Fatalf("ListSessions() = %d sessions, want %d: %+v", len(list), len(want), list)
	}
	for i, w := range want {
		g := list[i]
		wsid := ""
		if info, err := w.Info(); err == nil {
			wsid = info.SID
		}
		if g.Created.Unix() != w.CreatedAt.Unix() || g.LastSeen.Unix() != w.LastSeen.Unix() || g.LastSeen.IsZero() != w.LastSeen.IsZero() ||
			g.ExpiresAt.Unix() != w.ExpiresAt.Unix() || g.UserAgent != w.UserAgent || g.SID != wsid ||
			g.Issuer != iss || g.Subject != "alice" {
			t.Errorf("ListSessions()[%d] = %+v, want the session created %v (sid %q)", i, g, w.CreatedAt, wsid)
		}
	}
	if l, err := rs.ListSessions(ctx(t), iss, "nobody"); err != nil || len(l) != 0 {
		t.Errorf("ListSessions(nobody) = %v, %v; want none", l, err)
	}

	// By sid: a1 and a2, and bob's b1 (the same sid at the same issuer);
	// not o1 (another issuer).
	n, err := rs.RevokeSID(ctx(t), iss, "sid-x")
	if err != nil || n != 3 {
		t.Errorf("RevokeSID() = %d, %v; want 3", n, err)
	}
	for _, gone := range []*oauth.Session{a1, a2, b1} {
		wantNoSession(t, s, vals[gone], "revoked by sid")
	}
	if _, err := s.Update(ctx(t), vals[a1], &a1u); !errors.Is(err, oauth.ErrNoSession) {
		t.Errorf("Update() of a revoked session error = %v, want ErrNoSession", err)
	}
	for _, kept := range []*oauth.Session{a3, a4, o1} {
		if _, err := s.Load(ctx(t), vals[kept]); err != nil {
			t.Errorf("Load() of a session RevokeSID should keep error = %v", err)
		}
	}
	if n, err := rs.RevokeSID(ctx(t), iss, "sid-x"); err != nil || n != 0 {
		t.Errorf("RevokeSID() again = %d, %v; want 0", n, err)
	}
	if n, err := rs.RevokeSID(ctx(t), iss, ""); err != nil || n != 0 {
		t.Errorf("RevokeSID(empty sid) = %d, %v; want 0", n, err)
	}

	// By subject: a3, a4; not o1.
	n, err = rs.RevokeSubject(ctx(t), iss, "alice")
	if err != nil || n != 2 {
		t.Errorf("RevokeSubject() = %d, %v; want 2", n, err)
	}
	wantNoSession(t, s, vals[a3], "revoked by subject")
	wantNoSession(t, s, vals[a4], "revoked by subject")
	if _, err := s.Load(ctx(t), vals[o1]); err != nil {
		t.Errorf("Load() of another issuer's session error = %v", err)
	}
	if l, err := rs.ListSessions(ctx(t), iss, "alice"); err != nil || len(l) != 0 {
		t.Errorf("ListSessions() after RevokeSubject = %v, %v; want none", l, err)
	}
	if l, err := rs.ListSessions(ctx(t), iss2, "alice"); err != nil || len(l) != 1 {
		t.Errorf("ListSessions(other issuer) = %v, %v; want 1", l, err)
	}
}
