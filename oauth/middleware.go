package oauth

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/oidcauth/oidcauth"
)

// Session returns the request's session. It is refused (as no session,
// its cookies deleted on w) when it does not open, when its ID token was
// not issued by the Flow's issuer to the Flow's client (iss, aud, azp),
// after Session.ExpiresAt, and when unused for Config.IdleTimeout. When
// its access token is due it is refreshed first (see the refresh policy
// in the package documentation); otherwise its last use is recorded at
// most once per IdleTimeout/10. A new session cookie is set on w if its
// value changed. It returns an error wrapping ErrNoSession when there is
// no usable session; other errors (ErrProviderUnavailable, ErrStoreUnavailable)
// mean the session could not be checked. Call it before writing the
// response's header.
func (f *Flow) Session(w http.ResponseWriter, r *http.Request) (*Session, error) {
	value, present := f.cookies.readSession(r)
	if !present {
		return nil, ErrNoSession
	}
	if value == "" {
		f.cookies.clearSession(w, r)
		return nil, fail(ErrNoSession, "malformed session cookie")
	}
	s, err := f.store.Load(r.Context(), value)
	if err != nil {
		if errors.Is(err, ErrNoSession) {
			f.cookies.clearSession(w, r)
		}
		return nil, err
	}
	if err := f.belongsTo(s); err != nil {
		// Not this Flow's session: clear the cookie, but leave the session
		// to the Flow it belongs to.
		f.log.LogAttrs(r.Context(), slog.LevelWarn, "oauth: session refused", errAttr(err))
		f.cookies.clearSession(w, r)
		return nil, err
	}
	now := f.now()
	expired := !now.Before(s.ExpiresAt)
	idle := f.idleTimeout > 0 && !now.Before(s.lastActive().Add(f.idleTimeout))
	if expired || idle {
		f.store.Delete(r.Context(), value) //nolint:errcheck // the store expires it anyway
		f.cookies.clearSession(w, r)
		if expired {
			return nil, fail(ErrNoSession, "session expired")
		}
		return nil, fail(ErrNoSession, "session idle for longer than Config.IdleTimeout")
	}
	var ns *Session
	var nv string
	if !f.needsRefresh(s, now) {
		if !f.touchDue(s, now) {
			return s, nil
		}
		ns, nv, err = f.touch(r.Context(), value, s, now)
	} else {
		ns, nv, err = f.refreshSession(r.Context(), value, s)
	}
	switch {
	case err == nil:
		if nv != value {
			if err := f.cookies.writeSession(w, r, nv, ns.ExpiresAt, now); err != nil {
				f.store.Delete(r.Context(), value) //nolint:errcheck // best effort
				f.cookies.clearSession(w, r)
				return nil, fmt.Errorf("%w: %w", ErrNoSession, err)
			}
		}
		return ns, nil
	case errors.Is(err, ErrNoSession): // ended (a logout) while recording its use
		f.cookies.clearSession(w, r)
		return nil, err
	case errors.Is(err, ErrRefreshFailed):
		f.log.LogAttrs(r.Context(), slog.LevelInfo, "oauth: session ended: token refresh refused", errAttr(err))
		if err := f.store.Delete(r.Context(), value); err != nil {
			f.log.LogAttrs(r.Context(), slog.LevelError, "oauth: could not delete an ended session", errAttr(err))
		}
		f.cookies.clearSession(w, r)
		return nil, fmt.Errorf("%w: %w", ErrNoSession, err)
	default:
		return nil, err
	}
}

// RequireLogin returns middleware for pages that need a signed-in user:
//
//	valid session                        next runs with the session and its claims
//	no session, GET or HEAD navigation   302 to LoginPath?next=<this page>
//	no session, anything else            401 (ErrorHandler, ErrNoSession)
//	unsafe method from another origin    403 (ErrorHandler, ErrCrossOrigin)
//	provider or store unavailable        503 (ErrorHandler)
//
// A navigation is a request whose Sec-Fetch-Mode is "navigate" or absent;
// a fetch() from a script gets 401 rather than a redirect it could not
// follow. "No session" includes a tampered, expired or logged-out cookie
// and a refresh that was refused. Handlers get the claims from
// [oidcauth.ClaimsFromContext] and the tokens from [SessionFromContext].
func (f *Flow) RequireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := f.Session(w, r)
		if err != nil {
			if errors.Is(err, ErrNoSession) && (r.Method == http.MethodGet || r.Method == http.MethodHead) && isNavigation(r) {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("Location", f.LoginURL(r.URL.RequestURI()))
				w.WriteHeader(http.StatusFound)
				return
			}
			f.errorHandler(w, r, err)
			return
		}
		if err := f.cop.Check(r); err != nil {
			f.errorHandler(w, r, fail(ErrCrossOrigin, err.Error()))
			return
		}
		f.serveWith(next, w, r, s)
	})
}

// MaybeLogin returns middleware for pages that serve anonymous and
// signed-in users alike:
//
//	valid session                        next runs with the session and its claims
//	no session                           next runs; ClaimsFromContext reports false
//	unsafe method from another origin    next runs without the session
//	provider or store unavailable        503 (ErrorHandler)
//
// A cross-origin POST never acts with the user's session, but is not
// refused: it is served as anonymous.
func (f *Flow) MaybeLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := f.Session(w, r)
		switch {
		case err == nil && f.cop.Check(r) == nil:
			f.serveWith(next, w, r, s)
		case err == nil || errors.Is(err, ErrNoSession):
			next.ServeHTTP(w, r)
		default:
			f.errorHandler(w, r, err)
		}
	})
}

// Required returns middleware for APIs called both by scripts of the
// signed-in browser (with the session cookie) and by other clients (with a
// bearer token, when Config.Authorizer is set):
//
//	a credential for the Authorizer        handled by Authorizer.Required: claims
//	(Authorizer set)                       of a valid token, else its RFC 6750
//	                                       answer; the session is not consulted
//	valid session                          next runs with the session and its claims
//	unsafe method from another origin      403 (ErrorHandler, ErrCrossOrigin)
//	neither                                401 with the Cookie challenge and, with
//	                                       an Authorizer, its Bearer challenge
//	                                       (Authorizer.Required's answer); without
//	                                       an Authorizer ErrorHandler's 401
//
// "A credential for the Authorizer" is decided exactly as the Authorizer
// decides it ([oidcauth.Authorizer.HasCredential]): an Authorization
// header, or with InsecureAllowQueryToken also an access_token query
// parameter. An invalid credential is never downgraded to the session.
// Either way the handler reads the claims with [oidcauth.ClaimsFromContext].
func (f *Flow) Required(next http.Handler) http.Handler {
	var bearer http.Handler
	if f.authorizer != nil {
		bearer = f.authorizer.Required(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bearer != nil && f.authorizer.HasCredential(r) {
			bearer.ServeHTTP(w, r)
			return
		}
		s, err := f.Session(w, r)
		switch {
		case err == nil:
			if err := f.cop.Check(r); err != nil {
				f.errorHandler(w, r, fail(ErrCrossOrigin, err.Error()))
				return
			}
			f.serveWith(next, w, r, s)
		case errors.Is(err, ErrNoSession) && bearer != nil:
			// No credential of either kind: the Authorizer answers 401
			// with its Bearer challenge, and the Cookie one is added.
			bearer.ServeHTTP(&challengeWriter{ResponseWriter: w, challenge: f.challenge}, r)
		default:
			f.errorHandler(w, r, err)
		}
	})
}

// serveWith runs next with s and its claims in the context.
func (f *Flow) serveWith(next http.Handler, w http.ResponseWriter, r *http.Request, s *Session) {
	c, err := s.Claims()
	if err != nil {
		f.errorHandler(w, r, err)
		return
	}
	next.ServeHTTP(w, r.WithContext(contextWith(r.Context(), s, c)))
}

// isNavigation reports whether r is a browser navigation (Fetch Metadata
// Request Headers §2.3), assuming so when the browser does not say.
func isNavigation(r *http.Request) bool {
	m := r.Header.Get("Sec-Fetch-Mode")
	return m == "" || m == "navigate"
}

// WriteError is the default ErrorHandler: it answers StatusCode(err) with a
// short plain-text message fixed per kind of error (nothing from the
// request, the provider or the tokens is echoed), Cache-Control: no-store,
// Retry-After: 5 with 503, and with 401 the WWW-Authenticate challenge of
// [Flow.CookieChallenge] (RFC 9110 §15.5.2 requires one on every 401). A
// custom ErrorHandler should set that header on its 401s too.
func (f *Flow) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusCode(err)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	switch status {
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", strconv.Itoa(5))
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", f.challenge)
	}
	w.WriteHeader(status)
	io.WriteString(w, message(err)+"\n") //nolint:errcheck
}

// CookieChallenge returns the WWW-Authenticate challenge of the Flow's 401
// answers (RFC 9110 §11.6.1, §15.5.2), in the form of the "Cookie"
// authentication scheme draft (draft-broyer-http-cookie-auth):
//
//	Cookie realm="https://app.example.com", form-action="/login", cookie-name="__Host-oidcauth"
//
// realm is the origin of Config.RedirectURL, form-action the LoginPath
// where a session is obtained, cookie-name the session cookie's name.
// Nothing from the request is in it.
func (f *Flow) CookieChallenge() string { return f.challenge }

// cookieChallenge builds the value CookieChallenge returns.
func cookieChallenge(realm, loginPath, cookieName string) string {
	return oidcauth.Challenge{Scheme: "Cookie", Realm: realm}.String() +
		", form-action=" + quotedString(loginPath) + ", cookie-name=" + quotedString(cookieName)
}

// quotedString renders s as an RFC 9110 §5.6.4 quoted-string, dropping
// control characters.
func quotedString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// challengeWriter adds a WWW-Authenticate challenge to a 401 answer written
// through it, after those already set.
type challengeWriter struct {
	http.ResponseWriter
	challenge string
	wrote     bool
}

func (cw *challengeWriter) WriteHeader(status int) {
	if !cw.wrote {
		cw.wrote = true
		if status == http.StatusUnauthorized {
			cw.Header().Add("WWW-Authenticate", cw.challenge)
		}
	}
	cw.ResponseWriter.WriteHeader(status)
}

func (cw *challengeWriter) Write(b []byte) (int, error) {
	if !cw.wrote {
		cw.WriteHeader(http.StatusOK)
	}
	return cw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (cw *challengeWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// levelFor is the log level of a failed login: Warn for what may be an
// attack or a misconfiguration, Error for outages, Info otherwise.
func levelFor(err error) slog.Level {
	switch StatusCode(err) {
	case http.StatusBadRequest, http.StatusUnauthorized:
		return slog.LevelWarn
	case http.StatusServiceUnavailable, http.StatusInternalServerError:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// errAttr logs an error. The Flow's errors never contain tokens, codes,
// secrets or cookie values.
func errAttr(err error) slog.Attr { return slog.String("err", err.Error()) }
