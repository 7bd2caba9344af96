package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load is a closed-loop load generator: Workers goroutines, each with its
// own keep-alive HTTP/1.1 connection, send GET requests one after another
// until N have been sent, the i-th carrying Token(i) as a Bearer token
// (none when Token is nil).
type Load struct {
	URL     string
	N       int
	Workers int
	Token   func(i int) string
	// Client sends the requests; NewLoadClient makes a suitable one.
	Client *http.Client
}

// LoadResult is what a run measured.
type LoadResult struct {
	Requests int
	Elapsed  time.Duration
	// Latencies are every request's time from sending to the end of the
	// body, sorted.
	Latencies []time.Duration
}

// PerSecond is requests per second.
func (r LoadResult) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Quantile is the latency below which a fraction q of the requests
// finished (nearest rank).
func (r LoadResult) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.Latencies))+0.5) - 1
	i = max(0, min(i, len(r.Latencies)-1))
	return r.Latencies[i]
}

// NewLoadClient returns a client that keeps one idle connection per
// worker to the host, over HTTP/1.1, without compression.
func NewLoadClient(workers int) *http.Client {
	return &http.Client{
		Timeout: wholeRequestTimeout,
		Transport: &http.Transport{
			MaxIdleConns:        workers,
			MaxIdleConnsPerHost: workers,
			MaxConnsPerHost:     workers,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// Run sends the requests. Every answer must be 200: the first other status
// or error stops the run and is returned.
func (l Load) Run(ctx context.Context) (LoadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	lat := make([][]time.Duration, l.Workers)
	start := time.Now()
	for w := range l.Workers {
		lat[w] = make([]time.Duration, 0, l.N/l.Workers+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= l.N || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := l.one(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res := LoadResult{Requests: l.N, Elapsed: time.Since(start)}
	if firstErr != nil {
		return res, firstErr
	}
	for _, s := range lat {
		res.Latencies = append(res.Latencies, s...)
	}
	slices.Sort(res.Latencies)
	return res, nil
}

func (l Load) one(ctx context.Context, i int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL, nil)
	if err != nil {
		return err
	}
	if l.Token != nil {
		req.Header.Set("Authorization", "Bearer "+l.Token(i))
	}
	resp, err := l.Client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("request %d: %s", i, resp.Status)
	}
	return nil
}
