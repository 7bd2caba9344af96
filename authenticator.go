package oidcauth

import (
	"errors"
	"log/slog"
	"net/http"
)

// An Authenticator recognises one kind of credential in a request and
// checks it. Authenticate returns an error wrapping ErrNoToken when the
// request carries no credential of its kind, so that a Chain can try the
// next one; any other error rejects the request.
//
// *Authorizer (bearer tokens of one issuer) and *Issuers (bearer tokens of
// several) are Authenticators; AuthenticatorFunc adapts a function, for
// example an API-key check.
type Authenticator interface {
	Authenticate(r *http.Request) (*Claims, error)
}

// AuthenticatorFunc adapts a function to the Authenticator interface.
type AuthenticatorFunc func(r *http.Request) (*Claims, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Claims, error) { return f(r) }

// Chain tries Authenticators in order. The first that recognises its
// credential decides: a recognised but invalid credential is rejected, never
// skipped in favour of the next Authenticator or of anonymous access.
type Chain struct {
	// Authenticators are tried in order.
	Authenticators []Authenticator
	// Realm is the realm of the WWW-Authenticate challenge. Default "api".
	Realm string
	// ErrorHandler writes the answer for a rejected request. Default: the
	// RFC 6750 answers of Authorizer.WriteError.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives every request the middleware refuses, at Debug
	// level (the reason, method, path and status; never the credential).
	// Default: slog.Default().
	Logger *slog.Logger
}

// Authenticate returns the claims of the first Authenticator that
// recognises a credential in r, or its error; ErrNoToken when none does.
func (c *Chain) Authenticate(r *http.Request) (*Claims, error) {
	for _, a := range c.Authenticators {
		claims, err := a.Authenticate(r)
		if err != nil && errors.Is(err, ErrNoToken) {
			continue
		}
		return claims, err
	}
	return nil, errNoToken
}

// Required lets a request through only when an Authenticator accepts it.
func (c *Chain) Required(next http.Handler) http.Handler {
	return c.door().guard(c, false, next)
}

// Maybe lets a request without any credential through anonymously; a
// request with a credential that is not valid is rejected, as by Required.
func (c *Chain) Maybe(next http.Handler) http.Handler {
	return c.door().guard(c, true, next)
}

// door refuses with the Chain's ErrorHandler and logs to its Logger.
func (c *Chain) door() door {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	return door{onErr: c.onError, log: log}
}

func (c *Chain) onError(w http.ResponseWriter, r *http.Request, err error) {
	if c.ErrorHandler != nil {
		c.ErrorHandler(w, r, err)
		return
	}
	ans := c.Answer(err)
	ans.Write(w)
}

// Answer returns the default answer for err, with the Chain's realm.
func (c *Chain) Answer(err error) Answer { return answerFor(orDefault(c.Realm, "api"), err) }
