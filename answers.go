package oidcauth

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// answerCache holds the rendered default answers of one Authorizer or
// Issuers: for each kind of refusal (status, error code, description and
// the scope, acr_values and max_age the requirements ask for), the
// WWW-Authenticate value and the JSON body, rendered once by Answer.Write's
// own code and then reused, so that WriteError allocates nothing beyond
// the response's header map. The kinds are few: they come from the
// library's fixed texts and the application's requirements, never from
// the token or the request; the cache still stops growing at
// maxCachedAnswers, after which answers are rendered per request.
type answerCache struct {
	realm, metadataURL string

	mu sync.RWMutex
	m  map[answerKey]*renderedAnswer
}

const maxCachedAnswers = 256

type answerKey struct {
	status             int
	code, desc         string
	scope, acr, maxAge string
}

type renderedAnswer struct {
	challenge []string // WWW-Authenticate, nil for 503 and 500
	body      []byte
}

var (
	hdrNoStore = []string{"no-store"}
	hdrRetry1  = []string{"1"}
)

func newAnswerCache(realm, metadataURL string) *answerCache {
	return &answerCache{realm: realm, metadataURL: metadataURL, m: make(map[answerKey]*renderedAnswer)}
}

// answer is the Answer for err (see answerWith).
func (c *answerCache) answer(err error) Answer { return answerWith(c.realm, c.metadataURL, err) }

// write writes c.answer(err) as Answer.Write does, from the cache.
// The header values are slices of length and capacity 1 shared by every
// response: assigning them costs nothing, and appending to them copies.
func (c *answerCache) write(w http.ResponseWriter, err error) {
	r, status, retry := c.lookup(err)
	h := w.Header()
	if len(r.challenge) == 1 {
		h["Www-Authenticate"] = r.challenge[:1:1]
	} else if r.challenge != nil {
		h["Www-Authenticate"] = append([]string(nil), r.challenge...)
	}
	if status == http.StatusServiceUnavailable {
		if retry > 0 {
			h.Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
		} else {
			h["Retry-After"] = hdrRetry1[:1:1]
		}
	}
	h["Content-Type"] = hdrJSON[:1:1]
	h["Cache-Control"] = hdrNoStore[:1:1]
	w.WriteHeader(status)
	w.Write(r.body) //nolint:errcheck
}

// key returns the cache key of err's answer, and its ValidationError.
func answerKeyOf(err error) (answerKey, *ValidationError) {
	k := answerKey{status: StatusCode(err)}
	k.code, k.desc = errorCode(err)
	ve := asValidationError(err)
	if k.status == http.StatusServiceUnavailable {
		k.code = "temporarily_unavailable"
		if errors.Is(err, ErrIntrospectionFailed) {
			k.desc = "introspection"
		}
	}
	if ve != nil {
		if k.status == http.StatusForbidden {
			k.scope = ve.Scope
		}
		if errors.Is(err, ErrInsufficientUserAuthentication) {
			k.acr, k.maxAge = ve.ACRValues, ve.MaxAge
		}
	}
	return k, ve
}

// asValidationError is errors.As(err, &ve) without its allocation.
func asValidationError(err error) *ValidationError {
	for err != nil {
		switch e := err.(type) {
		case *ValidationError:
			return e
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				if ve := asValidationError(inner); ve != nil {
					return ve
				}
			}
			return nil
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// render renders ans as Answer.Write would.
func render(ans *Answer) *renderedAnswer {
	r := &renderedAnswer{}
	for _, ch := range ans.Challenges {
		r.challenge = append(r.challenge, ch.String())
	}
	code, desc := ans.Error, ans.Description
	if code == "" {
		code, desc = "unauthorized", "a bearer token is required"
	}
	r.body = []byte(`{"error":` + strconv.Quote(code) + `,"error_description":` + strconv.Quote(desc) + "}\n")
	return r
}

func (c *answerCache) lookup(err error) (*renderedAnswer, int, time.Duration) {
	k, ve := answerKeyOf(err)
	var retry time.Duration
	if ve != nil && k.status == http.StatusServiceUnavailable {
		retry = ve.RetryAfter
	}
	c.mu.RLock()
	r := c.m[k]
	c.mu.RUnlock()
	if r != nil {
		return r, k.status, retry
	}
	ans := c.answer(err)
	r = render(&ans)
	c.mu.Lock()
	if len(c.m) < maxCachedAnswers {
		c.m[k] = r
	}
	c.mu.Unlock()
	return r, k.status, retry
}
