package oidcecho_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/oidcauth/oidcauth"
	oidcecho "github.com/oidcauth/oidcauth/echo"
	"github.com/oidcauth/oidcauth/oidctest"
)

func newAuthorizer(t *testing.T, p *oidctest.Provider, startWithoutKeys bool) *oidcauth.Authorizer {
	t.Helper()
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, StartWithoutKeys: startWithoutKeys,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func router(m oidcecho.Middleware) *echo.Echo {
	e := echo.New()
	who := func(c echo.Context) error {
		cl, ok := oidcecho.Claims(c)
		cl2, ok2 := oidcauth.ClaimsFromContext(c.Request().Context())
		if ok != ok2 || cl != cl2 {
			return c.String(500, "echo context and request context disagree")
		}
		if !ok {
			return c.String(200, "anonymous")
		}
		return c.String(200, "subject "+cl.Subject)
	}
	e.GET("/required", who, oidcecho.Required(m))
	e.GET("/maybe", who, oidcecho.Maybe(m))
	e.GET("/admin", who, oidcecho.Required(m), oidcecho.Require(m, oidcauth.RequireScopes("admin")))
	return e
}

func TestAdapter(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	r := router(newAuthorizer(t, p, false))
	down := oidctest.New(t, oidctest.Options{})
	down.SetJWKSFault(&oidctest.Fault{Status: 500})
	rDown := router(newAuthorizer(t, down, true))
	good := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "scope": "read"})
	admin := p.MustMint(t, map[string]any{"sub": "root", "aud": "api", "scope": "admin"})
	expired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "exp": 1})
	tests := []struct {
		name       string
		r          *echo.Echo
		path, auth string
		status     int
		body       string
		challenge  string // substring of WWW-Authenticate
	}{
		{"required, no token", r, "/required", "", 401, "", `Bearer realm="api"`},
		{"required, valid", r, "/required", "Bearer " + good, 200, "subject alice", ""},
		{"required, expired", r, "/required", "Bearer " + expired, 401, "", `error="invalid_token"`},
		{"required, malformed header", r, "/required", "Bearer a b", 400, "", `error="invalid_request"`},
		{"maybe, no token", r, "/maybe", "", 200, "anonymous", ""},
		{"maybe, valid", r, "/maybe", "bearer " + good, 200, "subject alice", ""},
		{"maybe, expired", r, "/maybe", "Bearer " + expired, 401, "", `error="invalid_token"`},
		{"require, missing scope", r, "/admin", "Bearer " + good, 403, "", `error="insufficient_scope"`},
		{"require, scope", r, "/admin", "Bearer " + admin, 200, "subject root", ""},
		{"keys unavailable", rDown, "/required", "Bearer " + good, 503, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			tt.r.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.status, w.Body)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body, tt.body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tt.challenge)
			}
			if tt.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tt.status >= 400 && w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", w.Header().Get("Cache-Control"))
			}
		})
	}
}

// The adapter's answers are byte for byte those of the net/http middleware.
func TestSameAnswerAsNetHTTP(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	a := newAuthorizer(t, p, false)
	expired := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api", "exp": 1})
	req := func() *http.Request {
		r := httptest.NewRequest("GET", "/required", nil)
		r.Header.Set("Authorization", "Bearer "+expired)
		return r
	}
	wg, wh := httptest.NewRecorder(), httptest.NewRecorder()
	router(a).ServeHTTP(wg, req())
	a.Required(http.NotFoundHandler()).ServeHTTP(wh, req())
	if wg.Code != wh.Code || wg.Body.String() != wh.Body.String() ||
		wg.Header().Get("WWW-Authenticate") != wh.Header().Get("WWW-Authenticate") {
		t.Errorf("echo answered %d %q %q; net/http %d %q %q", wg.Code, wg.Header().Get("WWW-Authenticate"), wg.Body,
			wh.Code, wh.Header().Get("WWW-Authenticate"), wh.Body)
	}
}
