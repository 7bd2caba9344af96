package oidcauth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// A Requirement is a rule that verified claims must satisfy: "may they?"
// after "who are they?". Check returns nil, or a *ValidationError wrapping
// ErrInsufficientScope, which the middleware answers with 403 and
// WWW-Authenticate: Bearer error="insufficient_scope" (RFC 6750 §3.1).
//
// Requirements compose with AllOf and AnyOf, work as middleware after
// Required (see Require), and as plain checks in handlers (see Check).
type Requirement interface {
	Check(c *Claims) error
}

// RequirementFunc adapts a function to the Requirement interface. It should
// return an error wrapping ErrInsufficientScope to get a 403.
type RequirementFunc func(c *Claims) error

// Check calls f(c).
func (f RequirementFunc) Check(c *Claims) error { return f(c) }

type scopeReq struct {
	scopes []string
	all    bool
}

// RequireScopes requires every one of scopes. Scopes are read from the
// space-delimited "scope" claim (RFC 9068 §2.2.3), or when it is absent
// from "scp", as a string (Entra ID) or an array of strings (Okta); they
// match exactly (case-sensitive, no wildcards or hierarchy).
func RequireScopes(scopes ...string) Requirement { return scopeReq{scopes: scopes, all: true} }

// RequireAnyScope requires at least one of scopes.
func RequireAnyScope(scopes ...string) Requirement { return scopeReq{scopes: scopes} }

func (q scopeReq) Check(c *Claims) error {
	if c == nil {
		return insufficient(strings.Join(q.scopes, " "), "no claims")
	}
	for _, s := range q.scopes {
		has := c.HasScope(s)
		if q.all && !has {
			return insufficient(strings.Join(q.scopes, " "), fmt.Sprintf("scope %q missing (token scopes: %v)", s, c.Scopes))
		}
		if !q.all && has {
			return nil
		}
	}
	if !q.all && len(q.scopes) > 0 {
		return insufficient(strings.Join(q.scopes, " "), fmt.Sprintf("none of the scopes %v (token scopes: %v)", q.scopes, c.Scopes))
	}
	return nil
}

func insufficient(scope, reason string) *ValidationError {
	return &ValidationError{Err: ErrInsufficientScope, Reason: reason, Scope: scope}
}

type claimReq struct {
	path   string
	values []string
	all    bool // every value must be present (roles); otherwise any
	what   string
}

// RequireRole requires every one of roles in the claim at path. The claim
// is a string (one role) or an array of strings. path names a top-level
// claim ("roles", "groups", "cognito:groups",
// "https://example.com/roles") or a dotted path into nested objects
// ("realm_access.roles", Keycloak); a top-level name containing dots is
// found first. Use AnyOf for alternatives.
func RequireRole(path string, roles ...string) Requirement {
	return claimReq{path: path, values: roles, all: true, what: "role"}
}

// RequireClaim requires the claim at path (as for RequireRole) to equal one
// of values: a string claim equal to one of them, or an array of strings
// containing one of them. Booleans and numbers compare by their JSON text
// ("true", "42").
func RequireClaim(path string, values ...string) Requirement {
	return claimReq{path: path, values: values, what: "claim value"}
}

func (q claimReq) Check(c *Claims) error {
	var got []string
	if c != nil {
		got = claimStrings(c.Raw, q.path)
	}
	for _, v := range q.values {
		has := slices.Contains(got, v)
		if q.all && !has {
			return insufficient("", fmt.Sprintf("%s %q missing at %q", q.what, v, q.path))
		}
		if !q.all && has {
			return nil
		}
	}
	if !q.all && len(q.values) > 0 {
		return insufficient("", fmt.Sprintf("%s at %q is none of %q", q.what, q.path, q.values))
	}
	return nil
}

// claimStrings returns the strings at path in the claims: a string, or the
// strings of an array; numbers and booleans as their JSON text.
func claimStrings(raw []byte, path string) []string {
	v, ok := lookup(raw, path)
	if !ok {
		return nil
	}
	var out []string
	add := func(kind jsonx.Kind, r []byte) {
		switch kind {
		case jsonx.KindString:
			if s, err := jsonx.String(r); err == nil {
				out = append(out, s)
			}
		case jsonx.KindNumber, jsonx.KindTrue, jsonx.KindFalse:
			out = append(out, string(r))
		}
	}
	if k := jsonx.KindOf(v); k == jsonx.KindArray {
		jsonx.Elements(v, func(kind jsonx.Kind, r []byte) error { add(kind, r); return nil }) //nolint:errcheck
	} else {
		add(k, v)
	}
	return out
}

// lookup finds path in the JSON object raw: the member named path itself,
// or, splitting at a dot, the member named by the part before it (an
// object) and the rest of the path inside it. Earlier dots are tried first,
// so "a.b.c" finds {"a":{"b.c":..}} and {"a":{"b":{"c":..}}}.
func lookup(raw []byte, path string) ([]byte, bool) {
	var found []byte
	type candidate struct {
		rest string
		raw  []byte
	}
	var nested []candidate
	jsonx.Members(raw, func(name []byte, kind jsonx.Kind, v []byte) error { //nolint:errcheck // verified JSON
		n := string(name)
		if n == path {
			found = v
			return nil
		}
		if kind == jsonx.KindObject && len(path) > len(n) && path[len(n)] == '.' && path[:len(n)] == n {
			nested = append(nested, candidate{path[len(n)+1:], v})
		}
		return nil
	})
	if found != nil {
		return found, true
	}
	// Earlier dots first: the longest rest of the path.
	slices.SortFunc(nested, func(a, b candidate) int { return len(b.rest) - len(a.rest) })
	for _, n := range nested {
		if v, ok := lookup(n.raw, n.rest); ok {
			return v, true
		}
	}
	return nil, false
}

type combined struct {
	reqs []Requirement
	all  bool
}

// AllOf requires every one of reqs.
func AllOf(reqs ...Requirement) Requirement { return combined{reqs: reqs, all: true} }

// AnyOf requires at least one of reqs. When all fail, the 403 challenge
// names the scopes of every alternative.
func AnyOf(reqs ...Requirement) Requirement { return combined{reqs: reqs} }

func (q combined) Check(c *Claims) error {
	if q.all {
		for _, r := range q.reqs {
			if err := r.Check(c); err != nil {
				return err
			}
		}
		return nil
	}
	var scopes, reasons []string
	for _, r := range q.reqs {
		err := r.Check(c)
		if err == nil {
			return nil
		}
		reasons = append(reasons, err.Error())
		if ve, ok := err.(*ValidationError); ok && ve.Scope != "" {
			scopes = append(scopes, ve.Scope)
		}
	}
	if len(q.reqs) == 0 {
		return nil
	}
	return insufficient(strings.Join(scopes, " "), "no alternative satisfied: "+strings.Join(reasons, "; "))
}

// Check checks req against the claims that Required or Maybe stored in
// ctx. Without claims it returns ErrNoToken (wrapped).
func Check(ctx context.Context, req Requirement) error {
	c, ok := ClaimsFromContext(ctx)
	if !ok {
		return errNoToken
	}
	return req.Check(c)
}

// Require returns middleware, to be placed after Required (or Maybe), that
// lets a request through only when its claims satisfy every one of reqs.
// A request without claims gets 401; one whose claims fail gets 403
// insufficient_scope. Answers are written by Config.ErrorHandler.
func (a *Authorizer) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return requireWith(a.errorHandler, reqs)
}

// Require is the Chain's equivalent of Authorizer.Require.
func (c *Chain) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return requireWith(c.onError, reqs)
}

func requireWith(onErr func(http.ResponseWriter, *http.Request, error), reqs []Requirement) func(http.Handler) http.Handler {
	req := AllOf(reqs...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Check(r.Context(), req); err != nil {
				onErr(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
