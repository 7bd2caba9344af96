package oauth

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func testSession(now time.Time) *Session {
	return &Session{ID: randomString(), IDToken: "h.eyJzdWIiOiJhbGljZSJ9.s", AccessToken: "at", RefreshToken: "rt",
		AccessTokenExpiry: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(8 * time.Hour)}
}

func TestSessionJSON(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	s := testSession(now)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got Session
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || got.IDToken != s.IDToken || got.AccessToken != s.AccessToken || got.RefreshToken != s.RefreshToken ||
		!got.AccessTokenExpiry.Equal(s.AccessTokenExpiry) || !got.CreatedAt.Equal(s.CreatedAt) || !got.ExpiresAt.Equal(s.ExpiresAt) {
		t.Errorf("round trip: %+v\nwant %+v", got, s)
	}
	for _, bad := range []string{`{}`, `{"v":2,"id":"` + s.ID + `","idt":"x","e":1}`, `{"v":1,"id":"short","idt":"x","e":1}`, `{"v":1,"id":"` + s.ID + `","e":1}`} {
		if err := json.Unmarshal([]byte(bad), new(Session)); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	m := newMemoryStore(clock)
	ctx := t.Context()
	s := testSession(now)
	v, err := m.Create(ctx, s)
	if err != nil || v != s.ID {
		t.Fatalf("Create = %q, %v", v, err)
	}
	got, err := m.Load(ctx, v)
	if err != nil || got.AccessToken != "at" {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	got.AccessToken = "changed" // callers get copies
	if again, _ := m.Load(ctx, v); again.AccessToken != "at" {
		t.Error("Load returned the stored session itself")
	}
	ns := *s
	ns.AccessToken = "at2"
	if v2, err := m.Update(ctx, v, &ns); err != nil || v2 != v {
		t.Fatalf("Update = %q, %v", v2, err)
	}
	if err := m.Delete(ctx, v); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(ctx, v); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load after Delete: %v", err)
	}
	if _, err := m.Update(ctx, v, &ns); !errors.Is(err, ErrNoSession) {
		t.Errorf("Update after Delete: %v", err)
	}
	if err := m.Delete(ctx, v); err != nil {
		t.Errorf("second Delete: %v", err)
	}

	// Expiry: on lookup, and swept on Create.
	old := testSession(now)
	old.ExpiresAt = now.Add(time.Minute)
	m.Create(ctx, old)
	now = now.Add(2 * time.Minute)
	if _, err := m.Load(ctx, old.ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired session loaded: %v", err)
	}
	other := testSession(now)
	other.ExpiresAt = now.Add(time.Minute)
	m.Create(ctx, other)
	now = now.Add(2 * time.Minute)
	m.Create(ctx, testSession(now))
	if m.Len() != 1 {
		t.Errorf("Len = %d after the sweep, want 1", m.Len())
	}
}

func TestCookieStore(t *testing.T) {
	t.Parallel()
	now := time.Now()
	sealer, _ := newSealer([][]byte{GenerateKey()}, "session", "app")
	c := &cookieStore{sealer: sealer, now: func() time.Time { return now }, ad: "__Host-oidcauth"}
	s := testSession(now)
	v, err := c.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Load(t.Context(), v); err != nil || got.ID != s.ID {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	now = s.ExpiresAt
	if _, err := c.Load(t.Context(), v); !errors.Is(err, ErrNoSession) {
		t.Errorf("expired cookie session: %v", err)
	}
}
