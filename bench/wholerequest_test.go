package bench

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"
)

// wholeRequestWorkers is the load generator's concurrency: closed-loop
// clients, each on its own keep-alive connection, at 1 and at 2 cores.
const wholeRequestWorkers = 8

// poolSize is the pool of tokens the "pool" case cycles through.
const poolSize = 1000

// warmup requests are sent before the timer starts: connections opened,
// keys fetched, and (pool case) every pool token seen once.
const warmup = 200

var (
	supplyOnce sync.Once
	supplyVal  *TokenSupply
)

func supply(tb testing.TB) *TokenSupply {
	s := suite(tb)
	supplyOnce.Do(func() { supplyVal = NewTokenSupply(s.Env, WholeRequestAlg) })
	return supplyVal
}

// serve starts svc on a loopback HTTP/1.1 server.
func serve(tb testing.TB, svc Service) *httptest.Server {
	tb.Helper()
	s := suite(tb)
	h, release, err := svc.Setup(context.Background(), s.Env, WholeRequestAlg)
	if err != nil {
		tb.Fatalf("%s: %v", svc.Name, err)
	}
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		srv.Close()
		if release != nil {
			release()
		}
	})
	return srv
}

// TestServices checks, before anything is timed, that every protected
// service answers the good token with the handler's greeting for alice and
// refuses a missing, tampered, expired or misaddressed token, and that the
// unprotected one answers everything.
func TestServices(t *testing.T) {
	s := suite(t)
	toks := s.Tokens[WholeRequestAlg]
	client := NewLoadClient(1)
	get := func(t *testing.T, url, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, svc := range Services() {
		t.Run(svc.Name, func(t *testing.T) {
			srv := serve(t, svc)
			want := "hello alice\n"
			if !svc.Protected {
				want = "hello anonymous\n"
			}
			if code, body := get(t, srv.URL, toks.Good); code != http.StatusOK || body != want {
				t.Fatalf("good token: %d %q, want 200 %q", code, body, want)
			}
			for _, bad := range []NamedToken{
				{"none", ""},
				{"tampered signature", toks.TamperedSig},
				{"tampered payload", toks.TamperedPayload},
				{"expired", toks.Expired},
				{"wrong audience", toks.WrongAudience},
				{"wrong issuer", toks.WrongIssuer},
			} {
				code, _ := get(t, srv.URL, bad.Token)
				switch {
				case !svc.Protected && code != http.StatusOK:
					t.Errorf("%s: %d, want 200 (unprotected)", bad.Name, code)
				case svc.Protected && (code < 400 || code > 499):
					t.Errorf("%s: %d, want a 4xx refusal", bad.Name, code)
				}
			}
		})
	}
}

// TestLoad checks the load generator: it sends exactly N requests, each
// token once, and stops at the first refusal.
func TestLoad(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("Authorization")]++
		mu.Unlock()
		if r.Header.Get("Authorization") == "Bearer refuse" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	toks := make([]string, 500)
	for i := range toks {
		toks[i] = time.Duration(i).String()
	}
	l := Load{URL: srv.URL, N: len(toks), Workers: 4, Token: func(i int) string { return toks[i] }, Client: NewLoadClient(4)}
	res, err := l.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Latencies) != len(toks) || len(seen) != len(toks) {
		t.Fatalf("%d latencies, %d distinct tokens seen; want %d each", len(res.Latencies), len(seen), len(toks))
	}
	if q50, q99 := res.Quantile(0.5), res.Quantile(0.99); q50 <= 0 || q99 < q50 {
		t.Errorf("p50 %v, p99 %v", q50, q99)
	}
	l.Token = func(i int) string {
		if i == 10 {
			return "refuse"
		}
		return "ok"
	}
	if _, err := l.Run(context.Background()); err == nil {
		t.Error("a 401 did not stop the run")
	}
}

// BenchmarkWholeRequest is a protected endpoint measured over loopback
// HTTP/1.1 with keep-alive: each library's own middleware in front of the
// same handler, and the handler unprotected as the reference, driven by
// Load with wholeRequestWorkers clients in the same process (so -cpu sets
// the cores of server and clients together). One op is one request;
// allocs/op counts the client's allocations too (the same for every
// service, so the difference to "unprotected" is the middleware's).
//
//   - fresh: every request carries a token not seen before (no cache can
//     help): the cost of validating.
//   - pool: requests cycle through 1,000 tokens, each seen in the warm-up
//     already: what an API with returning clients sees, where oidcauth's
//     token cache (WholeRequestCacheSize) answers.
//
// It reports req/s and the p50 and p99 latency in µs. Use -benchtime Nx:
// N requests are sent (and, in the fresh case, N distinct tokens minted
// once, before the first run).
func BenchmarkWholeRequest(b *testing.B) {
	for _, mode := range []string{"fresh", "pool"} {
		for _, svc := range Services() {
			b.Run(mode+"/"+svc.Name, func(b *testing.B) {
				n := warmup + max(poolSize, b.N)
				toks, err := supply(b).Tokens(n)
				if err != nil {
					b.Fatal(err)
				}
				srv := serve(b, svc)
				client := NewLoadClient(wholeRequestWorkers)
				defer client.CloseIdleConnections()
				// Warm-up: the fresh case with tokens it will not send
				// again; the pool case with every pool token.
				wl := Load{URL: srv.URL, N: warmup, Workers: wholeRequestWorkers, Client: client, Token: func(i int) string { return toks[i] }}
				pool := toks[warmup : warmup+poolSize : warmup+poolSize]
				if mode == "pool" {
					wl.N, wl.Token = poolSize, func(i int) string { return pool[i] }
				}
				if _, err := wl.Run(context.Background()); err != nil {
					b.Fatalf("warm-up: %v", err)
				}
				l := Load{URL: srv.URL, N: b.N, Workers: wholeRequestWorkers, Client: client}
				if mode == "fresh" {
					fresh := toks[warmup:]
					l.Token = func(i int) string { return fresh[i] }
				} else {
					l.Token = func(i int) string { return pool[i%poolSize] }
				}
				runtime.GC()
				b.ReportAllocs()
				b.ResetTimer()
				res, err := l.Run(context.Background())
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.PerSecond(), "req/s")
				b.ReportMetric(float64(res.Quantile(0.50))/1e3, "p50-µs")
				b.ReportMetric(float64(res.Quantile(0.99))/1e3, "p99-µs")
			})
		}
	}
}
