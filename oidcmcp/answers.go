package oidcmcp

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/oidcauth/oidcauth"
)

// answerKey identifies a kind of answer: everything Answer.Write renders.
type answerKey struct {
	status      int
	code, desc  string
	challenge   oidcauth.Challenge
	retryAfter  time.Duration
	nChallenges int
}

// rendered is an answer as Answer.Write writes it, recorded once.
type rendered struct {
	header http.Header
	status int
	body   []byte
}

// maxRendered bounds the cache; the kinds of answers are few (fixed
// descriptions, the configured scopes), so it is never reached in practice.
const maxRendered = 256

// answers caches rendered answers so that a refusal costs no rendering:
// what is written is exactly what Answer(err).Write(w) writes, recorded
// from it the first time.
type answers struct {
	mu sync.RWMutex
	m  map[answerKey]*rendered
}

func (c *answers) write(w http.ResponseWriter, ans *oidcauth.Answer) {
	if len(ans.Challenges) != 1 {
		ans.Write(w)
		return
	}
	k := answerKey{ans.Status, ans.Error, ans.Description, ans.Challenges[0], ans.RetryAfter, 1}
	c.mu.RLock()
	r := c.m[k]
	c.mu.RUnlock()
	if r == nil {
		rec := httptest.NewRecorder()
		ans.Write(rec)
		r = &rendered{header: rec.Header().Clone(), status: rec.Code, body: rec.Body.Bytes()}
		c.mu.Lock()
		if c.m == nil {
			c.m = make(map[answerKey]*rendered)
		}
		if len(c.m) < maxRendered {
			c.m[k] = r
		}
		c.mu.Unlock()
	}
	h := w.Header()
	for name, v := range r.header {
		h[name] = v // shared, never modified: the slices are ours
	}
	w.WriteHeader(r.status)
	w.Write(r.body) //nolint:errcheck
}
