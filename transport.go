package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// This file is the transport-neutral core of the middleware: what Required,
// Maybe and Require do with a request, without an *http.Request, so that
// other transports (the gRPC and connect interceptors of the nested modules
// github.com/oidcauth/oidcauth/grpc and …/connect) stay thin and answer
// exactly as the HTTP middleware does:
//
//	find the credential     BearerFromValues (the Authorization header's values,
//	                        or gRPC's "authorization" metadata)
//	validate it             TokenValidator.Validate (*Authorizer, *Issuers, *Chain)
//	check requirements      Requirement.Check, every one in order
//	map the outcome         StatusCode, or Answer (Authorizer.Answer, …)
//
// Authorize does the first three in one call; Procedures adds, for RPC
// interceptors, which procedures are public and what each one requires.

// A TokenValidator validates a bearer token and maps a refusal to its
// answer. *Authorizer, *Issuers and *Chain are TokenValidators. Validate
// returns an error wrapping ErrNoToken only when there is nothing to
// validate (a Chain without a TokenValidator).
type TokenValidator interface {
	Validate(ctx context.Context, token string) (*Claims, error)
	Answer(err error) Answer
}

var (
	_ TokenValidator = (*Authorizer)(nil)
	_ TokenValidator = (*Issuers)(nil)
	_ TokenValidator = (*Chain)(nil)
)

// BearerFromValues extracts the bearer token from the values of an
// Authorization header, or of any transport's equivalent (gRPC's
// "authorization" metadata): RFC 6750 §2.1, the scheme is
// case-insensitive. It returns ErrNoToken when there is no value or the
// value uses another scheme, and ErrInvalidRequest when the value is
// malformed or when there are two values or more (a request must not carry
// two credentials: RFC 6750 §3.1 invalid_request, 400). BearerToken is
// BearerFromValues(r.Header.Values("Authorization")).
func BearerFromValues(values []string) (string, error) {
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errTwoHeaders
	}
	v := values[0]
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", errNoToken
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		if rest[0] == '\t' {
			return "", errTokenSyntax // RFC 6750 §2.1 allows only spaces
		}
		return "", errNoToken // another scheme, e.g. "BearerX"
	}
	rest = strings.TrimLeft(rest, " ")
	if rest == "" {
		return "", errEmptyToken
	}
	if !isB64Token(rest) {
		return "", errTokenSyntax
	}
	return rest, nil
}

// Authorize is the body of the middleware for any transport: it extracts
// the bearer token from values (see BearerFromValues), validates it with v
// and checks every one of reqs against its claims, in this order. It
// returns the claims, or the first error:
//
//	no bearer token           ErrNoToken (401; Maybe serves the call anonymously)
//	malformed, two values     ErrInvalidRequest (400)
//	invalid token             the Validate error (401 invalid_token)
//	keys unavailable          ErrKeysUnavailable (503, RetryAfter set)
//	requirement not met       ErrInsufficientScope (403), claims returned too
//
// Required is Authorize without reqs, refusing on any error; Maybe serves a
// call anonymously when errors.Is(err, ErrNoToken) and there is no
// requirement to check, exactly as the HTTP middleware does (Maybe then
// Require answers 401 without claims). The error is never built from the
// token; map it with StatusCode or v.Answer. Authorize does not allocate
// beyond what Validate and the requirements do.
func Authorize(ctx context.Context, v TokenValidator, values []string, reqs ...Requirement) (*Claims, error) {
	token, err := BearerFromValues(values)
	if err != nil {
		return nil, err
	}
	c, err := v.Validate(ctx, token)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if err := r.Check(c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Validate validates a bearer token with the Chain's first Authenticator
// that is a TokenValidator (an *Authorizer, *Issuers or nested *Chain):
// as in Authenticate, the first Authenticator that recognises a bearer
// token decides, and a Chain's bearer-token Authenticators all recognise
// every bearer token. Authenticators that need the HTTP request (an
// AuthenticatorFunc checking an API key, say) are skipped: without a
// TokenValidator, Validate returns ErrNoToken.
func (c *Chain) Validate(ctx context.Context, token string) (*Claims, error) {
	for _, a := range c.Authenticators {
		if v, ok := a.(interface {
			Validate(context.Context, string) (*Claims, error)
		}); ok {
			return v.Validate(ctx, token)
		}
	}
	return nil, errNoToken
}

// Procedures is the per-procedure policy of an RPC interceptor (the gRPC
// and connect interceptors of the nested modules …/grpc and …/connect):
// which procedures ("/pkg.Service/Method", gRPC's full method names and
// connect's procedures alike) are served without looking at the
// credentials, and which requirements the claims must meet for the
// others. Build it with NewProcedures; it is read-only afterwards and
// safe for concurrent use. Public, Requirements and Authorize do not
// allocate beyond what the requirements function, the values function,
// Validate and the requirements do.
type Procedures struct {
	methods  map[string][]Requirement
	reqFunc  func(string) []Requirement
	public   map[string]bool
	prefixes []string
}

// NewProcedures checks and copies a per-procedure policy:
//
//	methods  procedure name → the requirements of that procedure (all of
//	         them, in order); names must be "/pkg.Service/Method"
//	reqs     when not nil, the requirements of a procedure not in methods
//	public   full procedure names, or service prefixes "/pkg.Service/",
//	         served without looking at the credentials
//
// A name that is neither is refused with a *ProcedureError. The slices of
// requirements in methods are not copied.
func NewProcedures(methods map[string][]Requirement, reqs func(string) []Requirement, public []string) (*Procedures, error) {
	p := &Procedures{reqFunc: reqs, public: map[string]bool{}, methods: make(map[string][]Requirement, len(methods))}
	for m, r := range methods {
		if !validProcedure(m) {
			return nil, &ProcedureError{Field: "Methods", Name: m}
		}
		p.methods[m] = r
	}
	for _, name := range public {
		switch {
		case strings.HasPrefix(name, "/") && strings.HasSuffix(name, "/") && len(name) > 2 && strings.Count(name, "/") == 2:
			p.prefixes = append(p.prefixes, name)
		case validProcedure(name):
			p.public[name] = true
		default:
			return nil, &ProcedureError{Field: "Public", Name: name}
		}
	}
	return p, nil
}

func validProcedure(m string) bool {
	svc, meth, ok := strings.Cut(strings.TrimPrefix(m, "/"), "/")
	return strings.HasPrefix(m, "/") && ok && svc != "" && meth != "" && !strings.Contains(meth, "/")
}

// Public reports whether the procedure name is served without looking at
// the credentials: it is one of the public names or starts with one of the
// public service prefixes.
func (p *Procedures) Public(name string) bool {
	if p.public[name] {
		return true
	}
	for _, prefix := range p.prefixes {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// Requirements returns the requirements of the procedure name: those of
// methods, else those of the reqs function, else none.
func (p *Procedures) Requirements(name string) []Requirement {
	if r, ok := p.methods[name]; ok {
		return r
	}
	if p.reqFunc != nil {
		return p.reqFunc(name)
	}
	return nil
}

// Authorize is the decision of an RPC interceptor on a call of the
// procedure name, with the semantics of Required (optional false) or Maybe
// (optional true):
//
//	Public procedure              nil, nil: served anonymously, values is not called
//	Authorize succeeds            the claims, nil
//	Maybe, no bearer token and    nil, nil: served anonymously
//	no requirement
//	anything else                 the error of Authorize (map it with v.Answer);
//	                              a token present but not valid is refused,
//	                              never downgraded to anonymous
//
// values returns the values of the credentials' header or metadata, as for
// BearerFromValues; it is called at most once.
func (p *Procedures) Authorize(ctx context.Context, v TokenValidator, name string, values func() []string, optional bool) (*Claims, error) {
	if p.Public(name) {
		return nil, nil
	}
	reqs := p.Requirements(name)
	c, err := Authorize(ctx, v, values(), reqs...)
	if err == nil {
		return c, nil
	}
	if optional && len(reqs) == 0 && errors.Is(err, ErrNoToken) {
		return nil, nil
	}
	return nil, err
}

// A ProcedureError is the error of NewProcedures for a name that is not a
// procedure "/pkg.Service/Method" (in Methods or Public) nor a service
// prefix "/pkg.Service/" (in Public).
type ProcedureError struct {
	// Config names the configuration the field belongs to in the message
	// ("oidcgrpc.Config"); NewProcedures leaves it empty for the caller
	// to set.
	Config string
	Field  string // "Methods" or "Public"
	Name   string
}

func (e *ProcedureError) Error() string {
	field := e.Field
	if e.Config != "" {
		field = e.Config + "." + field
	}
	if e.Field == "Public" {
		return fmt.Sprintf("oidcauth: %s: %q is neither /pkg.Service/ nor /pkg.Service/Method", field, e.Name)
	}
	return fmt.Sprintf("oidcauth: %s: %q is not a full method name /pkg.Service/Method", field, e.Name)
}
