package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// fetcher performs the Authorizer's outgoing requests (discovery and JWKS)
// with bounds: a timeout on every request, a body limit, and no redirect to
// another host.
type fetcher struct {
	client       *http.Client
	timeout      time.Duration
	maxBody      int64
	insecureHTTP bool
}

func newFetcher(c *http.Client, timeout time.Duration, maxBody int64, insecureHTTP bool) *fetcher {
	return &fetcher{client: RestrictRedirects(c), timeout: timeout, maxBody: maxBody, insecureHTTP: insecureHTTP}
}

// get fetches url and returns its body, which must be a 200 answer of at
// most maxBody bytes.
func (f *fetcher) get(ctx context.Context, url string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, nil, fmt.Errorf("GET %s: timed out after %s", url, f.timeout)
		}
		return nil, nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096)) //nolint:errcheck // draining for reuse
		return nil, nil, &statusError{url: url, code: resp.StatusCode}
	}
	body, err := f.readBody(resp, "GET", url, f.maxBody)
	if err != nil {
		return nil, nil, err
	}
	return body, resp.Header, nil
}

// readBody reads resp's body, at most limit bytes.
func (f *fetcher) readBody(resp *http.Response, method, url string, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%s %s: body of %d bytes exceeds the limit of %d", method, url, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s %s: timed out after %s", method, url, f.timeout)
		}
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%s %s: body exceeds the limit of %d bytes", method, url, limit)
	}
	return body, nil
}

// postForm sends form to endpoint with client (for requests that carry
// credentials: one made with NoRedirects), with the timeout of every
// request, and returns the status and the body, at most limit bytes
// whatever the status (so that an error answer can be read). auth, when
// non-empty, is the Authorization header.
func (f *fetcher) postForm(ctx context.Context, client *http.Client, endpoint string, form url.Values, auth string, limit int64) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, fmt.Errorf("POST %s: timed out after %s", endpoint, f.timeout)
		}
		// The *url.Error would repeat the URL; keep its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := f.readBody(resp, "POST", endpoint, limit)
	return resp.StatusCode, body, err
}

// statusError is a response other than 200.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.url, e.code) }

// cacheTTL reads how long a response may be cached from Cache-Control
// max-age or, failing that, Expires (RFC 9111 §5.2.2.1, §5.3). It returns
// 0 when the response says nothing, and the minimum for no-cache/no-store.
func cacheTTL(h http.Header, now time.Time) (ttl time.Duration, said bool) {
	for _, cc := range h.Values("Cache-Control") {
		for _, d := range strings.Split(cc, ",") {
			d = strings.TrimSpace(strings.ToLower(d))
			switch {
			case d == "no-store" || d == "no-cache":
				return 0, true
			case strings.HasPrefix(d, "max-age="):
				n, err := strconv.ParseInt(strings.Trim(d[len("max-age="):], `"`), 10, 64)
				if err == nil && n >= 0 {
					if n > 1<<31 {
						n = 1 << 31
					}
					return time.Duration(n) * time.Second, true
				}
			}
		}
	}
	if e := h.Get("Expires"); e != "" {
		t, err := http.ParseTime(e)
		if err != nil {
			return 0, true // an invalid Expires means already expired
		}
		base := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			base = d
		}
		if t.Before(base) {
			return 0, true
		}
		return t.Sub(base), true
	}
	return 0, false
}
