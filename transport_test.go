package oidcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth"
)

func TestBearerFromValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values []string
		token  string
		want   error // nil: token returned
	}{
		{name: "none", want: oidcauth.ErrNoToken},
		{name: "bearer", values: []string{"Bearer abc.def.ghi"}, token: "abc.def.ghi"},
		{name: "lower case", values: []string{"bearer abc"}, token: "abc"},
		{name: "mixed case, two spaces", values: []string{"bEaReR  abc=="}, token: "abc=="},
		{name: "two values", values: []string{"Bearer abc", "Bearer abc"}, want: oidcauth.ErrInvalidRequest},
		{name: "two values, one empty", values: []string{"Bearer abc", ""}, want: oidcauth.ErrInvalidRequest},
		{name: "basic", values: []string{"Basic YWxpY2U6cHc="}, want: oidcauth.ErrNoToken},
		{name: "BearerX", values: []string{"BearerX abc"}, want: oidcauth.ErrNoToken},
		{name: "tab", values: []string{"Bearer\tabc"}, want: oidcauth.ErrInvalidRequest},
		{name: "empty token", values: []string{"Bearer  "}, want: oidcauth.ErrInvalidRequest},
		{name: "scheme only", values: []string{"Bearer"}, want: oidcauth.ErrInvalidRequest},
		{name: "not b64token", values: []string{"Bearer a b"}, want: oidcauth.ErrInvalidRequest},
		{name: "empty value", values: []string{""}, want: oidcauth.ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token, err := oidcauth.BearerFromValues(tt.values)
			if tt.want == nil {
				if err != nil || token != tt.token {
					t.Fatalf("BearerFromValues() = %q, %v, want %q, nil", token, err, tt.token)
				}
				return
			}
			if !errors.Is(err, tt.want) || token != "" {
				t.Fatalf("BearerFromValues() = %q, %v, want error %v", token, err, tt.want)
			}
			// BearerToken agrees on the same header values.
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.values {
				r.Header.Add("Authorization", v)
			}
			if _, herr := oidcauth.BearerToken(r); !errors.Is(herr, tt.want) {
				t.Fatalf("BearerToken() error = %v, want %v", herr, tt.want)
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{})
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	wrongAud := p.MustMint(t, map[string]any{"aud": "web", "sub": "alice"})
	chain := &oidcauth.Chain{Authenticators: []oidcauth.Authenticator{
		oidcauth.AuthenticatorFunc(func(*http.Request) (*oidcauth.Claims, error) { return nil, oidcauth.ErrNoToken }),
		a,
	}}
	ctx := context.Background()
	tests := []struct {
		name   string
		values []string
		reqs   []oidcauth.Requirement
		want   error
		status int
		claims bool
	}{
		{name: "valid", values: []string{"Bearer " + good}, status: 200, claims: true},
		{name: "valid with scope", values: []string{"Bearer " + good}, reqs: []oidcauth.Requirement{oidcauth.RequireScopes("read")}, status: 200, claims: true},
		{name: "missing scope", values: []string{"Bearer " + good}, reqs: []oidcauth.Requirement{oidcauth.RequireScopes("read"), oidcauth.RequireScopes("admin")}, want: oidcauth.ErrInsufficientScope, status: 403, claims: true},
		{name: "no token", want: oidcauth.ErrNoToken, status: 401},
		{name: "no token with requirement", reqs: []oidcauth.Requirement{oidcauth.RequireScopes("read")}, want: oidcauth.ErrNoToken, status: 401},
		{name: "two values", values: []string{"Bearer " + good, "Bearer " + good}, want: oidcauth.ErrInvalidRequest, status: 400},
		{name: "invalid token", values: []string{"Bearer " + wrongAud}, want: oidcauth.ErrInvalidAudience, status: 401},
		{name: "garbage", values: []string{"Bearer abc"}, want: oidcauth.ErrMalformedToken, status: 401},
	}
	for _, v := range []struct {
		name string
		v    oidcauth.TokenValidator
	}{{"Authorizer", a}, {"Chain", chain}} {
		for _, tt := range tests {
			t.Run(v.name+"/"+tt.name, func(t *testing.T) {
				c, err := oidcauth.Authorize(ctx, v.v, tt.values, tt.reqs...)
				if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("Authorize() error = %v, want %v", err, tt.want)
				}
				if got := oidcauth.StatusCode(err); got != tt.status {
					t.Fatalf("StatusCode() = %d, want %d", got, tt.status)
				}
				if (c != nil) != tt.claims || c != nil && c.Subject != "alice" {
					t.Fatalf("Authorize() claims = %+v, want claims %v", c, tt.claims)
				}
				if ans := v.v.Answer(err); err != nil && ans.Status != tt.status {
					t.Fatalf("Answer().Status = %d, want %d", ans.Status, tt.status)
				}
			})
		}
	}
}

func TestChainValidateWithoutTokenValidator(t *testing.T) {
	t.Parallel()
	chain := &oidcauth.Chain{Authenticators: []oidcauth.Authenticator{
		oidcauth.AuthenticatorFunc(func(*http.Request) (*oidcauth.Claims, error) { return &oidcauth.Claims{}, nil }),
	}}
	if c, err := chain.Validate(context.Background(), "abc"); !errors.Is(err, oidcauth.ErrNoToken) || c != nil {
		t.Fatalf("Chain.Validate() = %v, %v, want ErrNoToken", c, err)
	}
}

func FuzzBearerFromValues(f *testing.F) {
	f.Add("Bearer abc.def.ghi", "")
	f.Add("bearer  a==", "Bearer b")
	f.Add("Basic x", "")
	f.Add("Bearer\ta", "")
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		values := []string{v1}
		if v2 != "" {
			values = append(values, v2)
		}
		token, err := oidcauth.BearerFromValues(values)
		if err == nil {
			if len(values) != 1 || token == "" || len(token) >= len(v1) {
				t.Fatalf("BearerFromValues(%q) = %q, want an error", values, token)
			}
			return
		}
		if token != "" {
			t.Fatalf("BearerFromValues(%q) = %q with error %v", values, token, err)
		}
		if !errors.Is(err, oidcauth.ErrNoToken) && !errors.Is(err, oidcauth.ErrInvalidRequest) {
			t.Fatalf("BearerFromValues(%q) error = %v, want ErrNoToken or ErrInvalidRequest", values, err)
		}
	})
}
