package oidctest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// IDTokenSigning changes how the token endpoint signs the ID tokens it
// issues, for the relying-party tests of the OpenID Foundation's RP
// certification (rp-id_token-bad-sig-rs256, rp-id_token-sig-hs256,
// rp-id_token-bad-sig-hs256, rp-id_token-kid-absent-*, rp-id_token-sig-none,
// rp-key-rotation-*). The zero value signs normally: with the active key,
// its alg and kid, and "typ": "JWT". The claims are changed with
// [OAuthSettings.IDTokenClaims]. At most one of HS256Secret, Unsigned and
// CorruptSignature may be set; the first set wins in that order.
type IDTokenSigning struct {
	// Header is merged over the ID token's header as [Token.Header] is: a
	// nil value removes the member (e.g. {"kid": nil} for a token without
	// kid).
	Header map[string]any

	// KeyID signs with this key instead of the active one; the key may be
	// unpublished (a signature no published key verifies).
	KeyID string

	// HS256Secret, when set, signs with HMAC-SHA256 keyed with it and sets
	// "alg": "HS256" without kid (OpenID Connect Core 1.0 §10.1: the
	// client secret as a symmetric key). Use the client's secret for a
	// correct MAC, anything else for a bad one.
	HS256Secret string

	// Unsigned issues an unsecured JWT: "alg": "none", no kid, and an
	// empty signature (RFC 7519 §6).
	Unsigned bool

	// CorruptSignature flips one bit of the signature.
	CorruptSignature bool
}

// mintIDToken mints the ID token with claims as s says.
func (p *Provider) mintIDToken(s IDTokenSigning, claims map[string]any) (string, error) {
	tok := Token{Claims: claims, Header: map[string]any{}, KeyID: s.KeyID}
	for k, v := range s.Header {
		tok.Header[k] = v
	}
	switch {
	case s.HS256Secret != "":
		header := merge(map[string]any{"alg": "HS256", "typ": "JWT"}, tok.Header)
		hb, err := marshal(header)
		if err != nil {
			return "", fmt.Errorf("oidctest: marshalling header: %w", err)
		}
		now := p.now()
		pb, err := marshal(merge(map[string]any{"iss": p.issuer, "iat": now.Unix(), "exp": now.Unix() + 3600}, claims))
		if err != nil {
			return "", fmt.Errorf("oidctest: marshalling claims: %w", err)
		}
		input := b64(hb) + "." + b64(pb)
		mac := hmac.New(sha256.New, []byte(s.HS256Secret))
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil)), nil
	case s.Unsigned:
		tok.Header["alg"] = "none"
		tok.Header["kid"] = nil
		tok.Signature = []byte{}
		return p.MintToken(tok)
	case s.CorruptSignature:
		raw, err := p.MintToken(tok)
		if err != nil {
			return "", err
		}
		i := strings.LastIndexByte(raw, '.')
		sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
		if err != nil || len(sig) == 0 {
			return "", fmt.Errorf("oidctest: corrupting the signature: %v", err)
		}
		sig[len(sig)/2] ^= 0x01
		return raw[:i+1] + b64(sig), nil
	}
	return p.MintToken(tok)
}

// idTokenAlg is the algorithm an ID token minted with s carries, for
// at_hash (OpenID Connect Core 1.0 §3.1.3.6).
func (p *Provider) idTokenAlg(s IDTokenSigning) string {
	switch {
	case s.HS256Secret != "":
		return "HS256"
	case s.Unsigned:
		return ""
	case s.KeyID != "":
		return p.KeyAlgorithm(s.KeyID)
	}
	return p.KeyAlgorithm(p.ActiveKeyID())
}
