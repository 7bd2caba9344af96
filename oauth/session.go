package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
)

// Session is a signed-in user's session: the tokens of one login and its
// lifetime. A Flow never modifies a Session it has handed out (a refresh
// makes a new one); treat it as read-only.
//
// Sessions marshal to compact JSON (times as Unix seconds); stores may keep
// that form.
type Session struct {
	// ID identifies the session: 256 random bits, base64url, new on every
	// login (so a session id can never be fixed by an attacker before the
	// login, OWASP session fixation). Server-side stores use it as the
	// session cookie's value; it is a bearer secret.
	ID string

	// IDToken is the verified ID token as issued (OpenID Connect Core 1.0
	// §2), replaced when a refresh returns a new one. Its payload gives
	// Claims, and it is the id_token_hint of the logout.
	IDToken string

	// AccessToken is the access token for calling APIs on the user's
	// behalf, with its expiry (zero when the provider did not say).
	AccessToken       string
	AccessTokenExpiry time.Time

	// RefreshToken is the refresh token, if the provider issued one (most
	// need the offline_access scope).
	RefreshToken string

	// CreatedAt is the time of the login; ExpiresAt the end of the
	// session (CreatedAt + Config.SessionLifetime), whatever the tokens'
	// lifetimes.
	CreatedAt, ExpiresAt time.Time

	// LastSeen is when a request last used the session, as the Flow
	// recorded it (at most once per Config.IdleTimeout/10); zero until
	// the first such record, when CreatedAt counts. The Flow refuses a
	// session unused for Config.IdleTimeout. Stores keep it like the
	// other fields (the JSON form has it).
	LastSeen time.Time

	// UserAgent is the User-Agent header of the login request, cut to
	// MaxUserAgentLen bytes, for listings of a user's sessions
	// ([RevokingStore.ListSessions]); empty when the browser sent none,
	// and with stores that cannot list (the cookie store: it would only
	// make the cookie larger).
	UserAgent string
}

// DefaultIdleTimeout is the default of Config.IdleTimeout.
const DefaultIdleTimeout = 30 * time.Minute

// lastActive is when s was last used: LastSeen, or CreatedAt before the
// first record.
func (s *Session) lastActive() time.Time {
	if s.LastSeen.After(s.CreatedAt) {
		return s.LastSeen
	}
	return s.CreatedAt
}

// sessionJSON is the wire form of a Session.
type sessionJSON struct {
	V            int    `json:"v"`
	ID           string `json:"id"`
	IDToken      string `json:"idt"`
	AccessToken  string `json:"at,omitempty"`
	ATExpiry     int64  `json:"ate,omitempty"`
	RefreshToken string `json:"rt,omitempty"`
	CreatedAt    int64  `json:"c"`
	ExpiresAt    int64  `json:"e"`
	LastSeen     int64  `json:"ls,omitempty"`
	UserAgent    string `json:"ua,omitempty"`
}

// MarshalJSON encodes s compactly, with times as Unix seconds.
func (s *Session) MarshalJSON() ([]byte, error) {
	w := sessionJSON{V: 1, ID: s.ID, IDToken: s.IDToken, AccessToken: s.AccessToken,
		RefreshToken: s.RefreshToken, CreatedAt: s.CreatedAt.Unix(), ExpiresAt: s.ExpiresAt.Unix(),
		UserAgent: s.UserAgent}
	if !s.AccessTokenExpiry.IsZero() {
		w.ATExpiry = s.AccessTokenExpiry.Unix()
	}
	if !s.LastSeen.IsZero() {
		w.LastSeen = s.LastSeen.Unix()
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encoded, refusing other versions
// and sessions without an ID, an ID token or an expiry.
func (s *Session) UnmarshalJSON(b []byte) error {
	var w sessionJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.V != 1 || !ValidSessionID(w.ID) || w.IDToken == "" || w.ExpiresAt <= 0 {
		return errors.New("oauth: not a session")
	}
	*s = Session{ID: w.ID, IDToken: w.IDToken, AccessToken: w.AccessToken, RefreshToken: w.RefreshToken,
		CreatedAt: time.Unix(w.CreatedAt, 0), ExpiresAt: time.Unix(w.ExpiresAt, 0), UserAgent: w.UserAgent}
	if w.ATExpiry != 0 {
		s.AccessTokenExpiry = time.Unix(w.ATExpiry, 0)
	}
	if w.LastSeen != 0 {
		s.LastSeen = time.Unix(w.LastSeen, 0)
	}
	return nil
}

// ValidSessionID reports whether id has the form of a session ID (43
// base64url characters); stores use it to refuse junk cookie values
// without a lookup.
func ValidSessionID(id string) bool {
	if len(id) != 43 {
		return false
	}
	_, err := b64.DecodeString(id)
	return err == nil
}

// idClaims are the ID token claims the Flow reads.
type idClaims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Azp      string          `json:"azp"`
	Exp      float64         `json:"exp"`
	Iat      float64         `json:"iat"`
	Nonce    string          `json:"nonce"`
	AuthTime *float64        `json:"auth_time"`
}

// payload returns the decoded payload of a compact JWS, unverified.
func payload(jws string) ([]byte, error) {
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, errors.New("oauth: ID token is not a compact JWS")
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

func audience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("oauth: aud is neither a string nor an array of strings")
	}
	return many, nil
}

func numericDate(f float64) time.Time {
	if f <= 0 || math.IsNaN(f) || f > 253402300799 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// Claims returns the claims of the session's ID token as
// [oidcauth.Claims]: Issuer, Subject, Audience, ExpiresAt and IssuedAt,
// and Raw, the payload exactly as issued (Claims.Decode reads custom
// claims such as "email" from it). ExpiresAt is the ID token's exp, which
// is usually well before the session's end (Session.ExpiresAt). The token
// was verified when it entered the session.
func (s *Session) Claims() (*oidcauth.Claims, error) {
	p, err := payload(s.IDToken)
	if err != nil {
		return nil, fmt.Errorf("oauth: session ID token: %w", err)
	}
	var c idClaims
	if err := json.Unmarshal(p, &c); err != nil {
		return nil, fmt.Errorf("oauth: session ID token claims: %w", err)
	}
	aud, err := audience(c.Aud)
	if err != nil {
		return nil, err
	}
	return &oidcauth.Claims{
		Issuer:    c.Iss,
		Subject:   c.Sub,
		Audience:  aud,
		ExpiresAt: numericDate(c.Exp),
		IssuedAt:  numericDate(c.Iat),
		Raw:       json.RawMessage(p),
	}, nil
}

// belongsTo checks that the session's ID token was issued to the Flow's
// client by the Flow's issuer (OpenID Connect Core 1.0 §3.1.3.7 steps 2
// to 5, again at every use): iss is the issuer, aud contains the client
// ID, and azp, when present, is the client ID. It binds sessions of
// server-side stores, whose cookie is only an ID, to the Flow that made
// them: a store shared by two Flows never gives one the other's sessions.
func (f *Flow) belongsTo(s *Session) error {
	p, err := payload(s.IDToken)
	if err != nil {
		return fail(ErrNoSession, "the session's ID token does not parse")
	}
	var c struct { // only what is checked: cheaper than idClaims
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Azp string          `json:"azp"`
	}
	if err := json.Unmarshal(p, &c); err != nil {
		return fail(ErrNoSession, "the session's ID token does not parse")
	}
	aud, err := audience(c.Aud)
	switch {
	case err != nil:
		return fail(ErrNoSession, "the session's ID token has a malformed aud")
	case c.Iss != f.issuer:
		return fail(ErrNoSession, "the session was issued by another issuer")
	case !slices.Contains(aud, f.clientID) || (c.Azp != "" && c.Azp != f.clientID):
		return fail(ErrNoSession, "the session belongs to another client")
	}
	return nil
}

// touchDue reports whether the last use of s should be recorded now: the
// idle timeout is on and the record is older than a tenth of it.
func (f *Flow) touchDue(s *Session, now time.Time) bool {
	return f.idleTimeout > 0 && now.Sub(s.lastActive()) >= f.idleTimeout/10
}

// touch records the use of s at now (Store.Update with a new LastSeen)
// and returns the session and cookie value to use from then on. It runs
// as a call of the refresh group, so that it never overwrites a refresh
// of the same session made in this process: it is skipped while a
// refresh (or another touch) of the session is in flight or when s is
// the state before a recent refresh, and a refresh starting meanwhile
// waits for it. A store failure is logged and the session served: a
// missed record at worst ends the session a little early. A session
// deleted meanwhile (a logout) gives ErrNoSession. With a RefreshLocker
// store it runs under the refresh lock on a fresh load (touchShared).
func (f *Flow) touch(ctx context.Context, value string, s *Session, now time.Time) (*Session, string, error) {
	g := &f.refresh
	g.mu.Lock()
	if _, busy := g.calls[s.ID]; busy {
		g.mu.Unlock()
		return s, value, nil
	}
	if r, ok := g.recent[recentKey(s)]; ok && now.Before(r.until) {
		g.mu.Unlock()
		return s, value, nil
	}
	c := &refreshCall{done: make(chan struct{})}
	if g.calls == nil {
		g.calls = make(map[string]*refreshCall)
	}
	g.calls[s.ID] = c
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.calls, s.ID)
		g.mu.Unlock()
		close(c.done)
	}()

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
	defer cancel()
	var ns Session
	var nv string
	var err error
	if l, ok := f.store.(RefreshLocker); ok {
		ns, nv, err = f.touchShared(sctx, l, value, s, now)
	} else {
		ns = *s
		ns.LastSeen = now
		nv, err = f.store.Update(sctx, value, &ns)
	}
	switch {
	case errors.Is(err, ErrNoSession):
		c.err = fail(ErrNoSession, "the session ended")
		return nil, "", c.err
	case errors.Is(err, errTouchSkipped):
		c.s, c.value = s, value
		return s, value, nil
	case err != nil:
		f.log.LogAttrs(ctx, slog.LevelWarn, "oauth: could not record the use of a session", errAttr(err))
		c.s, c.value = s, value
		return s, value, nil
	}
	c.s, c.value = &ns, nv
	return &ns, nv, nil
}

type sessionKey struct{}

// SessionFromContext returns the session that RequireLogin, MaybeLogin or
// Required stored in the request's context, and whether there was one. A
// request authenticated by a bearer token has claims
// ([oidcauth.ClaimsFromContext]) but no session.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok && s != nil
}

// contextWith returns ctx carrying s and its claims.
func contextWith(ctx context.Context, s *Session, c *oidcauth.Claims) context.Context {
	ctx = context.WithValue(ctx, sessionKey{}, s)
	return oidcauth.ContextWithClaims(ctx, c)
}
