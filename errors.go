package oidcauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors returned (wrapped in a *ValidationError) by
// [Authorizer.Validate]. Test for them with [errors.Is].
//
// Every error except [ErrKeysUnavailable], [ErrIntrospectionFailed],
// [ErrNoToken] and [ErrInvalidRequest] means "the token is not acceptable": the middleware
// answers 401 with error="invalid_token" (RFC 6750 §3.1).
var (
	// ErrNoToken means the request carried no bearer token (RFC 6750 §3.1:
	// the challenge then has no error code).
	ErrNoToken = errors.New("oidcauth: no bearer token")

	// ErrInvalidRequest means the request was malformed: a broken
	// Authorization header, or a token in more than one place
	// (RFC 6750 §3.1 invalid_request, status 400).
	ErrInvalidRequest = errors.New("oidcauth: invalid request")

	// ErrMalformedToken means the token is not a well-formed compact JWS
	// (RFC 7515 §7.1): wrong number of parts, bad base64url, bad JSON,
	// or larger than Config.MaxTokenSize.
	ErrMalformedToken = errors.New("oidcauth: malformed token")

	// ErrInvalidHeader means the JOSE header is well-formed JSON but not
	// acceptable: missing alg, a crit member (RFC 7515 §4.1.11), a typ that
	// does not match Config.TokenType (RFC 9068 §4).
	ErrInvalidHeader = errors.New("oidcauth: invalid token header")

	// ErrUnsupportedAlgorithm means the header's alg is not in
	// Config.Algorithms (RFC 8725 §3.1).
	ErrUnsupportedAlgorithm = errors.New("oidcauth: algorithm not allowed")

	// ErrUnknownKey means no usable key matches the token: its kid is not in
	// the provider's key set (even after a refresh), or it has no kid and not
	// exactly one key fits its alg.
	ErrUnknownKey = errors.New("oidcauth: no matching key")

	// ErrInvalidSignature means the signature does not verify.
	ErrInvalidSignature = errors.New("oidcauth: invalid signature")

	// ErrInvalidClaims means the claims set is not acceptable JSON or a
	// registered claim has the wrong type (RFC 7519 §4.1), or a required
	// claim is missing.
	ErrInvalidClaims = errors.New("oidcauth: invalid claims")

	// ErrInvalidIssuer means iss is not the configured issuer.
	ErrInvalidIssuer = errors.New("oidcauth: invalid issuer")

	// ErrInvalidAudience means aud contains none of the configured audiences.
	ErrInvalidAudience = errors.New("oidcauth: invalid audience")

	// ErrIDToken means the token is an OpenID Connect ID token, presented
	// where an access token is expected: its header typ is not at+jwt and
	// it carries claims only ID tokens carry (at_hash, c_hash, s_hash,
	// nonce, typ "ID", token_use "id"; OpenID Connect Core §2, RFC 8725
	// §3.11). An ID token tells a client who signed in; it does not
	// authorize calls to an API (401 invalid_token).
	ErrIDToken = errors.New("oidcauth: ID token used as an access token")

	// ErrTokenExpired means exp is in the past (beyond Config.Leeway).
	ErrTokenExpired = errors.New("oidcauth: token expired")

	// ErrTokenNotYetValid means nbf is in the future (beyond Config.Leeway).
	ErrTokenNotYetValid = errors.New("oidcauth: token not yet valid")

	// ErrTokenIssuedInFuture means iat is in the future (beyond Config.Leeway).
	ErrTokenIssuedInFuture = errors.New("oidcauth: token issued in the future")

	// ErrInsufficientScope means the token is valid but does not grant what
	// the resource requires (RFC 6750 §3.1 insufficient_scope, status 403).
	ErrInsufficientScope = errors.New("oidcauth: insufficient scope")

	// ErrKeysUnavailable means the provider's keys could not be obtained
	// (never fetched since start, or stale beyond Config.MaxStaleness). It is
	// not the client's fault: the middleware answers 503 with Retry-After.
	ErrKeysUnavailable = errors.New("oidcauth: signing keys unavailable")

	// ErrKeyNotYetKnown means the token names a kid the provider's key set
	// lacks while a refresh for unknown kids is cooling down
	// (Config.MinRefreshInterval): the provider may have started using a
	// new key a moment ago, so the token may be good. errors.Is(err,
	// ErrKeysUnavailable) holds: the middleware answers 503 with
	// Retry-After set to the cooldown left, after which the key set is
	// fetched again. A kid the Authorizer saw removed from the key set,
	// and any unknown kid after Close, stay ErrUnknownKey (401).
	ErrKeyNotYetKnown error = &subError{msg: "oidcauth: signing key not yet known", parent: ErrKeysUnavailable}

	// ErrTokenInactive means the introspection endpoint did not answer
	// "active": true for the token (RFC 7662 §2.2): it is unknown,
	// expired, revoked or not meant for this client (401 invalid_token).
	ErrTokenInactive = errors.New("oidcauth: token is not active")

	// ErrIntrospectionFailed means the token could not be introspected: the
	// endpoint was unreachable, answered 5xx or a malformed answer, or
	// refused our own credentials (400 or 401: a configuration error,
	// logged at Error). It is not the client's fault and the token may be
	// good: the middleware answers 503 with Retry-After.
	ErrIntrospectionFailed = errors.New("oidcauth: token introspection failed")

	// ErrInsufficientUserAuthentication means the token is valid but the
	// user's authentication it reflects is not the one the resource
	// requires: its acr is not allowed, or its auth_time is missing or too
	// old (RFC 9470 §3; see RequireACR and RequireMaxAge). The middleware
	// answers 401 with error="insufficient_user_authentication" and the
	// acr_values and max_age the client must request.
	ErrInsufficientUserAuthentication = errors.New("oidcauth: insufficient user authentication")

	// ErrInvalidDPoPProof means the request's DPoP proof (RFC 9449 §4) is
	// missing where the DPoP scheme needs one, repeated, malformed, or
	// fails one of the checks of RFC 9449 §4.3 (see the package docs,
	// "DPoP proofs"): 401 with error="invalid_dpop_proof" on the DPoP
	// challenge.
	ErrInvalidDPoPProof = errors.New("oidcauth: invalid DPoP proof")

	// ErrDPoPReplay means the proof's jti was seen before within the proof
	// window (RFC 9449 §11.1). errors.Is(err, ErrInvalidDPoPProof) holds.
	ErrDPoPReplay error = &subError{msg: "oidcauth: DPoP proof replayed", parent: ErrInvalidDPoPProof}

	// ErrUseDPoPNonce means server nonces are on (DPoPConfig.NonceSecret)
	// and the proof carries no nonce or a stale one (RFC 9449 §9): 401 with
	// error="use_dpop_nonce" and a fresh DPoP-Nonce header.
	ErrUseDPoPNonce = errors.New("oidcauth: DPoP nonce required")

	// ErrDPoPRequired means a token bound to a DPoP key (cnf.jkt, RFC 9449
	// §6) came without a proof — as a Bearer token, or to Validate, which
	// has no request to check a proof against (RFC 9449 §7.2) — or that
	// DPoPConfig.Required refuses an unbound token: 401 with
	// error="invalid_token" on the DPoP challenge.
	ErrDPoPRequired = errors.New("oidcauth: DPoP-bound token and proof required")

	// ErrCertificateMismatch means the token is bound to a TLS client
	// certificate (cnf.x5t#S256, RFC 8705 §3) and the request did not come
	// with that certificate: 401 invalid_token.
	ErrCertificateMismatch = errors.New("oidcauth: token bound to another client certificate")

	// ErrReplayCacheUnavailable means the DPoP replay cache could not
	// record a proof: it is unreachable (a Redis cache) or full (the memory
	// cache never evicts an unexpired entry). The proof may be good: the
	// middleware answers 503 with Retry-After.
	ErrReplayCacheUnavailable = errors.New("oidcauth: DPoP replay cache unavailable")
)

// subError is a sentinel that is also its parent for errors.Is.
type subError struct {
	msg    string
	parent error
}

func (e *subError) Error() string        { return e.msg }
func (e *subError) Is(target error) bool { return target == e.parent }

// ValidationError is the error type returned by [Authorizer.Validate] and
// given to [Config.ErrorHandler]. Err is one of the sentinel errors above;
// Reason says which check failed and what was expected, for logs and
// developers. Reason may quote claim values of the rejected token (never
// the token itself), so the middleware never sends it to clients.
type ValidationError struct {
	Err    error
	Reason string
	// RetryAfter is set with ErrKeysUnavailable: when the next fetch of the
	// provider's keys is due.
	RetryAfter time.Duration
	// Scope is set with ErrInsufficientScope: the space-delimited scopes the
	// resource requires, sent in the challenge's scope attribute
	// (RFC 6750 §3).
	Scope string
	// ACRValues and MaxAge are set with ErrInsufficientUserAuthentication:
	// the space-delimited acr values and the maximum authentication age in
	// seconds that the resource requires ("" for none), sent in the
	// challenge's acr_values and max_age attributes (RFC 9470 §3).
	ACRValues, MaxAge string
}

func (e *ValidationError) Error() string {
	if e.Reason == "" {
		return e.Err.Error()
	}
	// The sentinel carries the "oidcauth:" prefix; a reason quoting a
	// wrapped error does not repeat it.
	return e.Err.Error() + ": " + strings.ReplaceAll(e.Reason, prefix, "")
}

// prefix starts every message of the package, once.
const prefix = "oidcauth: "

// wrapError is an error of the package around another one: its message
// is "oidcauth: " + context + ": " + the other's message without its own
// "oidcauth: " prefix, so the prefix appears once however deep the
// wrapping goes.
type wrapError struct {
	context string
	err     error
}

// wrapf returns err in context (a format with args), with the package
// prefix once; errors.Is and errors.As see err.
func wrapf(err error, format string, args ...any) error {
	return &wrapError{context: fmt.Sprintf(format, args...), err: err}
}

func (e *wrapError) Error() string {
	return prefix + e.context + ": " + strings.ReplaceAll(e.err.Error(), prefix, "")
}

func (e *wrapError) Unwrap() error { return e.err }

func (e *ValidationError) Unwrap() error { return e.Err }

func invalid(sentinel error, reason string) *ValidationError {
	return &ValidationError{Err: sentinel, Reason: reason}
}

// Prebuilt errors for the hot rejection paths, so a flood of garbage tokens
// costs no allocation. They carry no token-specific data.
var (
	errTooLarge     = invalid(ErrMalformedToken, "token larger than MaxTokenSize")
	errParts        = invalid(ErrMalformedToken, "not a compact JWS with three parts")
	errBase64Header = invalid(ErrMalformedToken, "header is not strict base64url")
	errBase64Claims = invalid(ErrMalformedToken, "payload is not strict base64url")
	errBase64Sig    = invalid(ErrMalformedToken, "signature is not strict base64url")
	errBadSignature = invalid(ErrInvalidSignature, "signature does not verify")
)

// StatusCode returns the HTTP status the middleware uses for err:
// 400 for ErrInvalidRequest; 401 for ErrNoToken and invalid tokens
// (ErrTokenExpired, ErrIDToken, ErrUnknownKey, ...); 403 for
// ErrInsufficientScope, the answer of a Requirement that the claims do not
// meet (RFC 6750 §3.1); 401 for ErrInsufficientUserAuthentication (RFC 9470 §3); 503 for ErrKeysUnavailable, ErrKeyNotYetKnown and
// ErrIntrospectionFailed;
// 500 for anything else.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrIntrospectionFailed), errors.Is(err, ErrReplayCacheUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrInsufficientScope):
		return http.StatusForbidden
	case isTokenError(err), errors.Is(err, ErrNoToken), errors.Is(err, ErrInsufficientUserAuthentication):
		return http.StatusUnauthorized
	default:
		return http.StatusInternalServerError
	}
}

var tokenErrors = []error{
	ErrMalformedToken, ErrInvalidHeader, ErrUnsupportedAlgorithm, ErrUnknownKey,
	ErrInvalidSignature, ErrInvalidClaims, ErrInvalidIssuer, ErrInvalidAudience,
	ErrIDToken, ErrTokenExpired, ErrTokenNotYetValid, ErrTokenIssuedInFuture,
	ErrTokenInactive, ErrInvalidDPoPProof, ErrUseDPoPNonce, ErrDPoPRequired, ErrCertificateMismatch,
}

func isTokenError(err error) bool {
	for _, s := range tokenErrors {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
