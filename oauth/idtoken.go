package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// iatLeeway is how far in the future an ID token's iat may be (clock skew).
const iatLeeway = 5 * time.Minute

// verifyIDToken verifies an ID token from the token endpoint (OpenID
// Connect Core 1.0 §3.1.3.7). go-oidc checks the signature against the
// provider's JWKS with the algorithms the provider lists, iss (exactly),
// aud (contains the client ID), exp and nbf; this adds sub, azp, iat
// (present, §2, and not in the future), the nonce when one is expected,
// and at_hash when present (§3.1.3.8).
func (f *Flow) verifyIDToken(ctx context.Context, raw, accessToken, nonce string) (*idClaims, error) {
	idt, err := f.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrInvalidIDToken, err)
	}
	if f.tenants != nil {
		var raw json.RawMessage
		if err := idt.Claims(&raw); err != nil {
			return nil, fmt.Errorf("%w: claims: %v", ErrInvalidIDToken, err)
		}
		if err := f.checkTenant(c.Iss, raw); err != nil {
			return nil, err
		}
	}
	switch {
	case c.Sub == "":
		return nil, fail(ErrInvalidIDToken, "no sub")
	case len(idt.Audience) > 1 && c.Azp == "":
		return nil, fail(ErrInvalidIDToken, "several audiences and no azp")
	case c.Azp != "" && c.Azp != f.clientID:
		return nil, fail(ErrInvalidIDToken, "azp is not the client ID")
	case idt.IssuedAt.IsZero():
		// iat is REQUIRED (OpenID Connect Core 1.0 §2); go-oidc leaves
		// IssuedAt zero when it is absent.
		return nil, fail(ErrInvalidIDToken, "no iat")
	case idt.IssuedAt.After(f.now().Add(iatLeeway)):
		return nil, fail(ErrInvalidIDToken, "iat is in the future")
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(c.Nonce), []byte(nonce)) != 1 {
		return nil, fail(ErrInvalidIDToken, "nonce does not match the login's")
	}
	if idt.AccessTokenHash != "" && accessToken != "" {
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			return nil, fail(ErrInvalidIDToken, "at_hash does not match the access token")
		}
	}
	return &c, nil
}

// sameIdentity checks a refreshed ID token against the session's (OpenID
// Connect Core 1.0 §12.2): same iss, sub, aud and azp; auth_time, when
// both have it, unchanged; a nonce, if any, the original one.
func sameIdentity(old, new *idClaims) error {
	oldAud, err1 := audience(old.Aud)
	newAud, err2 := audience(new.Aud)
	switch {
	case err1 != nil || err2 != nil:
		return fail(ErrInvalidIDToken, "refreshed ID token: malformed aud")
	case new.Iss != old.Iss:
		return fail(ErrInvalidIDToken, "refreshed ID token has another iss")
	case new.Sub != old.Sub:
		return fail(ErrInvalidIDToken, "refreshed ID token has another sub")
	case !sameSet(oldAud, newAud):
		return fail(ErrInvalidIDToken, "refreshed ID token has another aud")
	case new.Azp != old.Azp && new.Azp != "":
		return fail(ErrInvalidIDToken, "refreshed ID token has another azp")
	case old.AuthTime != nil && new.AuthTime != nil && *old.AuthTime != *new.AuthTime:
		return fail(ErrInvalidIDToken, "refreshed ID token has another auth_time")
	case new.Nonce != "" && new.Nonce != old.Nonce:
		return fail(ErrInvalidIDToken, "refreshed ID token has another nonce")
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
