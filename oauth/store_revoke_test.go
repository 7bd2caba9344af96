package oauth_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oauth/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) oauth.Store { return oauth.NewMemoryStore() })
}

// A login records the browser's User-Agent (cut to MaxUserAgentLen) and the
// ID token's iss and sub, so that the store lists it.
func TestLoginRecordsSessionInfo(t *testing.T) {
	store := oauth.NewMemoryStore()
	env := oauthtest.Start(t, oauthtest.Options{Store: store})
	b := env.NewBrowser(t)
	ua := "Mozilla/5.0 " + strings.Repeat("é", 200)
	b.Header.Set("User-Agent", ua)
	env.Login(b, oauthtest.PathMe)
	list, err := store.ListSessions(t.Context(), env.IdP.Issuer(), "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSessions() = %+v, %v; want 1 session", list, err)
	}
	got := list[0].UserAgent
	if len(got) > oauth.MaxUserAgentLen || !utf8.ValidString(got) || !strings.HasPrefix(ua, got) || len(got) < oauth.MaxUserAgentLen-1 {
		t.Errorf("UserAgent = %q (%d bytes), want the first %d bytes of the header on a rune boundary", got, len(got), oauth.MaxUserAgentLen)
	}
	if list[0].Issuer != env.IdP.Issuer() || list[0].Subject != "alice" || list[0].Created.IsZero() {
		t.Errorf("ListSessions()[0] = %+v", list[0])
	}
}

// BenchmarkMemoryStoreLoad is Store.Load of one session from a MemoryStore
// (no round trip).
func BenchmarkMemoryStoreLoad(b *testing.B) {
	s := oauth.NewMemoryStore()
	sess := storetest.NewSession("https://idp.example", "alice", "sid", time.Hour)
	v, _ := s.Create(b.Context(), sess)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Load(b.Context(), v); err != nil {
			b.Fatal(err)
		}
	}
}
