package oidcauth

import (
	"errors"
	"log/slog"
	"net/http"
)

// Required returns middleware that lets a request through only with a valid
// bearer token, and stores its claims in the request context (see
// ClaimsFromContext). Otherwise it logs the refusal at Debug level to
// Config.Logger (reason, method, path and status; never the token) and
// calls Config.ErrorHandler, which by default answers as RFC 6750 §3 says:
//
//	no token                  401  WWW-Authenticate: Bearer realm="…"
//	malformed request         400  … error="invalid_request"
//	invalid token             401  … error="invalid_token"
//	keys unavailable          503  Retry-After: N
//
// The token is read from the Authorization header only, unless
// Config.InsecureAllowQueryToken is set.
func (a *Authorizer) Required(next http.Handler) http.Handler {
	return a.door().guard(a, false, next)
}

// door refuses with Config.ErrorHandler and logs to Config.Logger.
func (a *Authorizer) door() door { return door{onErr: a.errorHandler, log: a.log} }

// Authenticate reads the bearer token of r and validates it: it makes the
// Authorizer an Authenticator. It returns ErrNoToken when r carries no
// bearer token.
//
// It also reads the DPoP scheme with its proof (RFC 9449; see the package
// docs, "DPoP proofs") and checks certificate-bound tokens (RFC 8705 §3).
func (a *Authorizer) Authenticate(r *http.Request) (*Claims, error) {
	return a.authenticate(r)
}

// HasCredential reports whether r carries a credential that the
// Authorizer examines, valid or not: an Authorization header with the
// Bearer scheme (even a malformed one), two Authorization headers, or, with
// Config.InsecureAllowQueryToken, an access_token query parameter. It is
// false exactly for the requests that Maybe serves anonymously. Code that
// offers another way in (a session cookie, say) must use it to decide, so
// that an invalid token is never downgraded to that other way.
//
// A DPoP scheme Authorization header or a DPoP header count too.
func (a *Authorizer) HasCredential(r *http.Request) bool {
	_, _, err := a.credential(r)
	return !errors.Is(err, ErrNoToken) || len(r.Header.Values("DPoP")) > 0
}

// door is how the middleware turns requests away: every refusal is
// logged at Debug level (the reason, the method, the path and the status;
// never the token, the query string or a header) and then answered by
// onErr. Required, Maybe and Require of Authorizer, Issuers and Chain all
// go through it.
type door struct {
	onErr func(http.ResponseWriter, *http.Request, error)
	log   *slog.Logger // nil: no log
}

// refuse logs the refusal and answers it.
func (d door) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if d.log != nil && d.log.Enabled(r.Context(), slog.LevelDebug) {
		d.log.LogAttrs(r.Context(), slog.LevelDebug, "oidcauth: request refused",
			slog.Int("status", StatusCode(err)), slog.String("reason", err.Error()),
			slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	d.onErr(w, r, err)
}

// guard is the body of every Required and Maybe: authenticate, then call
// next with the claims in the context, or refuse. With optional, a request
// without credentials (ErrNoToken) goes to next anonymously.
func (d door) guard(authn Authenticator, optional bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := authn.Authenticate(r)
		if err != nil {
			if optional && errors.Is(err, ErrNoToken) {
				next.ServeHTTP(w, r)
				return
			}
			d.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), c)))
	})
}

// require is the body of every Require: the claims stored by guard must
// satisfy req.
func (d door) require(reqs []Requirement) func(http.Handler) http.Handler {
	req := AllOf(reqs...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := Check(r.Context(), req); err != nil {
				d.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
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
	return BearerFromValues(r.Header.Values("Authorization"))
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
