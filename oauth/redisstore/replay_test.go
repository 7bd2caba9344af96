package redisstore_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/testenv"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth/oauth/redisstore"
)

// replayRedis is the redis-server at OIDCAUTH_REDIS_ADDR for tests and
// benchmarks (internal/testenv).
func replayRedis(tb testing.TB) *redis.Client { return testenv.RedisClient(tb) }

// newReplayCache returns a ReplayCache with a prefix of its own, whose keys
// are deleted at the end of the test.
func newReplayCache(t testing.TB, c *redis.Client) (*redisstore.ReplayCache, string) {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "oidcauth-test:jti:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() { deleteKeys(c, prefix) })
	return redisstore.NewReplayCache(c, prefix), prefix
}

func deleteKeys(c *redis.Client, prefix string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			c.Del(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
}

func TestReplayCache(t *testing.T) {
	c := replayRedis(t)
	rc, prefix := newReplayCache(t, c)
	ctx := t.Context()
	expiry := time.Now().Add(5 * time.Minute)

	tests := []struct {
		name      string
		key       string
		wantFresh bool
	}{
		{"first use", "jkt-1|jti-a", true},
		{"replay", "jkt-1|jti-a", false},
		{"replay again", "jkt-1|jti-a", false},
		{"other jti", "jkt-1|jti-b", true},
		{"same jti, other key", "jkt-2|jti-a", true},
		{"empty key", "", true},
		{"empty key replayed", "", false},
		{"long key", strings.Repeat("x", 64<<10), true},
		{"long key replayed", strings.Repeat("x", 64<<10), false},
	}
	for _, tt := range tests {
		fresh, err := rc.Add(ctx, tt.key, expiry)
		if err != nil || fresh != tt.wantFresh {
			t.Errorf("%s: Add() = %v, %v; want %v, nil", tt.name, fresh, err, tt.wantFresh)
		}
	}

	// Keys are the prefix and a SHA-256: bounded, and no jti in them.
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 {
		t.Errorf("%d keys, want 5: %v", len(keys), keys)
	}
	for _, k := range keys {
		if len(k) != len(prefix)+64 || strings.Contains(k[len(prefix):], "jti") {
			t.Errorf("key %q: want prefix + 64 hex digits", k)
		}
		// Each lives until the expiry, not much longer.
		if ttl := c.PTTL(ctx, k).Val(); ttl <= 4*time.Minute || ttl > 5*time.Minute+time.Second {
			t.Errorf("PTTL(%q) = %v, want about 5m", k, ttl)
		}
		if v := c.Get(ctx, k).Val(); v != "1" {
			t.Errorf("value of %q = %q, want 1", k, v)
		}
	}
}

func TestReplayCacheExpiry(t *testing.T) {
	c := replayRedis(t)
	rc, prefix := newReplayCache(t, c)
	ctx := t.Context()

	// A key recorded until a moment from now is fresh again after it.
	if fresh, err := rc.Add(ctx, "short", time.Now().Add(150*time.Millisecond)); !fresh || err != nil {
		t.Fatalf("Add(short) = %v, %v", fresh, err)
	}
	if fresh, _ := rc.Add(ctx, "short", time.Now().Add(150*time.Millisecond)); fresh {
		t.Error("Add(short) replayed at once was fresh")
	}
	time.Sleep(400 * time.Millisecond)
	if fresh, err := rc.Add(ctx, "short", time.Now().Add(time.Minute)); !fresh || err != nil {
		t.Errorf("Add(short) after its expiry = %v, %v; want true", fresh, err)
	}

	// An expiry already past still records the key for a moment rather
	// than failing: the caller refuses expired proofs before asking.
	if fresh, err := rc.Add(ctx, "past", time.Now().Add(-time.Hour)); !fresh || err != nil {
		t.Errorf("Add(past) = %v, %v; want true, nil", fresh, err)
	}
	keys, _ := c.Keys(ctx, prefix+"*").Result()
	for _, k := range keys {
		if ttl := c.PTTL(ctx, k).Val(); ttl == -1 {
			t.Errorf("key %q has no expiry", k)
		}
	}
}

func TestReplayCachePrefixes(t *testing.T) {
	c := replayRedis(t)
	a, _ := newReplayCache(t, c)
	b, _ := newReplayCache(t, c)
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	if fresh, _ := a.Add(ctx, "k", exp); !fresh {
		t.Fatal("a: first Add not fresh")
	}
	if fresh, _ := b.Add(ctx, "k", exp); !fresh {
		t.Error("b saw a's key: prefixes do not separate caches")
	}
	// Two caches with the same prefix (two replicas) share their keys.
	_, prefix := newReplayCache(t, c)
	r1 := redisstore.NewReplayCache(c, prefix)
	r2 := redisstore.NewReplayCache(c, prefix)
	if fresh, _ := r1.Add(ctx, "k", exp); !fresh {
		t.Fatal("replica 1: first Add not fresh")
	}
	if fresh, _ := r2.Add(ctx, "k", exp); fresh {
		t.Error("replica 2 accepted a key replica 1 recorded")
	}
}

// TestReplayCacheConcurrent: 1,000 distinct keys added from 50 parallel
// clients on 5 replicas are all fresh exactly once, and every replay, also racing, is
// refused.
func TestReplayCacheConcurrent(t *testing.T) {
	c := replayRedis(t)
	_, prefix := newReplayCache(t, c)
	const keys, clients = 1000, 50
	ctx := t.Context()
	exp := time.Now().Add(time.Minute)
	var fresh, replays, errs atomic.Int64
	var wg sync.WaitGroup
	// Five replicas of one API, each with its own Redis client and cache,
	// all on the same prefix; ten goroutines each.
	var replicas []*redisstore.ReplayCache
	for range 5 {
		rc := redis.NewClient(&redis.Options{Addr: c.Options().Addr})
		t.Cleanup(func() { rc.Close() })
		replicas = append(replicas, redisstore.NewReplayCache(rc, prefix))
	}
	for w := range clients {
		rc := replicas[w%len(replicas)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every client tries every key, starting at a different
			// place: each key is raced by all clients.
			for i := range keys {
				k := fmt.Sprintf("jkt|jti-%d", (i+w*keys/clients)%keys)
				ok, err := rc.Add(ctx, k, exp)
				switch {
				case err != nil:
					errs.Add(1)
				case ok:
					fresh.Add(1)
				default:
					replays.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != keys || replays.Load() != keys*(clients-1) || errs.Load() != 0 {
		t.Errorf("fresh %d (want %d), replays %d (want %d), errors %d",
			fresh.Load(), keys, replays.Load(), keys*(clients-1), errs.Load())
	}
}

func TestReplayCacheUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	rc := redisstore.NewReplayCache(c, "")
	fresh, err := rc.Add(t.Context(), "k", time.Now().Add(time.Minute))
	if err == nil || fresh {
		t.Fatalf("Add with Redis down = %v, %v; want false and an error", fresh, err)
	}
	if !strings.HasPrefix(err.Error(), "redisstore: replay cache:") {
		t.Errorf("error %q: want the redisstore: replay cache: prefix", err)
	}

	// A cancelled context is an error too, never a fresh key.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if fresh, err := rc.Add(ctx, "k", time.Now().Add(time.Minute)); err == nil || fresh {
		t.Errorf("Add with a cancelled context = %v, %v", fresh, err)
	}
}

func TestNewReplayCacheNeedsClient(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewReplayCache(nil, ...) did not panic")
		}
	}()
	redisstore.NewReplayCache(nil, "")
}

// BenchmarkReplayCacheAdd measures one Add (a SET NX PX round trip to the
// redis-server at OIDCAUTH_REDIS_ADDR), for fresh keys and for replays,
// from one client and from parallel ones.
func BenchmarkReplayCacheAdd(b *testing.B) {
	c := replayRedis(b)
	exp := time.Now().Add(time.Minute)
	var n atomic.Int64
	b.Run("fresh", func(b *testing.B) {
		rc, _ := newReplayCache(b, c)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := rc.Add(ctx, "jkt|"+fmt.Sprint(n.Add(1)), exp); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("replay", func(b *testing.B) {
		rc, _ := newReplayCache(b, c)
		ctx := context.Background()
		rc.Add(ctx, "jkt|seen", exp)
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := rc.Add(ctx, "jkt|seen", exp); ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("fresh-parallel", func(b *testing.B) {
		rc, _ := newReplayCache(b, c)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, err := rc.Add(ctx, "jkt|"+fmt.Sprint(n.Add(1)), exp); !ok || err != nil {
					b.Error(ok, err)
					return
				}
			}
		})
	})
}

// recordHook answers every command itself, without a server: SET NX gets
// answer (true: stored, false: the key existed) or err, and the commands'
// arguments are kept.
type recordHook struct {
	mu     sync.Mutex
	args   [][]any
	answer bool
	err    error
}

func (h *recordHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *recordHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *recordHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.args = append(h.args, cmd.Args())
		h.mu.Unlock()
		if h.err != nil {
			cmd.SetErr(h.err)
			return h.err
		}
		return answer(cmd, h.answer)
	}
}

// answer answers a SET NX as Redis does: OK (true) when stored, a nil
// reply (false) when the key existed.
func answer(cmd redis.Cmder, stored bool) error {
	cmd.(*redis.BoolCmd).SetVal(stored)
	return nil
}

func hookedClient(h *recordHook) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:9"}) // never dialled: the hook answers
	c.AddHook(h)
	return c
}

// TestReplayCacheCommand pins the command Add sends (no server needed):
// SET prefix+hex(SHA-256(key)) 1 PX ttl NX, with ttl the time left,
// rounded up to a millisecond and at least 1 ms; and how answers map.
func TestReplayCacheCommand(t *testing.T) {
	t.Parallel()
	h := &recordHook{answer: true}
	c := hookedClient(h)
	defer c.Close()
	rc := redisstore.NewReplayCache(c, "p:")
	ctx := t.Context()
	key := "jkt|jti"
	sum := sha256.Sum256([]byte(key))
	wantKey := "p:" + hex.EncodeToString(sum[:])

	tests := []struct {
		name         string
		expiry       time.Time
		minMs, maxMs int64
	}{
		{"a minute ahead", time.Now().Add(time.Minute), 59_900, 60_001},
		{"1.5 ms ahead, rounded up", time.Now().Add(1500 * time.Microsecond), 1, 2},
		{"past: 1 ms", time.Now().Add(-time.Hour), 1, 1},
	}
	for _, tt := range tests {
		h.args = nil
		fresh, err := rc.Add(ctx, key, tt.expiry)
		if !fresh || err != nil {
			t.Errorf("%s: Add() = %v, %v; want true, nil", tt.name, fresh, err)
		}
		if len(h.args) != 1 || len(h.args[0]) != 6 {
			t.Fatalf("%s: commands %v, want one SET with 6 arguments", tt.name, h.args)
		}
		a := h.args[0]
		ms, _ := a[4].(int64)
		if a[0] != "set" || a[1] != wantKey || a[2] != "1" || a[3] != "px" || a[5] != "nx" || ms < tt.minMs || ms > tt.maxMs {
			t.Errorf("%s: command %v, want set %s 1 px [%d..%d] nx", tt.name, a, wantKey, tt.minMs, tt.maxMs)
		}
	}

	// The default prefix.
	h.args = nil
	redisstore.NewReplayCache(c, "").Add(ctx, key, time.Now().Add(time.Minute)) //nolint:errcheck // the command is what is checked
	if k, _ := h.args[0][1].(string); k != redisstore.DefaultReplayPrefix+hex.EncodeToString(sum[:]) {
		t.Errorf("key with the default prefix %q", k)
	}

	// Already present: a replay. An error answer: an error, not fresh.
	h.answer = false
	if fresh, err := rc.Add(ctx, key, time.Now().Add(time.Minute)); fresh || err != nil {
		t.Errorf("key present: Add() = %v, %v; want false, nil", fresh, err)
	}
	h.err = errors.New("READONLY You can't write against a read only replica.")
	if fresh, err := rc.Add(ctx, key, time.Now().Add(time.Minute)); fresh || !errors.Is(err, h.err) {
		t.Errorf("error answer: Add() = %v, %v; want false and the error wrapped", fresh, err)
	}
}

// BenchmarkReplayCacheOverhead measures what Add costs on the caller's side
// (hashing the key, building the command, go-redis's processing), with a
// hook answering instead of a server: the part that does not depend on
// the network.
func BenchmarkReplayCacheOverhead(b *testing.B) {
	h := &recordHook{answer: true}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:9"})
	c.AddHook(noRecordHook{h})
	defer c.Close()
	rc := redisstore.NewReplayCache(c, "")
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	key := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs|e1j3V_bKic8-LAEB"
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := rc.Add(ctx, key, exp); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// noRecordHook answers like recordHook without keeping the arguments.
type noRecordHook struct{ h *recordHook }

func (n noRecordHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (n noRecordHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (n noRecordHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		return answer(cmd, n.h.answer)
	}
}

// ExampleNewReplayCache shares the DPoP replay cache of an API's replicas
// through Redis.
func ExampleNewReplayCache() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close()
	replay := redisstore.NewReplayCache(rdb, "myapi:dpop-jti:")
	// Give it to the Authorizer: Config.DPoP.ReplayCache = replay. Each
	// accepted proof is then recorded once for the whole fleet:
	fresh, err := replay.Add(context.Background(), "thumbprint|jti", time.Now().Add(time.Minute))
	_, _ = fresh, err // false: a replay; err: Redis did not answer (503)
}
