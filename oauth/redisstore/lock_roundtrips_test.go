package redisstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// commandLog records the Redis commands a client sends.
type commandLog struct {
	mu   sync.Mutex
	cmds []string
}

func (l *commandLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *commandLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		l.mu.Lock()
		l.cmds = append(l.cmds, strings.ToUpper(cmd.Name()))
		l.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (l *commandLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cmds
	l.cmds = nil
	return c
}

// TestRoundTrips pins the Redis round trips per request: 1 (GET) for a
// request inside the touch interval, 5 for a record of use (GET, lock,
// GET, SET XX, unlock) once per IdleTimeout/10, 5 for a refresh (GET,
// lock, GET, SET XX, unlock) besides the token request.
func TestRoundTrips(t *testing.T) {
	t.Parallel()
	c := redisClient(t)
	log := &commandLog{}
	c.AddHook(log)
	s, _ := newStore(t, c)
	const ttl = 10 * time.Minute
	env := oauthtest.Start(t, oauthtest.Options{Store: s,
		Settings:  oidctest.OAuthSettings{AccessTokenTTL: ttl},
		Configure: func(cfg *oauth.Config) { cfg.IdleTimeout = 30 * time.Minute }})
	b := env.NewBrowser(t)
	env.Login(b, "/me")
	log.take()
	for _, tt := range []struct {
		name    string
		advance time.Duration
		want    string
	}{
		{"inside the touch interval", time.Minute, "GET"},
		{"again", time.Second, "GET"},
		{"record of use", 3 * time.Minute, "GET SET GET SET EVALSHA"},
		{"refresh", ttl, "GET SET GET SET EVALSHA"},
		{"after the refresh", time.Second, "GET"},
	} {
		env.Clock.Advance(tt.advance)
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != 200 {
			t.Fatalf("%s: %d", tt.name, r.Status)
		}
		got := strings.Join(log.take(), " ")
		// The script's first run on a fresh server: EVALSHA, NOSCRIPT, EVAL.
		got = strings.ReplaceAll(got, "EVALSHA EVAL", "EVALSHA")
		if got != tt.want {
			t.Errorf("%s: Redis commands %q, want %q", tt.name, got, tt.want)
		}
	}
}
