package oauth

import (
	"log/slog"
	"net/http"
	"net/url"
)

// LogoutHandler returns the handler that signs the user out. It takes POST
// only (405 otherwise), so that no link, image or prefetch can log anyone
// out, and refuses cross-origin requests (403, ErrCrossOrigin): the
// browser's Sec-Fetch-Site, or else its Origin, must name this origin or
// one of Config.TrustedOrigins ([http.CrossOriginProtection]). A plain
// same-origin HTML form works:
//
//	<form method="post" action="/logout"><button>Sign out</button></form>
//
// It deletes the session from the store (with a server-side store an old
// copy of the cookie is refused from then on; the cookie store cannot
// revoke, see [Store]), deletes the session cookies, and answers 303 See
// Other:
//
//   - when the provider's metadata has an end_session_endpoint (and
//     Config.SkipEndSession is false) and there was a session, to it, for
//     RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2) with
//     id_token_hint, client_id and post_logout_redirect_uri
//     (Config.PostLogoutRedirectURL);
//   - otherwise to Config.PostLogoutPath.
//
// When the store cannot delete the session the cookie is kept and the
// error goes to ErrorHandler (503), so that the user can try again.
func (f *Flow) LogoutHandler() http.Handler { return http.HandlerFunc(f.logout) }

func (f *Flow) logout(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		h.Set("Allow", "POST")
		f.errorHandler(w, r, ErrMethodNotAllowed)
		return
	}
	if err := f.cop.Check(r); err != nil {
		f.log.LogAttrs(r.Context(), slog.LevelWarn, "oauth: cross-origin logout refused")
		f.errorHandler(w, r, fail(ErrCrossOrigin, err.Error()))
		return
	}
	var idToken string
	if value, present := f.cookies.readSession(r); present && value != "" {
		if s, err := f.store.Load(r.Context(), value); err == nil {
			idToken = s.IDToken
		}
		if err := f.store.Delete(r.Context(), value); err != nil {
			f.log.LogAttrs(r.Context(), slog.LevelError, "oauth: logout could not delete the session", errAttr(err))
			f.errorHandler(w, r, err)
			return
		}
	}
	f.cookies.clearSession(w, r)
	target := f.postLogoutPath
	if f.endSession != "" && idToken != "" {
		u, err := url.Parse(f.endSession) // checked at New
		if err == nil {
			q := u.Query()
			q.Set("id_token_hint", idToken)
			q.Set("client_id", f.clientID)
			q.Set("post_logout_redirect_uri", f.postLogoutURL)
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	h.Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}
