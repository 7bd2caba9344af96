package oidcauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
)

const rmURL = "https://api.example.com/.well-known/oauth-protected-resource/mcp"

// TestChallengeHeaders checks every status the middleware writes, with and
// without a resource, byte for byte, through Required + Require, and that
// WriteError writes exactly what Answer(err).Write writes.
func TestChallengeHeaders(t *testing.T) {
	t.Parallel()
	withRes := func() (*oidcauth.Authorizer, string) {
		p, a := newResourceAuthorizer(t, oidcauth.Config{Resource: "https://api.example.com/mcp"})
		return a, p.MustMint(t, map[string]any{"sub": "u", "aud": "https://api.example.com/mcp", "scope": "read", "acr": "pwd", "auth_time": t0.Add(-time.Hour).Unix()})
	}
	withoutRes := func() (*oidcauth.Authorizer, string) {
		p, a := newResourceAuthorizer(t, oidcauth.Config{Audiences: []string{"api"}})
		return a, p.MustMint(t, map[string]any{"sub": "u", "aud": "api", "scope": "read", "acr": "pwd", "auth_time": t0.Add(-time.Hour).Unix()})
	}
	type setup struct {
		name  string
		build func() (*oidcauth.Authorizer, string)
		realm string
		rm    string
	}
	for _, s := range []setup{{"resource", withRes, "https://api.example.com/mcp", `, resource_metadata="` + rmURL + `"`}, {"no resource", withoutRes, "api", ""}} {
		t.Run(s.name, func(t *testing.T) {
			a, good := s.build()
			realm := `Bearer realm="` + s.realm + `"`
			tests := []struct {
				name   string
				auth   []string
				reqs   []oidcauth.Requirement
				status int
				want   string
			}{
				{"no token", nil, nil, 401, realm + s.rm},
				{"bad token", []string{"Bearer abc"}, nil, 401, realm + `, error="invalid_token", error_description="the token is invalid"` + s.rm},
				{"two headers", []string{"Bearer a", "Bearer b"}, nil, 400, realm + `, error="invalid_request", error_description="the request is malformed"` + s.rm},
				{"scope", []string{"Bearer " + good}, []oidcauth.Requirement{oidcauth.RequireScopes("read", "write")}, 403,
					realm + `, error="insufficient_scope", error_description="the token does not grant the required scope", scope="read write"` + s.rm},
				{"acr", []string{"Bearer " + good}, []oidcauth.Requirement{oidcauth.RequireACR("mfa", "hwk")}, 401,
					realm + `, error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", acr_values="mfa hwk"` + s.rm},
				{"max age", []string{"Bearer " + good}, []oidcauth.Requirement{oidcauth.RequireMaxAge(5 * time.Minute)}, 401,
					realm + `, error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", max_age="300"` + s.rm},
				{"acr or fresh", []string{"Bearer " + good}, []oidcauth.Requirement{oidcauth.AnyOf(oidcauth.RequireACR("mfa"), oidcauth.AllOf(oidcauth.RequireMaxAge(time.Minute)), oidcauth.RequireMaxAge(10*time.Minute))}, 401,
					realm + `, error="insufficient_user_authentication", error_description="a different or more recent user authentication is required", acr_values="mfa", max_age="600"` + s.rm},
				{"passes", []string{"Bearer " + good}, []oidcauth.Requirement{oidcauth.RequireScopes("read"), oidcauth.RequireACR("pwd"), oidcauth.RequireMaxAge(2 * time.Hour)}, 200, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var inner http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
					h := a.Required(a.Require(tt.reqs...)(inner))
					r := httptest.NewRequest("GET", "/mcp", nil)
					for _, v := range tt.auth {
						r.Header.Add("Authorization", v)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.want {
						t.Errorf("got %d %s\nwant %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.want)
					}
				})
			}
			// WriteError (precomputed) = Answer(err).Write (rendered), byte for byte.
			errs := []error{
				oidcauth.ErrNoToken, oidcauth.ErrInvalidRequest, oidcauth.ErrTokenExpired, oidcauth.ErrTokenNotYetValid,
				oidcauth.ErrInvalidAudience, oidcauth.ErrInvalidSignature, errors.New("boom"),
				&oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: "a b"},
				&oidcauth.ValidationError{Err: oidcauth.ErrInsufficientUserAuthentication, ACRValues: "x", MaxAge: "0"},
				&oidcauth.ValidationError{Err: oidcauth.ErrKeysUnavailable, RetryAfter: 90 * time.Second},
				oidcauth.ErrKeysUnavailable, oidcauth.ErrIntrospectionFailed, oidcauth.ErrKeyNotYetKnown,
				errors.Join(errors.New("x"), &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: "joined"}),
			}
			for _, err := range errs {
				for range 2 { // the second time from the cache
					want := httptest.NewRecorder()
					ans := a.Answer(err)
					ans.Write(want)
					got := httptest.NewRecorder()
					a.WriteError(got, httptest.NewRequest("GET", "/", nil), err)
					if got.Code != want.Code || got.Body.String() != want.Body.String() || !sameHeader(got.Header(), want.Header()) {
						t.Errorf("WriteError(%v) = %d %v %s, Answer.Write = %d %v %s", err, got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
					}
				}
			}
		})
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestChallengeCustomHandler: a custom ErrorHandler reuses the builder
// (Answer) and keeps resource_metadata; Challenge renders in the fixed order.
func TestChallengeCustomHandler(t *testing.T) {
	t.Parallel()
	var a *oidcauth.Authorizer
	_, a = newResourceAuthorizer(t, oidcauth.Config{Resource: "https://api.example.com/mcp", Realm: "files",
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ans := a.Answer(err)
			ans.Challenges = append([]oidcauth.Challenge{{Scheme: "DPoP", Realm: "files", ResourceMetadata: ans.Challenges[0].ResourceMetadata}}, ans.Challenges...)
			ans.Write(w)
		}})
	rec := httptest.NewRecorder()
	a.Required(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "/mcp", nil))
	want := []string{`DPoP realm="files", resource_metadata="` + rmURL + `"`, `Bearer realm="files", resource_metadata="` + rmURL + `"`}
	if got := rec.Header().Values("WWW-Authenticate"); rec.Code != 401 || !slices.Equal(got, want) {
		t.Errorf("custom handler: %d %q, want %q", rec.Code, got, want)
	}
	c := oidcauth.Challenge{Realm: "r", Error: "e", ErrorDescription: "d", Scope: "s", ACRValues: "a b", MaxAge: "0", ResourceMetadata: "https://x/\"y"}
	if got, want := c.String(), `Bearer realm="r", error="e", error_description="d", scope="s", acr_values="a b", max_age="0", resource_metadata="https://x/\"y"`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestStepUp(t *testing.T) {
	t.Parallel()
	p, a := newResourceAuthorizer(t, oidcauth.Config{Audiences: []string{"api"}, Leeway: 10 * time.Second})
	tests := []struct {
		name   string
		claims map[string]any
		req    oidcauth.Requirement
		ok     bool
		acr    string
		maxAge string
	}{
		{"acr allowed", map[string]any{"acr": "mfa"}, oidcauth.RequireACR("pwd", "mfa"), true, "", ""},
		{"acr other", map[string]any{"acr": "pwd"}, oidcauth.RequireACR("mfa"), false, "mfa", ""},
		{"acr case-sensitive", map[string]any{"acr": "MFA"}, oidcauth.RequireACR("mfa"), false, "mfa", ""},
		{"acr missing", map[string]any{}, oidcauth.RequireACR("mfa"), false, "mfa", ""},
		{"acr not a string", map[string]any{"acr": []string{"mfa"}}, oidcauth.RequireACR("mfa"), false, "mfa", ""},
		{"fresh", map[string]any{"auth_time": t0.Add(-4 * time.Minute).Unix()}, oidcauth.RequireMaxAge(5 * time.Minute), true, "", ""},
		{"within leeway", map[string]any{"auth_time": t0.Add(-5*time.Minute - 9*time.Second).Unix()}, oidcauth.RequireMaxAge(5 * time.Minute), true, "", ""},
		{"beyond leeway", map[string]any{"auth_time": t0.Add(-5*time.Minute - 11*time.Second).Unix()}, oidcauth.RequireMaxAge(5 * time.Minute), false, "", "300"},
		{"fractional", map[string]any{"auth_time": float64(t0.Add(-time.Minute).Unix()) + 0.5}, oidcauth.RequireMaxAge(time.Minute), true, "", ""},
		{"missing auth_time", map[string]any{}, oidcauth.RequireMaxAge(time.Hour), false, "", "3600"},
		{"auth_time a string", map[string]any{"auth_time": "1700000000"}, oidcauth.RequireMaxAge(time.Hour), false, "", "3600"},
		{"auth_time in the future", map[string]any{"auth_time": t0.Add(time.Minute).Unix()}, oidcauth.RequireMaxAge(time.Hour), false, "", "3600"},
		{"auth_time negative", map[string]any{"auth_time": -1}, oidcauth.RequireMaxAge(time.Hour), false, "", "3600"},
		{"max age 0, just now", map[string]any{"auth_time": t0.Unix()}, oidcauth.RequireMaxAge(0), true, "", ""},
		{"max age 0, a minute ago", map[string]any{"auth_time": t0.Add(-time.Minute).Unix()}, oidcauth.RequireMaxAge(0), false, "", "0"},
		{"sub-second max age", map[string]any{"auth_time": t0.Add(-time.Hour).Unix()}, oidcauth.RequireMaxAge(1500 * time.Millisecond), false, "", "1"},
		{"both, acr fails first", map[string]any{"acr": "pwd"}, oidcauth.AllOf(oidcauth.RequireACR("mfa"), oidcauth.RequireMaxAge(time.Minute)), false, "mfa", ""},
		{"scope or step-up: scope answer", map[string]any{"acr": "pwd"}, oidcauth.AnyOf(oidcauth.RequireScopes("admin"), oidcauth.RequireACR("mfa")), false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.claims["sub"], tt.claims["aud"] = "u", "api"
			c, err := a.Validate(t.Context(), p.MustMint(t, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.req.Check(c)
			if tt.ok {
				if err != nil {
					t.Errorf("Check() = %v, want nil", err)
				}
				return
			}
			var ve *oidcauth.ValidationError
			stepUp := tt.acr != "" || tt.maxAge != ""
			if !errors.As(err, &ve) || errors.Is(err, oidcauth.ErrInsufficientUserAuthentication) != stepUp || ve.ACRValues != tt.acr || ve.MaxAge != tt.maxAge {
				t.Fatalf("Check() = %#v, want step-up %v acr %q max_age %q", err, stepUp, tt.acr, tt.maxAge)
			}
			wantStatus := 403
			if stepUp {
				wantStatus = 401
			}
			if got := oidcauth.StatusCode(err); got != wantStatus {
				t.Errorf("StatusCode() = %d, want %d", got, wantStatus)
			}
		})
	}
	// Claims built by hand use time.Now and the default leeway.
	c := &oidcauth.Claims{Raw: []byte(`{"auth_time":` + strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10) + `}`)}
	if err := oidcauth.RequireMaxAge(2 * time.Minute).Check(c); err != nil {
		t.Errorf("hand-built claims: %v", err)
	}
	if err := oidcauth.RequireACR("x").Check(nil); !errors.Is(err, oidcauth.ErrInsufficientUserAuthentication) {
		t.Errorf("nil claims: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("RequireMaxAge(-1) did not panic")
		}
	}()
	oidcauth.RequireMaxAge(-time.Second)
}

// TestAnswerCacheBound: past the 256 cached kinds of answer, WriteError
// still writes what Answer.Write writes.
func TestAnswerCacheBound(t *testing.T) {
	t.Parallel()
	_, a := newResourceAuthorizer(t, oidcauth.Config{Resource: "https://api.example.com/mcp"})
	for i := range 300 {
		err := &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: "s" + strconv.Itoa(i)}
		want := httptest.NewRecorder()
		ans := a.Answer(err)
		ans.Write(want)
		got := httptest.NewRecorder()
		a.WriteError(got, httptest.NewRequest("GET", "/", nil), err)
		if got.Code != 403 || got.Body.String() != want.Body.String() || !sameHeader(got.Header(), want.Header()) {
			t.Fatalf("kind %d: WriteError = %v, Answer.Write = %v", i, got.Header(), want.Header())
		}
	}
}
