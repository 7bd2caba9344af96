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
// GET, the update, unlock) once per IdleTimeout/10, 5 for a refresh
// (the same) besides the token request.
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
		want    int // round trips
	}{
		{"inside the touch interval", time.Minute, 1},
		{"again", time.Second, 1},
		{"record of use", 3 * time.Minute, 5},
		{"refresh", ttl, 5},
		{"after the refresh", time.Second, 1},
	} {
		env.Clock.Advance(tt.advance)
		if r := b.Get(env.App.URL + oauthtest.PathMe); r.Status != 200 {
			t.Fatalf("%s: %d", tt.name, r.Status)
		}
		var cmds []string
		for _, c := range log.take() {
			// A script's first run on a fresh server: EVALSHA, NOSCRIPT,
			// EVAL: one round trip more, once per server.
			if c == "EVAL" && len(cmds) > 0 && cmds[len(cmds)-1] == "EVALSHA" {
				continue
			}
			cmds = append(cmds, c)
		}
		if len(cmds) != tt.want {
			t.Errorf("%s: %d Redis round trips %v, want %d", tt.name, len(cmds), cmds, tt.want)
			continue
		}
		// Under the lock: the load, the lock (SET NX PX), ..., the unlock
		// script last.
		if tt.want == 5 && (cmds[0] != "GET" || cmds[1] != "SET" || cmds[2] != "GET" || cmds[4] != "EVALSHA") {
			t.Errorf("%s: Redis commands %v, want GET, SET (lock), GET, the update, EVALSHA (unlock)", tt.name, cmds)
		}
	}
}
