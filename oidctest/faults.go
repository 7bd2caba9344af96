package oidctest

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Fault describes how the provider misbehaves when answering a request. It
// is installed with [Provider.SetJWKSFault] or [Provider.SetDiscoveryFault]
// and stays in force until replaced or cleared. The zero Fault answers
// normally.
//
// The fields combine, in this order: Delay is waited out first; then
// CloseConnection, if set, drops the connection; otherwise Redirect, if
// set, answers with a redirect; otherwise the normal answer is written with
// Status, ContentType, Header and Body or BodySize applied. Fields left
// zero keep the normal answer's value, so Fault{Status: 500} sends the
// normal (valid) document with status 500, which checks that a client looks
// at the status code and not only at the body.
type Fault struct {
	// Status is the response status; 0 means 200.
	Status int

	// Delay is how long to wait before answering. The wait ends early,
	// and the connection is dropped without an answer, when the request's
	// context ends (the client gave up) or the provider is closed.
	Delay time.Duration

	// Body, when non-nil, replaces the response body. An empty non-nil
	// slice sends an empty body.
	Body []byte

	// BodySize, when > 0 and Body is nil, replaces the body with this many
	// bytes of JSON-looking filler that is generated while it is sent, so
	// even very large sizes (e.g. 50 MiB) cost no memory. No
	// Content-Length is sent unless Header sets one; the filler is not
	// valid JSON.
	BodySize int64

	// ContentType, when non-empty, overrides the Content-Type header.
	ContentType string

	// Header holds extra response headers (e.g. Cache-Control). Each key
	// present replaces the values the normal answer would have had for it.
	Header http.Header

	// CloseConnection, when true, hijacks the connection and closes it
	// without writing any response.
	CloseConnection bool

	// Redirect, when non-empty, answers with a redirect to this URL
	// (absolute, or relative to the request). The status is Status when
	// that is a 3xx code and 302 Found otherwise.
	Redirect string
}

// clone returns a deep copy of f, so that later changes by the caller do
// not race with requests being served.
func (f *Fault) clone() *Fault {
	if f == nil {
		return nil
	}
	c := *f
	if f.Body != nil {
		c.Body = slices.Clone(f.Body)
	}
	c.Header = f.Header.Clone()
	return &c
}

// answer is a normal response that a fault may alter.
type answer struct {
	contentType string
	header      http.Header // may be nil
	body        func() []byte
}

// serve writes ans to w, altered by f (which may be nil).
func (p *Provider) serve(w http.ResponseWriter, r *http.Request, f *Fault, ans answer) {
	if f == nil {
		f = &Fault{}
	}
	if f.Delay > 0 && !p.wait(r.Context(), f.Delay) {
		// Client gone or provider closing: drop the connection
		// without answering. The server recovers this panic silently.
		panic(http.ErrAbortHandler)
	}
	if f.CloseConnection {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}

	h := w.Header()
	h.Set("Content-Type", ans.contentType)
	for k, v := range ans.header {
		h[k] = slices.Clone(v)
	}
	for k, v := range f.Header {
		h[k] = slices.Clone(v)
	}
	if f.ContentType != "" {
		h.Set("Content-Type", f.ContentType)
	}

	if f.Redirect != "" {
		status := http.StatusFound
		if f.Status >= 300 && f.Status < 400 {
			status = f.Status
		}
		h.Del("Content-Type")
		h.Set("Location", f.Redirect)
		w.WriteHeader(status)
		return
	}

	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	switch {
	case f.Body != nil:
		w.WriteHeader(status)
		w.Write(f.Body)
	case f.BodySize > 0:
		w.WriteHeader(status)
		p.streamFiller(w, r.Context(), f.BodySize)
	default:
		body := ans.body()
		w.WriteHeader(status)
		w.Write(body)
	}
}

// wait sleeps for d and reports whether it ran to completion, returning
// false as soon as ctx ends or the provider is closed.
func (p *Provider) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-p.closed:
		return false
	}
}

// fillerChunk is a block of JSON-looking garbage repeated by streamFiller.
var fillerChunk = sync.OnceValue(func() []byte {
	const unit = `{"kty":"RSA","kid":"filler","n":"` + "AQAB" + `","e":"AQAB","x5c":["` +
		"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + `"]},`
	var b bytes.Buffer
	for b.Len() < 32<<10 {
		b.WriteString(unit)
	}
	return b.Bytes()
})

// streamFiller writes n bytes of filler: `{"keys":[` followed by repeated
// fake key objects, cut off at exactly n bytes. When a write fails, ctx
// ends or the provider is closed it aborts the response, so that the client
// never mistakes a cut-off body for a complete one.
func (p *Provider) streamFiller(w http.ResponseWriter, ctx context.Context, n int64) {
	prefix := []byte(`{"keys":[`)
	chunk := fillerChunk()
	write := func(b []byte) bool {
		if int64(len(b)) > n {
			b = b[:n]
		}
		m, err := w.Write(b)
		n -= int64(m)
		return err == nil
	}
	if !write(prefix) {
		panic(http.ErrAbortHandler)
	}
	for n > 0 {
		select {
		case <-ctx.Done():
			panic(http.ErrAbortHandler)
		case <-p.closed:
			panic(http.ErrAbortHandler)
		default:
		}
		if !write(chunk) {
			panic(http.ErrAbortHandler)
		}
	}
}

// isWellKnown reports whether path is under some /.well-known/ segment.
func isWellKnown(path string) bool {
	return strings.Contains(path, "/.well-known/")
}
