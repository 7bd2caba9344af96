package oauth

import (
	"errors"
	"net/http"
)

// Sentinel errors given to Config.ErrorHandler and returned by
// [Flow.Session]. Test for them with [errors.Is]; [StatusCode] maps them to
// the status the default ErrorHandler answers with.
var (
	// ErrNoSession means the request has no usable session: no cookie, or
	// one that is malformed, tampered with, expired, logged out or
	// unknown to the store, or whose tokens could not be refreshed. All of
	// these look the same on purpose. Status 401.
	ErrNoSession = errors.New("oauth: no session")

	// ErrInvalidState means a callback's state is missing, malformed,
	// unknown to this browser, already used, or expired: the login was
	// not started here, not in this browser, or too long ago (RFC 6749
	// §10.12). Status 400.
	ErrInvalidState = errors.New("oauth: invalid state")

	// ErrInvalidCallback means a callback request is malformed: not a GET,
	// a parameter repeated, or no code. Status 400.
	ErrInvalidCallback = errors.New("oauth: invalid callback request")

	// ErrIssuerMismatch means the callback's iss parameter is not the
	// configured issuer, or is missing although the provider's metadata
	// promises it (RFC 9207 §2.4): a mix-up attack. Status 400.
	ErrIssuerMismatch = errors.New("oauth: authorization response from another issuer")

	// ErrProviderError means the provider answered the authorization
	// request with an error (RFC 6749 §4.1.2.1), e.g. access_denied. The
	// error is a *ProviderError. Status 403.
	ErrProviderError = errors.New("oauth: provider refused the authorization request")

	// ErrExchange means the token endpoint refused to redeem the code
	// (RFC 6749 §5.2), e.g. invalid_grant because the code was used,
	// expired or issued with another PKCE challenge (RFC 7636 §4.6).
	// Status 401.
	ErrExchange = errors.New("oauth: code exchange refused")

	// ErrInvalidIDToken means the ID token failed verification (OpenID
	// Connect Core 1.0 §3.1.3.7): signature, iss, aud, azp, exp, iat,
	// nonce or at_hash; or a refreshed ID token does not match the
	// original one (§12.2). Status 401.
	ErrInvalidIDToken = errors.New("oauth: invalid ID token")

	// ErrRefreshFailed means the provider refused to refresh the session's
	// tokens (RFC 6749 §6) or returned an ID token that does not match the
	// session. The session is ended: middleware then sees ErrNoSession.
	ErrRefreshFailed = errors.New("oauth: token refresh refused")

	// ErrProviderUnavailable means the provider could not be reached or
	// answered with a server error. Status 503; the session is kept.
	ErrProviderUnavailable = errors.New("oauth: provider unavailable")

	// ErrStoreUnavailable means the session store failed (e.g. Redis is
	// down). Stores wrap their transient failures with it. Status 503.
	ErrStoreUnavailable = errors.New("oauth: session store unavailable")

	// ErrSessionTooLarge means a session does not fit in
	// Config.MaxCookieChunks cookies. Nothing is ever truncated: the
	// login fails instead. Use a server-side store. Status 500.
	ErrSessionTooLarge = errors.New("oauth: session too large for the cookie limit")

	// ErrCrossOrigin means a request with an unsafe method came from
	// another origin (Sec-Fetch-Site or Origin, see
	// [http.CrossOriginProtection]): a cross-site request forgery. Status
	// 403.
	ErrCrossOrigin = errors.New("oauth: cross-origin request refused")

	// ErrMethodNotAllowed means a handler was called with a method it does
	// not serve (the login and callback take GET, logout takes POST).
	// Status 405.
	ErrMethodNotAllowed = errors.New("oauth: method not allowed")
)

// ProviderError is the error answer of an authorization request (RFC 6749
// §4.1.2.1), received on the callback after its state was verified. It
// wraps ErrProviderError. Code is the provider's error code, limited to the
// characters RFC 6749 allows; the free-text description is not kept,
// since anyone can put text in a callback URL.
type ProviderError struct {
	Code string
}

func (e *ProviderError) Error() string { return ErrProviderError.Error() + ": " + e.Code }

func (e *ProviderError) Unwrap() error { return ErrProviderError }

// StatusCode returns the HTTP status the default ErrorHandler uses for err:
// 400 for a bad callback, 401 for no session or a failed login, 403 for a
// provider's refusal or a cross-origin request, 405 for a wrong method, 503
// when the provider or the store is unavailable, and 500 for anything else.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrInvalidState), errors.Is(err, ErrInvalidCallback), errors.Is(err, ErrIssuerMismatch):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoSession), errors.Is(err, ErrExchange), errors.Is(err, ErrInvalidIDToken), errors.Is(err, ErrRefreshFailed):
		return http.StatusUnauthorized
	case errors.Is(err, ErrProviderError), errors.Is(err, ErrCrossOrigin):
		return http.StatusForbidden
	case errors.Is(err, ErrMethodNotAllowed):
		return http.StatusMethodNotAllowed
	case errors.Is(err, ErrProviderUnavailable), errors.Is(err, ErrStoreUnavailable):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// message is the fixed text the default ErrorHandler shows for err: nothing
// from the request or the provider is echoed.
func message(err error) string {
	switch {
	case errors.Is(err, ErrInvalidState):
		return "This sign-in link is unknown, expired or was already used. Please sign in again."
	case errors.Is(err, ErrInvalidCallback):
		return "The sign-in response is malformed."
	case errors.Is(err, ErrIssuerMismatch):
		return "The sign-in response came from an unexpected provider."
	case errors.Is(err, ErrProviderError):
		return "The identity provider did not sign you in."
	case errors.Is(err, ErrExchange), errors.Is(err, ErrInvalidIDToken):
		return "Sign-in failed. Please try again."
	case errors.Is(err, ErrNoSession), errors.Is(err, ErrRefreshFailed):
		return "You are not signed in."
	case errors.Is(err, ErrCrossOrigin):
		return "Cross-origin request refused."
	case errors.Is(err, ErrMethodNotAllowed):
		return "Method not allowed."
	case errors.Is(err, ErrProviderUnavailable):
		return "The identity provider is unavailable. Please try again shortly."
	case errors.Is(err, ErrStoreUnavailable):
		return "Sessions are unavailable. Please try again shortly."
	}
	return "Internal error."
}

// errorCodeChars reports whether s is a well-formed error code: 1 to 64
// characters of %x20-21 / %x23-5B / %x5D-7E (RFC 6749 §4.1.2.1).
func errorCodeChars(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
