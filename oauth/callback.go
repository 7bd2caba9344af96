package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcauth/oidcauth"
)

// CallbackHandler returns the handler for the redirection endpoint (RFC 6749
// §3.1.2), mounted at the path of Config.RedirectURL. On GET it:
//
//  1. checks the state (RFC 6749 §10.12) before anything else: it must
//     name a transaction cookie of this browser that opens with the keys,
//     carries the same state and has not expired; the cookie is deleted
//     whatever happens next, so a state works once;
//  2. checks the iss parameter (RFC 9207 §2.4): when present it must be
//     the issuer, and it must be present when the provider's metadata
//     says authorization_response_iss_parameter_supported;
//  3. turns an error response (RFC 6749 §4.1.2.1) into a *ProviderError;
//  4. redeems the code with the PKCE code verifier (RFC 7636 §4.5);
//  5. verifies the ID token (OpenID Connect Core 1.0 §3.1.3.7): signature
//     with the provider's keys, iss, aud containing the client ID, azp
//     (required with several audiences, and equal to the client ID when
//     present), exp, iat present (§2) and not in the future, the nonce of
//     this login, and at_hash when present (§3.1.3.8);
//  6. ends the browser's previous session, if any, and creates a session
//     with a fresh ID (no session fixation);
//  7. answers 303 See Other to the login's next, with the session
//     cookie(s) set on this very response and the transaction cookie
//     deleted.
//
// Any failure goes to Config.ErrorHandler (400 for a bad state, callback
// or iss, 401 for a refused code or an invalid ID token, 403 for the
// provider's refusal, 503 when the provider is unreachable). Responses
// carry Cache-Control: no-store and Referrer-Policy: no-referrer, so the
// code never leaks through a Referer header.
func (f *Flow) CallbackHandler() http.Handler { return http.HandlerFunc(f.callback) }

func (f *Flow) callback(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	next, err := f.finishLogin(w, r)
	if err != nil {
		f.log.LogAttrs(r.Context(), levelFor(err), "oauth: login failed", errAttr(err))
		f.errorHandler(w, r, err)
		return
	}
	h.Set("Location", next)
	w.WriteHeader(http.StatusSeeOther)
}

// fail returns an error wrapping sentinel with a reason for logs.
func fail(sentinel error, reason string) error {
	return fmt.Errorf("%w: %s", sentinel, reason)
}

func (f *Flow) finishLogin(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		return "", ErrMethodNotAllowed
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", fail(ErrInvalidCallback, "query does not parse")
	}
	for k, v := range q {
		if len(v) > 1 {
			return "", fail(ErrInvalidCallback, "parameter "+url.QueryEscape(k)+" is repeated")
		}
	}

	// 1. State, before anything else.
	state := q.Get("state")
	if !ValidSessionID(state) { // states have the same form as session IDs
		return "", fail(ErrInvalidState, "state missing or malformed")
	}
	name := f.cookies.txName(state)
	c, err := r.Cookie(name)
	if err != nil {
		return "", fail(ErrInvalidState, "no transaction cookie for this state (already used, expired, or started in another browser)")
	}
	f.cookies.expire(w, name)
	var tx transaction
	b, err := f.tx.open(c.Value, name)
	if err != nil || json.Unmarshal(b, &tx) != nil {
		return "", fail(ErrInvalidState, "transaction cookie does not open")
	}
	if subtle.ConstantTimeCompare([]byte(tx.State), []byte(state)) != 1 {
		return "", fail(ErrInvalidState, "state does not match the transaction")
	}
	if f.now().Unix() >= tx.Expires {
		return "", fail(ErrInvalidState, "transaction expired")
	}

	// 2. RFC 9207.
	if iss, ok := q["iss"]; ok {
		if iss[0] != f.issuer {
			return "", fail(ErrIssuerMismatch, "iss parameter is not the issuer")
		}
	} else if f.issRequired {
		return "", fail(ErrIssuerMismatch, "iss parameter missing although the provider supports it")
	}

	// 3. Error response.
	if e, ok := q["error"]; ok {
		code := e[0]
		if !errorCodeChars(code) {
			code = "(malformed)"
		}
		return "", &ProviderError{Code: code}
	}

	// 4, 5. Code, tokens, ID token.
	code := q.Get("code")
	if code == "" {
		return "", fail(ErrInvalidCallback, "no code")
	}
	s, err := f.redeem(r.Context(), code, tx)
	if err != nil {
		return "", err
	}
	if _, lists := f.store.(RevokingStore); lists {
		s.UserAgent = userAgent(r.UserAgent()) // for ListSessions; not in cookies, which cannot list
	}

	// 6. A fresh session; the browser's previous one ends.
	if old, present := f.cookies.readSession(r); present && old != "" {
		if err := f.store.Delete(r.Context(), old); err != nil {
			f.log.LogAttrs(r.Context(), levelFor(err), "oauth: could not delete the previous session", errAttr(err))
		}
	}
	value, err := f.store.Create(r.Context(), s)
	if err != nil {
		return "", fmt.Errorf("oauth: creating session: %w", err)
	}
	// 7. The cookie goes on the redirect itself.
	if err := f.cookies.writeSession(w, r, value, s.ExpiresAt, f.now()); err != nil {
		f.store.Delete(r.Context(), value) //nolint:errcheck // best effort; the cookie was never set
		return "", err
	}
	return tx.Next, nil
}

// redeem exchanges the code (RFC 6749 §4.1.3, RFC 7636 §4.5) and verifies
// the ID token, returning a new session.
func (f *Flow) redeem(parent context.Context, code string, tx transaction) (*Session, error) {
	ctx, cancel := f.providerContext(parent)
	defer cancel()
	tok, err := f.oauth2.Exchange(ctx, code, oauth2.VerifierOption(tx.Verifier))
	if err != nil {
		return nil, tokenEndpointError(ErrExchange, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return nil, fail(ErrInvalidIDToken, "the token response has no id_token (is the openid scope granted?)")
	}
	if _, err := f.verifyIDToken(ctx, rawID, tok.AccessToken, tx.Nonce); err != nil {
		return nil, err
	}
	now := f.now()
	return &Session{
		ID:                randomString(),
		IDToken:           rawID,
		AccessToken:       tok.AccessToken,
		AccessTokenExpiry: f.expiry(tok, now),
		RefreshToken:      tok.RefreshToken,
		CreatedAt:         now,
		ExpiresAt:         now.Add(f.sessionLifetime),
	}, nil
}

// expiry is when tok's access token expires, from expires_in and the
// Flow's clock; zero when the provider did not say.
func (f *Flow) expiry(tok *oauth2.Token, now time.Time) time.Time {
	switch {
	case tok.ExpiresIn > 0:
		return now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	case !tok.Expiry.IsZero():
		return tok.Expiry
	}
	return time.Time{}
}

// tokenEndpointError classifies a failed token request: a refusal (RFC
// 6749 §5.2, a 4xx answer) wraps refused; a redirect, which is never
// followed (RFC 6749 §2.3.1, §3.2), wraps ErrProviderUnavailable and
// oidcauth.ErrRedirectRefused; anything else (network, timeout, 5xx, a
// malformed answer) wraps ErrProviderUnavailable. Only the status and the
// error code are kept: never the response body.
func tokenEndpointError(refused, err error) error {
	if errors.Is(err, oidcauth.ErrRedirectRefused) {
		return fmt.Errorf("%w: the token endpoint answered with a redirect, which a token request never follows (it carries the code, the PKCE verifier and the client secret): %w",
			ErrProviderUnavailable, oidcauth.ErrRedirectRefused)
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code := re.ErrorCode
		if !errorCodeChars(code) {
			code = ""
		}
		if status >= 500 || (status == 0 && code == "") {
			return fmt.Errorf("%w: token endpoint answered %d", ErrProviderUnavailable, status)
		}
		return fmt.Errorf("%w: token endpoint answered %d %s", refused, status, code)
	}
	return fmt.Errorf("%w: token request: %v", ErrProviderUnavailable, err)
}
