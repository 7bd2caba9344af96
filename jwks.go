package oidcauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// verifyKey is one usable public key, converted from its JWK once, when the
// key set is fetched, so that validating a token does no per-key work.
type verifyKey struct {
	kid    string
	algs   algSet // algorithms this key may verify: fits its type, its alg pin and the allow-list
	rsa    *rsa.PublicKey
	ec     *ecdsa.PublicKey
	ecSize int // bytes per coordinate: 32, 48 or 66
	ed     ed25519.PublicKey
	hmac   []byte // Config.HMACSecret only
	desc   string // "RSA 2048", "EC P-256", "OKP Ed25519"; for logs and the CLI
	// removed is set when a refresh no longer lists this key; cached
	// verdicts made with it are then dropped.
	removed atomic.Bool
}

// same reports whether k and o are the same key with the same use.
func (k *verifyKey) same(o *verifyKey) bool {
	if k.kid != o.kid || k.algs != o.algs {
		return false
	}
	switch {
	case k.rsa != nil:
		return o.rsa != nil && k.rsa.Equal(o.rsa)
	case k.ec != nil:
		return o.ec != nil && k.ec.Equal(o.ec)
	default:
		return o.ed != nil && k.ed.Equal(o.ed)
	}
}

// carryOver replaces the keys of s that old already had by old's
// *verifyKey, and marks old's keys that s no longer has as removed. A key
// thus keeps its identity across refreshes for as long as it is published.
func (s *keySet) carryOver(old *keySet) {
	if old == nil {
		return
	}
	kept := make(map[*verifyKey]bool)
	for i, k := range s.keys {
		for _, o := range old.keys {
			if k.same(o) && !kept[o] {
				s.keys[i] = o
				kept[o] = true
				break
			}
		}
	}
	for kid := range s.byKID {
		delete(s.byKID, kid)
	}
	for _, k := range s.keys {
		if k.kid != "" {
			s.byKID[k.kid] = k
		}
	}
	s.index()
	for _, o := range old.keys {
		if !kept[o] {
			o.removed.Store(true)
		}
	}
}

// keySet is an immutable snapshot of the provider's usable keys. It is
// replaced as a whole on every successful fetch and read without locks.
type keySet struct {
	keys  []*verifyKey
	byKID map[string]*verifyKey
	// only[a] is the key to use for a token without kid that is signed with
	// a: the single usable key that fits a, or nil when there are none or
	// several (trying several keys multiplies the cost of a forged token).
	only    [numAlgs]*verifyKey
	fetched time.Time // when this set was fetched (used for MaxStaleness)
}

// KeyInfo describes one usable key of the provider's key set.
type KeyInfo struct {
	KeyID      string   // kid, may be empty
	Type       string   // "RSA 2048", "EC P-256", "OKP Ed25519"
	Algorithms []string // algorithms the key will verify, within Config.Algorithms
}

// SkippedKey is a key of the provider's JWKS that was not usable, and why.
type SkippedKey struct {
	Index  int    // position in the "keys" array
	KeyID  string // kid, when it had one
	Reason string
	// Expected is true when the key is skipped by design rather than
	// because something is wrong with it: an encryption key, or a key
	// whose algorithms the allow-list leaves out.
	Expected bool
}

const errNoAllowedAlg = "fits no allowed algorithm"

// ParseJWKS reports which keys of a JWKS document (RFC 7517 §5) an
// Authorizer with the given allow-list (nil for DefaultAlgorithms) would
// use, and why it would skip the others. It does no I/O; the CLI's jwks
// and discover commands use it.
func ParseJWKS(doc []byte, algorithms []string) ([]KeyInfo, []SkippedKey, error) {
	if algorithms == nil {
		algorithms = DefaultAlgorithms
	}
	var allowed algSet
	for _, name := range algorithms {
		a := parseAlg([]byte(name))
		if a == algUnknown || hmacAlgs.has(a) {
			return nil, nil, fmt.Errorf("oidcauth: algorithm %q is not accepted from a key set", name)
		}
		allowed.add(a)
	}
	set, skipped, err := parseJWKS(doc, allowed)
	if err != nil {
		return nil, skipped, fmt.Errorf("oidcauth: %w", err)
	}
	return set.info(), skipped, nil
}

// errNoUsableKeys means a JWKS parsed but contained no key we can use. The
// last good set is kept.
var errNoUsableKeys = errors.New("JWKS has no usable signing key")

// parseJWKS turns a JWKS document (RFC 7517 §5) into a key set. Keys that
// cannot be used are skipped and reported, not fatal to the set: an unknown
// kty, "use": "enc", key_ops without "verify", an RSA modulus under 2048
// bits, a point not on its curve, a private key, an alg outside the
// allow-list, a duplicate kid. The document itself must be strict JSON (no
// duplicate member names) with a "keys" array.
func parseJWKS(data []byte, allowed algSet) (*keySet, []SkippedKey, error) {
	var keys []byte
	err := jsonx.Members(data, func(name []byte, kind jsonx.Kind, raw []byte) error {
		if string(name) == "keys" {
			if kind != jsonx.KindArray {
				return errors.New(`"keys" is not an array`)
			}
			keys = raw
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JWKS: %w", err)
	}
	if keys == nil {
		return nil, nil, errors.New(`invalid JWKS: no "keys" member`)
	}
	set := &keySet{byKID: make(map[string]*verifyKey)}
	var skipped []SkippedKey
	i := -1
	err = jsonx.Elements(keys, func(kind jsonx.Kind, raw []byte) error {
		i++
		k, kid, reason := parseKey(kind, raw, allowed)
		if reason == "" && kid != "" && set.byKID[kid] != nil {
			reason = "duplicate kid"
		}
		if reason != "" {
			expected := strings.HasPrefix(reason, "use ") || strings.HasPrefix(reason, "key_ops") || strings.HasSuffix(reason, errNoAllowedAlg)
			skipped = append(skipped, SkippedKey{Index: i, KeyID: kid, Reason: reason, Expected: expected})
			return nil
		}
		set.keys = append(set.keys, k)
		if kid != "" {
			set.byKID[kid] = k
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("invalid JWKS: %w", err)
	}
	if len(set.keys) == 0 {
		return nil, skipped, errNoUsableKeys
	}
	set.index()
	return set, skipped, nil
}

// index fills s.only.
func (s *keySet) index() {
	for a := algorithm(1); a < numAlgs; a++ {
		s.only[a] = nil
		var only *verifyKey
		n := 0
		for _, k := range s.keys {
			if k.algs.has(a) {
				only = k
				n++
			}
		}
		if n == 1 {
			s.only[a] = only
		}
	}
}

// parseKey converts one JWK into a verifyKey, or says why it is unusable.
func parseKey(kind jsonx.Kind, raw []byte, allowed algSet) (k *verifyKey, kid, reason string) {
	if kind != jsonx.KindObject {
		return nil, "", "not a JSON object"
	}
	var use, alg, kty string
	var n []byte
	var hasOps, verifyOp bool
	jsonx.Members(raw, func(name []byte, kind jsonx.Kind, v []byte) error { //nolint:errcheck // raw was validated
		switch string(name) {
		case "kid":
			kid, _ = jsonx.String(v)
		case "use":
			use, _ = jsonx.String(v)
		case "alg":
			alg, _ = jsonx.String(v)
		case "kty":
			kty, _ = jsonx.String(v)
		case "n":
			n = v
		case "key_ops":
			hasOps = true
			jsonx.Elements(v, func(_ jsonx.Kind, op []byte) error { //nolint:errcheck
				verifyOp = verifyOp || jsonx.EqualString(op, "verify")
				return nil
			})
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			reason = "private or symmetric key material in a public key set"
		}
		return nil
	})
	if reason != "" {
		return nil, kid, reason
	}
	if use != "" && use != "sig" {
		return nil, kid, fmt.Sprintf("use %q is not \"sig\"", use)
	}
	if hasOps && !verifyOp {
		return nil, kid, `key_ops lacks "verify"`
	}
	if kty == "RSA" && n != nil {
		// Say plainly why a small key is refused (jwx refuses it too, with
		// a less readable message).
		if s, err := jsonx.String(n); err == nil {
			if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
				if bits := new(big.Int).SetBytes(b).BitLen(); bits < minRSABits {
					return nil, kid, fmt.Sprintf("RSA key of %d bits is under %d", bits, minRSABits)
				}
			}
		}
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, kid, "unparseable JWK: " + firstLine(err.Error())
	}
	var pub any
	if err := jwk.Export(key, &pub); err != nil {
		return nil, kid, "unsupported key: " + firstLine(err.Error())
	}
	k, reason = newVerifyKey(kid, pub, alg, allowed)
	return k, kid, reason
}

// newVerifyKey prepares a public key for verification: it checks the key
// (RSA size and exponent, point on the curve) and works out the algorithms
// it may verify: those that fit its type, pinned by alg when alg is set,
// within allowed. reason says why the key is unusable.
func newVerifyKey(kid string, pub any, alg string, allowed algSet) (k *verifyKey, reason string) {
	k = &verifyKey{kid: kid}
	var fits algSet
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Sprintf("RSA key of %d bits is under %d", p.N.BitLen(), minRSABits)
		}
		if p.E < 3 || p.E%2 == 0 {
			return nil, fmt.Sprintf("RSA public exponent %d is not an odd number of at least 3", p.E)
		}
		k.rsa, fits = p, rsaAlgs
		k.desc = fmt.Sprintf("RSA %d", p.N.BitLen())
	case *ecdsa.PublicKey:
		// ECDH() fails for a point that is not on the curve.
		if _, err := p.ECDH(); err != nil {
			return nil, "EC point is not on its curve"
		}
		switch p.Curve {
		case elliptic.P256():
			fits, k.ecSize = p256Algs, 32
		case elliptic.P384():
			fits, k.ecSize = p384Algs, 48
		case elliptic.P521():
			fits, k.ecSize = p521Algs, 66
		default:
			return nil, "unsupported EC curve"
		}
		k.ec = p
		k.desc = "EC " + p.Curve.Params().Name
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, "bad Ed25519 key size"
		}
		k.ed, fits = p, ed25519Al
		k.desc = "OKP Ed25519"
	default:
		return nil, fmt.Sprintf("unsupported key type %T (private or symmetric keys are never used)", pub)
	}
	if alg != "" {
		// RFC 7517 §4.4: a key's alg pins it to that algorithm.
		a := parseAlg([]byte(alg))
		if a == algUnknown || !fits.has(a) {
			return nil, fmt.Sprintf("alg %q does not fit the %s key", alg, k.desc)
		}
		// EdDSA and Ed25519 name the same algorithm for an Ed25519 key.
		if a == algEdDSA || a == algEd25519 {
			fits = ed25519Al
		} else {
			fits = 1 << a
		}
	}
	k.algs = fits & allowed
	if k.algs == 0 {
		return nil, k.desc + " key " + errNoAllowedAlg
	}
	return k, ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// info lists the usable keys, sorted by kid.
func (s *keySet) info() []KeyInfo {
	out := make([]KeyInfo, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, KeyInfo{KeyID: k.kid, Type: k.desc, Algorithms: strings.Split(k.algs.String(), ",")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyID < out[j].KeyID })
	return out
}

// kids lists the key ids of the set, sorted, for logs and error reasons.
func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.byKID))
	for kid := range s.byKID {
		out = append(out, kid)
	}
	sort.Strings(out)
	return out
}
