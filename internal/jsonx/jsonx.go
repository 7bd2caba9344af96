// Package jsonx is a strict, low-allocation JSON scanner for the security
// sensitive parts of OpenID Connect token validation: JOSE headers, JWT claim
// sets, JWK sets and discovery documents.
//
// It exists because encoding/json is too lenient for that job:
//
//   - encoding/json silently accepts duplicate member names and keeps the last
//     one. RFC 7515 §4 and RFC 7519 §4 require JOSE Header Parameter and claim
//     names to be unique and let a parser either reject duplicates or keep the
//     lexically last one; different components choosing differently is a
//     classic parser-differential attack (one layer checks the first "alg" or
//     "iss", another uses the last). jsonx rejects duplicates in every object
//     at every depth (see also RFC 8259 §4 and I-JSON, RFC 7493 §2.3). Names
//     are compared after unescaping, so "iss" and "\u0069ss" are duplicates.
//   - encoding/json matches member names to struct fields case-insensitively,
//     so "ALG" can stand in for "alg". jsonx reports names exactly as written
//     (after unescaping) and never folds case; "iss" and "ISS" are distinct
//     names here and the caller decides what to do with them.
//   - encoding/json replaces invalid UTF-8 and lone UTF-16 surrogate escapes
//     with U+FFFD, so two different byte strings can decode to the same
//     value. RFC 8259 §8.1 requires UTF-8 and RFC 8725 §3.7 requires JWTs to
//     use it; jsonx rejects invalid UTF-8 (including overlong forms and
//     UTF-8-encoded surrogates) and unpaired \uD800-\uDFFF escapes.
//
// Beyond that the grammar is exactly RFC 8259: no comments, no trailing
// commas, no leading zeros, no NaN or Infinity, no byte order mark, no raw
// control characters in strings, and only space, tab, CR and LF as
// whitespace. Nesting deeper than MaxDepth is rejected, so hostile input can
// neither overflow the stack nor make the scanner do more than linear work.
//
// Members, Validate and EqualString do not allocate on the common path: names
// without escapes are compared in place and objects with up to 16 members
// track their names in a fixed-size array on the stack. Larger objects switch
// to a map so that the duplicate check stays linear.
package jsonx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is the type of a JSON value.
type Kind uint8

// The kinds of JSON values. KindInvalid is the zero Kind.
//
// The constants carry a Kind prefix (as in log/slog) because the unprefixed
// name String is taken by the String decoding function.
const (
	KindInvalid Kind = iota
	KindString
	KindNumber
	KindObject
	KindArray
	KindTrue
	KindFalse
	KindNull
)

// String returns the lower-case name of k: "string", "number", "object",
// "array", "true", "false", "null", or "invalid" for KindInvalid and unknown
// values.
func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindObject:
		return "object"
	case KindArray:
		return "array"
	case KindTrue:
		return "true"
	case KindFalse:
		return "false"
	case KindNull:
		return "null"
	}
	return "invalid"
}

// MaxDepth is the maximum nesting depth accepted, counting objects and arrays
// together. A document whose values nest MaxDepth levels deep is accepted;
// one more level is rejected with ErrTooDeep.
const MaxDepth = 64

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is) and add the byte offset at which the problem was found.
// Their text never names this package (it reaches users' logs): callers
// put what was being read in front ("claims are not strict JSON: syntax error at offset 7: ...").
var (
	// ErrSyntax reports a grammar violation, trailing data, empty input,
	// invalid UTF-8, an unpaired surrogate escape or a control character in
	// a string.
	ErrSyntax = errors.New("syntax error")
	// ErrDuplicateName reports two members of one object with the same
	// name, compared after unescaping, at any depth.
	ErrDuplicateName = errors.New("duplicate member name")
	// ErrTooDeep reports nesting deeper than MaxDepth.
	ErrTooDeep = errors.New("nesting too deep")
	// ErrNotObject reports a valid document whose top-level value is not an
	// object (Members).
	ErrNotObject = errors.New("not an object")
	// ErrNotArray reports a valid value that is not an array (Elements).
	ErrNotArray = errors.New("not an array")
	// ErrType reports a raw value of the wrong kind for the decoder it was
	// given to (String, Unquote, Float).
	ErrType = errors.New("wrong type")
)

// posError is the concrete error type returned by this package. It never
// quotes the input beyond a single escaped byte, so it is safe to log.
type posError struct {
	err  error  // one of the sentinels
	off  int    // byte offset into the input
	msg  string // detail
	b    byte   // offending byte, if hasB
	hasB bool
}

func (e *posError) Error() string {
	if e.hasB {
		return fmt.Sprintf("%s at offset %d: %s %q", e.err.Error(), e.off, e.msg, e.b)
	}
	return fmt.Sprintf("%s at offset %d: %s", e.err.Error(), e.off, e.msg)
}

func (e *posError) Unwrap() error { return e.err }

func syntaxErr(off int, msg string) error {
	return &posError{err: ErrSyntax, off: off, msg: msg}
}

// unexpected reports the byte at data[off], or the end of input.
func unexpected(data []byte, off int, what string) error {
	if off >= len(data) {
		return &posError{err: ErrSyntax, off: off, msg: "unexpected end of input, expected " + what}
	}
	return &posError{err: ErrSyntax, off: off, msg: "expected " + what + ", found", b: data[off], hasB: true}
}

// smallObject is the number of member names an object may have before the
// duplicate check switches from a linear scan of a stack array to a map.
const smallObject = 16

// strSafe[c] is true for ASCII bytes that may appear unescaped in a string
// and need no further attention: not a control character, '"' or '\\'.
var strSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipSpace returns the index of the first non-whitespace byte at or after i.
func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// nameRef locates a member name inside the document: data[start:end] is the
// raw content between the quotes; esc reports whether it contains escapes.
type nameRef struct {
	start, end int
	esc        bool
}

// nameSet tracks the names seen in one object. Up to smallObject names are
// kept in arrays, each with a fingerprint of its decoded form so that most
// comparisons are a single integer compare. Beyond that, only a 64-bit
// keyed hash of each name is kept (8 bytes a member, no per-name
// allocation); they are sorted when the object ends, and equal hashes are
// confirmed by comparing the names themselves.
type nameSet struct {
	fp     [smallObject]uint64
	small  [smallObject]nameRef
	n      int
	hashes []uint64
}

// hashSeed keys the hashes of large objects' names, so that nobody can
// craft colliding names (which would only cost a slow path, never a wrong
// answer).
var hashSeed = maphash.MakeSeed()

// topMember records a member of the top-level object for Members.
type topMember struct {
	name       nameRef
	start, end int // the value's span
}

// scanner validates a document. It lives on the caller's stack.
type scanner struct {
	data  []byte
	depth int

	// If top is non-nil, the first smallObject members of a top-level
	// object are recorded in it; ntop counts all members seen.
	top  *[smallObject]topMember
	ntop int
}

// document validates data as exactly one JSON value with optional
// surrounding whitespace and returns the value's span.
func (s *scanner) document() (start, end int, err error) {
	data := s.data
	start = skipSpace(data, 0)
	if start >= len(data) {
		return 0, 0, syntaxErr(start, "empty input")
	}
	end, err = s.value(start)
	if err != nil {
		return 0, 0, err
	}
	if i := skipSpace(data, end); i < len(data) {
		return 0, 0, &posError{err: ErrSyntax, off: i, msg: "trailing data after top-level value", b: data[i], hasB: true}
	}
	return start, end, nil
}

// value validates the value starting at data[i] and returns the index just
// past it.
func (s *scanner) value(i int) (int, error) {
	data := s.data
	if i >= len(data) {
		return i, unexpected(data, i, "value")
	}
	switch c := data[i]; c {
	case '{':
		return s.object(i)
	case '[':
		return s.array(i)
	case '"':
		end, _, err := scanString(data, i)
		return end, err
	case 't':
		return literal(data, i, "true")
	case 'f':
		return literal(data, i, "false")
	case 'n':
		return literal(data, i, "null")
	default:
		if c == '-' || isDigit(c) {
			return scanNumber(data, i)
		}
		return i, unexpected(data, i, "value")
	}
}

func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i >= len(lit) && string(data[i:i+len(lit)]) == lit {
		return i + len(lit), nil
	}
	return i, &posError{err: ErrSyntax, off: i, msg: "invalid literal, expected " + lit}
}

func (s *scanner) enter(i int) error {
	if s.depth >= MaxDepth {
		return &posError{err: ErrTooDeep, off: i, msg: "more than " + strconv.Itoa(MaxDepth) + " nested objects and arrays"}
	}
	s.depth++
	return nil
}

func (s *scanner) array(i int) (int, error) {
	if err := s.enter(i); err != nil {
		return i, err
	}
	data := s.data
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		s.depth--
		return i + 1, nil
	}
	for {
		var err error
		if i, err = s.value(i); err != nil {
			return i, err
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return i, unexpected(data, i, "',' or ']'")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			s.depth--
			return i + 1, nil
		default:
			return i, unexpected(data, i, "',' or ']'")
		}
	}
}

func (s *scanner) object(i int) (int, error) {
	if err := s.enter(i); err != nil {
		return i, err
	}
	open := i
	data := s.data
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		s.depth--
		return i + 1, nil
	}
	var names nameSet
	for {
		if i >= len(data) || data[i] != '"' {
			return i, unexpected(data, i, "string for member name")
		}
		end, esc, err := scanString(data, i)
		if err != nil {
			return i, err
		}
		name := nameRef{start: i + 1, end: end - 1, esc: esc}
		if err := s.addName(&names, name, i); err != nil {
			return i, err
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return i, unexpected(data, i, "':' after member name")
		}
		vstart := skipSpace(data, i+1)
		if i, err = s.value(vstart); err != nil {
			return i, err
		}
		if s.top != nil && s.depth == 1 {
			if s.ntop < smallObject {
				s.top[s.ntop] = topMember{name: name, start: vstart, end: i}
			}
			s.ntop++
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return i, unexpected(data, i, "',' or '}'")
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			s.depth--
			if names.hashes != nil {
				if err := s.checkHashes(&names, open); err != nil {
					return open, err
				}
			}
			return i + 1, nil
		default:
			return i, unexpected(data, i, "',' or '}'")
		}
	}
}

// addName records name in set, or reports ErrDuplicateName (at offset off)
// if an equal name was recorded before. Past smallObject names it only
// records a hash; checkHashes finds duplicates when the object ends.
func (s *scanner) addName(set *nameSet, name nameRef, off int) error {
	data := s.data
	if set.hashes == nil {
		fp := s.fingerprint(name)
		nb := data[name.start:name.end]
		for k, f := range set.fp[:set.n] {
			if f != fp {
				continue
			}
			p := set.small[k]
			if !p.esc && !name.esc {
				// Equal fingerprints of short plain names mean
				// equal names.
				if len(nb) < 8 || string(data[p.start:p.end]) == string(nb) {
					return dupErr(off)
				}
			} else if equalRaw(data[p.start:p.end], nb) {
				return dupErr(off)
			}
		}
		if set.n < smallObject {
			set.fp[set.n] = fp
			set.small[set.n] = name
			set.n++
			return nil
		}
		// Too many members for a linear scan: keep hashes instead.
		set.hashes = make([]uint64, 0, 4*smallObject)
		for _, p := range set.small[:set.n] {
			set.hashes = append(set.hashes, s.hash(p))
		}
	}
	set.hashes = append(set.hashes, s.hash(name))
	return nil
}

// hash is the keyed hash of name's decoded form.
func (s *scanner) hash(name nameRef) uint64 {
	if !name.esc {
		return maphash.Bytes(hashSeed, s.data[name.start:name.end])
	}
	var h maphash.Hash
	h.SetSeed(hashSeed)
	c := chunks{s: s.data[name.start:name.end]}
	for p := c.next(); p != nil; p = c.next() {
		h.Write(p)
	}
	return h.Sum64()
}

// checkHashes reports a duplicate among the names of a large object that
// starts at data[open] (its '{'), once the whole object has been scanned.
func (s *scanner) checkHashes(set *nameSet, open int) error {
	slices.Sort(set.hashes)
	collision := false
	for k := 1; k < len(set.hashes); k++ {
		if set.hashes[k] == set.hashes[k-1] {
			collision = true
			break
		}
	}
	if !collision {
		return nil
	}
	// Rare: compare the decoded names themselves.
	seen := make(map[string]struct{}, len(set.hashes))
	data := s.data
	i := skipSpace(data, open+1)
	for i < len(data) && data[i] == '"' {
		end, esc, _ := scanString(data, i)
		var buf [64]byte
		k := s.key(buf[:0], nameRef{start: i + 1, end: end - 1, esc: esc})
		if _, dup := seen[string(k)]; dup {
			return dupErr(i)
		}
		seen[string(k)] = struct{}{}
		i = skipSpace(data, end)
		i = skipSpace(data, skipValue(data, skipSpace(data, i+1)))
		if i >= len(data) || data[i] != ',' {
			break
		}
		i = skipSpace(data, i+1)
	}
	return nil
}

// fingerprint packs the decoded length of name (capped at 255) into the top
// byte and its first seven decoded bytes into the rest. Different
// fingerprints mean different names; equal fingerprints of names shorter
// than eight bytes mean equal names.
func (s *scanner) fingerprint(name nameRef) uint64 {
	if !name.esc {
		b := s.data[name.start:name.end]
		n := len(b)
		var v uint64
		if len(s.data)-name.start >= 8 {
			v = binary.LittleEndian.Uint64(s.data[name.start:])
			if n < 7 {
				v &= 1<<(8*n) - 1
			}
		} else {
			for k := 0; k < n && k < 7; k++ {
				v |= uint64(b[k]) << (8 * k)
			}
		}
		return v&(1<<56-1) | uint64(min(n, 255))<<56
	}
	var v uint64
	n := 0
	c := chunks{s: s.data[name.start:name.end]}
	for p := c.next(); p != nil; p = c.next() {
		for _, b := range p {
			if n < 7 {
				v |= uint64(b) << (8 * n)
			}
			n++
		}
	}
	return v | uint64(min(n, 255))<<56
}

// key returns the decoded name: raw from the document if it has no escapes,
// otherwise decoded into buf.
func (s *scanner) key(buf []byte, n nameRef) []byte {
	raw := s.data[n.start:n.end]
	if !n.esc {
		return raw
	}
	return appendDecoded(buf, raw)
}

func dupErr(off int) error {
	return &posError{err: ErrDuplicateName, off: off, msg: "member name repeats an earlier name in the same object"}
}

// scanString validates the string token starting with the quote at data[i]
// and returns the index just past the closing quote and whether the token
// contains escape sequences.
func scanString(data []byte, i int) (end int, esc bool, err error) {
	const (
		lo = 0x0101010101010101
		hi = 0x8080808080808080
	)
	i++
	for {
		// Skip eight bytes at a time while none of them is a control
		// character, '"', '\\' or non-ASCII. A byte is flagged if
		// subtracting underflows (c < 0x20, or c^'"' or c^'\\' is
		// zero) or its high bit is set. A borrow only moves to the next
		// higher byte and only out of a byte that is itself a hit, so
		// the lowest flagged byte is always a genuine hit.
		for len(data)-i >= 8 {
			x := binary.LittleEndian.Uint64(data[i:])
			q := x ^ (lo * '"')
			b := x ^ (lo * '\\')
			t := ((x - lo*0x20) | (q - lo) | (b - lo) | x) & hi
			if t != 0 {
				i += bits.TrailingZeros64(t) / 8
				break
			}
			i += 8
		}
		if i >= len(data) {
			break
		}
		c := data[i]
		if c < utf8.RuneSelf {
			if strSafe[c] {
				i++
				continue
			}
			switch c {
			case '"':
				return i + 1, esc, nil
			case '\\':
				esc = true
				n, err := checkEscape(data, i)
				if err != nil {
					return i, esc, err
				}
				i += n
			default:
				return i, esc, &posError{err: ErrSyntax, off: i, msg: "control character in string", b: c, hasB: true}
			}
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i, esc, &posError{err: ErrSyntax, off: i, msg: "invalid UTF-8 in string", b: c, hasB: true}
		}
		i += size
	}
	return i, esc, syntaxErr(i, "unexpected end of input in string")
}

// checkEscape validates the escape sequence starting with the backslash at
// data[i] and returns its length.
func checkEscape(data []byte, i int) (int, error) {
	if i+1 >= len(data) {
		return 0, syntaxErr(i, "unexpected end of input in escape sequence")
	}
	switch data[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
		r, ok := hex4(data, i+2)
		if !ok {
			return 0, syntaxErr(i, `invalid \u escape`)
		}
		switch {
		case r < 0xD800 || r > 0xDFFF:
			return 6, nil
		case r >= 0xDC00:
			return 0, syntaxErr(i, `unpaired low surrogate in \u escape`)
		}
		if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
			if r2, ok := hex4(data, i+8); ok && r2 >= 0xDC00 && r2 <= 0xDFFF {
				return 12, nil
			}
		}
		return 0, syntaxErr(i, `unpaired high surrogate in \u escape`)
	default:
		return 0, &posError{err: ErrSyntax, off: i, msg: "invalid escape sequence \\", b: data[i+1], hasB: true}
	}
}

// hex4 parses the four hex digits at data[i:i+4].
func hex4(data []byte, i int) (rune, bool) {
	if len(data)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// decodeEscape decodes the escape sequence at the start of s, which must
// have been validated by checkEscape, returning the rune and the escape's
// length. On malformed input it returns utf8.RuneError and a length that
// still makes progress.
func decodeEscape(s []byte) (rune, int) {
	if len(s) < 2 {
		return utf8.RuneError, len(s)
	}
	switch s[1] {
	case '"', '\\', '/':
		return rune(s[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(s, 2)
		if !ok {
			return utf8.RuneError, 2
		}
		if r >= 0xD800 && r < 0xDC00 {
			if r2, ok := hex4(s, 8); ok && len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && r2 >= 0xDC00 && r2 <= 0xDFFF {
				return 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00), 12
			}
			return utf8.RuneError, 6
		}
		if r >= 0xDC00 && r <= 0xDFFF {
			return utf8.RuneError, 6
		}
		return r, 6
	}
	return utf8.RuneError, 2
}

// chunks iterates over the decoded contents of a validated string token's
// inside (the bytes between the quotes) without allocating: each call to
// next returns either a run of bytes that needed no decoding or the UTF-8
// encoding of one escape sequence.
type chunks struct {
	s   []byte
	buf [utf8.UTFMax]byte
}

// next returns the next non-empty chunk, or nil at the end. The chunk is
// only valid until the next call.
func (c *chunks) next() []byte {
	if len(c.s) == 0 {
		return nil
	}
	if c.s[0] != '\\' {
		j := bytes.IndexByte(c.s, '\\')
		if j < 0 {
			j = len(c.s)
		}
		out := c.s[:j]
		c.s = c.s[j:]
		return out
	}
	r, n := decodeEscape(c.s)
	c.s = c.s[n:]
	w := utf8.EncodeRune(c.buf[:], r)
	return c.buf[:w]
}

// equalRaw reports whether the validated string insides a and b decode to
// the same bytes.
func equalRaw(a, b []byte) bool {
	var ca, cb chunks
	ca.s, cb.s = a, b
	var x, y []byte
	for {
		if len(x) == 0 {
			x = ca.next()
		}
		if len(y) == 0 {
			y = cb.next()
		}
		if len(x) == 0 || len(y) == 0 {
			return len(x) == len(y)
		}
		n := min(len(x), len(y))
		if string(x[:n]) != string(y[:n]) {
			return false
		}
		x, y = x[n:], y[n:]
	}
}

// appendDecoded appends the decoded form of the validated string inside s.
func appendDecoded(dst, s []byte) []byte {
	var c chunks
	c.s = s
	for b := c.next(); b != nil; b = c.next() {
		dst = append(dst, b...)
	}
	return dst
}

// decodedLen returns the length of the decoded form of the validated string
// inside s.
func decodedLen(s []byte) int {
	var c chunks
	c.s = s
	n := 0
	for b := c.next(); b != nil; b = c.next() {
		n += len(b)
	}
	return n
}

// scanNumber validates the number starting at data[i] and returns the index
// just past it. It does not look at what follows the number.
func scanNumber(data []byte, i int) (int, error) {
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return i, syntaxErr(i, "unexpected end of input in number")
	case data[i] == '0':
		i++
	case data[i] >= '1' && data[i] <= '9':
		i++
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		return i, &posError{err: ErrSyntax, off: i, msg: "invalid number, expected digit, found", b: data[i], hasB: true}
	}
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || !isDigit(data[i]) {
			return i, unexpected(data, i, "digit after decimal point")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			return i, unexpected(data, i, "digit in exponent")
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	return i, nil
}

// skipString returns the index just past the string token starting at
// data[i], which must already have been validated. It never indexes out of
// range, even if data is not valid.
func skipString(data []byte, i int) int {
	i++
	for i < len(data) {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			break
		}
		// The quote is escaped iff it is preceded by an odd number of
		// backslashes.
		k := i + j
		n := 0
		for k-n-1 >= i && data[k-n-1] == '\\' {
			n++
		}
		if n%2 == 0 {
			return k + 1
		}
		i = k + 1
	}
	return len(data)
}

// skipValue returns the index just past the value starting at data[i],
// which must already have been validated. It never indexes out of range.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return len(data)
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(data)
	default:
		for i < len(data) {
			switch data[i] {
			case ' ', '\t', '\n', '\r', ',', ']', '}':
				return i
			}
			i++
		}
		return i
	}
}

// errModified is returned if the document stops being valid while Members
// or Elements iterates over it, which can only happen if the callback
// modifies the input.
func errModified(off int) error {
	return syntaxErr(off, "input modified during iteration")
}

// Members validates data as exactly one JSON object (optional surrounding
// whitespace) — the whole document, including nested values, duplicate names
// at every depth, the depth limit and UTF-8 — and only after the whole
// document is valid calls fn once per top-level member, in document order.
//
// name is the member name unescaped: it aliases data when the name has no
// escapes and is a freshly allocated slice otherwise. raw is the exact raw
// bytes of the value, aliasing data, without surrounding whitespace. If fn
// returns an error, Members stops and returns it unchanged. A nil fn only
// validates.
//
// A document that is not valid JSON yields ErrSyntax, ErrDuplicateName or
// ErrTooDeep; a valid document whose top-level value is not an object yields
// ErrNotObject.
func Members(data []byte, fn func(name []byte, kind Kind, raw []byte) error) error {
	var top [smallObject]topMember
	s := scanner{data: data, top: &top}
	start, _, err := s.document()
	if err != nil {
		return err
	}
	if data[start] != '{' {
		return &posError{err: ErrNotObject, off: start, msg: "top-level value is " + article(KindOf(data[start:]))}
	}
	if fn == nil {
		return nil
	}
	if s.ntop <= smallObject {
		// The scanner recorded every member.
		for _, m := range top[:s.ntop] {
			name := data[m.name.start:m.name.end]
			if m.name.esc {
				name = appendDecoded(make([]byte, 0, decodedLen(name)), name)
			}
			raw := data[m.start:m.end]
			if err := fn(name, KindOf(raw), raw); err != nil {
				return err
			}
		}
		return nil
	}
	// Large object: walk the validated document again.
	i := skipSpace(data, start+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return errModified(i)
		}
		nameEnd := skipString(data, i)
		if nameEnd-1 <= i {
			return errModified(i)
		}
		name := data[i+1 : nameEnd-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			name = appendDecoded(make([]byte, 0, decodedLen(name)), name)
		}
		i = skipSpace(data, nameEnd)
		if i >= len(data) || data[i] != ':' {
			return errModified(i)
		}
		i = skipSpace(data, i+1)
		end := skipValue(data, i)
		raw := data[i:end]
		if err := fn(name, KindOf(raw), raw); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return errModified(i)
		}
		if data[i] == '}' {
			return nil
		}
		if data[i] != ',' {
			return errModified(i)
		}
		i = skipSpace(data, i+1)
	}
}

// Elements calls fn for each element of the JSON array raw, in order, with
// the element's kind and exact raw bytes (aliasing raw, without surrounding
// whitespace). raw must be one complete, valid array, such as a raw value
// passed to a Members callback; Elements re-validates it under the same
// strict rules as Validate before calling fn at all, and returns ErrNotArray
// if it is valid but not an array. If fn returns an error, Elements stops and
// returns it unchanged. A nil fn only validates.
func Elements(raw []byte, fn func(kind Kind, raw []byte) error) error {
	s := scanner{data: raw}
	start, _, err := s.document()
	if err != nil {
		return err
	}
	if raw[start] != '[' {
		return &posError{err: ErrNotArray, off: start, msg: "value is " + article(KindOf(raw[start:]))}
	}
	if fn == nil {
		return nil
	}
	i := skipSpace(raw, start+1)
	if i < len(raw) && raw[i] == ']' {
		return nil
	}
	for {
		if i >= len(raw) {
			return errModified(i)
		}
		end := skipValue(raw, i)
		v := raw[i:end]
		if err := fn(KindOf(v), v); err != nil {
			return err
		}
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return errModified(i)
		}
		if raw[i] == ']' {
			return nil
		}
		if raw[i] != ',' {
			return errModified(i)
		}
		i = skipSpace(raw, i+1)
	}
}

func article(k Kind) string {
	switch k {
	case KindObject, KindArray:
		return "an " + k.String()
	case KindString, KindNumber:
		return "a " + k.String()
	}
	return k.String()
}

// Validate checks that data is exactly one valid JSON value of any kind,
// with optional surrounding whitespace, under the same strict rules as
// Members.
func Validate(data []byte) error {
	s := scanner{data: data}
	_, _, err := s.document()
	return err
}

// KindOf returns the kind of the raw value by its first byte, without
// validating the rest. It returns KindInvalid for empty input or a first byte
// that cannot start a JSON value (including whitespace).
func KindOf(raw []byte) Kind {
	if len(raw) == 0 {
		return KindInvalid
	}
	switch c := raw[0]; c {
	case '"':
		return KindString
	case '{':
		return KindObject
	case '[':
		return KindArray
	case 't':
		return KindTrue
	case 'f':
		return KindFalse
	case 'n':
		return KindNull
	default:
		if c == '-' || isDigit(c) {
			return KindNumber
		}
	}
	return KindInvalid
}

// stringInside validates raw as exactly one JSON string token (no
// surrounding whitespace) and returns the bytes between the quotes.
func stringInside(raw []byte) (inside []byte, esc bool, err error) {
	if KindOf(raw) != KindString {
		return nil, false, &posError{err: ErrType, off: 0, msg: "value is " + article(KindOf(raw)) + ", not a string"}
	}
	end, esc, err := scanString(raw, 0)
	if err != nil {
		return nil, false, err
	}
	if end != len(raw) {
		return nil, false, &posError{err: ErrSyntax, off: end, msg: "trailing data after string", b: raw[end], hasB: true}
	}
	return raw[1 : end-1], esc, nil
}

// String decodes the raw JSON string token raw (including its quotes, with
// no surrounding whitespace) into a Go string. It allocates at most once,
// for the result, and not at all when the result is empty. It returns
// ErrType if raw is not a string and ErrSyntax if it is not a valid one.
func String(raw []byte) (string, error) {
	inside, esc, err := stringInside(raw)
	if err != nil {
		return "", err
	}
	if !esc {
		return string(inside), nil
	}
	var b strings.Builder
	b.Grow(decodedLen(inside))
	c := chunks{s: inside}
	for p := c.next(); p != nil; p = c.next() {
		b.Write(p)
	}
	return b.String(), nil
}

// Unquote appends the decoded contents of the raw JSON string token raw
// (including its quotes, with no surrounding whitespace) to dst and returns
// the extended slice. On error dst is returned unchanged.
func Unquote(dst, raw []byte) ([]byte, error) {
	inside, esc, err := stringInside(raw)
	if err != nil {
		return dst, err
	}
	if !esc {
		return append(dst, inside...), nil
	}
	return appendDecoded(dst, inside), nil
}

// EqualString reports whether the raw JSON string token raw (including its
// quotes, with no surrounding whitespace) is valid and decodes to exactly s.
// The comparison is byte-wise and case-sensitive. EqualString does not
// allocate.
func EqualString(raw []byte, s string) bool {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return false
	}
	inside := raw[1 : len(raw)-1]
	if bytes.IndexByte(inside, '\\') < 0 {
		// Fast path: compare first, validate only on a match.
		if string(inside) != s {
			return false
		}
		_, _, err := stringInside(raw)
		return err == nil
	}
	// A decoded string is never longer than its escaped form.
	if len(s) > len(inside) {
		return false
	}
	if _, _, err := stringInside(raw); err != nil {
		return false
	}
	c := chunks{s: inside}
	for p := c.next(); p != nil; p = c.next() {
		if len(p) > len(s) || string(p) != s[:len(p)] {
			return false
		}
		s = s[len(p):]
	}
	return len(s) == 0
}

// Float parses the raw JSON number token raw (no surrounding whitespace) as
// a float64 with strconv.ParseFloat. It returns ErrType if raw is not a
// number, ErrSyntax if it is not a valid JSON number, and an error wrapping
// strconv.ErrRange if its magnitude is too large for a float64.
func Float(raw []byte) (float64, error) {
	if KindOf(raw) != KindNumber {
		return 0, &posError{err: ErrType, off: 0, msg: "value is " + article(KindOf(raw)) + ", not a number"}
	}
	end, err := scanNumber(raw, 0)
	if err != nil {
		return 0, err
	}
	if end != len(raw) {
		return 0, &posError{err: ErrSyntax, off: end, msg: "trailing data after number", b: raw[end], hasB: true}
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("number out of float64 range: %w", err)
		}
		return 0, &posError{err: ErrSyntax, off: 0, msg: "invalid number"}
	}
	return f, nil
}
