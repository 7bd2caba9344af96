package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// decodeCmd shows what a token says without checking any of it.
var decodeCmd = &command{
	name:    "decode",
	args:    "TOKEN | -",
	summary: "show a token's header and claims, NOT VERIFIED",
	doc: `Decode prints the header and claims of a JWT (a compact JWS) as indented
JSON, under a NOT VERIFIED banner: nothing is fetched and nothing is
checked, not even the signature. Use "oidcauth verify" to validate a token.

The times exp, iat and nbf are also shown in UTC (RFC 3339) and relative
to now ("in 59m", "3h ago"). With - in place of TOKEN, one token is read
from standard input. A leading "Bearer " is ignored.

Decoding is as strict as verify: base64url without padding, strict JSON
(no duplicate member names, valid UTF-8). A part that is not strict JSON
is shown raw. Decode exits 1, after showing what it could, when the token
is malformed, and 2 on a usage error.
`,
	define: func(*flag.FlagSet) runFunc { return runDecode },
}

// b64 is strict base64url without padding, as the library decodes it.
var b64 = base64.RawURLEncoding.Strict()

// maxNumericDate is the library's largest NumericDate,
// 9999-12-31T23:59:59Z.
const maxNumericDate = 253402300799

// runDecode decodes the token given as argument or on standard input.
func runDecode(ctx context.Context, e *env, args []string) int {
	switch {
	case len(args) == 0:
		return e.usageError("missing TOKEN (or - to read it from standard input)")
	case len(args) > 1:
		return e.usageError("want one TOKEN, got %d arguments", len(args))
	}
	token := args[0]
	if token == "-" {
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxLine+1))
		if err != nil {
			e.errorf("reading standard input: %v", err)
			return exitUsage
		}
		if len(b) > maxLine {
			e.errorf("standard input is longer than %d bytes", maxLine)
			return exitInvalid
		}
		token = string(b)
	}
	token = strings.TrimSpace(token)
	if len(token) > len("bearer ") && strings.EqualFold(token[:len("bearer ")], "bearer ") {
		token = strings.TrimSpace(token[len("bearer "):])
	}
	if token == "" {
		return e.usageError("TOKEN is empty")
	}
	d := decodeToken(token)
	d.write(e.stdout, e.now())
	for _, err := range d.errs {
		e.errorf("%v", err)
	}
	if len(d.errs) > 0 {
		return exitInvalid
	}
	return exitOK
}

// decoded is what could be read of a token.
type decoded struct {
	header, claims *jsonPart // nil when the token has no such part
	sigLen         int       // signature length in bytes; -1 if undecodable or absent
	size           int       // length of the token
	errs           []error   // everything that is wrong, in order
}

// A jsonPart is a base64url part of a token that should hold a JSON
// object.
type jsonPart struct {
	name    string   // "header" or "claims"
	raw     []byte   // the decoded bytes; nil if not decodable
	json    bool     // raw is strict JSON
	object  bool     // raw is a strict JSON object
	members []member // of the object, in order
}

// decodeToken decodes every part of token it can, and records what is
// wrong with it.
func decodeToken(token string) *decoded {
	d := &decoded{sigLen: -1, size: len(token)}
	parts := strings.Split(token, ".")
	switch n := len(parts); {
	case n == 1:
		d.errs = append(d.errs, errors.New("not a JWT: a JWT has three base64url parts separated by dots, this has no dot. "+
			"It may be an opaque token, which only its issuer can check (token introspection, RFC 7662)"))
		return d
	case n == 5:
		d.header = d.decodeJSON("header", parts[0])
		d.errs = append(d.errs, errors.New("an encrypted token (JWE, five parts): only its header can be read; "+
			"the claims need the recipient's private key, and oidcauth accepts signed tokens (JWS) only"))
		return d
	case n != 3:
		d.errs = append(d.errs, fmt.Errorf("a JWT has three base64url parts separated by dots, this has %d", n))
		return d
	}
	d.header = d.decodeJSON("header", parts[0])
	d.claims = d.decodeJSON("claims", parts[1])
	if parts[2] != "" {
		sig, err := decodePart(parts[2])
		if err != nil {
			d.errs = append(d.errs, fmt.Errorf("signature: %w", err))
		} else {
			d.sigLen = len(sig)
		}
	} else {
		d.sigLen = 0
	}
	return d
}

// decodeJSON decodes one part that should hold a JSON object.
func (d *decoded) decodeJSON(name, part string) *jsonPart {
	p := &jsonPart{name: name}
	raw, err := decodePart(part)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: %w", name, err))
		return p
	}
	p.raw = raw
	if err := jsonx.Validate(raw); err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: not strict JSON: %s", name, jsonErrText(err)))
		return p
	}
	p.json = true
	ms, err := members(raw)
	if err != nil {
		d.errs = append(d.errs, fmt.Errorf("%s: %s, not a JSON object", name, kindText(jsonx.KindOf(bytes.Trim(raw, " \t\r\n")))))
		return p
	}
	p.object, p.members = true, ms
	return p
}

// decodePart decodes a strict base64url part, explaining what is wrong
// with it when it is not.
func decodePart(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			continue
		case c == '=':
			return nil, fmt.Errorf("padding '=' at offset %d: JWTs use base64url without padding (RFC 7515 §2)", i)
		case c == '+' || c == '/':
			return nil, fmt.Errorf("%q at offset %d is standard base64: JWTs use base64url, with '-' and '_' (RFC 7515 §2)", c, i)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return nil, fmt.Errorf("whitespace at offset %d", i)
		default:
			return nil, fmt.Errorf("%q at offset %d is not a base64url character", string([]byte{c}), i)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		if len(s)%4 == 1 {
			return nil, fmt.Errorf("not base64url: %d characters is an impossible length", len(s))
		}
		return nil, errors.New("not strict base64url: the last character has unused bits set")
	}
	return b, nil
}

// write prints what was decoded, under the NOT VERIFIED banner.
func (d *decoded) write(w io.Writer, now time.Time) {
	if d.header == nil && d.claims == nil {
		return
	}
	fmt.Fprint(w, `NOT VERIFIED: decoded only. The signature, issuer, audience and times
have not been checked; use "oidcauth verify" to validate the token.
`)
	d.header.write(w, "Header")
	d.claims.write(w, "Claims")
	if d.claims != nil && d.claims.object {
		writeTimes(w, d.claims.members, now)
	}
	switch {
	case d.sigLen > 0:
		fmt.Fprintf(w, "\nSignature: %d bytes\n", d.sigLen)
	case d.sigLen == 0:
		fmt.Fprint(w, "\nSignature: none (the token is unsigned)\n")
	case d.claims != nil:
		fmt.Fprint(w, "\nSignature: not decodable\n")
	}
	if notes := d.notes(); len(notes) > 0 {
		fmt.Fprint(w, "\nNotes:\n")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// write prints the part under title: indented JSON, raw text, or why
// there is nothing to show.
func (p *jsonPart) write(w io.Writer, title string) {
	switch {
	case p == nil:
	case p.raw == nil:
		fmt.Fprintf(w, "\n%s: not decodable\n", title)
	case !p.json:
		fmt.Fprintf(w, "\n%s (not strict JSON, shown raw):\n%s\n", title, rawText(p.raw))
	default:
		var buf bytes.Buffer
		json.Indent(&buf, p.raw, "", "  ") //nolint:errcheck // strict JSON is valid JSON
		fmt.Fprintf(w, "\n%s:\n%s\n", title, buf.Bytes())
	}
}

// rawText returns b as it is when it is printable UTF-8 text, and as a
// quoted Go string otherwise.
func rawText(b []byte) string {
	printable := utf8.Valid(b) && !bytes.ContainsFunc(b, func(r rune) bool {
		return r != '\n' && r != '\t' && !strconv.IsPrint(r)
	})
	if printable {
		return string(bytes.TrimRight(b, "\n"))
	}
	return strconv.Quote(string(b))
}

// writeTimes prints the NumericDate claims iat, nbf and exp as UTC times
// and relative to now.
func writeTimes(w io.Writer, ms []member, now time.Time) {
	type row struct{ name, value, when string }
	var rows []row
	for _, name := range []string{"iat", "nbf", "exp"} {
		m, ok := lookupMember(ms, name)
		if !ok {
			continue
		}
		t, err := numericDate(m)
		if err != nil {
			rows = append(rows, row{name, "-", err.Error()})
			continue
		}
		when := relative(t.Sub(now))
		switch d := t.Sub(now); {
		case name == "exp" && d <= 0:
			when += " (expired)"
		case name == "nbf" && d > 0:
			when += " (not yet valid)"
		case name == "iat" && d > 0:
			when += " (in the future)"
		}
		layout := time.RFC3339
		if t.Nanosecond() != 0 {
			layout = time.RFC3339Nano
		}
		rows = append(rows, row{name, t.Format(layout), when})
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nTimes (now %s):\n", now.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.name, r.value, r.when)
	}
	tw.Flush()
}

// numericDate reads a NumericDate claim (RFC 7519 §2) as the library
// does: a non-negative JSON number, fractions allowed.
func numericDate(m member) (time.Time, error) {
	if m.kind != jsonx.KindNumber {
		return time.Time{}, fmt.Errorf("not a NumericDate but %s: oidcauth rejects the token", kindText(m.kind))
	}
	f, err := strconv.ParseFloat(string(m.raw), 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return time.Time{}, fmt.Errorf("%s is out of range: oidcauth rejects the token", m.raw)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// kindText names a JSON kind with its article: "a string".
func kindText(k jsonx.Kind) string {
	switch k {
	case jsonx.KindObject, jsonx.KindArray:
		return "an " + k.String()
	case jsonx.KindString, jsonx.KindNumber:
		return "a " + k.String()
	}
	return k.String()
}

// relative describes d roughly, in at most two units: "in 59m",
// "3h ago", "in 1d2h", "now".
func relative(d time.Duration) string {
	a := d.Abs()
	if a < time.Second {
		return "now"
	}
	var s string
	switch {
	case a < time.Minute:
		s = strconv.Itoa(int(a/time.Second)) + "s"
	case a < time.Hour:
		s = strconv.Itoa(int(a/time.Minute)) + "m"
	case a < 24*time.Hour:
		s = twoUnits(int(a/time.Hour), "h", int(a%time.Hour/time.Minute), "m")
	default:
		s = twoUnits(int(a/(24*time.Hour)), "d", int(a%(24*time.Hour)/time.Hour), "h")
	}
	if d > 0 {
		return "in " + s
	}
	return s + " ago"
}

func twoUnits(n int, u string, m int, v string) string {
	if m == 0 {
		return strconv.Itoa(n) + u
	}
	return strconv.Itoa(n) + u + strconv.Itoa(m) + v
}

// notes lists what verify would certainly reject, as far as the decoded
// parts of a JWS show it.
func (d *decoded) notes() []string {
	if d.claims == nil {
		return nil // not a JWS: the error says it all
	}
	var notes []string
	if d.size > oidcauth.DefaultMaxTokenSize {
		notes = append(notes, fmt.Sprintf("the token is %d bytes, over oidcauth's default MaxTokenSize of %d: rejected unless configured otherwise", d.size, oidcauth.DefaultMaxTokenSize))
	}
	if d.header != nil && d.header.object {
		alg := stringMember(d.header.members, "alg")
		switch _, ok := lookupMember(d.header.members, "alg"); {
		case !ok:
			notes = append(notes, "the header has no alg: oidcauth rejects the token")
		case alg == "none" || strings.HasPrefix(strings.ToUpper(alg), "HS"):
			notes = append(notes, fmt.Sprintf("alg %q: oidcauth never accepts unsigned or HMAC-signed tokens from a provider", alg))
		case !slices.Contains(oidcauth.DefaultAlgorithms, alg):
			notes = append(notes, fmt.Sprintf("alg %q is not one oidcauth accepts (%s)", alg, strings.Join(oidcauth.DefaultAlgorithms, ", ")))
		}
		if _, ok := lookupMember(d.header.members, "crit"); ok {
			notes = append(notes, "the header has crit: oidcauth supports no extension and rejects the token")
		}
	}
	if d.claims != nil && d.claims.object {
		if _, ok := lookupMember(d.claims.members, "exp"); !ok {
			notes = append(notes, "no exp: oidcauth requires one and rejects the token")
		}
	}
	return notes
}
