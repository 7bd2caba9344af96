package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BackChannelLogoutEvent is the member of a logout token's events claim
// that makes it one (OpenID Connect Back-Channel Logout 1.0 §2.4).
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Limits of the back-channel logout handler.
const (
	maxLogoutBody      = 64 << 10         // bytes of form body
	logoutTokenMaxAge  = 10 * time.Minute // how old iat may be
	maxLogoutJTIs      = 10000            // jti values remembered per Flow
	defaultJTILifetime = logoutTokenMaxAge + iatLeeway
)

// ErrInvalidLogoutToken means a back-channel logout request was refused
// (400): not a POST form with one logout_token, or a token that fails a
// check of OpenID Connect Back-Channel Logout 1.0 §2.6.
var ErrInvalidLogoutToken = errors.New("oauth: invalid logout token")

// BackChannelLogoutHandler returns the handler for the provider's
// back-channel logout requests (OpenID Connect Back-Channel Logout 1.0):
// mount it at the backchannel_logout_uri registered with the provider,
// outside RequireLogin and cross-origin protection (the provider calls
// it, not a browser). It ends the sessions the logout token names in the
// Flow's store, which must implement [RevokingStore]: with the default
// cookie store (or any store that cannot revoke) it returns an error, as
// nothing on the server could end those sessions.
//
// A request is checked in this order (§2.5, §2.6); the first failure
// answers 400 with {"error":"invalid_request"} (§2.8):
//
//  1. POST (else 405), Content-Type application/x-www-form-urlencoded,
//     a body of at most 64 KiB with exactly one logout_token;
//  2. a compact JWS (an encrypted token, five parts, is refused); its
//     header's alg one the Flow accepts for ID tokens (asymmetric; never
//     none or HS256), and typ, when present, "logout+jwt" (§2.4; an ID
//     token's "JWT" is refused, RFC 8725 §3.11 explicit typing);
//  3. the signature, with the provider's keys (the Flow's key set, as for
//     ID tokens); iss exactly the Flow's issuer; aud containing the
//     client ID; exp in the future (§2.4 makes it required);
//  4. iat present, not more than 5 minutes in the future and not older
//     than 10 minutes;
//  5. sub, sid or both (strings);
//  6. events, a JSON object with the member
//     "http://schemas.openid.net/event/backchannel-logout", itself an
//     object;
//  7. no nonce (so an ID token cannot be replayed as a logout token);
//  8. jti present and not seen before (the Flow remembers up to 10,000
//     jti values per issuer until the token's exp, in memory: a replay to
//     another replica is accepted, and only ends sessions already ended);
//  9. the sessions are ended: with sid, every session of that sid at the
//     issuer (RevokeSID), otherwise every session of sub
//     (RevokeSubject). A store failure answers 400 too (§2.8: the logout
//     failed) and the jti is not remembered, so the provider may retry.
//
// Success answers 200 with an empty body. With Config.StartWithoutProvider,
// until the provider's metadata has been discovered, every POST answers
// 503 with Retry-After and {"error":"temporarily_unavailable"} before any
// check (there are no keys to check the token with yet). Every answer carries
// Cache-Control: no-store. The token and its claims are never logged; the
// outcome is, with the number of sessions ended.
func (f *Flow) BackChannelLogoutHandler() (http.Handler, error) {
	rs, ok := f.store.(RevokingStore)
	if !ok {
		return nil, fmt.Errorf("oauth: back-channel logout needs a store that can revoke sessions (oauth.RevokingStore: MemoryStore, redisstore, sqlstore); %T cannot, and the cookie store never can", f.store)
	}
	return &backChannel{f: f, store: rs, jtis: make(map[string]time.Time)}, nil
}

type backChannel struct {
	f     *Flow
	store RevokingStore

	mu   sync.Mutex
	jtis map[string]time.Time // iss+"\x00"+jti → until when remembered
}

// logoutClaims are the claims a logout token is checked for.
type logoutClaims struct {
	Iss    string                     `json:"iss"`
	Sub    *string                    `json:"sub"`
	Sid    *string                    `json:"sid"`
	Iat    *float64                   `json:"iat"`
	Exp    *float64                   `json:"exp"`
	Jti    *string                    `json:"jti"`
	Events map[string]json.RawMessage `json:"events"`
	Nonce  json.RawMessage            `json:"nonce"`
}

func (b *backChannel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !b.f.ready.Load() {
		// Config.StartWithoutProvider, discovery not yet successful: no
		// keys to check the token with. 503 is neither §2.8's success nor
		// its refusal, so the provider may deliver again later.
		w.Header().Set("Retry-After", strconv.Itoa(b.f.retryAfterSeconds()))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "temporarily_unavailable", "error_description": "the provider's metadata is not known yet"}) //nolint:errcheck
		b.f.log.LogAttrs(r.Context(), slog.LevelWarn, "oauth: back-channel logout before discovery; answered 503")
		return
	}
	n, err := b.serve(r)
	if err != nil {
		b.f.log.LogAttrs(r.Context(), levelFor(err), "oauth: back-channel logout refused", errAttr(err))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		desc := "the logout token is invalid"
		if errors.Is(err, ErrStoreUnavailable) {
			desc = "the sessions could not be ended"
		}
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": desc}) //nolint:errcheck
		return
	}
	b.f.log.LogAttrs(r.Context(), slog.LevelInfo, "oauth: back-channel logout", slog.Int("sessions_ended", n))
	w.WriteHeader(http.StatusOK)
}

func (b *backChannel) serve(r *http.Request) (int, error) {
	// 1. The request (§2.5).
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return 0, fail(ErrInvalidLogoutToken, "not an application/x-www-form-urlencoded POST")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		return 0, fail(ErrInvalidLogoutToken, "the form does not parse or is too large")
	}
	tokens := r.PostForm["logout_token"]
	if len(tokens) != 1 || tokens[0] == "" {
		return 0, fail(ErrInvalidLogoutToken, "want exactly one logout_token")
	}
	c, err := b.f.verifyLogoutToken(r.Context(), tokens[0])
	if err != nil {
		return 0, err
	}
	// 8. jti single use: checked here, remembered only once the sessions
	// are ended.
	key := c.Iss + "\x00" + *c.Jti
	if b.seen(key) {
		return 0, fail(ErrInvalidLogoutToken, "jti already used (a replay)")
	}
	// 9. End the sessions (§2.7).
	ctx, cancel := context.WithTimeout(r.Context(), b.f.timeout)
	defer cancel()
	var n int
	if c.Sid != nil && *c.Sid != "" {
		n, err = b.store.RevokeSID(ctx, c.Iss, *c.Sid)
	} else {
		n, err = b.store.RevokeSubject(ctx, c.Iss, *c.Sub)
	}
	if err != nil {
		return 0, fmt.Errorf("oauth: back-channel logout: ending sessions: %w", err)
	}
	until := numericDate(*c.Exp)
	if max := b.f.now().Add(defaultJTILifetime); until.After(max) || until.IsZero() {
		until = max
	}
	b.remember(key, until)
	return n, nil
}

// verifyLogoutToken runs steps 2 to 7 of BackChannelLogoutHandler's
// order on raw.
func (f *Flow) verifyLogoutToken(ctx context.Context, raw string) (*logoutClaims, error) {
	// 2. Header: compact JWS, alg, typ.
	if err := checkLogoutHeader(raw); err != nil {
		return nil, err
	}
	// 3. Signature, iss, aud, exp: go-oidc, as for ID tokens.
	if !f.ready.Load() { // StartWithoutProvider: f.verifier is not set yet
		return nil, fmt.Errorf("%w: the provider's metadata is not known yet (discovery is being retried)", ErrProviderUnavailable)
	}
	vctx, cancel := f.providerContext(ctx)
	defer cancel()
	tok, err := f.verifier.Verify(vctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidLogoutToken, err)
	}
	var c logoutClaims
	if err := tok.Claims(&c); err != nil {
		return nil, fail(ErrInvalidLogoutToken, "the claims do not parse")
	}
	if err := f.checkLogoutClaims(&c); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkLogoutHeader is step 2: the token is a compact JWS whose header has
// an accepted alg and, when present, typ logout+jwt.
func checkLogoutHeader(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) == 5 {
		return fail(ErrInvalidLogoutToken, "an encrypted logout token (JWE) is not supported")
	}
	if len(parts) != 3 {
		return fail(ErrInvalidLogoutToken, "not a compact JWS")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return fail(ErrInvalidLogoutToken, "the header is not base64url")
	}
	var h struct {
		Alg string          `json:"alg"`
		Typ json.RawMessage `json:"typ"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return fail(ErrInvalidLogoutToken, "the header does not parse")
	}
	if !slices.Contains(idTokenAlgs, h.Alg) {
		return fail(ErrInvalidLogoutToken, "alg is not an accepted asymmetric algorithm")
	}
	if h.Typ != nil {
		var typ string
		if json.Unmarshal(h.Typ, &typ) != nil {
			return fail(ErrInvalidLogoutToken, "typ is not a string")
		}
		// RFC 7515 §4.1.9: "application/" may be omitted; compared
		// case-insensitively.
		if t := strings.ToLower(typ); t != "logout+jwt" && t != "application/logout+jwt" {
			return fail(ErrInvalidLogoutToken, "typ is not logout+jwt")
		}
	}
	return nil
}

// checkLogoutClaims is steps 4 to 7 (and the presence of jti and exp).
func (f *Flow) checkLogoutClaims(c *logoutClaims) error {
	now := f.now()
	switch {
	case c.Exp == nil || numericDate(*c.Exp).IsZero():
		return fail(ErrInvalidLogoutToken, "no exp")
	case c.Iat == nil || numericDate(*c.Iat).IsZero():
		return fail(ErrInvalidLogoutToken, "no iat")
	case numericDate(*c.Iat).After(now.Add(iatLeeway)):
		return fail(ErrInvalidLogoutToken, "iat is in the future")
	case numericDate(*c.Iat).Before(now.Add(-logoutTokenMaxAge)):
		return fail(ErrInvalidLogoutToken, "iat is too old")
	case (c.Sub == nil || *c.Sub == "") && (c.Sid == nil || *c.Sid == ""):
		return fail(ErrInvalidLogoutToken, "neither sub nor sid")
	}
	ev, ok := c.Events[BackChannelLogoutEvent]
	var obj map[string]json.RawMessage
	if !ok || json.Unmarshal(ev, &obj) != nil || obj == nil {
		return fail(ErrInvalidLogoutToken, "events has no back-channel logout member (an object)")
	}
	switch {
	case c.Nonce != nil:
		return fail(ErrInvalidLogoutToken, "a nonce is present (an ID token?)")
	case c.Jti == nil || *c.Jti == "":
		return fail(ErrInvalidLogoutToken, "no jti")
	}
	return nil
}

func (b *backChannel) seen(key string) bool {
	now := b.f.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	until, ok := b.jtis[key]
	return ok && now.Before(until)
}

// remember records key until then, keeping at most maxLogoutJTIs: expired
// entries go first, then those nearest their end.
func (b *backChannel) remember(key string, until time.Time) {
	now := b.f.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.jtis) >= maxLogoutJTIs {
		for k, u := range b.jtis {
			if !now.Before(u) {
				delete(b.jtis, k)
			}
		}
		for len(b.jtis) >= maxLogoutJTIs {
			var oldest string
			var ou time.Time
			for k, u := range b.jtis {
				if oldest == "" || u.Before(ou) {
					oldest, ou = k, u
				}
			}
			delete(b.jtis, oldest)
		}
	}
	b.jtis[key] = until
}
