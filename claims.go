package oidcauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// Claims is the verified claims set of a token (RFC 7519 §4.1, RFC 9068
// §2.2). Treat it as read-only: with Config.TokenCacheSize set, the same
// *Claims is returned for every use of a token, and the Audience of a
// token whose aud is a single configured audience is shared by all such
// tokens.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub
	Audience  []string  // aud, as an array even when the token had a string
	ExpiresAt time.Time // exp (always present in a valid token)
	NotBefore time.Time // nbf; zero when absent
	IssuedAt  time.Time // iat; zero when absent
	ID        string    // jti
	ClientID  string    // client_id (RFC 9068 §2.2, RFC 8693 §4.3)
	// Scopes are the token's scopes: the space-delimited "scope" string
	// (RFC 8693 §4.2, RFC 9068 §2.2.3), or when it is absent "scp", as a
	// space-delimited string (Entra ID) or an array of strings (Okta).
	Scopes []string
	// Raw is the claims set as issued: every member with its original name
	// and value. Do not modify it.
	Raw json.RawMessage

	cognitoAccess bool // token_use is "access" (Config.CognitoAccessTokens)
	// idSignals are the ID-token claims the token carries (see idSignal);
	// atJWT is set when its header typ says at+jwt (RFC 9068 §2.1).
	idSignals idSignal
	atJWT     bool
	// by is the Authorizer that verified the claims: its clock and leeway
	// serve RequireMaxAge (stepup.go). nil for claims built by hand.
	by *Authorizer

	// cnfJKT and cnfX5T are the token's confirmation (RFC 7800 §3.1):
	// cnf.jkt, the thumbprint of its DPoP key (RFC 9449 §6.1), and
	// cnf.x5t#S256, that of its client certificate (RFC 8705 §3.1).
	cnfJKT, cnfX5T string
}

// idSignal is a set of claims that mark a token as an OpenID Connect ID
// token rather than an access token.
type idSignal uint8

const (
	sigAtHash   idSignal = 1 << iota // at_hash (OpenID Connect Core §3.1.3.6)
	sigCHash                         // c_hash (OpenID Connect Core §3.3.2.11)
	sigSHash                         // s_hash (OpenID Connect Financial-grade API §5.1)
	sigNonce                         // nonce (OpenID Connect Core §2)
	sigTypID                         // typ claim "ID" (Keycloak)
	sigTokenUse                      // token_use "id" (Amazon Cognito)
)

var idSignalNames = []string{"at_hash", "c_hash", "s_hash", "nonce", `typ "ID"`, `token_use "id"`}

func (s idSignal) String() string {
	var names []string
	for i, n := range idSignalNames {
		if s&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ", ")
}

// CustomClaims decodes the claims that Required or Maybe stored in ctx
// into a new T, typically a struct of the application's own claims:
//
//	type orgClaims struct {
//		OrgID string   `json:"org_id"`
//		Roles []string `json:"roles"`
//	}
//	org, err := oidcauth.CustomClaims[orgClaims](r.Context())
//
// It returns ErrNoToken (wrapped) when ctx holds no claims. Decoding
// follows Claims.Decode.
func CustomClaims[T any](ctx context.Context) (T, error) {
	var v T
	c, ok := ClaimsFromContext(ctx)
	if !ok {
		return v, errNoToken
	}
	err := c.Decode(&v)
	return v, err
}

// Decode unmarshals the raw claims into v, typically a struct with the
// custom claims an application needs.
//
// Decode uses encoding/json, which matches member names to struct fields
// case-insensitively; the typed fields of Claims are always matched
// exactly.
func (c *Claims) Decode(v any) error {
	if err := json.Unmarshal(c.Raw, v); err != nil {
		return fmt.Errorf("oidcauth: decoding claims: %w", err)
	}
	return nil
}

// HasScope reports whether the token grants scope s (exact match).
func (c *Claims) HasScope(s string) bool { return slices.Contains(c.Scopes, s) }

type claimsKey struct{}

// ClaimsFromContext returns the claims that Required or Maybe stored in the
// request's context, and whether there were any.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// ContextWithClaims returns a copy of ctx carrying c, for other
// authenticators and for tests of handlers.
func ContextWithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// maxNumericDate is 9999-12-31T23:59:59Z: larger NumericDates are refused.
const maxNumericDate = 253402300799

// registered reads into c one of the members that JWT claims (RFC 7519
// §4.1, RFC 8693 §4.2-4.3) and introspection answers (RFC 7662 §2.2)
// share: sub, aud, exp, nbf, iat, jti, client_id and scope. It reports
// whether name is one of them, and whether its value has the type they
// give it.
func (a *Authorizer) registered(c *Claims, name []byte, kind jsonx.Kind, raw []byte) (known, ok bool) {
	switch string(name) {
	case "sub":
		c.Subject, ok = str(kind, raw)
	case "aud":
		c.Audience, ok = a.audience(kind, raw)
	case "exp":
		c.ExpiresAt, ok = numericDate(kind, raw)
	case "nbf":
		c.NotBefore, ok = numericDate(kind, raw)
	case "iat":
		c.IssuedAt, ok = numericDate(kind, raw)
	case "jti":
		c.ID, ok = str(kind, raw)
	case "client_id":
		c.ClientID, ok = str(kind, raw)
	case "scope":
		var s string
		if s, ok = str(kind, raw); ok {
			c.Scopes = strings.Fields(s)
		}
	default:
		return false, true
	}
	return true, ok
}

// parseClaims reads the registered claims of a verified payload. The JSON
// must be strict (no duplicate member names at any depth, valid UTF-8);
// registered claims are matched by exact name and must have the type RFC
// 7519 gives them: a NumericDate is a non-negative JSON number (fractions
// allowed), never a string, boolean or null.
func (a *Authorizer) parseClaims(c *Claims, payload []byte) *ValidationError {
	var bad *ValidationError
	var scp []byte
	var issRaw []byte
	var hasExp bool
	// sub, jti, client_id and scope are decoded after the walk, into one
	// string (strs).
	var strs [numStrClaims][]byte
	err := jsonx.Members(payload, func(name []byte, kind jsonx.Kind, raw []byte) error {
		var ok = true
		switch string(name) {
		case "sub", "jti", "client_id", "scope":
			ok = kind == jsonx.KindString
			strs[strClaimIndex(name)] = raw
		case "iss":
			ok = kind == jsonx.KindString
			issRaw = raw
		case "scp":
			scp = raw
			ok = kind == jsonx.KindString || kind == jsonx.KindArray
		case "token_use":
			if a.cognito {
				ok = kind == jsonx.KindString
				c.cognitoAccess = jsonx.EqualString(raw, "access")
			}
			if jsonx.EqualString(raw, "id") {
				c.idSignals |= sigTokenUse
			}
		case "at_hash":
			c.idSignals |= sigAtHash
		case "c_hash":
			c.idSignals |= sigCHash
		case "s_hash":
			c.idSignals |= sigSHash
		case "nonce":
			c.idSignals |= sigNonce
		case "typ":
			if jsonx.EqualString(raw, "ID") {
				c.idSignals |= sigTypID
			}
		case "cnf":
			ok = parseCnf(c, kind, raw)
		default:
			hasExp = hasExp || string(name) == "exp"
			_, ok = a.registered(c, name, kind, raw)
		}
		if !ok {
			bad = invalid(ErrInvalidClaims, "claim "+string(name)+" has the wrong type ("+kind.String()+")")
			return errStop
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return invalid(ErrInvalidClaims, "claims are not strict JSON: "+err.Error())
	}
	if issRaw == nil {
		return invalid(ErrInvalidIssuer, "token has no iss")
	}
	// Compared without allocating; the configured string is reused.
	if !jsonx.EqualString(issRaw, a.issuer) && (a.issuerAlt == "" || !jsonx.EqualString(issRaw, a.issuerAlt)) {
		got, _ := jsonx.String(issRaw)
		return invalid(ErrInvalidIssuer, fmt.Sprintf("iss %s is not %q", quote(got), a.issuer))
	}
	c.Issuer = a.issuer
	if !hasExp {
		return invalid(ErrInvalidClaims, "token has no exp")
	}
	if !c.setStrings(&strs) {
		return invalid(ErrInvalidClaims, "claims are not strict JSON: a string claim does not decode")
	}
	if c.Scopes == nil && scp != nil {
		if jsonx.KindOf(scp) == jsonx.KindString {
			s, _ := jsonx.String(scp)
			c.Scopes = strings.Fields(s)
		} else if !stringArray(scp, func(s string) { c.Scopes = append(c.Scopes, s) }) {
			return invalid(ErrInvalidClaims, "claim scp is not a string or an array of strings")
		}
	}
	return nil
}

// The string claims parseClaims decodes together, by their index in
// parseClaims' strs.
const (
	strSub = iota
	strJTI
	strClientID
	strScope
	numStrClaims
)

func strClaimIndex(name []byte) int {
	switch string(name) {
	case "sub":
		return strSub
	case "jti":
		return strJTI
	case "client_id":
		return strClientID
	}
	return strScope
}

// setStrings decodes the raw JSON strings strs (nil when absent) into
// Subject, ID, ClientID and Scopes. The four values share one string, so
// that they cost one allocation instead of one each (Scopes is one more:
// its slice). It reports false if one of them is not a valid JSON string.
func (c *Claims) setStrings(strs *[numStrClaims][]byte) bool {
	n := 0
	for _, r := range strs {
		n += len(r) // an upper bound: a decoded string is never longer
	}
	var b strings.Builder
	b.Grow(n)
	var end [numStrClaims]int
	for i, r := range strs {
		if r != nil {
			if len(r) < 2 {
				return false
			}
			inside := r[1 : len(r)-1]
			if bytes.IndexByte(inside, '\\') < 0 && utf8.Valid(inside) {
				b.Write(inside)
			} else {
				s, err := jsonx.String(r)
				if err != nil {
					return false
				}
				b.WriteString(s)
			}
		}
		end[i] = b.Len()
	}
	all := b.String()
	c.Subject, c.ID, c.ClientID = all[:end[strSub]], all[end[strSub]:end[strJTI]], all[end[strJTI]:end[strClientID]]
	if strs[strScope] != nil {
		c.Scopes = strings.Fields(all[end[strClientID]:end[strScope]])
	}
	return true
}

func (a *Authorizer) checkClaims(c *Claims, now time.Time) *ValidationError {
	if a.cognito && c.Audience == nil && c.cognitoAccess {
		// Amazon Cognito access tokens have no aud; their client_id
		// names the app client instead.
		if !a.skipAud && !slices.Contains(a.audiences, c.ClientID) {
			return invalid(ErrInvalidAudience, fmt.Sprintf("Cognito access token client_id %s not in %v", quote(c.ClientID), a.audiences))
		}
	} else if !a.skipAud && !a.audienceOK(c.Audience) {
		return invalid(ErrInvalidAudience, fmt.Sprintf("aud %s not in %v", quoteList(c.Audience), a.audiences))
	}
	if verr := a.checkIDToken(c); verr != nil {
		return verr
	}
	return checkTimes(c, now, a.leeway)
}

// checkIDToken refuses an OpenID Connect ID token presented as an access
// token (RFC 8725 §3.11–3.12: mutually exclusive validation rules). A
// header typ of at+jwt settles it: RFC 9068 §2.1 says the token is an
// access token. Otherwise a token is an ID token when it carries a claim
// only ID tokens carry: at_hash, c_hash or nonce (OpenID Connect Core §2,
// §3.1.3.6, §3.3.2.11), s_hash (FAPI), typ "ID" (Keycloak) or token_use
// "id" (Amazon Cognito). Config.NonceInAccessTokens tolerates nonce alone;
// Config.SkipIDTokenCheck turns the check off.
func (a *Authorizer) checkIDToken(c *Claims) *ValidationError {
	sig := c.idSignals &^ a.idTolerated
	if a.skipIDCheck || c.atJWT || sig == 0 {
		return nil
	}
	return invalid(ErrIDToken, "token carries ID-token claims ("+sig.String()+") and its typ is not at+jwt")
}

// checkTimes checks exp, nbf and iat with leeway. It runs again on every
// token cache hit.
func checkTimes(c *Claims, now time.Time, leeway time.Duration) *ValidationError {
	if !now.Before(c.ExpiresAt.Add(leeway)) {
		return invalid(ErrTokenExpired, "exp "+c.ExpiresAt.UTC().Format(time.RFC3339)+" is past")
	}
	if !c.NotBefore.IsZero() && now.Add(leeway).Before(c.NotBefore) {
		return invalid(ErrTokenNotYetValid, "nbf "+c.NotBefore.UTC().Format(time.RFC3339)+" is in the future")
	}
	if !c.IssuedAt.IsZero() && now.Add(leeway).Before(c.IssuedAt) {
		return invalid(ErrTokenIssuedInFuture, "iat "+c.IssuedAt.UTC().Format(time.RFC3339)+" is in the future")
	}
	return nil
}

func (a *Authorizer) audienceOK(aud []string) bool {
	for _, x := range aud {
		if slices.Contains(a.audiences, x) {
			return true
		}
	}
	return false
}

// audience reads aud: a string or an array of strings (RFC 7519 §4.1.3),
// nothing else. Values equal to a configured audience reuse its string.
func (a *Authorizer) audience(kind jsonx.Kind, raw []byte) ([]string, bool) {
	switch kind {
	case jsonx.KindString:
		for i, s := range a.audOne {
			if jsonx.EqualString(raw, s) {
				return a.audOne[i : i+1 : i+1], true
			}
		}
		s, err := jsonx.String(raw)
		return []string{s}, err == nil
	case jsonx.KindArray:
		out := make([]string, 0, 2)
		ok := stringArrayRaw(raw, func(r []byte) { out = append(out, a.intern(r)) })
		return out, ok
	}
	return nil, false
}

func (a *Authorizer) intern(raw []byte) string {
	for _, s := range a.audiences {
		if jsonx.EqualString(raw, s) {
			return s
		}
	}
	s, _ := jsonx.String(raw)
	return s
}

func str(kind jsonx.Kind, raw []byte) (string, bool) {
	if kind != jsonx.KindString {
		return "", false
	}
	s, err := jsonx.String(raw)
	return s, err == nil
}

func stringArray(raw []byte, fn func(string)) bool {
	return stringArrayRaw(raw, func(r []byte) {
		s, _ := jsonx.String(r)
		fn(s)
	})
}

func stringArrayRaw(raw []byte, fn func([]byte)) bool {
	ok := true
	err := jsonx.Elements(raw, func(kind jsonx.Kind, r []byte) error {
		if kind != jsonx.KindString {
			ok = false
			return errStop
		}
		fn(r)
		return nil
	})
	return ok && err == nil
}

// numericDate reads a NumericDate (RFC 7519 §2): seconds since the epoch as
// a JSON number, possibly fractional, between 0 and year 9999.
func numericDate(kind jsonx.Kind, raw []byte) (time.Time, bool) {
	if kind != jsonx.KindNumber {
		return time.Time{}, false
	}
	f, err := jsonx.Float(raw)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = quote(v)
	}
	return "[" + strings.Join(q, " ") + "]"
}

// parseCnf reads the confirmation members oidcauth enforces from cnf
// (RFC 7800 §3.1): jkt (RFC 9449 §6.1) and x5t#S256 (RFC 8705 §3.1), both
// strings when present. Other confirmation methods are ignored.
func parseCnf(c *Claims, kind jsonx.Kind, raw []byte) bool {
	if kind != jsonx.KindObject {
		return false
	}
	ok := true
	err := jsonx.Members(raw, func(name []byte, kind jsonx.Kind, v []byte) error {
		switch string(name) {
		case "jkt":
			c.cnfJKT, ok = str(kind, v)
			ok = ok && c.cnfJKT != ""
		case "x5t#S256":
			c.cnfX5T, ok = str(kind, v)
			ok = ok && c.cnfX5T != ""
		}
		if !ok {
			return errStop
		}
		return nil
	})
	return ok && err == nil
}
