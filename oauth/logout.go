package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
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
// revoke, see [Store]) and deletes the session cookies. A session that
// belongs to another Flow (a store shared by two applications) is not
// deleted and its ID token is never sent anywhere; only the cookies go.
//
// When the provider's metadata has an end_session_endpoint (and
// Config.SkipEndSession is false) and there was a session of this Flow,
// the browser goes on to the provider for RP-initiated logout (OpenID
// Connect RP-Initiated Logout 1.0 §2):
//
//   - by default the answer is 200, a small page whose form POSTs
//     id_token_hint, client_id and post_logout_redirect_uri
//     (Config.PostLogoutRedirectURL) to the end_session_endpoint, sent by
//     an inline script (a button without JavaScript). §2 lets the OP
//     take POST: the ID token stays out of URLs, hence out of the
//     browser's history and the logs of the provider and proxies. The
//     page's Content-Security-Policy allows nothing but that script (by
//     its hash) and form submissions to the end-session endpoint's origin
//     and to post_logout_redirect_uri's origin (browsers apply
//     form-action to the redirects that follow the submission);
//   - with Config.EndSessionRedirect, 303 See Other to the endpoint with
//     client_id and post_logout_redirect_uri, without the hint;
//   - with Config.InsecureEndSessionHintInURL, 303 See Other to the
//     endpoint with the hint in the query.
//
// Otherwise it answers 303 See Other to Config.PostLogoutPath.
//
// When the store cannot delete the session the cookie is kept and the
// error goes to ErrorHandler (503), so that the user can try again.
func (f *Flow) LogoutHandler() http.Handler { return http.HandlerFunc(f.logout) }

// endSessionMode is how LogoutHandler sends the browser to the provider.
type endSessionMode int

const (
	endSessionPost      endSessionMode = iota // auto-submitting form, hint in the body
	endSessionRedirect                        // 303, no hint
	endSessionHintInURL                       // 303, hint in the query (insecure)
)

func endSessionModeOf(cfg Config) endSessionMode {
	switch {
	case cfg.InsecureEndSessionHintInURL:
		return endSessionHintInURL
	case cfg.EndSessionRedirect:
		return endSessionRedirect
	}
	return endSessionPost
}

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
		s, err := f.store.Load(r.Context(), value)
		foreign := false
		if err == nil {
			if err := f.belongsTo(s); err != nil {
				// Not ours to end, and its ID token is not ours to send.
				foreign = true
				f.log.LogAttrs(r.Context(), slog.LevelWarn, "oauth: logout with a session of another Flow: only the cookies are deleted", errAttr(err))
			} else {
				idToken = s.IDToken
			}
		}
		if !foreign {
			if err := f.store.Delete(r.Context(), value); err != nil {
				f.log.LogAttrs(r.Context(), slog.LevelError, "oauth: logout could not delete the session", errAttr(err))
				f.errorHandler(w, r, err)
				return
			}
		}
	}
	f.cookies.clearSession(w, r)
	if !f.ready.Load() || f.endSession == "" || idToken == "" { // not ready: StartWithoutProvider
		h.Set("Location", f.postLogoutPath)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	params := []param{{"client_id", f.clientID}, {"post_logout_redirect_uri", f.postLogoutURL}}
	if f.endSessionMode != endSessionRedirect {
		params = append([]param{{"id_token_hint", idToken}}, params...)
	}
	if f.endSessionMode == endSessionPost {
		f.writeLogoutForm(w, r, params)
		return
	}
	u, err := url.Parse(f.endSession) // checked at New
	if err != nil {
		f.errorHandler(w, r, fail(ErrProviderUnavailable, "end_session_endpoint does not parse"))
		return
	}
	q := u.Query()
	for _, p := range params {
		q.Set(p.Name, p.Value)
	}
	u.RawQuery = q.Encode()
	h.Set("Location", u.String())
	w.WriteHeader(http.StatusSeeOther)
}

// param is one hidden field of the logout form.
type param struct{ Name, Value string }

// logoutScript submits the logout form. Its hash is in the page's
// Content-Security-Policy; any change here changes it.
const logoutScript = `document.forms[0].submit();`

// logoutScriptHash is the CSP source of logoutScript (CSP Level 3 §8.3).
var logoutScriptHash = func() string {
	sum := sha256.Sum256([]byte(logoutScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head>
<body><form method="post" action="{{.Action}}">
{{range .Params}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<p>Signing out at the provider&hellip;</p><noscript><button type="submit">Continue</button></noscript>
</form><script>` + logoutScript + `</script></body></html>
`))

// writeLogoutForm answers the page that POSTs params to the end-session
// endpoint (OpenID Connect RP-Initiated Logout 1.0 §2).
func (f *Flow) writeLogoutForm(w http.ResponseWriter, r *http.Request, params []param) {
	sources := []string{origin(f.endSession)}
	if o := origin(f.postLogoutURL); o != sources[0] {
		sources = append(sources, o)
	}
	var buf bytes.Buffer
	if err := logoutPage.Execute(&buf, struct {
		Action string
		Params []param
	}{f.endSession, params}); err != nil {
		f.errorHandler(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+logoutScriptHash+
		"; form-action "+strings.Join(sources, " ")+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// origin returns the scheme://host[:port] of an absolute URL checked at New.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}
