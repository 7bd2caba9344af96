package main

import (
	"context"
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

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// Describing the keys of a JWKS, for discover and jwks.
//
// The table's columns describe each key from its JSON; whether oidcauth
// uses it, and why not, is the library's verdict (oidcauth.ParseJWKS).
// The keys an Authorizer then loads (Authorizer.Keys) are compared with
// that verdict.

// A keyRow describes one member of a JWKS "keys" array.
type keyRow struct {
	index  int      // position in the array
	kid    string   // "" when absent
	kty    string   // the JWK's kty member, as written
	alg    string   // the JWK's alg member
	use    string   // the JWK's use member
	size   string   // "2048" for RSA, the curve otherwise
	typ    string   // the library's type of a used key: "RSA 2048", "EC P-256", "OKP Ed25519"
	algs   []string // the algorithms oidcauth verifies with a used key
	reason string   // why oidcauth does not use the key; "" if it does
}

// usable reports whether oidcauth uses the key.
func (r *keyRow) usable() bool { return r.reason == "" }

// jsonType is the key's type as the library writes it, worked out from
// the JSON.
func (r *keyRow) jsonType() string { return r.kty + " " + r.size }

// describeJWKS checks that doc is a JWKS (strict JSON, a "keys" array),
// describes each key, and takes from oidcauth.ParseJWKS whether oidcauth
// uses it: a key is used iff the library lists it, and a skipped key has
// the library's reason.
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
	i := -1
	err = jsonx.Elements(keys.raw, func(kind jsonx.Kind, raw []byte) error {
		i++
		rows = append(rows, describeKey(i, kind, raw))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf(`"keys": %s`, jsonErrText(err))
	}

	used, skipped, err := oidcauth.ParseJWKS(doc, nil)
	if err != nil && len(skipped) != len(rows) {
		// Not merely a JWKS of which oidcauth can use no key.
		return nil, errors.New(strings.TrimPrefix(err.Error(), "oidcauth: "))
	}
	for _, s := range skipped {
		if s.Index < 0 || s.Index >= len(rows) {
			return nil, fmt.Errorf("oidcauth skipped keys[%d] of %d keys", s.Index, len(rows))
		}
		rows[s.Index].reason = s.Reason
	}
	matchUsed(rows, used)
	return rows, nil
}

// matchUsed gives each row that the library did not skip the algorithms
// of its entry in used. Entries are matched by kid, which only keys
// without one share; among those, an entry of the row's type and, for a
// key pinned by alg, with that algorithm is preferred. A row left without
// an entry is not used.
func matchUsed(rows []keyRow, used []oidcauth.KeyInfo) {
	taken := make([]bool, len(used))
	for i := range rows {
		r := &rows[i]
		if !r.usable() {
			continue
		}
		best, bestScore := -1, -1
		for j, k := range used {
			if taken[j] || k.KeyID != r.kid {
				continue
			}
			score := 0
			if k.Type == r.jsonType() {
				score += 2
			}
			if r.alg == "" || slices.Contains(k.Algorithms, r.alg) {
				score++
			}
			if score > bestScore {
				best, bestScore = j, score
			}
		}
		if best < 0 {
			r.reason = "not listed by oidcauth (reason unknown)"
			continue
		}
		taken[best] = true
		r.typ, r.algs = used[best].Type, used[best].Algorithms
	}
}

// describeKey describes one JWK from its members. The verdict is left to
// describeJWKS.
func describeKey(index int, kind jsonx.Kind, raw []byte) keyRow {
	r := keyRow{index: index}
	if kind != jsonx.KindObject {
		return r
	}
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
		}
	}
	// The size as the JWK states it: the modulus of an RSA key, the
	// curve of the others.
	r.size = crv
	if r.kty == "RSA" {
		if bits := modulusBits(n); bits > 0 {
			r.size = strconv.Itoa(bits)
		}
	}
	return r
}

// modulusBits returns the size in bits of the RSA modulus n, base64url
// encoded (padding and the standard alphabet are accepted too), or 0 when
// n is not base64.
func modulusBits(n string) int {
	n = strings.TrimRight(n, "=")
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(n); err != nil {
			return 0
		}
	}
	return new(big.Int).SetBytes(b).BitLen()
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

// compareLoaded returns a note for every difference between the keys
// oidcauth uses from the JWKS shown (rows) and the keys an Authorizer
// loaded (lib) when it fetched the JWKS itself. The two agree unless the
// library was served another key set, after a rotation for instance. The
// rows are left as they are: they describe the JWKS shown.
func compareLoaded(rows []keyRow, lib []oidcauth.KeyInfo) []string {
	id := func(kid, typ string, algs []string) string {
		return kid + "\x00" + typ + "\x00" + strings.Join(algs, ",")
	}
	shown := make(map[string]int)
	for _, r := range rows {
		if r.usable() {
			shown[id(r.kid, r.typ, r.algs)]++
		}
	}
	var notes []string
	for _, k := range lib {
		if s := id(k.KeyID, k.Type, k.Algorithms); shown[s] > 0 {
			shown[s]--
			continue
		}
		notes = append(notes, fmt.Sprintf("oidcauth loaded a key %s (%s: %s) that is not among the usable keys shown: the library was served another key set", kidText(k.KeyID), k.Type, strings.Join(k.Algorithms, ", ")))
	}
	for _, r := range rows {
		if s := id(r.kid, r.typ, r.algs); r.usable() && shown[s] > 0 {
			shown[s]--
			notes = append(notes, fmt.Sprintf("key %s (%s: %s) was not loaded by oidcauth: the library was served another key set", kidText(r.kid), r.typ, strings.Join(r.algs, ", ")))
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
