package oidcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
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

func TestNewProcedures(t *testing.T) {
	t.Parallel()
	read := []oidcauth.Requirement{oidcauth.RequireScopes("read")}
	tests := []struct {
		name    string
		methods map[string][]oidcauth.Requirement
		public  []string
		field   string // "": no error
		bad     string
		message string
	}{
		{name: "empty"},
		{name: "method and prefix", methods: map[string][]oidcauth.Requirement{"/x.Y/Z": read}, public: []string{"/grpc.health.v1.Health/", "/x.Y/Open"}},
		{name: "method without slash", methods: map[string][]oidcauth.Requirement{"x.Y/Z": read}, field: "Methods", bad: "x.Y/Z",
			message: `oidcauth: Methods: "x.Y/Z" is not a full method name /pkg.Service/Method`},
		{name: "method is a prefix", methods: map[string][]oidcauth.Requirement{"/x.Y/": read}, field: "Methods", bad: "/x.Y/"},
		{name: "method too deep", methods: map[string][]oidcauth.Requirement{"/x.Y/Z/W": read}, field: "Methods", bad: "/x.Y/Z/W"},
		{name: "method without service", methods: map[string][]oidcauth.Requirement{"//Z": read}, field: "Methods", bad: "//Z"},
		{name: "public root", public: []string{"/"}, field: "Public", bad: "/"},
		{name: "public empty service", public: []string{"//"}, field: "Public", bad: "//"},
		{name: "public two-level prefix", public: []string{"/x.Y/Z/"}, field: "Public", bad: "/x.Y/Z/",
			message: `oidcauth: Public: "/x.Y/Z/" is neither /pkg.Service/ nor /pkg.Service/Method`},
		{name: "public without slash", public: []string{"x.Y"}, field: "Public", bad: "x.Y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := oidcauth.NewProcedures(tt.methods, nil, tt.public)
			if tt.field == "" {
				if err != nil || p == nil {
					t.Fatalf("NewProcedures() = %v, %v, want no error", p, err)
				}
				return
			}
			var pe *oidcauth.ProcedureError
			if !errors.As(err, &pe) || pe.Field != tt.field || pe.Name != tt.bad || p != nil {
				t.Fatalf("NewProcedures() = %v, %v, want a ProcedureError for %s %q", p, err, tt.field, tt.bad)
			}
			if tt.message != "" && err.Error() != tt.message {
				t.Fatalf("Error() = %q, want %q", err.Error(), tt.message)
			}
			pe.Config = "oidcgrpc.Config"
			if want := "oidcauth: oidcgrpc.Config." + tt.field + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("Error() with Config = %q, want prefix %q", err.Error(), want)
			}
		})
	}
}

func TestProcedures(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{})
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	wrongAud := p.MustMint(t, map[string]any{"aud": "web", "sub": "alice"})
	read := []oidcauth.Requirement{oidcauth.RequireScopes("read")}
	admin := []oidcauth.Requirement{oidcauth.RequireScopes("admin")}
	procs, err := oidcauth.NewProcedures(
		map[string][]oidcauth.Requirement{"/x.Y/Read": read, "/x.Y/Listed": nil},
		func(name string) []oidcauth.Requirement {
			if strings.HasPrefix(name, "/x.Admin/") {
				return admin
			}
			return nil
		},
		[]string{"/grpc.health.v1.Health/", "/x.Y/Open"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		proc     string
		values   []string
		optional bool
		public   bool
		nreqs    int
		want     error // nil: no error
		claims   bool
	}{
		{name: "public prefix", proc: "/grpc.health.v1.Health/Check", values: []string{"Bearer " + wrongAud}, public: true},
		{name: "public prefix needs the slash", proc: "/grpc.health.v1.HealthX/Check", want: oidcauth.ErrNoToken},
		{name: "public method", proc: "/x.Y/Open", values: []string{"Bearer " + good, "Bearer " + good}, public: true},
		{name: "public method, not its siblings", proc: "/x.Y/Opener", want: oidcauth.ErrNoToken},
		{name: "listed", proc: "/x.Y/Read", values: []string{"Bearer " + good}, nreqs: 1, claims: true},
		{name: "listed without requirement, func not asked", proc: "/x.Y/Listed", values: []string{"Bearer " + good}, claims: true},
		{name: "from func, not met", proc: "/x.Admin/Do", values: []string{"Bearer " + good}, nreqs: 1, want: oidcauth.ErrInsufficientScope},
		{name: "no token", proc: "/x.Y/Read", nreqs: 1, want: oidcauth.ErrNoToken},
		{name: "maybe, no token", proc: "/x.Z/Any", optional: true},
		{name: "maybe, other scheme", proc: "/x.Z/Any", values: []string{"Basic YWxpY2U6cHc="}, optional: true},
		{name: "maybe, no token, requirement", proc: "/x.Y/Read", nreqs: 1, optional: true, want: oidcauth.ErrNoToken},
		{name: "maybe, invalid token", proc: "/x.Z/Any", values: []string{"Bearer " + wrongAud}, optional: true, want: oidcauth.ErrInvalidAudience},
		{name: "maybe, two values", proc: "/x.Z/Any", values: []string{"Bearer " + good, "Bearer " + good}, optional: true, want: oidcauth.ErrInvalidRequest},
		{name: "maybe, valid token", proc: "/x.Z/Any", values: []string{"Bearer " + good}, optional: true, claims: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := procs.Public(tt.proc); got != tt.public {
				t.Fatalf("Public(%q) = %v, want %v", tt.proc, got, tt.public)
			}
			if got := len(procs.Requirements(tt.proc)); !tt.public && got != tt.nreqs {
				t.Fatalf("len(Requirements(%q)) = %d, want %d", tt.proc, got, tt.nreqs)
			}
			calls := 0
			c, err := procs.Authorize(context.Background(), a, tt.proc, func() []string { calls++; return tt.values }, tt.optional)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Authorize() error = %v, want %v", err, tt.want)
			}
			if (c != nil) != tt.claims || c != nil && c.Subject != "alice" {
				t.Fatalf("Authorize() claims = %+v, want claims %v", c, tt.claims)
			}
			if want := map[bool]int{true: 0, false: 1}[tt.public]; calls != want {
				t.Fatalf("values called %d times, want %d", calls, want)
			}
		})
	}
}

// BenchmarkProcedures is the policy's share of an RPC interceptor's cost
// (allocs/op: 0).
func BenchmarkProcedures(b *testing.B) {
	procs, err := oidcauth.NewProcedures(map[string][]oidcauth.Requirement{"/x.Y/Z": {oidcauth.RequireScopes("read")}},
		nil, []string{"/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if procs.Public("/x.Y/Z") || len(procs.Requirements("/x.Y/Z")) != 1 {
			b.Fatal("wrong policy")
		}
	}
}
