package oauth

import (
	"strings"
	"unicode/utf8"
)

// MaxRedirectLen is the longest post-login target IsLocalRedirect accepts.
const MaxRedirectLen = 2048

// IsLocalRedirect reports whether target is safe to send a browser to after
// login (the "next" of the login handler): a path on this origin, written
// so that no browser, proxy or framework can read it as another host. It
// is the defence against open redirects (RFC 6749 §10.15, RFC 9700 §4.11,
// OWASP Unvalidated Redirects and Forwards Cheat Sheet) and is
// deliberately stricter than necessary:
//
//   - at most MaxRedirectLen bytes, only characters RFC 3986 allows in a
//     URI (letters, digits, "-._~:/?#[]@!$&'()*+,;=" and "%"): no spaces,
//     controls, backslashes, quotes, "<>`{|}^" or raw non-ASCII;
//   - it starts with exactly one "/": "//host" is a network-path
//     reference, and schemes ("https:", "javascript:", "data:") are never
//     relative;
//   - its path (before any "?" or "#"), percent-decoded again and again as
//     a lenient server might, with and without its dot segments removed
//     (RFC 3986 §5.2.4) and spaces, must still start with exactly one "/" (whitespace
//     ignored) and contain no backslash, control character, invalid UTF-8
//     or look-alike slash (U+2044, U+2215, U+29F5, U+29F8, U+FE68,
//     U+FF0F, U+FF3C): "/%2F%2Fevil", "/%5Cevil", "/%09/evil",
//     "/..%2F%2Fevil" and "/%252F%252Fevil" are refused.
//
// The query and fragment are only checked in their raw form.
func IsLocalRedirect(target string) bool {
	if target == "" || len(target) > MaxRedirectLen || target[0] != '/' {
		return false
	}
	for i := 0; i < len(target); i++ {
		if !uriChar[target[i]] {
			return false
		}
	}
	if len(target) > 1 && target[1] == '/' {
		return false
	}
	path := target
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	// Decode until nothing changes; every stage must be a plain path.
	for range 8 {
		if !plainPath(path) || !plainPath(removeDotSegments(path)) || !plainPath(removeDotSegments(stripSpace(path))) {
			return false
		}
		d := lenientUnescape(path)
		if d == path {
			return true
		}
		path = d
	}
	return false // more than 8 layers of encoding: no legitimate link has that
}

// plainPath checks a (possibly decoded) path.
func plainPath(p string) bool {
	if !utf8.ValidString(p) {
		return false
	}
	var head []rune // the first two non-whitespace runes
	for _, r := range p {
		switch {
		case r < 0x20 || r == 0x7f || r == '\\':
			return false
		case r == 0x2044, r == 0x2215, r == 0x29f5, r == 0x29f8, r == 0xfe68, r == 0xff0f, r == 0xff3c:
			return false
		case isSpace(r):
			continue
		}
		if len(head) < 2 {
			head = append(head, r)
		}
	}
	return len(head) > 0 && head[0] == '/' && (len(head) == 1 || head[1] != '/')
}

// isSpace reports whether r is a space that lenient parsers trim.
func isSpace(r rune) bool {
	return r == ' ' || r == 0xa0 || r == 0x3000 || r == 0x2028 || r == 0x2029 || r == 0xfeff
}

// stripSpace removes the spaces isSpace reports.
func stripSpace(p string) string {
	return strings.Map(func(r rune) rune {
		if isSpace(r) {
			return -1
		}
		return r
	}, p)
}

// uriChar marks the characters RFC 3986 §2 allows in a URI: unreserved,
// reserved and "%".
var uriChar = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%") {
		t[c] = true
	}
	return t
}()

// removeDotSegments is RFC 3986 §5.2.4 for an absolute path: "." and ".."
// segments are resolved, empty segments kept ("/..//x" becomes "//x").
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}

// lenientUnescape decodes every valid %XX sequence and leaves invalid ones
// as they are, as lenient decoders do.
func lenientUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
