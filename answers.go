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

	// decorate, when set, completes an answer after answerWith (the DPoP
	// challenge of an Authorizer, dpop.go). It must depend only on err's
	// answerKey and on settings fixed at New, except for the use_dpop_nonce
	// answer, which write renders per request (its nonce changes).
	decorate func(*Answer, error)

	mu sync.RWMutex
	m  map[answerKey]*renderedAnswer
}

const maxCachedAnswers = 256

type answerKey struct {
	status             int
	code, desc         string
	scope, acr, maxAge string
	dpop               bool // the refusal concerns DPoP (isDPoPError)
}

type renderedAnswer struct {
	challenge []string // WWW-Authenticate, nil for 503 and 500
	body      []byte
}

var (
	hdrNoStore = []string{"no-store"}
	// hdrRetry are the Retry-After values of 0 to 120 seconds.
	hdrRetry = func() (v [121][]string) {
		for i := range v {
			v[i] = []string{strconv.Itoa(i)}
		}
		return v
	}()
)

func newAnswerCache(realm, metadataURL string) *answerCache {
	return &answerCache{realm: realm, metadataURL: metadataURL, m: make(map[answerKey]*renderedAnswer)}
}

// answer is the Answer for err (see answerWith).
func (c *answerCache) answer(err error) Answer {
	ans := answerWith(c.realm, c.metadataURL, err)
	if c.decorate != nil {
		c.decorate(&ans, err)
	}
	return ans
}

// write writes c.answer(err) as Answer.Write does, from the cache.
// The header values are slices of length and capacity 1 shared by every
// response: assigning them costs nothing, and appending to them copies.
func (c *answerCache) write(w http.ResponseWriter, err error) {
	if c.decorate != nil && errors.Is(err, ErrUseDPoPNonce) {
		ans := c.answer(err) // carries a fresh DPoP-Nonce
		ans.Write(w)
		return
	}
	r, status, retry := c.lookup(err)
	h := w.Header()
	if len(r.challenge) == 1 {
		h["Www-Authenticate"] = r.challenge[:1:1]
	} else if r.challenge != nil {
		h["Www-Authenticate"] = append([]string(nil), r.challenge...)
	}
	if status == http.StatusServiceUnavailable {
		secs := 1
		if retry > 0 {
			secs = int((retry + time.Second - 1) / time.Second)
		}
		if secs < len(hdrRetry) {
			h["Retry-After"] = hdrRetry[secs][:1:1]
		} else {
			h.Set("Retry-After", strconv.Itoa(secs))
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
	k.dpop = isDPoPError(err)
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

// isDPoPError reports whether err concerns DPoP: a refusal of a request
// that used the DPoP scheme or sent a proof, or one of the DPoP sentinels.
func isDPoPError(err error) bool {
	for e := err; e != nil; {
		if _, ok := e.(*dpopSchemeError); ok {
			return true
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				if isDPoPError(inner) {
					return true
				}
			}
			break
		}
		e = errors.Unwrap(e)
	}
	return errors.Is(err, ErrInvalidDPoPProof) || errors.Is(err, ErrUseDPoPNonce) || errors.Is(err, ErrDPoPRequired)
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
