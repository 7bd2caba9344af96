package oidcauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// echo answers with the subject of the claims in the context, or
// "anonymous".
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if c, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
		fmt.Fprint(w, "sub:"+c.Subject)
		return
	}
	fmt.Fprint(w, "anonymous")
})

func TestMiddleware(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{Realm: `my "api"`})
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	expired := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "exp": t0.Add(-time.Hour).Unix()})
	wrongAud := p.MustMint(t, map[string]any{"aud": "web", "sub": "alice"})
	const (
		realm       = `Bearer realm="my \"api\""`
		invalidTok  = realm + `, error="invalid_token", error_description="the token is invalid"`
		expiredTok  = realm + `, error="invalid_token", error_description="the token has expired"`
		audTok      = realm + `, error="invalid_token", error_description="the token is not meant for this resource"`
		invalidReq  = realm + `, error="invalid_request", error_description="the request is malformed"`
		anonymous   = "anonymous"
		authorized  = "sub:alice"
		noChallenge = ""
	)
	tests := []struct {
		name        string
		headers     []string // Authorization header values
		reqStatus   int
		reqAuth     string // WWW-Authenticate from Required
		maybeStatus int
		maybeBody   string
	}{
		{name: "no header", reqStatus: 401, reqAuth: realm, maybeStatus: 200, maybeBody: anonymous},
		{name: "valid", headers: []string{"Bearer " + good}, reqStatus: 200, maybeStatus: 200, maybeBody: authorized},
		{name: "scheme lower case", headers: []string{"bearer " + good}, reqStatus: 200, maybeStatus: 200, maybeBody: authorized},
		{name: "scheme upper case, two spaces", headers: []string{"BEARER  " + good}, reqStatus: 200, maybeStatus: 200, maybeBody: authorized},
		{name: "Basic scheme is no bearer token", headers: []string{"Basic YWxpY2U6cHc="}, reqStatus: 401, reqAuth: realm, maybeStatus: 200, maybeBody: anonymous},
		{name: "BearerX scheme is no bearer token", headers: []string{"BearerX " + good}, reqStatus: 401, reqAuth: realm, maybeStatus: 200, maybeBody: anonymous},
		{name: "Bearer without token", headers: []string{"Bearer"}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "Bearer and spaces", headers: []string{"Bearer   "}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "token with a comma", headers: []string{"Bearer a,b"}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "token with a quote", headers: []string{`Bearer a"b`}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "two tokens", headers: []string{"Bearer " + good + " " + good}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "two Authorization headers", headers: []string{"Bearer " + good, "Bearer " + good}, reqStatus: 400, reqAuth: invalidReq, maybeStatus: 400},
		{name: "garbage token", headers: []string{"Bearer abc"}, reqStatus: 401, reqAuth: invalidTok, maybeStatus: 401},
		{name: "expired", headers: []string{"Bearer " + expired}, reqStatus: 401, reqAuth: expiredTok, maybeStatus: 401},
		{name: "wrong audience", headers: []string{"Bearer " + wrongAud}, reqStatus: 401, reqAuth: audTok, maybeStatus: 401},
		{name: "tampered", headers: []string{"Bearer " + good[:len(good)-2] + "AA"}, reqStatus: 401, reqAuth: invalidTok, maybeStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mw := range []string{"Required", "Maybe"} {
				h := a.Required(echo)
				wantStatus, wantAuth, wantBody := tt.reqStatus, tt.reqAuth, authorized
				if mw == "Maybe" {
					h = a.Maybe(echo)
					wantStatus, wantBody = tt.maybeStatus, tt.maybeBody
					if wantStatus == 200 {
						wantAuth = noChallenge
					}
				}
				req := httptest.NewRequest("GET", "/", nil)
				for _, v := range tt.headers {
					req.Header.Add("Authorization", v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != wantStatus {
					t.Errorf("%s: status = %d, want %d", mw, rec.Code, wantStatus)
				}
				if got := rec.Header().Get("WWW-Authenticate"); got != wantAuth {
					t.Errorf("%s: WWW-Authenticate = %s, want %s", mw, got, wantAuth)
				}
				body := rec.Body.String()
				if wantStatus == 200 && body != wantBody {
					t.Errorf("%s: body = %q, want %q", mw, body, wantBody)
				}
				if wantStatus != 200 {
					var e struct{ Error, ErrorDescription string }
					if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
						t.Errorf("%s: body %q is not a JSON error: %v", mw, body, err)
					}
					if len(tt.headers) > 0 && strings.Contains(body, strings.Fields(tt.headers[0] + " x")[1]) {
						t.Errorf("%s: body echoes the token: %q", mw, body)
					}
				}
			}
		})
	}
}

// TestMiddlewareKeysUnavailable: a provider that has been down since start
// gives 503 with Retry-After, not 401, and recovery is automatic.
func TestMiddlewareKeysUnavailable(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	p.SetJWKSFault(&oidctest.Fault{Status: 500})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, Now: fixedNow, Logger: quietLogger(),
		StartWithoutKeys: true,
	})
	if err != nil {
		t.Fatalf("New(StartWithoutKeys) error = %v", err)
	}
	defer a.Close()
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	for _, mw := range []func(http.Handler) http.Handler{a.Required, a.Maybe} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		mw(echo).ServeHTTP(rec, req)
		if rec.Code != 503 {
			t.Errorf("status = %d, want 503", rec.Code)
		}
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q, want a positive number of seconds", ra)
		}
		if wa := rec.Header().Get("WWW-Authenticate"); wa != "" {
			t.Errorf("WWW-Authenticate = %q, want none on 503", wa)
		}
	}
	_, err = a.Validate(context.Background(), tok)
	var ve *oidcauth.ValidationError
	if !errors.Is(err, oidcauth.ErrKeysUnavailable) || !errors.As(err, &ve) || ve.RetryAfter <= 0 {
		t.Fatalf("Validate() error = %v, want ErrKeysUnavailable with RetryAfter", err)
	}
	p.SetJWKSFault(nil)
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if _, err := a.Validate(context.Background(), tok); err != nil {
		t.Fatalf("after recovery Validate() error = %v", err)
	}
}

// TestNewFailsFastWhenProviderDown is the default: a misconfigured or
// unreachable issuer is an error at start-up.
func TestNewFailsFastWhenProviderDown(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	p.SetJWKSFault(&oidctest.Fault{Status: 503})
	_, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("New() error = %v, want the fetch failure", err)
	}
}

func TestErrorHandler(t *testing.T) {
	t.Parallel()
	var got error
	_, a := newPair(t, oidcauth.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		w.WriteHeader(oidcauth.StatusCode(err))
		io.WriteString(w, "custom")
	}})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer x.y.z")
	rec := httptest.NewRecorder()
	a.Required(echo).ServeHTTP(rec, req)
	if rec.Code != 401 || rec.Body.String() != "custom" || !errors.Is(got, oidcauth.ErrMalformedToken) {
		t.Fatalf("got %d %q err %v, want 401 custom ErrMalformedToken", rec.Code, rec.Body.String(), got)
	}
}

func TestStatusCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{oidcauth.ErrNoToken, 401},
		{oidcauth.ErrInvalidRequest, 400},
		{&oidcauth.ValidationError{Err: oidcauth.ErrTokenExpired}, 401},
		{fmt.Errorf("wrapped: %w", oidcauth.ErrInvalidSignature), 401},
		{oidcauth.ErrKeysUnavailable, 503},
		{errors.New("other"), 500},
	}
	for _, tt := range tests {
		if got := oidcauth.StatusCode(tt.err); got != tt.want {
			t.Errorf("StatusCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestHasCredential(t *testing.T) {
	t.Parallel()
	_, strict := newPair(t, oidcauth.Config{})
	_, query := newPair(t, oidcauth.Config{InsecureAllowQueryToken: true})
	tests := []struct {
		name        string
		header      []string
		query       string
		strict, opt bool // HasCredential without and with InsecureAllowQueryToken
	}{
		{"nothing", nil, "", false, false},
		{"basic", []string{"Basic dTpw"}, "", false, false},
		{"bearer", []string{"Bearer abc"}, "", true, true},
		{"malformed bearer", []string{"Bearer a b"}, "", true, true},
		{"empty bearer", []string{"Bearer "}, "", true, true},
		{"two headers", []string{"Bearer a", "Bearer b"}, "", true, true},
		{"query token", nil, "access_token=abc", false, true},
		{"bad query token", nil, "access_token=%20", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/?"+tt.query, nil)
			for _, h := range tt.header {
				r.Header.Add("Authorization", h)
			}
			if got := strict.HasCredential(r); got != tt.strict {
				t.Errorf("HasCredential() = %v, want %v", got, tt.strict)
			}
			if got := query.HasCredential(r); got != tt.opt {
				t.Errorf("HasCredential() with InsecureAllowQueryToken = %v, want %v", got, tt.opt)
			}
		})
	}
}

// recordHandler keeps the records logged through it.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// refusals returns the "request refused" records as text, attribute by
// attribute.
func (h *recordHandler) refusals() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.records {
		if r.Message != "oidcauth: request refused" {
			continue
		}
		m := map[string]string{"level": r.Level.String()}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	return out
}

// TestRefusalsLogged: every refusal of Required, Maybe and Require is
// logged at Debug with the reason, method, path and status, and never the
// token or the query string.
func TestRefusalsLogged(t *testing.T) {
	t.Parallel()
	rec := &recordHandler{}
	p, a := newPair(t, oidcauth.Config{Logger: slog.New(rec)})
	expired := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "exp": t0.Add(-time.Hour).Unix()})
	wrongAud := p.MustMint(t, map[string]any{"aud": "other", "sub": "alice"})
	noAdmin := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	tests := []struct {
		name, token string
		h           http.Handler
		status      int
		reason      string
	}{
		{"expired, Required", expired, a.Required(echo), 401, "token expired"},
		{"wrong audience, Maybe", wrongAud, a.Maybe(echo), 401, "invalid audience"},
		{"no token, Required", "", a.Required(echo), 401, "no bearer token"},
		{"insufficient scope, Require", noAdmin, a.Required(a.Require(oidcauth.RequireScopes("admin"))(echo)), 403, `scope "admin" missing`},
	}
	for _, tt := range tests {
		before := len(rec.refusals())
		req := httptest.NewRequest("GET", "/api/me?secret=q", nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		w := httptest.NewRecorder()
		tt.h.ServeHTTP(w, req)
		if w.Code != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.name, w.Code, tt.status)
		}
		got := rec.refusals()
		if len(got) != before+1 {
			t.Fatalf("%s: %d refusal records, want 1", tt.name, len(got)-before)
		}
		r := got[len(got)-1]
		if r["level"] != "DEBUG" || r["method"] != "GET" || r["path"] != "/api/me" || r["status"] != fmt.Sprint(tt.status) ||
			!strings.Contains(r["reason"], tt.reason) {
			t.Errorf("%s: record %v, want DEBUG, GET /api/me, status %d, reason containing %q", tt.name, r, tt.status, tt.reason)
		}
		for k, v := range r {
			if tt.token != "" && (strings.Contains(v, tt.token) || strings.Contains(v, strings.Split(tt.token, ".")[2])) || strings.Contains(v, "secret=q") {
				t.Errorf("%s: attribute %s = %q leaks the token or the query", tt.name, k, v)
			}
		}
	}
	// A request Maybe lets through anonymously is not a refusal.
	before := len(rec.refusals())
	a.Maybe(echo).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if n := len(rec.refusals()) - before; n != 0 {
		t.Errorf("anonymous request through Maybe logged %d refusals, want 0", n)
	}
}

// TestRefusalsLoggedByIssuersAndChain: Issuers and Chain log their
// refusals like an Authorizer does, through their own Logger.
func TestRefusalsLoggedByIssuersAndChain(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	issRec, chainRec := &recordHandler{}, &recordHandler{}
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{
		Logger:  slog.New(issRec),
		Issuers: []oidcauth.Config{{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: fixedNow}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	chain := &oidcauth.Chain{Authenticators: []oidcauth.Authenticator{m}, Logger: slog.New(chainRec)}
	wrongAud := p.MustMint(t, map[string]any{"aud": "other", "sub": "alice"})
	noAdmin := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	tests := []struct {
		name   string
		rec    *recordHandler
		h      http.Handler
		token  string
		status int
		reason string
	}{
		{"Issuers.Required", issRec, m.Required(echo), wrongAud, 401, "invalid audience"},
		{"Issuers.Require", issRec, m.Required(m.Require(oidcauth.RequireScopes("admin"))(echo)), noAdmin, 403, `scope "admin" missing`},
		{"Chain.Maybe", chainRec, chain.Maybe(echo), wrongAud, 401, "invalid audience"},
		{"Chain.Require", chainRec, chain.Required(chain.Require(oidcauth.RequireScopes("admin"))(echo)), noAdmin, 403, `scope "admin" missing`},
	}
	for _, tt := range tests {
		before := len(tt.rec.refusals())
		req := httptest.NewRequest("GET", "/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tt.token)
		w := httptest.NewRecorder()
		tt.h.ServeHTTP(w, req)
		if w.Code != tt.status {
			t.Fatalf("%s: status %d, want %d", tt.name, w.Code, tt.status)
		}
		got := tt.rec.refusals()
		if len(got) != before+1 {
			t.Fatalf("%s: %d refusal records, want 1", tt.name, len(got)-before)
		}
		r := got[len(got)-1]
		if r["path"] != "/orders" || r["status"] != fmt.Sprint(tt.status) || !strings.Contains(r["reason"], tt.reason) {
			t.Errorf("%s: record %v, want /orders, %d, reason containing %q", tt.name, r, tt.status, tt.reason)
		}
		for k, v := range r {
			if strings.Contains(v, strings.Split(tt.token, ".")[2]) {
				t.Errorf("%s: attribute %s leaks the token", tt.name, k)
			}
		}
	}
	if a := m.Answer(oidcauth.ErrTokenExpired); a.Status != 401 || len(a.Challenges) == 0 {
		t.Errorf("Issuers.Answer(ErrTokenExpired) = %+v, want 401 with a challenge", a)
	}
}
