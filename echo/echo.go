// Package oidcecho adapts oidcauth's middleware to echo
// (github.com/labstack/echo/v4). It is its own module
// (github.com/oidcauth/oidcauth/echo) so that users of oidcauth who do not
// use echo never download it.
//
// The middleware run oidcauth's own net/http middleware (Required, Maybe,
// Require of an Authorizer, Issuers or Chain): the same status codes,
// WWW-Authenticate challenges, Retry-After, Config.ErrorHandler and Debug
// log. A refused request is answered and the handler is not called (the
// middleware returns nil: the answer is written). The claims of an
// accepted token are in the echo context (Claims(c), or c.Get(ClaimsKey))
// and in the request context
// (oidcauth.ClaimsFromContext(c.Request().Context())).
//
//	e := echo.New()
//	api := e.Group("/api", oidcecho.Required(authz))
//	api.GET("/admin", admin, oidcecho.Require(authz, oidcauth.RequireScopes("admin")))
package oidcecho

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/oidcauth/oidcauth"
)

// ClaimsKey is the echo context key of the claims.
const ClaimsKey = "oidcauth.claims"

// Middleware is what *oidcauth.Authorizer, *oidcauth.Issuers and
// *oidcauth.Chain offer.
type Middleware interface {
	Required(next http.Handler) http.Handler
	Maybe(next http.Handler) http.Handler
	Require(reqs ...oidcauth.Requirement) func(http.Handler) http.Handler
}

// Required lets a request through only with a valid bearer token, as
// m.Required does.
func Required(m Middleware) echo.MiddlewareFunc { return wrap(m.Required) }

// Maybe lets requests without a bearer token through anonymously (Claims
// reports false) and refuses invalid tokens, as m.Maybe does.
func Maybe(m Middleware) echo.MiddlewareFunc { return wrap(m.Maybe) }

// Require refuses (403 insufficient_scope, or 401 without claims) a request
// whose claims, stored by Required or Maybe before it, do not satisfy
// every requirement, as m.Require does.
func Require(m Middleware, reqs ...oidcauth.Requirement) echo.MiddlewareFunc {
	return wrap(m.Require(reqs...))
}

// Claims returns the claims stored by Required or Maybe.
func Claims(c echo.Context) (*oidcauth.Claims, bool) {
	cl, ok := c.Get(ClaimsKey).(*oidcauth.Claims)
	return cl, ok
}

func wrap(mw func(http.Handler) http.Handler) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				if cl, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
					c.Set(ClaimsKey, cl)
				}
				err = next(c)
			}))
			h.ServeHTTP(c.Response(), c.Request())
			return err
		}
	}
}
