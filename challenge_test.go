package oidcauth_test

import (
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

func TestChallengeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		c    oidcauth.Challenge
		want string
	}{
		{"realm only", oidcauth.Challenge{Realm: "api"}, `Bearer realm="api"`},
		{"no attributes", oidcauth.Challenge{}, `Bearer`},
		{"error", oidcauth.Challenge{Realm: "api", Error: "invalid_token", ErrorDescription: "the token has expired"},
			`Bearer realm="api", error="invalid_token", error_description="the token has expired"`},
		{"scope", oidcauth.Challenge{Realm: "api", Error: "insufficient_scope", Scope: "read write"},
			`Bearer realm="api", error="insufficient_scope", scope="read write"`},
		{"escaping", oidcauth.Challenge{Scheme: "DPoP", Realm: "a\"b\\c\r\nSet-Cookie: x\x7fé"},
			`DPoP realm="a\"b\\cSet-Cookie: x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	t.Parallel()
	_, a := newPair(t, oidcauth.Config{Realm: "orders"})
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		challenges []string
		retryAfter time.Duration
	}{
		{"no token", oidcauth.ErrNoToken, 401, "", []string{`Bearer realm="orders"`}, 0},
		{"expired", &oidcauth.ValidationError{Err: oidcauth.ErrTokenExpired, Reason: "exp 2020"}, 401, "invalid_token",
			[]string{`Bearer realm="orders", error="invalid_token", error_description="the token has expired"`}, 0},
		{"malformed request", oidcauth.ErrInvalidRequest, 400, "invalid_request",
			[]string{`Bearer realm="orders", error="invalid_request", error_description="the request is malformed"`}, 0},
		{"scope", &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: "admin"}, 403, "insufficient_scope",
			[]string{`Bearer realm="orders", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"`}, 0},
		{"keys unavailable", &oidcauth.ValidationError{Err: oidcauth.ErrKeysUnavailable, RetryAfter: 1500 * time.Millisecond}, 503, "temporarily_unavailable", nil, 1500 * time.Millisecond},
		{"other error", errors.New("boom"), 500, "server_error", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := a.Answer(tt.err)
			var got []string
			for _, c := range ans.Challenges {
				got = append(got, c.String())
			}
			if ans.Status != tt.status || ans.Error != tt.code || !slices.Equal(got, tt.challenges) || ans.RetryAfter != tt.retryAfter {
				t.Errorf("Answer() = %d %q %q retry %v, want %d %q %q retry %v", ans.Status, ans.Error, got, ans.RetryAfter, tt.status, tt.code, tt.challenges, tt.retryAfter)
			}
			rec := httptest.NewRecorder()
			ans.Write(rec)
			if rec.Code != tt.status || !slices.Equal(rec.Header().Values("WWW-Authenticate"), tt.challenges) {
				t.Errorf("Write: %d %q, want %d %q", rec.Code, rec.Header().Values("WWW-Authenticate"), tt.status, tt.challenges)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") != "2" {
				t.Errorf("Retry-After = %q, want 2 (rounded up)", rec.Header().Get("Retry-After"))
			}
		})
	}
	// Two challenges become two header values, in order.
	ans := oidcauth.Answer{Status: 401, Challenges: []oidcauth.Challenge{{Scheme: "DPoP", Realm: "x"}, {Realm: "x"}}}
	rec := httptest.NewRecorder()
	ans.Write(rec)
	if got := rec.Header().Values("WWW-Authenticate"); !slices.Equal(got, []string{`DPoP realm="x"`, `Bearer realm="x"`}) {
		t.Errorf("two challenges: %q", got)
	}
}
