package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cookie attributes (RFC 6265bis, draft-ietf-httpbis-rfc6265bis):
//
//   - HttpOnly: scripts cannot read the cookies (§5.7).
//   - Secure: sent over https only (§5.6), and the "__Host-" name prefix
//     (§4.1.3.2): such a cookie must be Secure, have Path=/ and no Domain,
//     so a sibling subdomain or a plain-http page cannot set or overwrite
//     it. Both are dropped only when RedirectURL is http:// on a loopback
//     host (local development), with a warning at New.
//   - SameSite=Lax (§5.4.7): sent on top-level navigations from other
//     sites (the provider's redirect to the callback is one) but not on
//     cross-site subrequests or POSTs. Strict would lose the session on
//     the redirect chain that ends a login.
//   - Path=/ and no Domain.
//
// The session cookie is named __Host-NAME (NAME is Config.CookieName,
// default "oidcauth-" and 8 hex digits of a hash of the issuer and client
// ID, so that two Flows on one origin never read each other's cookies;
// defaultCookieBase); a value longer than chunkSize is split into
// __Host-NAME, __Host-NAME.1, ... (at most Config.MaxCookieChunks), the
// first carrying "N." before its part. Each login transaction has its own
// cookie, __Host-NAME-tx-XXXXXXXXXXXXXXXX, named after a hash of its state,
// so logins started in parallel tabs do not overwrite each other.

// chunkSize is the most value bytes put in one cookie: browsers keep at
// least 4096 bytes of name and value per cookie (RFC 6265bis §5.6).
const chunkSize = 3800

type cookieNames struct {
	secure    bool
	session   string // "__Host-oidcauth"
	txPrefix  string // "__Host-oidcauth-tx-"
	maxChunks int
}

func newCookieNames(base string, secure bool, maxChunks int) cookieNames {
	prefix := ""
	if secure {
		prefix = "__Host-"
	}
	return cookieNames{
		secure:    secure,
		session:   prefix + base,
		txPrefix:  prefix + base + "-tx-",
		maxChunks: maxChunks,
	}
}

// defaultCookieBase is the cookie name base of a Flow without
// Config.CookieName: DefaultCookieName, "-", and the first 4 bytes, in
// hex, of the SHA-256 of the issuer and client ID.
func defaultCookieBase(issuer, clientID string) string {
	sum := sha256.Sum256([]byte("oidcauth cookie name\x00" + appBinding(issuer, clientID, "")))
	return DefaultCookieName + "-" + hex.EncodeToString(sum[:4])
}

// SessionCookieName returns the name of the Flow's session cookie (its
// first chunk; the others add ".1", ".2", ...), e.g.
// "__Host-oidcauth-1a2b3c4d": for proxies, log filters and tests.
func (f *Flow) SessionCookieName() string { return f.cookies.session }

// validCookieBase reports whether base can be a cookie name base: 1 to 64
// letters, digits, "-" or "_", not starting with "__" (prefixes are
// added by the Flow).
func validCookieBase(base string) bool {
	if base == "" || len(base) > 64 || strings.HasPrefix(base, "__") {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cookie returns a cookie with the Flow's attributes. maxAge > 0 sets
// Max-Age (RFC 6265bis §5.6.2); maxAge < 0 deletes the cookie.
func (n cookieNames) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		Secure:   n.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

func (n cookieNames) expire(w http.ResponseWriter, name string) {
	http.SetCookie(w, n.cookie(name, "", -1))
}

// txName is the name of the transaction cookie of state.
func (n cookieNames) txName(state string) string {
	sum := sha256.Sum256([]byte("oidcauth-tx\x00" + state))
	return n.txPrefix + base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (n cookieNames) chunkName(i int) string {
	if i == 0 {
		return n.session
	}
	return n.session + "." + strconv.Itoa(i)
}

// readSession returns the session cookie's value, joined from its chunks,
// and whether any session cookie was present. A value that is incomplete
// or malformed comes back as "" with present true.
func (n cookieNames) readSession(r *http.Request) (value string, present bool) {
	first, err := r.Cookie(n.session)
	if err != nil {
		// Leftover chunks without a first cookie are junk to clear.
		_, err := r.Cookie(n.chunkName(1))
		return "", err == nil
	}
	v := first.Value
	dot := strings.IndexByte(v, '.')
	if dot < 0 {
		return v, true // one cookie
	}
	count, err := strconv.Atoi(v[:dot])
	if err != nil || count < 2 || count > n.maxChunks || v[:dot] != strconv.Itoa(count) {
		return "", true
	}
	var b strings.Builder
	b.WriteString(v[dot+1:])
	for i := 1; i < count; i++ {
		c, err := r.Cookie(n.chunkName(i))
		if err != nil {
			return "", true
		}
		b.WriteString(c.Value)
	}
	return b.String(), true
}

// split cuts value into the cookie values of its chunks, or returns
// ErrSessionTooLarge.
func (n cookieNames) split(value string) ([]string, error) {
	if !cookieOctets(value) {
		return nil, errBadCookieValue
	}
	if len(value) <= chunkSize && !strings.Contains(value, ".") {
		return []string{value}, nil
	}
	for count := 2; count <= n.maxChunks; count++ {
		head := strconv.Itoa(count) + "."
		if len(head)+len(value) > count*chunkSize {
			continue
		}
		parts := make([]string, 0, count)
		rest := value
		first := min(chunkSize-len(head), len(rest))
		parts = append(parts, head+rest[:first])
		rest = rest[first:]
		for len(parts) < count {
			k := min(chunkSize, len(rest))
			parts = append(parts, rest[:k])
			rest = rest[k:]
		}
		return parts, nil
	}
	return nil, ErrSessionTooLarge
}

var errBadCookieValue = errors.New("oauth: the session store returned an empty value or one with bytes a cookie cannot carry")

// cookieOctets reports whether v is a non-empty string of cookie-octets
// (RFC 6265bis §4.1.1).
func cookieOctets(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return v != ""
}

// writeSession sets the session cookie(s) for value, expiring at expires,
// and deletes chunks the request had beyond the new count.
func (n cookieNames) writeSession(w http.ResponseWriter, r *http.Request, value string, expires, now time.Time) error {
	parts, err := n.split(value)
	if err != nil {
		return err
	}
	maxAge := int(expires.Sub(now) / time.Second)
	if maxAge <= 0 {
		maxAge = 1
	}
	for i, p := range parts {
		http.SetCookie(w, n.cookie(n.chunkName(i), p, maxAge))
	}
	n.clearChunks(w, r, len(parts))
	return nil
}

// clearSession deletes every session cookie the request carried.
func (n cookieNames) clearSession(w http.ResponseWriter, r *http.Request) {
	n.clearChunks(w, r, 0)
}

// clearChunks deletes the request's session chunks from index from on.
func (n cookieNames) clearChunks(w http.ResponseWriter, r *http.Request, from int) {
	for i := from; i < n.maxChunks+1; i++ {
		if _, err := r.Cookie(n.chunkName(i)); err == nil {
			n.expire(w, n.chunkName(i))
		}
	}
}

// txCookies returns the request's transaction cookies.
func (n cookieNames) txCookies(r *http.Request) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range r.Cookies() {
		if strings.HasPrefix(c.Name, n.txPrefix) {
			out = append(out, c)
		}
	}
	return out
}
