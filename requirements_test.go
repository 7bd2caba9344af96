package oidcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth"
)

func claimsOf(raw string, scopes ...string) *oidcauth.Claims {
	return &oidcauth.Claims{Raw: []byte(raw), Scopes: scopes}
}

func TestRequirements(t *testing.T) {
	t.Parallel()
	keycloak := claimsOf(`{"realm_access":{"roles":["admin","user"]},"resource_access":{"api":{"roles":["reader"]}}}`)
	entra := claimsOf(`{"roles":["Orders.Read"],"tid":"t1","scp":"a b"}`, "a", "b")
	custom := claimsOf(`{"https://example.com/roles":["editor"],"https://example.com":{"roles":["nested"]},"email_verified":true,"level":3,"cognito:groups":["ops"]}`)
	okta := claimsOf(`{"scp":["read:orders","write:orders"],"groups":"admins"}`, "read:orders", "write:orders")
	tests := []struct {
		name      string
		req       oidcauth.Requirement
		c         *oidcauth.Claims
		ok        bool
		wantScope string // scope attribute on failure
	}{
		{"scopes all present", oidcauth.RequireScopes("read:orders", "write:orders"), okta, true, ""},
		{"scopes one missing", oidcauth.RequireScopes("read:orders", "admin"), okta, false, "read:orders admin"},
		{"scope exact, not prefix", oidcauth.RequireScopes("read"), okta, false, "read"},
		{"scope case-sensitive", oidcauth.RequireScopes("READ:ORDERS"), okta, false, "READ:ORDERS"},
		{"scope from space-delimited scp", oidcauth.RequireScopes("b"), entra, true, ""},
		{"any scope, one present", oidcauth.RequireAnyScope("admin", "write:orders"), okta, true, ""},
		{"any scope, none present", oidcauth.RequireAnyScope("admin", "root"), okta, false, "admin root"},
		{"no scopes at all", oidcauth.RequireScopes("x"), claimsOf(`{}`), false, "x"},
		{"role in roles", oidcauth.RequireRole("roles", "Orders.Read"), entra, true, ""},
		{"role missing", oidcauth.RequireRole("roles", "Orders.Write"), entra, false, ""},
		{"role in realm_access.roles", oidcauth.RequireRole("realm_access.roles", "admin"), keycloak, true, ""},
		{"two roles required", oidcauth.RequireRole("realm_access.roles", "admin", "user"), keycloak, true, ""},
		{"two roles, one missing", oidcauth.RequireRole("realm_access.roles", "admin", "root"), keycloak, false, ""},
		{"nested three levels", oidcauth.RequireRole("resource_access.api.roles", "reader"), keycloak, true, ""},
		{"role path not an object", oidcauth.RequireRole("roles.x", "Orders.Read"), entra, false, ""},
		{"URL claim name with dots", oidcauth.RequireRole("https://example.com/roles", "editor"), custom, true, ""},
		{"URL object then member", oidcauth.RequireRole("https://example.com.roles", "nested"), custom, true, ""},
		{"cognito:groups", oidcauth.RequireRole("cognito:groups", "ops"), custom, true, ""},
		{"groups as a string", oidcauth.RequireRole("groups", "admins"), okta, true, ""},
		{"missing claim", oidcauth.RequireRole("groups", "admins"), entra, false, ""},
		{"claim string equals", oidcauth.RequireClaim("tid", "t0", "t1"), entra, true, ""},
		{"claim string differs", oidcauth.RequireClaim("tid", "t2"), entra, false, ""},
		{"RequireClaim string not met by boolean true", oidcauth.RequireClaim("email_verified", "true"), custom, false, ""},
		{"RequireClaim string not met by number", oidcauth.RequireClaim("level", "3"), custom, false, ""},
		{"RequireClaim string met by string true", oidcauth.RequireClaim("email_verified", "true"), claimsOf(`{"email_verified":"true"}`), true, ""},
		{"RequireClaim string not met by array of boolean", oidcauth.RequireClaim("f", "true"), claimsOf(`{"f":[true]}`), false, ""},
		{"RequireRole not met by number", oidcauth.RequireRole("roles", "1"), claimsOf(`{"roles":[1]}`), false, ""},
		{"RequireClaimValue boolean true", oidcauth.RequireClaimValue("email_verified", true), custom, true, ""},
		{"RequireClaimValue boolean not met by string", oidcauth.RequireClaimValue("email_verified", true), claimsOf(`{"email_verified":"true"}`), false, ""},
		{"RequireClaimValue false not met by true", oidcauth.RequireClaimValue("email_verified", false), custom, false, ""},
		{"RequireClaimValue int", oidcauth.RequireClaimValue("level", 3), custom, true, ""},
		{"RequireClaimValue int equals 3.0", oidcauth.RequireClaimValue("level", 3), claimsOf(`{"level":3.0}`), true, ""},
		{"RequireClaimValue int not met by string", oidcauth.RequireClaimValue("level", 3), claimsOf(`{"level":"3"}`), false, ""},
		{"RequireClaimValue float", oidcauth.RequireClaimValue("v", 1.5), claimsOf(`{"v":15e-1}`), true, ""},
		{"RequireClaimValue uint64 max", oidcauth.RequireClaimValue("v", uint64(1<<64-1)), claimsOf(`{"v":18446744073709551615}`), true, ""},
		{"RequireClaimValue large int exact", oidcauth.RequireClaimValue("v", int64(1<<62+1)), claimsOf(`{"v":4611686018427387904}`), false, ""},
		{"RequireClaimValue string", oidcauth.RequireClaimValue("tid", "t1"), entra, true, ""},
		{"RequireClaimValue nil is null", oidcauth.RequireClaimValue("x", nil), claimsOf(`{"x":null}`), true, ""},
		{"RequireClaimValue in array", oidcauth.RequireClaimValue("levels", 2), claimsOf(`{"levels":[1,2]}`), true, ""},
		{"RequireClaimValue unsupported type", oidcauth.RequireClaimValue("x", []string{"a"}), claimsOf(`{"x":["a"]}`), false, ""},
		{"claim array contains", oidcauth.RequireClaim("roles", "Orders.Read"), entra, true, ""},
		{"AllOf both", oidcauth.AllOf(oidcauth.RequireScopes("a"), oidcauth.RequireClaim("tid", "t1")), entra, true, ""},
		{"AllOf one fails", oidcauth.AllOf(oidcauth.RequireScopes("a"), oidcauth.RequireClaim("tid", "x")), entra, false, ""},
		{"AnyOf second", oidcauth.AnyOf(oidcauth.RequireScopes("admin"), oidcauth.RequireRole("roles", "Orders.Read")), entra, true, ""},
		{"AnyOf none names all scopes", oidcauth.AnyOf(oidcauth.RequireScopes("admin"), oidcauth.RequireAnyScope("root", "su")), entra, false, "admin root su"},
		{"nested AnyOf in AllOf", oidcauth.AllOf(oidcauth.RequireScopes("a"), oidcauth.AnyOf(oidcauth.RequireScopes("zz"), oidcauth.RequireScopes("b"))), entra, true, ""},
		{"nil claims", oidcauth.RequireScopes("a"), nil, false, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Check(tt.c)
			if (err == nil) != tt.ok {
				t.Fatalf("Check() error = %v, want ok=%v", err, tt.ok)
			}
			if err == nil {
				return
			}
			var ve *oidcauth.ValidationError
			if !errors.Is(err, oidcauth.ErrInsufficientScope) || !errors.As(err, &ve) || ve.Scope != tt.wantScope {
				t.Fatalf("Check() error = %v (scope %q), want ErrInsufficientScope with scope %q", err, ve.Scope, tt.wantScope)
			}
			if oidcauth.StatusCode(err) != http.StatusForbidden {
				t.Errorf("StatusCode = %d, want 403", oidcauth.StatusCode(err))
			}
		})
	}
}

func TestRequireMiddleware(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{})
	h := a.Required(a.Require(oidcauth.RequireScopes("admin"))(echo))
	tests := []struct {
		name      string
		scope     string
		status    int
		challenge string
	}{
		{"admin", "read admin", 200, ""},
		{"no admin", "read", 403, `Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"`},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Authorization", "Bearer "+p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": tt.scope}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.challenge)
		}
	}
	// Without Required in front, there are no claims: 401, not 403.
	rec := httptest.NewRecorder()
	a.Require(oidcauth.RequireScopes("admin"))(echo).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 401 {
		t.Errorf("Require without claims: status %d, want 401", rec.Code)
	}
	if err := oidcauth.Check(context.Background(), oidcauth.RequireScopes("x")); !errors.Is(err, oidcauth.ErrNoToken) {
		t.Errorf("Check(no claims) = %v, want ErrNoToken", err)
	}
}

func TestCustomClaims(t *testing.T) {
	t.Parallel()
	type org struct {
		OrgID string   `json:"org_id"`
		Roles []string `json:"roles"`
	}
	ctx := oidcauth.ContextWithClaims(context.Background(), claimsOf(`{"org_id":"acme","roles":["a"]}`))
	got, err := oidcauth.CustomClaims[org](ctx)
	if err != nil || got.OrgID != "acme" || len(got.Roles) != 1 {
		t.Fatalf("CustomClaims = %+v, %v", got, err)
	}
	if _, err := oidcauth.CustomClaims[org](context.Background()); !errors.Is(err, oidcauth.ErrNoToken) {
		t.Fatalf("CustomClaims(no claims) error = %v, want ErrNoToken", err)
	}
	if _, err := oidcauth.CustomClaims[org](oidcauth.ContextWithClaims(context.Background(), claimsOf(`{"org_id":5}`))); err == nil {
		t.Fatal("CustomClaims decoded a number into a string")
	}
}
