package oidcauth

import "net/http"

// Maybe returns middleware for resources that serve both anonymous and
// authenticated callers:
//
//	no bearer token          next runs; ClaimsFromContext reports false
//	valid bearer token       next runs with the claims in the context
//	invalid or malformed     rejected exactly as Required rejects it
//	keys unavailable         rejected exactly as Required rejects it (503)
//
// A token that is present but not valid is never downgraded to anonymous:
// a client whose token expired must learn so (401 invalid_token), and an
// attacker must not be able to turn a forged token into an anonymous pass.
// An Authorization header with another scheme (e.g. Basic) counts as no
// bearer token. Refusals are logged at Debug level, as by Required.
func (a *Authorizer) Maybe(next http.Handler) http.Handler {
	return a.door().guard(a, true, next)
}
