package redisstore_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth/redisstore"
	"github.com/oidcauth/oidcauth/oidctest"
)

// dpopFleet starts n replicas of an API (httptest servers behind
// Authorizer.Required) sharing the ReplayCache rc, all trusting p, and
// returns their URLs.
func dpopFleet(t *testing.T, p *oidctest.Provider, rc oidcauth.ReplayCache, n int) []string {
	t.Helper()
	var urls []string
	for range n {
		a, err := oidcauth.New(t.Context(), oidcauth.Config{
			Issuer: p.Issuer(), Audiences: []string{"api"}, Realm: "api",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			DPoP:   &oidcauth.DPoPConfig{ReplayCache: rc},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		srv := httptest.NewServer(a.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	return urls
}

// TestDPoPReplayFleet: 1,000 distinct proofs for one token, each sent twice
// at once to two different replicas sharing the Redis replay cache, from
// parallel clients: every proof is accepted exactly once and every replay
// is refused (401 invalid_dpop_proof).
func TestDPoPReplayFleet(t *testing.T) {
	c := replayRedis(t)
	rc, _ := newReplayCache(t, c)
	p := oidctest.New(t)
	urls := dpopFleet(t, p, rc, 2)
	key, err := oidctest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.MintDPoPBound(key, map[string]any{"aud": "api", "sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	// A proof's htu is the URL it is sent to: both replicas listen on
	// 127.0.0.1 but on different ports, so each proof is made for a
	// path both accept under one host: the replicas' host is rewritten
	// to a shared name, as behind a load balancer.
	const public = "http://api.test/r"
	const proofs = 1000
	list := make([]string, proofs)
	for i := range list {
		if list[i], err = key.Proof("GET", public, tok); err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	defer client.CloseIdleConnections()
	var ok, replays, other atomic.Int64
	send := func(base, proof string) {
		req, _ := http.NewRequest("GET", base+"/r", nil)
		req.Host = "api.test"
		req.Header.Set("Authorization", "DPoP "+tok)
		req.Header.Set("DPoP", proof)
		res, err := client.Do(req)
		if err != nil {
			other.Add(1)
			return
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck // drained
		res.Body.Close()
		switch {
		case res.StatusCode == 200:
			ok.Add(1)
		case res.StatusCode == 401 && strings.Join(res.Header.Values("WWW-Authenticate"), ", ") == `Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`:
			replays.Add(1)
		default:
			t.Logf("status %d %q", res.StatusCode, res.Header.Values("WWW-Authenticate"))
			other.Add(1)
		}
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for proof := range work {
				// Each proof goes to both replicas at once.
				var pair sync.WaitGroup
				pair.Add(2)
				go func() { defer pair.Done(); send(urls[w%2], proof) }()
				go func() { defer pair.Done(); send(urls[(w+1)%2], proof) }()
				pair.Wait()
			}
		}()
	}
	for _, proof := range list {
		work <- proof
	}
	close(work)
	wg.Wait()
	if ok.Load() != proofs || replays.Load() != proofs || other.Load() != 0 {
		t.Errorf("accepted %d, replays refused %d, other answers %d; want %d, %d, 0", ok.Load(), replays.Load(), other.Load(), proofs, proofs)
	}
}

// TestDPoPReplayCacheDown: with Redis unreachable, a valid proof is answered
// 503, never let through.
func TestDPoPReplayCacheDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	p := oidctest.New(t)
	urls := dpopFleet(t, p, redisstore.NewReplayCache(c, ""), 1)
	key, _ := oidctest.NewDPoPKey("ES256")
	tok, _ := p.MintDPoPBound(key, map[string]any{"aud": "api", "sub": "alice"})
	proof, _ := key.Proof("GET", urls[0]+"/r", tok)
	req, _ := http.NewRequestWithContext(context.Background(), "GET", urls[0]+"/r", nil)
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("with Redis down: status %d %q, want 503", res.StatusCode, res.Header.Values("WWW-Authenticate"))
	}
}

// BenchmarkDPoPRequestRedis measures one DPoP request through Required
// with the Redis replay cache (token validation, proof check, one SET NX
// round trip to OIDCAUTH_REDIS_ADDR), against the memory cache.
func BenchmarkDPoPRequestRedis(b *testing.B) {
	c := replayRedis(b)
	p := oidctest.New(b)
	key, _ := oidctest.NewDPoPKey("ES256")
	tok, _ := p.MintDPoPBound(key, map[string]any{"aud": "api", "sub": "alice"})
	const url = "http://api.test/r"
	for _, tc := range []struct {
		name string
		rc   oidcauth.ReplayCache
	}{
		{"redis", nil},
		{"memory", oidcauth.NewMemoryReplayCache(0)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rc := tc.rc
			if rc == nil {
				rc, _ = newReplayCache(b, c)
			}
			a, err := oidcauth.New(b.Context(), oidcauth.Config{
				Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
				DPoP: &oidcauth.DPoPConfig{ReplayCache: rc},
			})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			h := a.Required(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i], _ = key.Proof("GET", url, tok)
			}
			reqs := make([]*http.Request, b.N)
			for i := range reqs {
				r := httptest.NewRequest("GET", url, nil)
				r.Header.Set("Authorization", "DPoP "+tok)
				r.Header.Set("DPoP", proofs[i])
				reqs[i] = r
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, reqs[i])
				if w.Code != 200 {
					b.Fatalf("status %d %q", w.Code, w.Header().Values("WWW-Authenticate"))
				}
			}
		})
	}
}
