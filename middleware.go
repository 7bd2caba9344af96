package oidcauth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Required returns middleware that lets a request through only with a valid
// bearer token, and stores its claims in the request context (see
// ClaimsFromContext). Otherwise it calls Config.ErrorHandler, which by
// default answers as RFC 6750 §3 says:
//
//	no token                  401  WWW-Authenticate: Bearer realm="…"
//	malformed request         400  … error="invalid_request"
//	invalid token             401  … error="invalid_token"
//	keys unavailable          503  Retry-After: N
//
// The token is read from the Authorization header only, unless
// Config.InsecureAllowQueryToken is set.
func (a *Authorizer) Required(next http.Handler) http.Handler {
	return guard(a, a.errorHandler, false, next)
}

// Authenticate reads the bearer token of r and validates it: it makes the
// Authorizer an Authenticator. It returns ErrNoToken when r carries no
// bearer token.
func (a *Authorizer) Authenticate(r *http.Request) (*Claims, error) {
	token, err := a.bearerToken(r)
	if err != nil {
		return nil, err
	}
	return a.Validate(r.Context(), token)
}

// HasCredential reports whether r carries a credential that the
// Authorizer examines, valid or not: an Authorization header with the
// Bearer scheme (even a malformed one), two Authorization headers, or, with
// Config.InsecureAllowQueryToken, an access_token query parameter. It is
// false exactly for the requests that Maybe serves anonymously. Code that
// offers another way in (a session cookie, say) must use it to decide, so
// that an invalid token is never downgraded to that other way.
func (a *Authorizer) HasCredential(r *http.Request) bool {
	_, err := a.bearerToken(r)
	return !errors.Is(err, ErrNoToken)
}

// guard is the body of every Required and Maybe: authenticate, then call
// next with the claims in the context, or onErr. With optional, a request
// without credentials (ErrNoToken) goes to next anonymously.
func guard(authn Authenticator, onErr func(http.ResponseWriter, *http.Request, error), optional bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := authn.Authenticate(r)
		if err != nil {
			if optional && errors.Is(err, ErrNoToken) {
				next.ServeHTTP(w, r)
				return
			}
			onErr(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
	})
}

var (
	errNoToken     = &ValidationError{Err: ErrNoToken}
	errTwoHeaders  = invalid(ErrInvalidRequest, "more than one Authorization header")
	errEmptyToken  = invalid(ErrInvalidRequest, "Bearer scheme without a token")
	errTokenSyntax = invalid(ErrInvalidRequest, "bearer token has characters outside b64token (RFC 6750 §2.1)")
)

// BearerToken extracts the bearer token from the Authorization header
// (RFC 6750 §2.1; the scheme is case-insensitive). It returns ErrNoToken
// when there is no Authorization header or it uses another scheme, and
// ErrInvalidRequest when the header is malformed or repeated.
func BearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errTwoHeaders
	}
	v := vals[0]
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

var errTwoPlaces = invalid(ErrInvalidRequest, "token in more than one place")

// bearerToken extracts the token from the Authorization header and, with
// Config.InsecureAllowQueryToken, from the access_token query parameter.
func (a *Authorizer) bearerToken(r *http.Request) (string, error) {
	token, err := BearerToken(r)
	if !a.queryToken {
		return token, err
	}
	q, inQuery := r.URL.Query()["access_token"]
	switch {
	case !inQuery:
		return token, err
	case len(q) > 1 || !errors.Is(err, ErrNoToken):
		return "", errTwoPlaces
	case q[0] == "":
		return "", errEmptyToken
	case !isB64Token(q[0]):
		return "", errTokenSyntax
	}
	return q[0], nil
}

// isB64Token checks b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=" (RFC 6750 §2.1).
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if b64url[c] || c == '.' || c == '~' || c == '+' || c == '/' {
			continue
		}
		break
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// WriteError writes the default answer for err (RFC 6750 §3): the status of
// StatusCode(err), a WWW-Authenticate challenge, and a small JSON body. The
// error description is a fixed text per error kind: nothing from the token
// or the request is echoed.
func (a *Authorizer) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, a.realm, err)
}

// writeError writes the RFC 6750 answer for err with the given realm.
func writeError(w http.ResponseWriter, realm string, err error) {
	status := StatusCode(err)
	code, desc := errorCode(err)
	h := w.Header()
	if status == http.StatusUnauthorized || status == http.StatusBadRequest || status == http.StatusForbidden {
		var b strings.Builder
		b.WriteString("Bearer realm=")
		b.WriteString(quoteParam(realm))
		if code != "" {
			b.WriteString(", error=")
			b.WriteString(quoteParam(code))
			b.WriteString(", error_description=")
			b.WriteString(quoteParam(desc))
		}
		var ve *ValidationError
		if status == http.StatusForbidden && errors.As(err, &ve) && ve.Scope != "" {
			b.WriteString(", scope=")
			b.WriteString(quoteParam(ve.Scope))
		}
		h.Set("WWW-Authenticate", b.String())
	}
	if status == http.StatusServiceUnavailable {
		var ve *ValidationError
		secs := 1
		if errors.As(err, &ve) && ve.RetryAfter > 0 {
			secs = int((ve.RetryAfter + 999_999_999) / 1_000_000_000)
		}
		h.Set("Retry-After", strconv.Itoa(secs))
		code, desc = "temporarily_unavailable", "the token issuer's keys are unavailable"
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if code == "" {
		code, desc = "unauthorized", "a bearer token is required"
	}
	w.Write([]byte(`{"error":` + strconv.Quote(code) + `,"error_description":` + strconv.Quote(desc) + "}\n")) //nolint:errcheck
}

// errorCode maps err to an RFC 6750 error code and a fixed description.
func errorCode(err error) (code, desc string) {
	switch {
	case errors.Is(err, ErrNoToken):
		return "", ""
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request", "the request is malformed"
	case errors.Is(err, ErrTokenExpired):
		return "invalid_token", "the token has expired"
	case errors.Is(err, ErrTokenNotYetValid), errors.Is(err, ErrTokenIssuedInFuture):
		return "invalid_token", "the token is not valid yet"
	case errors.Is(err, ErrInvalidAudience):
		return "invalid_token", "the token is not meant for this resource"
	case errors.Is(err, ErrKeysUnavailable):
		return "", ""
	case errors.Is(err, ErrInsufficientScope):
		return "insufficient_scope", "the token does not grant the required scope"
	case isTokenError(err):
		return "invalid_token", "the token is invalid"
	}
	return "server_error", "internal error"
}

// quoteParam renders an auth-param value as a quoted-string (RFC 9110
// §5.6.4): backslash and double quote are escaped, and any other character
// that cannot appear in a header (controls, DEL, non-ASCII) is dropped, so
// that no value can break the header.
func quoteParam(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
