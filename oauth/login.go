package oauth

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// transaction is what a login remembers until its callback, sealed in the
// login's own transaction cookie.
type transaction struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"r"`
	Expires  int64  `json:"e"`
}

// LoginHandler returns the handler that starts a login: GET (or HEAD)
// LoginPath?next=/path. It
//
//   - takes next if IsLocalRedirect accepts it (and it is given once),
//     else Config.PostLoginPath;
//   - draws a random state (RFC 6749 §10.12), nonce (OpenID Connect Core
//     1.0 §3.1.2.1, §15.5.2) and PKCE code verifier (RFC 7636 §4.1), each
//     256 bits;
//   - keeps them with next in a new transaction cookie, sealed with
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
	next := f.postLoginPath
	if v := r.URL.Query()["next"]; len(v) == 1 && IsLocalRedirect(v[0]) {
		next = v[0]
	}
	now := f.now()
	tx := transaction{
		State:    randomString(),
		Nonce:    randomString(),
		Verifier: oauth2.GenerateVerifier(),
		Next:     next,
		Expires:  now.Add(f.txLifetime).Unix(),
	}
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
