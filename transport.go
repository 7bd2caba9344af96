package oidcauth

import (
	"context"
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
// Authorize does the first three in one call.

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
