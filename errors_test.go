package oidcauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

// TestMessagesPrefixOnce: whatever an error wraps, its message carries
// "oidcauth:" once, and never names the internal JSON package.
func TestMessagesPrefixOnce(t *testing.T) {
	t.Parallel()
	inner := wrapf(errors.New("GET https://idp.example/jwks: status 503"), "fetching keys of %s", "https://idp.example")
	var errs []error
	for _, s := range append(tokenErrors, ErrNoToken, ErrInvalidRequest, ErrInsufficientScope, ErrKeysUnavailable, ErrKeyNotYetKnown) {
		errs = append(errs, s,
			&ValidationError{Err: s, Reason: "plain reason"},
			&ValidationError{Err: s, Reason: "refresh failed: " + inner.Error()},
			wrapf(&ValidationError{Err: s, Reason: "x"}, "context"),
		)
	}
	errs = append(errs, inner, wrapf(inner, "outer"))

	_, a := newRigA(t)
	p := a.p
	for _, raw := range []string{`{"a":1,}`, `{"a":1,"a":2}`, `[1]`} {
		_, err := a.a.Validate(context.Background(), p.MustMintToken(t, oidctest.Token{RawPayload: []byte(raw)}))
		errs = append(errs, err)
	}
	_, err := New(context.Background(), Config{Issuer: "http://127.0.0.1:1", Audiences: []string{"api"}, Logger: discard, FetchTimeout: 1})
	errs = append(errs, err)

	for _, err := range errs {
		if err == nil {
			t.Fatal("nil error in the table")
		}
		msg := err.Error()
		if n := strings.Count(msg, "oidcauth:"); n != 1 || !strings.HasPrefix(msg, "oidcauth: ") {
			t.Errorf("%q has the prefix %d times, want once at the start", msg, n)
		}
		if strings.Contains(msg, "jsonx") {
			t.Errorf("%q names the internal package jsonx", msg)
		}
	}
	if !errors.Is(wrapf(ErrTokenExpired, "ctx"), ErrTokenExpired) {
		t.Error("wrapf hides the wrapped error from errors.Is")
	}
}

// newRigA is an Authorizer on an oidctest provider, for the message tests.
func newRigA(t *testing.T) (string, *rig) {
	r := newRig(t, Config{})
	return r.p.Issuer(), r
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFirstFetchFailureLog: the first failed fetch says there are no keys
// yet, not that the last good keys are kept; later failures say they are.
func TestFirstFetchFailureLog(t *testing.T) {
	t.Parallel()
	var buf syncBuf
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clock := newFakeClock()
	p := oidctest.New(t, oidctest.Options{Now: clock.Now})
	p.SetJWKSFault(&oidctest.Fault{Status: 502})
	a, err := New(context.Background(), Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: clock.Now, newTimer: clock.NewTimer, Logger: log, StartWithoutKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	checkNoLeak(t, a)
	first := buf.String()
	if !strings.Contains(first, "no keys fetched yet") || strings.Contains(first, "keeping the last good keys") {
		t.Fatalf("first failed fetch logged %q, want \"no keys fetched yet\" and no claim to keep keys", first)
	}
	p.SetJWKSFault(nil)
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.SetJWKSFault(&oidctest.Fault{Status: 502})
	a.Refresh(context.Background()) //nolint:errcheck // the failure is what is logged
	if later := strings.TrimPrefix(buf.String(), first); !strings.Contains(later, "keeping the last good keys") {
		t.Errorf("failure with keys logged %q, want \"keeping the last good keys\"", later)
	}
}
