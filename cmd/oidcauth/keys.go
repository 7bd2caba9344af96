package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// Describing the keys of a JWKS, for discover and jwks.
//
// The library does not (yet) say which keys it skipped and why, so the
// command re-applies its rules here (see parseKey in the root package) and
// then reconciles its verdicts with the keys an Authorizer actually loaded
// (Authorizer.Keys), which win when the two disagree.

// A keyRow describes one member of a JWKS "keys" array.
type keyRow struct {
	index  int    // position in the array
	kid    string // "" when absent
	kty    string // the JWK's kty member, as written
	alg    string // the JWK's alg member
	use    string // the JWK's use member
	size   string // "2048" for RSA, the curve otherwise
	desc   string // the library's description: "RSA 2048", "EC P-256", "OKP Ed25519"
	algs   []string
	reason string // why oidcauth does not use the key; "" if it does
}

// usable reports whether oidcauth uses the key.
func (r *keyRow) usable() bool { return r.reason == "" }

// describeJWKS checks a JWKS document as the library does (strict JSON, a
// "keys" array) and describes each key.
func describeJWKS(doc []byte) ([]keyRow, error) {
	ms, err := members(doc)
	if err != nil {
		return nil, fmt.Errorf("not a strict JSON object: %s", jsonErrText(err))
	}
	keys, ok := lookupMember(ms, "keys")
	if !ok {
		return nil, errors.New(`no "keys" member: not a JWKS`)
	}
	if keys.kind != jsonx.KindArray {
		return nil, errors.New(`"keys" is not an array`)
	}
	var rows []keyRow
	usedKIDs := make(map[string]bool)
	i := -1
	err = jsonx.Elements(keys.raw, func(kind jsonx.Kind, raw []byte) error {
		i++
		r := describeKey(i, kind, raw)
		if r.usable() && r.kid != "" {
			if usedKIDs[r.kid] {
				r.reason, r.algs = "duplicate kid", nil
			}
			usedKIDs[r.kid] = true
		}
		rows = append(rows, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf(`"keys": %s`, jsonErrText(err))
	}
	return rows, nil
}

// Algorithms a key of each type can verify.
var (
	rsaAlgs     = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	ed25519Algs = []string{"EdDSA", "Ed25519"}
	curveAlgs   = map[elliptic.Curve][]string{
		elliptic.P256(): {"ES256"},
		elliptic.P384(): {"ES384"},
		elliptic.P521(): {"ES512"},
	}
)

// minRSABits is the library's smallest RSA modulus (RFC 7518 §3.3).
const minRSABits = 2048

// describeKey describes one JWK and decides, with the library's rules
// and in its order, whether oidcauth uses it.
func describeKey(index int, kind jsonx.Kind, raw []byte) keyRow {
	r := keyRow{index: index}
	if kind != jsonx.KindObject {
		r.reason = "not a JSON object"
		return r
	}
	var hasOps, verifyOp bool
	var crv, n string
	ms, _ := members(raw) // raw was validated with the whole document
	for _, m := range ms {
		s, _ := jsonx.String(m.raw) // "" for a value that is not a string
		switch m.name {
		case "kid":
			r.kid = s
		case "kty":
			r.kty = s
		case "alg":
			r.alg = s
		case "use":
			r.use = s
		case "crv":
			crv = s
		case "n":
			n = s
		case "key_ops":
			hasOps = true
			jsonx.Elements(m.raw, func(_ jsonx.Kind, op []byte) error { //nolint:errcheck // not an array: no verify
				verifyOp = verifyOp || jsonx.EqualString(op, "verify")
				return nil
			})
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			r.reason = "private or symmetric key material in a public key set"
		}
	}
	// The size as the JWK states it, for keys that are skipped before
	// they are parsed.
	rsaBits := 0
	if b, err := base64.RawURLEncoding.DecodeString(n); err == nil && r.kty == "RSA" {
		rsaBits = new(big.Int).SetBytes(b).BitLen()
		r.size = strconv.Itoa(rsaBits)
	} else {
		r.size = crv
	}
	if r.reason != "" {
		return r
	}
	if r.use != "" && r.use != "sig" {
		r.reason = fmt.Sprintf("use %q is not \"sig\"", r.use)
		return r
	}
	if hasOps && !verifyOp {
		r.reason = `key_ops lacks "verify"`
		return r
	}
	if rsaBits > 0 && rsaBits < minRSABits {
		// jwk.ParseKey would refuse it too, in less plain words.
		r.reason = fmt.Sprintf("RSA key of %d bits is under %d", rsaBits, minRSABits)
		return r
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		r.reason = "unparseable JWK: " + firstLine(err.Error())
		return r
	}
	var pub any
	if err := jwk.Export(key, &pub); err != nil {
		r.reason = "unsupported key: " + firstLine(err.Error())
		return r
	}
	var fits []string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		bits := p.N.BitLen()
		r.size, r.desc = strconv.Itoa(bits), fmt.Sprintf("RSA %d", bits)
		if bits < minRSABits {
			r.reason = fmt.Sprintf("RSA key of %d bits is under %d", bits, minRSABits)
			return r
		}
		if p.E < 3 || p.E%2 == 0 {
			r.reason = fmt.Sprintf("RSA public exponent %d is not an odd number of at least 3", p.E)
			return r
		}
		fits = rsaAlgs
	case *ecdsa.PublicKey:
		if _, err := p.ECDH(); err != nil {
			r.reason = "EC point is not on its curve"
			return r
		}
		if fits = curveAlgs[p.Curve]; fits == nil {
			r.reason = "unsupported EC curve"
			return r
		}
		r.size = p.Curve.Params().Name
		r.desc = "EC " + r.size
	case ed25519.PublicKey:
		r.size, r.desc = "Ed25519", "OKP Ed25519"
		if len(p) != ed25519.PublicKeySize {
			r.reason = "bad Ed25519 key size"
			return r
		}
		fits = ed25519Algs
	default:
		r.reason = fmt.Sprintf("unsupported key type %T (private or symmetric keys are never used)", pub)
		return r
	}
	if r.alg != "" {
		// RFC 7517 §4.4: a key's alg pins it to that algorithm.
		switch {
		case !slices.Contains(fits, r.alg):
			r.reason = fmt.Sprintf("alg %q does not fit a %s key", r.alg, r.desc)
			return r
		case r.alg == "EdDSA" || r.alg == "Ed25519":
			// Two names of one algorithm for an Ed25519 key.
		default:
			fits = []string{r.alg}
		}
	}
	for _, a := range fits {
		if slices.Contains(oidcauth.DefaultAlgorithms, a) {
			r.algs = append(r.algs, a)
		}
	}
	if len(r.algs) == 0 {
		r.reason = r.desc + " key fits no allowed algorithm"
	}
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// loadKeys makes an Authorizer the way verify does, with the given issuer
// and, if not empty, JWKS URL, and returns the keys it loaded.
func loadKeys(ctx context.Context, e *env, issuer, jwksURL string, insecureHTTP bool) ([]oidcauth.KeyInfo, error) {
	a, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:            issuer,
		JWKSURL:           jwksURL,
		SkipAudienceCheck: true, // only the keys are wanted
		HTTPClient:        e.client,
		InsecureAllowHTTP: insecureHTTP,
		Logger:            slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	return a.Keys(), nil
}

// reconcile makes rows agree with the keys the library loaded from the
// same JWKS, and returns a note for every disagreement. The library wins:
// its verdict is what verify will do.
func reconcile(rows []keyRow, lib []oidcauth.KeyInfo) []string {
	var notes []string
	matched := make([]bool, len(rows))
	for _, k := range lib {
		i := slices.IndexFunc(rows, func(r keyRow) bool { return r.kid == k.KeyID && r.desc == k.Type && r.usable() })
		if i < 0 || matched[i] {
			i = slices.IndexFunc(rows, func(r keyRow) bool { return r.kid == k.KeyID && !r.usable() })
			if i < 0 {
				notes = append(notes, fmt.Sprintf("oidcauth loaded a key %s (%s) that this command did not find", kidText(k.KeyID), k.Type))
				continue
			}
			notes = append(notes, fmt.Sprintf("key %s: oidcauth uses it, although this command thought %q", kidText(k.KeyID), rows[i].reason))
			rows[i].reason = ""
		}
		matched[i] = true
		rows[i].algs = k.Algorithms
	}
	for i := range rows {
		if rows[i].usable() && !matched[i] {
			notes = append(notes, fmt.Sprintf("key %s: this command found no reason to skip it, but oidcauth did not load it", kidText(rows[i].kid)))
			rows[i].reason, rows[i].algs = "not loaded by oidcauth (reason unknown)", nil
		}
	}
	return notes
}

// kidText is a key id for messages: quoted, or "(no kid)".
func kidText(kid string) string {
	if kid == "" {
		return "(no kid)"
	}
	return strconv.Quote(kid)
}

// writeKeyTable prints rows as a table, each line indented by indent.
func writeKeyTable(w io.Writer, indent string, rows []keyRow) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "%sKID\tKTY\tALG\tUSE\tSIZE\tUSED BY OIDCAUTH\n", indent)
	for _, r := range rows {
		verdict := "yes: " + strings.Join(r.algs, ", ")
		if !r.usable() {
			verdict = "no: " + r.reason
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", indent, cell(r.kid), cell(r.kty), cell(r.alg), cell(r.use), cell(r.size), verdict)
	}
	tw.Flush()
}

// cell returns s for a table cell: "-" when empty, quoted when it has
// spaces or unprintable characters.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' || !strconv.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// usableKIDs lists the key ids of the usable rows, for summaries.
func usableKIDs(rows []keyRow) []string {
	var ids []string
	for _, r := range rows {
		if r.usable() {
			ids = append(ids, kidText(r.kid))
		}
	}
	return ids
}
