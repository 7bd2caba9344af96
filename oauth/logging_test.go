package oauth_test

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHoldNoSecrets runs logins that succeed and fail in every way
// that logs, and checks that no code, state, nonce, token, secret or
// cookie value reaches the log.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	env := oauthtest.Start(t, oauthtest.Options{
		Store:    oauth.NewMemoryStore(),
		Logger:   slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Settings: oidctest.OAuthSettings{AccessTokenTTL: accessTTL},
	})
	var secrets []string
	keep := func(rawURL string) {
		u, _ := url.Parse(rawURL)
		for _, k := range []string{"code", "state", "nonce", "code_challenge"} {
			if v := u.Query().Get(k); v != "" {
				secrets = append(secrets, v)
			}
		}
	}
	b := env.NewBrowser(t)
	rs := env.Login(b, "/me")
	keep(rs[0].Location)
	keep(rs[1].Location)
	for _, c := range env.SessionCookies(b) {
		secrets = append(secrets, c.Value)
	}
	// Failures: replay, wrong iss, code injection, refused refresh.
	wantFailure(t, env, b.Get(rs[1].Location), 400, oauth.ErrInvalidState)
	cb := begin(t, env, b, "/me")
	keep(cb)
	wantFailure(t, env, b.Get(withParam(cb, "iss", "https://evil.example")), 400, oauth.ErrIssuerMismatch)
	cb = begin(t, env, b, "/me")
	keep(cb)
	wantFailure(t, env, b.Get(withParam(cb, "code", "injected-code-value")), 401, oauth.ErrExchange)
	env.IdP.RevokeTokens()
	env.Clock.Advance(accessTTL)
	b.Get(env.App.URL + oauthtest.PathPublic)

	out := logs.String()
	if !strings.Contains(out, "login failed") || !strings.Contains(out, "session ended") {
		t.Fatalf("the failures were not logged:\n%s", out)
	}
	secrets = append(secrets, oauthtest.ClientSecret, "injected-code-value", "eyJ")
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log contains a secret (%.12s...):\n%s", s, out)
		}
	}
}
