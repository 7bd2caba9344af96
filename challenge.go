package oidcauth

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Answer is how a refused request is answered, independent of the
// transport: the middleware writes it as an HTTP response (Answer.Write),
// and adapters for other transports (gRPC, connect) map its Status to
// their own codes. Build one with Authorizer.Answer, Issuers.Answer or
// Chain.Answer; a custom Config.ErrorHandler can change it before writing.
type Answer struct {
	// Status is the HTTP status: 400, 401, 403, 503 or 500 (StatusCode).
	Status int

	// Error is the OAuth error code (RFC 6750 §3.1): "invalid_request",
	// "invalid_token", "insufficient_scope", "temporarily_unavailable" (503)
	// or "server_error" (500); "" when the request carried no credential
	// (RFC 6750 §3.1: the challenge then has no error attribute).
	Error string

	// Description is a fixed text per kind of error, safe to show to the
	// client: nothing from the token or the request is echoed.
	Description string

	// Challenges are the WWW-Authenticate challenges (RFC 9110 §11.6.1),
	// set for 400, 401 and 403.
	Challenges []Challenge

	// RetryAfter is set with 503: when to try again (RFC 9110 §10.2.3).
	RetryAfter time.Duration

	// DPoPNonce is set with error "use_dpop_nonce": the nonce the client
	// must put in its next proof, sent in the DPoP-Nonce header
	// (RFC 9449 §8).
	DPoPNonce string
}

// Challenge is one WWW-Authenticate challenge (RFC 9110 §11.6.1) with the
// attributes of RFC 6750 §3. Its String method renders it with every value
// quoted and escaped, so that nothing can break the header; custom error
// handlers can use it to write the same challenges as the middleware.
type Challenge struct {
	// Scheme is the authentication scheme. Default: "Bearer".
	Scheme string
	// Realm is the protection space (RFC 9110 §11.5).
	Realm string
	// Error and ErrorDescription are the error code and a fixed text
	// (RFC 6750 §3.1).
	Error, ErrorDescription string
	// Scope is the space-delimited scope the resource requires
	// (RFC 6750 §3), sent with insufficient_scope.
	Scope string
	// ACRValues and MaxAge are the space-delimited authentication context
	// class references and the maximum authentication age in seconds that
	// the resource requires (RFC 9470 §3), sent with
	// insufficient_user_authentication; "" for none (MaxAge "0" is a
	// value: authenticate again now).
	ACRValues, MaxAge string
	// ResourceMetadata is the URL of the protected resource's metadata
	// (RFC 9728 §5.1), set on every challenge of an Authorizer or Issuers
	// with a Resource.
	ResourceMetadata string

	// Algs is the space-delimited list of JWS algorithms accepted for DPoP
	// proofs (RFC 9449 §7.1), sent on the DPoP challenge.
	Algs string
}

// String renders the challenge: the scheme, then realm, error,
// error_description, scope, acr_values, max_age and resource_metadata,
// each present only when set.
func (c Challenge) String() string {
	var b strings.Builder
	scheme := c.Scheme
	if scheme == "" {
		scheme = "Bearer"
	}
	b.WriteString(scheme)
	sep := " "
	param := func(name, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(quoteParam(value))
		sep = ", "
	}
	param("realm", c.Realm)
	param("error", c.Error)
	param("error_description", c.ErrorDescription)
	param("scope", c.Scope)
	param("acr_values", c.ACRValues)
	param("max_age", c.MaxAge)
	param("resource_metadata", c.ResourceMetadata)

	param("algs", c.Algs)
	return b.String()
}

// Write writes the answer as an HTTP response: the status, the
// WWW-Authenticate challenges, Retry-After with 503, Cache-Control:
// no-store, and a small JSON body with the error code and description.
func (ans *Answer) Write(w http.ResponseWriter) {
	h := w.Header()
	for i, c := range ans.Challenges {
		if i == 0 {
			h.Set("WWW-Authenticate", c.String())
		} else {
			h.Add("WWW-Authenticate", c.String())
		}
	}
	if ans.Status == http.StatusServiceUnavailable {
		secs := 1
		if ans.RetryAfter > 0 {
			secs = int((ans.RetryAfter + time.Second - 1) / time.Second)
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	}
	if ans.DPoPNonce != "" {
		h.Set("DPoP-Nonce", ans.DPoPNonce)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(ans.Status)
	code, desc := ans.Error, ans.Description
	if code == "" {
		code, desc = "unauthorized", "a bearer token is required"
	}
	w.Write([]byte(`{"error":` + strconv.Quote(code) + `,"error_description":` + strconv.Quote(desc) + "}\n")) //nolint:errcheck
}

// Answer returns the default answer for err (RFC 6750 §3), as WriteError
// writes it. With Config.Resource its challenge carries resource_metadata
// (RFC 9728 §5.1). With DPoP (see the package docs, "DPoP proofs") it
// carries a DPoP challenge with algs beside the Bearer one, or only the
// DPoP challenge when DPoPConfig.Required is set.
func (a *Authorizer) Answer(err error) Answer { return a.answers.answer(err) }

// WriteError writes the default answer for err (RFC 6750 §3): the status of
// StatusCode(err), a WWW-Authenticate challenge, and a small JSON body. The
// error description is a fixed text per error kind: nothing from the token
// or the request is echoed.
//
// It writes exactly what Answer(err).Write(w) writes, from strings
// rendered once per kind of answer (see answerCache): a refusal costs no
// allocation beyond the response's header map.
func (a *Authorizer) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	a.answers.write(w, err)
}

// answerFor maps err to its answer with the given realm.
func answerFor(realm string, err error) Answer { return answerWith(realm, "", err) }

// answerWith maps err to its answer with the given realm and metadata URL.
func answerWith(realm, metadataURL string, err error) Answer {
	ans := Answer{Status: StatusCode(err)}
	ans.Error, ans.Description = errorCode(err)
	var ve *ValidationError
	hasVE := errors.As(err, &ve)
	switch ans.Status {
	case http.StatusUnauthorized, http.StatusBadRequest, http.StatusForbidden:
		c := Challenge{Realm: realm, Error: ans.Error, ResourceMetadata: metadataURL}
		if ans.Error != "" {
			c.ErrorDescription = ans.Description
		}
		if ans.Status == http.StatusForbidden && hasVE {
			c.Scope = ve.Scope
		}
		if hasVE && errors.Is(err, ErrInsufficientUserAuthentication) {
			c.ACRValues, c.MaxAge = ve.ACRValues, ve.MaxAge
		}
		ans.Challenges = []Challenge{c}
	case http.StatusServiceUnavailable:
		ans.Error, ans.Description = "temporarily_unavailable", "the token issuer's keys are unavailable"
		if errors.Is(err, ErrIntrospectionFailed) {
			ans.Description = "the token issuer cannot check the token now"
		}
		if errors.Is(err, ErrReplayCacheUnavailable) {
			ans.Description = "the DPoP proof cannot be checked now"
		}
		if hasVE {
			ans.RetryAfter = ve.RetryAfter
		}
	}
	return ans
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
	case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrIntrospectionFailed):
		return "", ""
	case errors.Is(err, ErrInsufficientScope):
		return "insufficient_scope", "the token does not grant the required scope"
	case errors.Is(err, ErrInsufficientUserAuthentication):
		return "insufficient_user_authentication", "a different or more recent user authentication is required"

	case errors.Is(err, ErrInvalidDPoPProof):
		return "invalid_dpop_proof", "the DPoP proof is invalid"
	case errors.Is(err, ErrUseDPoPNonce):
		return "use_dpop_nonce", "the DPoP proof must carry the server's nonce"
	case errors.Is(err, ErrDPoPRequired):
		return "invalid_token", "a DPoP-bound token with a DPoP proof is required"
	case errors.Is(err, ErrCertificateMismatch):
		return "invalid_token", "the token is bound to another client certificate"
	case errors.Is(err, ErrReplayCacheUnavailable):
		return "", ""
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
