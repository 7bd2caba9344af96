package oidcauth

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// Step-up authentication (RFC 9470): requirements on how the user
// authenticated, not on what the token grants. A token that fails them
// gets 401 error="insufficient_user_authentication" with the acr_values
// and max_age that the client passes to the authorization server to
// obtain a token that meets them (RFC 9470 §3, §4).

type acrReq struct {
	values []string
	joined string
}

// RequireACR requires the token's acr claim (OpenID Connect Core §2,
// RFC 9470 §3) to be a string equal to one of values (exact,
// case-sensitive). A token without acr, or with another value, fails with
// ErrInsufficientUserAuthentication; the challenge carries
// acr_values="<values joined by spaces>".
func RequireACR(values ...string) Requirement {
	return acrReq{values: values, joined: strings.Join(values, " ")}
}

func (q acrReq) Check(c *Claims) error {
	var acr string
	var ok bool
	if c != nil {
		if raw, found := lookupTop(c.Raw, "acr"); found && jsonx.KindOf(raw) == jsonx.KindString {
			s, err := jsonx.String(raw)
			acr, ok = s, err == nil
		}
	}
	if ok && slices.Contains(q.values, acr) {
		return nil
	}
	reason := "token has no string acr"
	if ok {
		reason = fmt.Sprintf("acr %s is none of [%s]", strconv.Quote(acr), q.joined)
	}
	return &ValidationError{Err: ErrInsufficientUserAuthentication, Reason: reason, ACRValues: q.joined}
}

type maxAgeReq struct {
	d      time.Duration
	maxAge string // whole seconds, for the challenge
}

// RequireMaxAge requires the user to have authenticated at most d ago:
// the token's auth_time claim (a NumericDate, OpenID Connect Core §2) must
// be present and no earlier than now - d - leeway, with the clock and
// Config.Leeway of the Authorizer that verified the token (time.Now and
// DefaultLeeway for Claims built by hand). An auth_time later than now +
// leeway fails too: a clock that far ahead cannot be trusted with
// freshness. Failures are ErrInsufficientUserAuthentication with
// max_age="<d in whole seconds>" in the challenge (RFC 9470 §3). d must
// not be negative (RequireMaxAge panics: it is a programming error); 0
// means "authenticated just now", within the leeway.
func RequireMaxAge(d time.Duration) Requirement {
	if d < 0 {
		panic("oidcauth: RequireMaxAge with a negative duration")
	}
	return maxAgeReq{d: d, maxAge: strconv.FormatInt(int64(d/time.Second), 10)}
}

func (q maxAgeReq) Check(c *Claims) error {
	fail := func(reason string) error {
		return &ValidationError{Err: ErrInsufficientUserAuthentication, Reason: reason, MaxAge: q.maxAge}
	}
	if c == nil {
		return fail("no claims")
	}
	raw, found := lookupTop(c.Raw, "auth_time")
	if !found {
		return fail("token has no auth_time")
	}
	if jsonx.KindOf(raw) != jsonx.KindNumber {
		return fail("auth_time is not a number")
	}
	f, err := jsonx.Float(raw)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1<<40 {
		return fail("auth_time is not a valid NumericDate")
	}
	sec := math.Floor(f)
	at := time.Unix(int64(sec), int64((f-sec)*1e9))
	now, leeway := time.Now(), DefaultLeeway
	if c.by != nil {
		now, leeway = c.by.now(), c.by.leeway
	}
	switch {
	case at.After(now.Add(leeway)):
		return fail(fmt.Sprintf("auth_time %s is in the future", at.UTC().Format(time.RFC3339)))
	case now.Sub(at) > q.d+leeway:
		return fail(fmt.Sprintf("auth_time %s is older than %s", at.UTC().Format(time.RFC3339), q.d))
	}
	return nil
}

// lookupTop finds the top-level member name of the JSON object raw.
func lookupTop(raw []byte, name string) ([]byte, bool) {
	var found []byte
	jsonx.Members(raw, func(n []byte, _ jsonx.Kind, v []byte) error { //nolint:errcheck // verified JSON
		if string(n) == name {
			found = v
		}
		return nil
	})
	return found, found != nil
}
