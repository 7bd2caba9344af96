package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/oidcauth/oidcauth"
)

// UserInfo (OpenID Connect Core 1.0 §5.3). With Config.UserInfo, the
// callback fetches the provider's userinfo_endpoint after the ID token is
// verified and before the session is created:
//
//	request        GET, the access token in the Authorization header
//	               (Bearer, RFC 6750 §2.1; never in the URL), Accept
//	               application/json, on the token client: redirects are
//	               never followed, the Flow's Timeout bounds it
//	answer         200 with a JSON object (Content-Type application/json)
//	               of at most 64 KiB; a signed or encrypted answer
//	               (application/jwt) is refused
//	sub            must equal the ID token's sub (§5.3.2: otherwise the
//	               answer is about another user and must not be used)
//	result         Session.UserInfo, the answer as received, kept for the
//	               session's life (a refresh does not fetch it again)
//	failures       another sub, not JSON, too large, 4xx: the login fails
//	               with ErrInvalidUserInfo (401); network, 5xx, a redirect:
//	               ErrProviderUnavailable (503)
//
// New fails when Config.UserInfo is set and the provider's metadata has no
// userinfo_endpoint.

// maxUserInfoBody bounds the UserInfo answer read.
const maxUserInfoBody = 64 << 10

// sentinel is an error that wraps a broader one.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// ErrInvalidUserInfo means the UserInfo answer (OpenID Connect Core 1.0
// §5.3) was refused: another sub than the ID token's (§5.3.2), not a JSON
// object, too large, or a refusal of the access token. The login fails.
// It wraps ErrInvalidIDToken (claims about the user that cannot be
// trusted), so StatusCode gives 401.
var ErrInvalidUserInfo error = &sentinel{"oauth: invalid UserInfo answer", ErrInvalidIDToken}

// fetchUserInfo gets the UserInfo claims for accessToken and checks that
// they are about sub.
func (f *Flow) fetchUserInfo(ctx context.Context, accessToken, sub string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.userInfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := f.tokenClient.Do(req)
	if err != nil {
		if errors.Is(err, oidcauth.ErrRedirectRefused) {
			return nil, fmt.Errorf("%w: the userinfo endpoint answered with a redirect, which is never followed (the request carries the access token): %w",
				ErrProviderUnavailable, oidcauth.ErrRedirectRefused)
		}
		return nil, fmt.Errorf("%w: userinfo request: %v", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: userinfo endpoint answered %d", ErrProviderUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: userinfo endpoint answered %d", ErrInvalidUserInfo, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("%w: the answer is not application/json (signed or encrypted UserInfo is not supported)", ErrInvalidUserInfo)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUserInfoBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the userinfo answer: %v", ErrProviderUnavailable, err)
	}
	if len(body) > maxUserInfoBody {
		return nil, fmt.Errorf("%w: the answer exceeds %d bytes", ErrInvalidUserInfo, maxUserInfoBody)
	}
	return checkUserInfo(body, sub)
}

// checkUserInfo parses a UserInfo answer: a JSON object with exactly one
// member "sub", a string equal to sub. A member whose name differs from
// "sub" only in case ("SUB", "suB") is refused too: encoding/json matches
// struct fields without regard to case, so such a member would be read as
// the subject by [Session.DecodeUserInfo] into a struct. It returns the
// object, compacted.
func checkUserInfo(body []byte, sub string) (json.RawMessage, error) {
	notObject := fmt.Errorf("%w: not a JSON object", ErrInvalidUserInfo)
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, notObject
	}
	var got *string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, notObject
		}
		switch {
		case key == "sub" && got != nil:
			return nil, fmt.Errorf("%w: sub appears twice", ErrInvalidUserInfo)
		case key == "sub":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, fmt.Errorf("%w: sub is not a string", ErrInvalidUserInfo)
			}
			got = &s
		case strings.EqualFold(key, "sub"):
			return nil, fmt.Errorf("%w: a member %q, which a case-insensitive decoder would take for sub", ErrInvalidUserInfo, key)
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, notObject // trailing data
	}
	if got == nil || *got != sub {
		return nil, fmt.Errorf("%w: its sub is not the ID token's (OpenID Connect Core 1.0 §5.3.2)", ErrInvalidUserInfo)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, body); err != nil {
		return nil, notObject
	}
	return json.RawMessage(out.Bytes()), nil
}

// DecodeUserInfo decodes the session's UserInfo claims (Config.UserInfo)
// into v, e.g. a struct with Email and Groups fields. It returns an error
// when the session has none. These claims were fetched with the access
// token over TLS, not signed: prefer the ID token's claims
// ([Session.Claims]) where the provider puts them there.
func (s *Session) DecodeUserInfo(v any) error {
	if len(s.UserInfo) == 0 {
		return errors.New("oauth: the session has no UserInfo claims (Config.UserInfo off, or a session from before)")
	}
	return json.Unmarshal(s.UserInfo, v)
}
