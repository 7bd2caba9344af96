package oidctest

// Refresh token reuse detection (RFC 9700 §4.14.2): with rotation, a
// refresh token that was rotated out and is presented again is a double
// spend (a stolen token, or two replicas of a client racing); providers
// that detect it revoke the whole grant.

// maxRetired bounds the rotated-out refresh tokens remembered for reuse
// detection; past it the oldest are forgotten wholesale (a test provider:
// a reuse after that many rotations is answered invalid_grant only).
const maxRetired = 100000

// retire remembers that rt, of grant g, was rotated out. o.mu must be held.
func (o *oauthServer) retire(rt string, g *grant) {
	if o.retired == nil || len(o.retired) >= maxRetired {
		o.retired = make(map[string]*grant)
	}
	o.retired[rt] = g
}

// refreshReused handles a refresh token that is not live: if it was rotated
// out, it counts a reuse and, with RevokeGrantOnRefreshReuse, revokes every
// refresh token of its grant. o.mu must be held.
func (o *oauthServer) refreshReused(rt string, s OAuthSettings) {
	g, ok := o.retired[rt]
	if !ok {
		return
	}
	o.refreshReuses.Add(1)
	if !s.RevokeGrantOnRefreshReuse {
		return
	}
	for k, v := range o.refresh {
		if v == g {
			delete(o.refresh, k)
		}
	}
	for k, v := range o.retired {
		if v == g {
			delete(o.retired, k)
		}
	}
}
