package oauth

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Bounds of what logins in progress put in cookies (RFC 6265bis §5.6).
const (
	// DefaultMaxNextLen is the default of Config.MaxNextLen.
	DefaultMaxNextLen = 512

	maxMaxNextLen      = 2000
	maxMaxTransactions = 10
)

// transaction is what a login remembers until its callback, sealed in the
// login's own transaction cookie. State, nonce and PKCE verifier are
// derived from one random seed, and only the seed is kept: the sealed
// cookie is about 180 bytes plus next (at most Config.MaxNextLen).
type transaction struct {
	State    string
	Nonce    string
	Verifier string
	Next     string
	Expires  int64

	seed string
}

// transactionJSON is the wire form of a transaction.
type transactionJSON struct {
	Seed    string `json:"k"`
	Next    string `json:"r"`
	Expires int64  `json:"e"`
}

// newTransaction draws a seed and derives the state, nonce and verifier
// from it.
func newTransaction(next string, expires int64) transaction {
	tx := transaction{seed: randomString(), Next: next, Expires: expires}
	tx.derive()
	return tx
}

// derive sets State, Nonce and Verifier from the seed: each is
// HMAC-SHA256(seed, label), 256 bits in base64url (43 characters, a valid
// RFC 7636 §4.1 code verifier). HMAC is a PRF: seeing the state and the
// nonce tells nothing about the verifier.
func (tx *transaction) derive() {
	d := func(label string) string {
		m := hmac.New(sha256.New, []byte(tx.seed))
		m.Write([]byte("oidcauth/oauth tx " + label))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	tx.State, tx.Nonce, tx.Verifier = d("state"), d("nonce"), d("pkce verifier")
}

// MarshalJSON keeps the seed, next and expiry only.
func (tx transaction) MarshalJSON() ([]byte, error) {
	return json.Marshal(transactionJSON{Seed: tx.seed, Next: tx.Next, Expires: tx.Expires})
}

// UnmarshalJSON reads what MarshalJSON wrote and derives the rest.
func (tx *transaction) UnmarshalJSON(b []byte) error {
	var w transactionJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if !ValidSessionID(w.Seed) { // a seed has the form of a session ID
		return errors.New("oauth: not a transaction")
	}
	*tx = transaction{seed: w.Seed, Next: w.Next, Expires: w.Expires}
	tx.derive()
	return nil
}

// LoginHandler returns the handler that starts a login: GET (or HEAD)
// LoginPath?next=/path. It
//
//   - takes next if IsLocalRedirect accepts it (and it is given once),
//     else Config.PostLoginPath;
//   - keeps next only if it is at most Config.MaxNextLen (512) bytes,
//     else uses PostLoginPath (logged at Debug), so that logins in
//     progress stay within what a Cookie header may carry;
//   - derives a state (RFC 6749 §10.12), nonce (OpenID Connect Core 1.0
//     §3.1.2.1, §15.5.2) and PKCE code verifier (RFC 7636 §4.1), each 256
//     bits, from one random 256-bit seed;
//   - keeps the seed with next in a new transaction cookie, sealed with
//     AES-256-GCM, that lives Config.TransactionLifetime and is named
//     after the state, so that logins in parallel tabs do not overwrite
//     each other (the oldest is dropped beyond Config.MaxTransactions);
//   - redirects (302) to the provider's authorization endpoint with
//     response_type=code, the S256 code_challenge (RFC 7636 §4.3), the
//     nonce, and Config.AuthParams; the response comes back as a GET with
//     a query (the default response mode).
//
// Other methods get 405.
func (f *Flow) LoginHandler() http.Handler { return http.HandlerFunc(f.login) }

func (f *Flow) login(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		f.errorHandler(w, r, ErrMethodNotAllowed)
		return
	}
	if !f.providerReady(w, r) {
		return
	}
	next := f.postLoginPath
	if v := r.URL.Query()["next"]; len(v) == 1 && IsLocalRedirect(v[0]) {
		if len(v[0]) <= f.maxNext {
			next = v[0]
		} else {
			f.log.LogAttrs(r.Context(), slog.LevelDebug, "oauth: login next is longer than Config.MaxNextLen; using PostLoginPath",
				slog.Int("len", len(v[0])), slog.Int("max", f.maxNext))
		}
	}
	tx := newTransaction(next, f.now().Add(f.txLifetime).Unix())
	b, err := json.Marshal(tx)
	if err != nil {
		f.errorHandler(w, r, err)
		return
	}
	f.evictTransactions(w, r)
	name := f.cookies.txName(tx.State)
	http.SetCookie(w, f.cookies.cookie(name, f.tx.seal(b, name), int(f.txLifetime/time.Second)))

	opts := make([]oauth2.AuthCodeOption, 0, 2+len(f.authOptions))
	opts = append(opts, oauth2.S256ChallengeOption(tx.Verifier), oidc.Nonce(tx.Nonce))
	opts = append(opts, f.authOptions...)
	h.Set("Location", f.oauth2.AuthCodeURL(tx.State, opts...))
	w.WriteHeader(http.StatusFound)
}

// evictTransactions deletes the oldest transaction cookies so that, with
// the one being added, at most maxTx remain. Cookies that do not open
// count as oldest.
func (f *Flow) evictTransactions(w http.ResponseWriter, r *http.Request) {
	cs := f.cookies.txCookies(r)
	if len(cs) < f.maxTx {
		return
	}
	type aged struct {
		name    string
		expires int64
	}
	all := make([]aged, 0, len(cs))
	for _, c := range cs {
		a := aged{name: c.Name}
		if b, err := f.tx.open(c.Value, c.Name); err == nil {
			var tx transaction
			if json.Unmarshal(b, &tx) == nil {
				a.expires = tx.Expires
			}
		}
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b aged) int { return cmp.Compare(a.expires, b.expires) })
	for _, a := range all[:len(all)-f.maxTx+1] {
		f.cookies.expire(w, a.name)
	}
}

// randomString returns 256 random bits, base64url-encoded (43 characters).
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
