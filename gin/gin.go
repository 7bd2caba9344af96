// Package oidcgin adapts oidcauth's middleware to gin
// (github.com/gin-gonic/gin). It is its own module
// (github.com/oidcauth/oidcauth/gin) so that users of oidcauth who do not
// use gin never download it.
//
// The handlers run oidcauth's own net/http middleware (Required, Maybe,
// Require of an Authorizer, Issuers or Chain): the same status codes,
// WWW-Authenticate challenges, Retry-After, Config.ErrorHandler and Debug
// log. A refused request is answered and the gin chain aborted. The claims
// of an accepted token are in the gin context (Claims(c), or c.Get(ClaimsKey))
// and in the request context (oidcauth.ClaimsFromContext(c.Request.Context())).
//
//	r := gin.New()
//	api := r.Group("/api", oidcgin.Required(authz))
//	api.GET("/admin", oidcgin.Require(authz, oidcauth.RequireScopes("admin")), admin)
package oidcgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/oidcauth/oidcauth"
)

// ClaimsKey is the gin context key of the claims.
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
func Required(m Middleware) gin.HandlerFunc { return wrap(m.Required) }

// Maybe lets requests without a bearer token through anonymously (Claims
// reports false) and refuses invalid tokens, as m.Maybe does.
func Maybe(m Middleware) gin.HandlerFunc { return wrap(m.Maybe) }

// Require refuses (403 insufficient_scope, or 401 without claims) a request
// whose claims, stored by Required or Maybe before it, do not satisfy
// every requirement, as m.Require does.
func Require(m Middleware, reqs ...oidcauth.Requirement) gin.HandlerFunc {
	return wrap(m.Require(reqs...))
}

// Claims returns the claims stored by Required or Maybe.
func Claims(c *gin.Context) (*oidcauth.Claims, bool) {
	v, ok := c.Get(ClaimsKey)
	if !ok {
		return nil, false
	}
	cl, ok := v.(*oidcauth.Claims)
	return cl, ok
}

func wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		h := mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			if cl, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
				c.Set(ClaimsKey, cl)
			}
			c.Next()
		}))
		h.ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
