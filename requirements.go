package oidcauth

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// A Requirement is a rule that verified claims must satisfy: "may they?"
// after "who are they?". Check returns nil, or a *ValidationError wrapping
// ErrInsufficientScope, which the middleware answers with 403 and
// WWW-Authenticate: Bearer error="insufficient_scope" (RFC 6750 §3.1), or,
// for the step-up requirements RequireACR and RequireMaxAge, wrapping
// ErrInsufficientUserAuthentication (401, RFC 9470 §3).
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
	values []any // string, bool, nil, integer or floating-point numbers, json.Number
	all    bool  // every value must be present (roles); otherwise any
	what   string
}

// RequireRole requires every one of roles in the claim at path. The claim
// is a JSON string (one role) or an array of strings; numbers and
// booleans never match. path names a top-level claim ("roles", "groups",
// "cognito:groups", "https://example.com/roles") or a dotted path into
// nested objects ("realm_access.roles", Keycloak); a top-level name
// containing dots is found first. Use AnyOf for alternatives.
func RequireRole(path string, roles ...string) Requirement {
	return claimReq{path: path, values: anys(roles), all: true, what: "role"}
}

// RequireClaim requires the claim at path (as for RequireRole) to be a JSON
// string equal to one of values, or an array holding such a string. It
// compares by JSON type: RequireClaim("email_verified", "true") is met by
// the string "true", never by the boolean true — a provider that writes
// the string where the boolean belongs is not the same statement, and
// a claim an attacker can set to a string must not pass for the boolean.
// Use RequireClaimValue for booleans and numbers.
func RequireClaim(path string, values ...string) Requirement {
	return claimReq{path: path, values: anys(values), what: "claim value"}
}

// RequireClaimValue requires the claim at path (as for RequireRole) to be
// equal, as a JSON value, to one of values, or to be an array holding such
// an element: a Go string matches a JSON string, a bool the JSON literal
// true or false, nil JSON null, and an integer, floating-point number or
// json.Number a JSON number of the same numeric value ("3", "3.0" and
// "3e0" all equal 3). RequireClaimValue("email_verified", true) is met by
// the boolean true only. Values of any other Go type never match, and the
// 403's reason names the type.
func RequireClaimValue(path string, values ...any) Requirement {
	return claimReq{path: path, values: values, what: "claim value"}
}

func anys(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func (q claimReq) Check(c *Claims) error {
	for _, v := range q.values {
		if !supportedValue(v) {
			return insufficient("", fmt.Sprintf("%s at %q: values of type %T are not supported", q.what, q.path, v))
		}
	}
	var elems []jsonElem
	if c != nil {
		elems = claimElems(c.Raw, q.path)
	}
	for _, v := range q.values {
		has := slices.ContainsFunc(elems, func(e jsonElem) bool { return jsonEqual(e.kind, e.raw, v) })
		if q.all && !has {
			return insufficient("", fmt.Sprintf("%s %s missing at %q", q.what, showValue(v), q.path))
		}
		if !q.all && has {
			return nil
		}
	}
	if !q.all && len(q.values) > 0 {
		shown := make([]string, len(q.values))
		for i, v := range q.values {
			shown[i] = showValue(v)
		}
		return insufficient("", fmt.Sprintf("%s at %q is none of [%s]", q.what, q.path, strings.Join(shown, " ")))
	}
	return nil
}

func showValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

type jsonElem struct {
	kind jsonx.Kind
	raw  []byte
}

// claimElems returns the value at path in the claims, or the elements of
// the array found there.
func claimElems(raw []byte, path string) []jsonElem {
	v, ok := lookup(raw, path)
	if !ok {
		return nil
	}
	k := jsonx.KindOf(v)
	if k != jsonx.KindArray {
		return []jsonElem{{k, v}}
	}
	var out []jsonElem
	jsonx.Elements(v, func(kind jsonx.Kind, r []byte) error { out = append(out, jsonElem{kind, r}); return nil }) //nolint:errcheck // verified JSON
	return out
}

func supportedValue(v any) bool {
	switch v.(type) {
	case nil, string, bool, json.Number, float32, float64,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// jsonEqual reports whether the JSON value raw of the given kind equals
// want by JSON type and value (see RequireClaimValue).
func jsonEqual(kind jsonx.Kind, raw []byte, want any) bool {
	switch w := want.(type) {
	case string:
		s, err := jsonx.String(raw)
		return kind == jsonx.KindString && err == nil && s == w
	case bool:
		return (w && kind == jsonx.KindTrue) || (!w && kind == jsonx.KindFalse)
	case nil:
		return kind == jsonx.KindNull
	}
	if kind != jsonx.KindNumber {
		return false
	}
	switch w := want.(type) {
	case json.Number:
		if i, err := w.Int64(); err == nil {
			return numberEqualInt(raw, i)
		}
		f, err := w.Float64()
		return err == nil && numberEqualFloat(raw, f)
	case float32:
		return numberEqualFloat(raw, float64(w))
	case float64:
		return numberEqualFloat(raw, w)
	case uint, uint8, uint16, uint32, uint64:
		u := reflect.ValueOf(w).Uint()
		if u > math.MaxInt64 {
			n, err := strconv.ParseUint(string(raw), 10, 64)
			return err == nil && n == u
		}
		return numberEqualInt(raw, int64(u))
	default: // signed integers
		return numberEqualInt(raw, reflect.ValueOf(w).Int())
	}
}

// numberEqualInt compares a JSON number with an integer exactly when the
// number is written as an integer, and by float64 value otherwise (3.0,
// 3e0) when the integer is exactly representable.
func numberEqualInt(raw []byte, want int64) bool {
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return n == want
	}
	if want > 1<<53 || want < -(1<<53) {
		return false
	}
	return numberEqualFloat(raw, float64(want))
}

func numberEqualFloat(raw []byte, want float64) bool {
	f, err := jsonx.Float(raw)
	return err == nil && f == want
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
// names the scopes of every alternative. When every alternative fails
// with ErrInsufficientUserAuthentication (step-up requirements), the
// answer is that 401 instead, with the acr values of every alternative
// and the largest max_age among those that set one.
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
	var scopes, reasons, acrs []string
	stepUp, maxAge := true, -1
	for _, r := range q.reqs {
		err := r.Check(c)
		if err == nil {
			return nil
		}
		reasons = append(reasons, err.Error())
		ve, ok := err.(*ValidationError)
		if ok && ve.Scope != "" {
			scopes = append(scopes, ve.Scope)
		}
		if !ok || ve.Err != ErrInsufficientUserAuthentication {
			stepUp = false
			continue
		}
		for _, v := range strings.Fields(ve.ACRValues) {
			if !slices.Contains(acrs, v) {
				acrs = append(acrs, v)
			}
		}
		if n, err := strconv.Atoi(ve.MaxAge); err == nil && n > maxAge {
			maxAge = n
		}
	}
	if len(q.reqs) == 0 {
		return nil
	}
	reason := "no alternative satisfied: " + strings.Join(reasons, "; ")
	if stepUp {
		ve := &ValidationError{Err: ErrInsufficientUserAuthentication, Reason: reason, ACRValues: strings.Join(acrs, " ")}
		if maxAge >= 0 {
			ve.MaxAge = strconv.Itoa(maxAge)
		}
		return ve
	}
	return insufficient(strings.Join(scopes, " "), reason)
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
// insufficient_scope. Refusals are logged at Debug level, as by Required;
// answers are written by Config.ErrorHandler.
func (a *Authorizer) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return a.door().require(reqs)
}

// Require is the Chain's equivalent of Authorizer.Require.
func (c *Chain) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return c.door().require(reqs)
}
