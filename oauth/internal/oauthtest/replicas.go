package oauthtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oauth"
)

// StartReplicas starts the provider and n applications (replicas) with the
// same Config, keys and store (o.Store), as a fleet behind a load balancer.
// The Env is replica 0; urls[i] is replica i's base URL. replica(i, cfg),
// when set, changes replica i's Config (i ≥ 1) before its Flow is made.
func StartReplicas(t testing.TB, o Options, n int, replica func(i int, cfg *oauth.Config)) (*Env, []string) {
	t.Helper()
	var cfg oauth.Config
	configure := o.Configure
	o.Configure = func(c *oauth.Config) {
		if configure != nil {
			configure(c)
		}
		cfg = *c
	}
	env := Start(t, o)
	urls := []string{env.App.URL}
	for i := 1; i < n; i++ {
		c := cfg
		if replica != nil {
			replica(i, &c)
		}
		flow, err := oauth.New(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { flow.Close() })
		mux := http.NewServeMux()
		Mount(mux, flow)
		app := httptest.NewTLSServer(mux)
		t.Cleanup(app.Close)
		urls = append(urls, app.URL)
	}
	return env, urls
}

// GetWith makes a GET of url with the cookies cs (no jar, no redirects) and
// returns "STATUS BODY", e.g. "200 OK sub:alice".
func (e *Env) GetWith(t testing.TB, url string, cs []*http.Cookie) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = WithCookies(cs)
	resp, err := e.Plain().Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.Status + " " + string(b)
}

// RefreshStorm checks refreshes across replicas: for each of rounds, it
// advances the clock by ttl (the access token's lifetime) and sends
// perReplica concurrent GETs of PathMe with the session cookies cs to each
// replica. It fails the test unless every request keeps the session
// (answers "200 OK sub:alice"), the provider counted exactly one refresh
// grant per round and no refresh token reuse. It returns the number of
// requests that lost the session.
func (e *Env) RefreshStorm(t testing.TB, urls []string, cs []*http.Cookie, perReplica, rounds int, ttl time.Duration) int {
	t.Helper()
	base := e.IdP.OAuthStats().RefreshGrants
	lostAll := 0
	for round := 1; round <= rounds; round++ {
		e.Clock.Advance(ttl)
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make(chan string, perReplica*len(urls))
		for i := range perReplica * len(urls) {
			wg.Go(func() {
				<-start
				results <- e.GetWith(t, urls[i%len(urls)]+PathMe, cs)
			})
		}
		close(start)
		wg.Wait()
		close(results)
		lost := 0
		for r := range results {
			if r != "200 OK sub:alice" {
				lost++
				t.Logf("round %d: %s", round, r)
			}
		}
		lostAll += lost
		st := e.IdP.OAuthStats()
		if lost != 0 || st.RefreshGrants-base != int64(round) || st.RefreshReuses != 0 {
			t.Errorf("round %d: %d of %d requests lost the session; refresh grants %d (want %d), refresh token reuses %d (want 0)",
				round, lost, perReplica*len(urls), st.RefreshGrants-base, round, st.RefreshReuses)
			return lostAll
		}
	}
	for _, u := range urls {
		if r := e.GetWith(t, u+PathMe, cs); r != "200 OK sub:alice" {
			t.Errorf("%s after the refreshes: %s", u, r)
		}
	}
	return lostAll
}
