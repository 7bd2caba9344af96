package oidcauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// b64 is strict base64url without padding (RFC 7515 §2): it rejects
// padding, '+' and '/', and non-canonical trailing bits. Line breaks, which
// the decoder would skip, are rejected by splitToken before decoding.
var b64 = base64.RawURLEncoding.Strict()

// Validate checks a compact JWS access token and returns its claims. In
// order, and stopping at the first failure:
//
//  1. size (Config.MaxTokenSize) and shape: three base64url parts
//     (RFC 7515 §7.1);
//  2. the JOSE header: strict JSON, alg in the allow-list, no crit
//     (RFC 7515 §4.1.11), no b64/zip/enc; jku, jwk, x5u and x5c are
//     never used to find keys (RFC 8725 §3.10);
//  3. the key: by kid in the provider's JWKS, refreshing once (rate
//     limited) for an unknown kid — within the cooldown an unknown kid is
//     ErrKeyNotYetKnown (503), a kid removed from the JWKS ErrUnknownKey;
//     without kid, the single usable key that fits alg;
//  4. the signature, before any claim is read (RFC 8725 §3.3);
//  5. typ against Config.TokenType (RFC 9068 §4, RFC 8725 §3.11);
//  6. the claims: strict JSON, registered claims of the right type
//     (RFC 7519 §4.1), iss exact, aud;
//  7. not an ID token: unless the header typ is at+jwt (RFC 9068 §2.1), no
//     at_hash, c_hash, s_hash, nonce, typ "ID" or token_use "id"
//     (OpenID Connect Core §2; RFC 8725 §3.11) — ErrIDToken; see
//     Config.SkipIDTokenCheck and Config.NonceInAccessTokens;
//  8. exp (required), nbf and iat with Config.Leeway.
//
// With Config.Introspection, a token that is not JWT-shaped (three
// base64url parts, the first a JSON object) is introspected instead
// (RFC 7662; see the package docs, "Opaque tokens and introspection"), and with
// IntrospectionConfig.All a JWT that passed these steps is introspected
// too. A JWT that fails them is never retried by introspection.
//
// A token bound to a DPoP key (cnf.jkt) is refused with ErrDPoPRequired,
// and one bound to a client certificate (cnf.x5t#S256) with
// ErrCertificateMismatch: Validate has no request to check the proof or
// the certificate against (RFC 9449 §7.2). Use the middleware,
// Authenticate or ValidateDPoP for them.
//
// Errors are *ValidationError wrapping one of the Err… sentinels.
func (a *Authorizer) Validate(ctx context.Context, token string) (*Claims, error) {
	c, err := a.validate(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.cnfJKT != "" {
		return nil, errBoundNoRequest
	}
	if c.cnfX5T != "" {
		return nil, errNoCertificate
	}
	return c, nil
}

// validate is Validate without the sender-constraint checks, reported to
// the Observer (the DPoP and certificate paths of the middleware call it
// too). The Observer thus sees the token's own validation: a valid bound
// token refused afterwards for want of its proof or certificate counts as
// a valid token, and the proof's refusal is reported on its own (a replay
// through Observer's DPoP event).
func (a *Authorizer) validate(ctx context.Context, token string) (*Claims, error) {
	if a.obs == nil {
		return a.validateToken(ctx, token)
	}
	start := monotonic()
	c, err := a.validateToken(ctx, token)
	observe(ctx, a.obs, start, err)
	return c, err
}

// validateToken is validate without the Observer.
func (a *Authorizer) validateToken(ctx context.Context, token string) (*Claims, error) {
	if len(token) > a.maxTokenSize {
		return nil, errTooLarge
	}
	if a.intro != nil {
		c, err := a.validateOrIntrospect(ctx, token)
		if err != nil || c.cnfJKT != "" || c.cnfX5T != "" || !bytes.Contains(c.Raw, []byte(`"cnf"`)) {
			return c, err
		}
		// An introspection answer's cnf binds the token as a JWT's does
		// (RFC 9449 §6.2, RFC 8705 §3.2). The cached Claims are shared:
		// a copy carries the binding.
		cc := *c
		if verr := cnfOf(&cc); verr != nil {
			return nil, verr
		}
		return &cc, nil
	}
	return a.validateJWT(ctx, token)
}

// cnfOf reads cnf from c.Raw into c.
func cnfOf(c *Claims) *ValidationError {
	var bad bool
	jsonx.Members(c.Raw, func(name []byte, kind jsonx.Kind, raw []byte) error { //nolint:errcheck // Raw was checked
		if string(name) == "cnf" && !parseCnf(c, kind, raw) {
			bad = true
		}
		return nil
	})
	if bad {
		return invalid(ErrInvalidClaims, "claim cnf is not an object with string jkt and x5t#S256")
	}
	return nil
}

// validateJWT is Validate for a compact JWS, after the size check.
func (a *Authorizer) validateJWT(ctx context.Context, token string) (*Claims, error) {
	now := a.now()
	// A cached verdict is used only while the key set is trusted: past
	// MaxStaleness a token seen before gets ErrKeysUnavailable, like a
	// fresh one (contract 5 of the package docs).
	if a.cache != nil && a.keys.current(now) != nil {
		if c, err, ok := a.cache.get(token, now, a.leeway); ok {
			return c, err
		}
	}
	h1, h2, ok := splitToken(token)
	if !ok {
		return nil, errParts
	}
	// One buffer holds, in this order, the claims (and, before they are
	// decoded, the scratch space of the signature check), the decoded
	// header and a copy of the token: one allocation instead of one per
	// part. The copy gives byte slices of the token's parts without a
	// conversion per part, and it is what the token cache keeps, so that a
	// cached token does not also pin the caller's string.
	pn, hn := b64.DecodedLen(h2-h1-1), b64.DecodedLen(h1)
	po := max(pn, sigScratch)
	buf := make([]byte, po+hn+len(token))
	tb := buf[po+hn:]
	copy(tb, token)
	hb, err := b64.AppendDecode(buf[po:po:po+hn], tb[:h1])
	if err != nil {
		return nil, errBase64Header
	}
	hdr, verr := parseHeader(hb)
	if verr != nil {
		return nil, verr
	}
	if !a.allowed.has(hdr.alg) {
		return nil, invalid(ErrUnsupportedAlgorithm, "alg "+quote(hdr.algName)+" is not in the allow-list")
	}

	ks := a.keys.current(now)
	if ks == nil {
		return nil, a.unavailable(now)
	}
	key, verr := a.findKey(ctx, ks, hdr, now)
	if verr != nil {
		return nil, verr
	}

	var sbuf [512]byte
	sig := sbuf[:0]
	if n := b64.DecodedLen(len(token) - h2 - 1); n > len(sbuf) {
		sig = make([]byte, 0, n)
	}
	sig, err = b64.AppendDecode(sig, tb[h2+1:])
	if err != nil {
		return nil, errBase64Sig
	}
	if !verifySignatureIn(key, hdr.alg, tb[:h2], sig, (*[sigScratch]byte)(buf[:sigScratch])) {
		return nil, errBadSignature
	}

	if verr := a.checkType(hdr); verr != nil {
		return nil, verr
	}
	// The scratch space is dead: the claims overwrite it. Raw's capacity
	// ends with the claims, so an append to it cannot reach the header.
	payload, err := b64.AppendDecode(buf[:0:pn], tb[h1+1:h2])
	if err != nil {
		return nil, errBase64Claims
	}
	payload = payload[:len(payload):len(payload)]
	c := &Claims{Raw: payload, atJWT: isATJWT(hdr), by: a}
	if verr := a.parseClaims(c, payload); verr != nil {
		return nil, verr
	}
	if verr := a.checkClaims(c, now); verr != nil {
		return nil, verr
	}
	if a.cache != nil {
		a.cache.put(tb, c, key)
	}
	return c, nil
}

// splitToken returns the positions of the two dots of a compact JWS. It
// rejects anything but exactly two dots with non-empty parts between them,
// and the line breaks that the base64 decoder would silently skip; every
// other byte outside the base64url alphabet is then rejected by the strict
// decoder. So neither JWE (five parts), JSON serialization, whitespace nor
// line breaks get through.
func splitToken(t string) (h1, h2 int, ok bool) {
	h1 = strings.IndexByte(t, '.')
	if h1 <= 0 {
		return 0, 0, false
	}
	h2 = strings.IndexByte(t[h1+1:], '.')
	if h2 <= 0 {
		return 0, 0, false
	}
	h2 += h1 + 1
	if h2 == len(t)-1 || strings.IndexByte(t[h2+1:], '.') >= 0 ||
		strings.IndexByte(t, '\n') >= 0 || strings.IndexByte(t, '\r') >= 0 {
		return 0, 0, false
	}
	return h1, h2, true
}

var b64url = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		t[c] = true
	}
	return t
}()

// header is the part of a JOSE header the Authorizer reads. kid and typ
// alias the decoded header buffer.
type header struct {
	alg     algorithm
	algName []byte
	kid     []byte
	hasKID  bool
	typ     []byte
	hasTyp  bool
}

// parseHeader reads the JOSE header. Member names are matched exactly
// (case-sensitive, RFC 7515 §4), duplicates are rejected (RFC 7515 §4).
func parseHeader(b []byte) (header, *ValidationError) {
	var h header
	var bad *ValidationError
	err := jsonx.Members(b, func(name []byte, kind jsonx.Kind, raw []byte) error {
		switch string(name) {
		case "alg":
			if kind != jsonx.KindString || bytes.IndexByte(raw, '\\') >= 0 {
				bad = invalid(ErrInvalidHeader, "alg is not a plain string")
				return errStop
			}
			h.algName = raw[1 : len(raw)-1]
			h.alg = parseAlg(h.algName)
		case "kid":
			if kind != jsonx.KindString {
				bad = invalid(ErrInvalidHeader, "kid is not a string")
				return errStop
			}
			h.hasKID = true
			h.kid = raw[1 : len(raw)-1]
			if bytes.IndexByte(h.kid, '\\') >= 0 {
				s, err := jsonx.String(raw)
				if err != nil {
					return err
				}
				h.kid = []byte(s)
			}
		case "typ":
			if kind != jsonx.KindString || bytes.IndexByte(raw, '\\') >= 0 {
				bad = invalid(ErrInvalidHeader, "typ is not a plain string")
				return errStop
			}
			h.hasTyp = true
			h.typ = raw[1 : len(raw)-1]
		case "crit":
			// RFC 7515 §4.1.11: no extension is understood, so any crit
			// header makes the token unacceptable.
			bad = invalid(ErrInvalidHeader, "crit header present; no extension is supported")
			return errStop
		case "cty":
			// RFC 7519 §5.2: cty "JWT" announces a nested JWT, which an
			// access token never is; any other cty is not a claims set.
			bad = invalid(ErrInvalidHeader, "cty header present; nested or non-JWT content is not accepted")
			return errStop
		case "b64", "zip", "enc":
			bad = invalid(ErrInvalidHeader, "header member "+string(name)+" is not allowed in a JWS access token")
			return errStop
		}
		return nil
	})
	if bad != nil {
		return h, bad
	}
	if err != nil {
		return h, invalid(ErrMalformedToken, "header is not strict JSON: "+err.Error())
	}
	if h.algName == nil {
		return h, invalid(ErrInvalidHeader, "header has no alg")
	}
	return h, nil
}

var errStop = errors.New("stop")

// findKey picks the key for the token: by kid, refreshing the key set once
// (rate limited) when the kid is unknown; or, for a token without kid, the
// single usable key that fits its alg.
func (a *Authorizer) findKey(ctx context.Context, ks *keySet, h header, now time.Time) (*verifyKey, *ValidationError) {
	if !h.hasKID {
		if k := ks.only[h.alg]; k != nil {
			return k, nil
		}
		return nil, invalid(ErrUnknownKey, "token has no kid and not exactly one key fits alg "+h.alg.String())
	}
	if k := ks.byKID[string(h.kid)]; k != nil {
		return a.fitKey(k, h)
	}
	if k := ks.only[h.alg]; k != nil && k.kid == "" {
		// A key without kid claims no kid: when it is the single key for
		// the algorithm, a token's kid cannot contradict it.
		return k, nil
	}
	err := a.keys.refreshForKID(ctx)
	if ks2 := a.keys.current(a.now()); ks2 != nil {
		if k := ks2.byKID[string(h.kid)]; k != nil {
			return a.fitKey(k, h)
		}
		ks = ks2
	}
	reason := fmt.Sprintf("kid %s not in JWKS (keys: %s)", quote(h.kid), strings.Join(ks.kids(), ", "))
	switch {
	case errors.Is(err, errCooldown) && a.keys.wasRetired(h.kid):
		// The provider removed this key: the token will not become good.
		a.keys.stats.cooldowns.Add(1)
		reason += "; the key was removed from the JWKS"
	case errors.Is(err, errCooldown):
		// The provider may have started using this key since the last
		// refresh: tell the client to retry when the cooldown ends, not
		// to throw the token away (503, not 401).
		a.keys.stats.cooldowns.Add(1)
		now := a.now()
		return nil, &ValidationError{Err: ErrKeyNotYetKnown, Reason: reason + "; refresh cooling down", RetryAfter: a.keys.cooldownLeft(now)}
	case errors.Is(err, errStaticKeys):
	case errors.Is(err, errClosed):
		reason += "; authorizer closed"
	case err != nil && ctx.Err() == nil:
		// The key may well exist: the provider could not be asked. Not
		// the client's fault, and the token may be good: 503, not 401.
		return nil, &ValidationError{Err: ErrKeysUnavailable, Reason: reason + "; refresh failed: " + err.Error(), RetryAfter: a.keys.retryAfter(a.now())}
	case err != nil:
		reason += "; gave up waiting for the refresh: " + err.Error()
	}
	return nil, invalid(ErrUnknownKey, reason)
}

func (a *Authorizer) fitKey(k *verifyKey, h header) (*verifyKey, *ValidationError) {
	if !k.algs.has(h.alg) {
		return nil, invalid(ErrUnknownKey, fmt.Sprintf("key %s (%s) cannot verify alg %s", quote(k.kid), k.desc, h.alg))
	}
	return k, nil
}

func (a *Authorizer) unavailable(now time.Time) *ValidationError {
	st := a.keys.snapshot()
	reason := "no keys fetched yet"
	if !st.LastSuccess.IsZero() {
		reason = "keys are stale (last good fetch " + st.LastSuccess.UTC().Format("2006-01-02T15:04:05Z") + ")"
	}
	if st.LastError != "" {
		reason += "; last error: " + st.LastError
	}
	return &ValidationError{Err: ErrKeysUnavailable, Reason: reason, RetryAfter: a.keys.retryAfter(now)}
}

// plainTypes are the typ values of an ordinary JWT, accepted when
// Config.TokenType is empty.
var plainTypes = []string{"jwt", "at+jwt", "jose"}

func (a *Authorizer) checkType(h header) *ValidationError {
	typ := h.typ
	if len(typ) > len("application/") && bytes.EqualFold(typ[:len("application/")], []byte("application/")) {
		typ = typ[len("application/"):]
	}
	if a.tokenType != "" {
		if !h.hasTyp || !bytes.EqualFold(typ, []byte(a.tokenType)) {
			return invalid(ErrInvalidHeader, fmt.Sprintf("typ %s is not %q", quote(h.typ), a.tokenType))
		}
		return nil
	}
	if !h.hasTyp {
		return nil
	}
	for _, p := range plainTypes {
		if bytes.EqualFold(typ, []byte(p)) {
			return nil
		}
	}
	return invalid(ErrInvalidHeader, fmt.Sprintf("typ %s names another kind of token", quote(h.typ)))
}

// isATJWT reports whether the header's typ is at+jwt or
// application/at+jwt (RFC 9068 §2.1, compared case-insensitively as
// RFC 7515 §4.1.9 asks).
func isATJWT(h header) bool {
	typ := h.typ
	if len(typ) > len("application/") && bytes.EqualFold(typ[:len("application/")], []byte("application/")) {
		typ = typ[len("application/"):]
	}
	return h.hasTyp && bytes.EqualFold(typ, []byte("at+jwt"))
}

// quote quotes an untrusted value for an error reason, truncated.
func quote[T string | []byte](v T) string {
	if len(v) > 64 {
		return fmt.Sprintf("%q…", string(v[:64]))
	}
	return fmt.Sprintf("%q", string(v))
}
