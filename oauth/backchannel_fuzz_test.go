package oauth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzLogoutToken feeds arbitrary headers and payloads to the logout token
// checks that run on unverified input (the header, step 2) and on the
// verified claims (steps 4 to 7): they never panic, and whatever they
// accept has what the handler then uses (sub or sid, jti, exp, the event).
func FuzzLogoutToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(`{"alg":"ES256","typ":"logout+jwt"}`, `{"iss":"i","sid":"s","iat":1800000000,"exp":1800000100,"jti":"j","events":{"`+BackChannelLogoutEvent+`":{}}}`)
	f.Add(`{"alg":"none"}`, `{"nonce":"n"}`)
	f.Add(`{"alg":"RS256","typ":["x"]}`, `{"events":{"`+BackChannelLogoutEvent+`":[]},"sub":1}`)
	f.Add(`{}`, `null`)
	flow := &Flow{now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, header, claims string) {
		raw := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
		if err := checkLogoutHeader(raw); err != nil && !errors.Is(err, ErrInvalidLogoutToken) {
			t.Fatalf("checkLogoutHeader() error = %v, not ErrInvalidLogoutToken", err)
		}
		var c logoutClaims
		if json.Unmarshal([]byte(claims), &c) != nil {
			return
		}
		err := flow.checkLogoutClaims(&c)
		if err != nil {
			if !errors.Is(err, ErrInvalidLogoutToken) {
				t.Fatalf("checkLogoutClaims() error = %v, not ErrInvalidLogoutToken", err)
			}
			return
		}
		if c.Jti == nil || *c.Jti == "" || c.Exp == nil || c.Nonce != nil ||
			((c.Sub == nil || *c.Sub == "") && (c.Sid == nil || *c.Sid == "")) {
			t.Fatalf("checkLogoutClaims() accepted %s", claims)
		}
	})
}
