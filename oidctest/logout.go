package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// BackChannelLogoutEvent is the events member of a logout token (OpenID
// Connect Back-Channel Logout 1.0 §2.4).
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// LogoutToken describes a logout token for [Provider.MintLogoutToken].
type LogoutToken struct {
	// Audience is the client ID the token is for. Required.
	Audience string

	// Subject and SID name the sessions to end (sub and sid claims); at
	// least one should be set (a token with neither is invalid, which is
	// useful too).
	Subject, SID string

	// Claims are merged over the defaults: iss, aud, iat now, exp now+2m,
	// a random jti, events {BackChannelLogoutEvent: {}}, sub and sid when
	// set. A nil value removes a claim (e.g. {"jti": nil}); {"nonce": "x"}
	// adds one, for negative tests.
	Claims map[string]any

	// Header is merged over the defaults alg, kid and typ "logout+jwt";
	// {"typ": nil} removes typ, {"typ": "JWT"} makes it look like an ID
	// token.
	Header map[string]any

	// KeyID selects the signing key; default the active key.
	KeyID string
}

// MintLogoutToken returns a signed logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4) as the provider would POST to a client's
// backchannel_logout_uri.
func (p *Provider) MintLogoutToken(lt LogoutToken) (string, error) {
	if lt.Audience == "" {
		return "", fmt.Errorf("oidctest: LogoutToken.Audience is required")
	}
	b := make([]byte, 16)
	rand.Read(b)
	now := p.now()
	c := map[string]any{
		"aud":    lt.Audience,
		"iat":    now.Unix(),
		"exp":    now.Add(2 * time.Minute).Unix(),
		"jti":    hex.EncodeToString(b),
		"events": map[string]any{BackChannelLogoutEvent: map[string]any{}},
	}
	if lt.Subject != "" {
		c["sub"] = lt.Subject
	}
	if lt.SID != "" {
		c["sid"] = lt.SID
	}
	h := map[string]any{"typ": "logout+jwt"}
	for k, v := range lt.Header {
		h[k] = v
	}
	for k, v := range lt.Claims {
		c[k] = v // nil kept: MintToken removes the claim, default included
	}
	return p.MintToken(Token{Claims: c, Header: h, KeyID: lt.KeyID})
}

// PostLogoutToken POSTs token to a client's backchannel_logout_uri as the
// provider does (§2.5: application/x-www-form-urlencoded, logout_token)
// with client (default http.DefaultClient), and returns the status and at
// most 4 KiB of the body.
func PostLogoutToken(ctx context.Context, client *http.Client, uri, token string) (int, string, error) {
	if client == nil {
		client = http.DefaultClient
	}
	form := url.Values{"logout_token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, string(body), nil
}
