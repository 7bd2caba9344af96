// Package oauthtest runs an application using package oauth against an
// oidctest provider, with a scripted browser, for the tests of package
// oauth and of its stores.
package oauthtest

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// ClientID and ClientSecret are the test client's credentials.
const (
	ClientID     = "test-app"
	ClientSecret = "test-secret"
	Audience     = "test-api"
)

// Clock is a settable clock shared by the provider and the Flow.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Options tunes Start.
type Options struct {
	Store      oauth.Store            // default: the cookie store
	Settings   oidctest.OAuthSettings // AutoLogin defaults to "alice"
	Configure  func(*oauth.Config)    // last changes to the Flow's Config
	Public     bool                   // register a public client (no secret)
	Authorizer bool                   // set Config.Authorizer (audience Audience)
	Algorithm  string                 // the provider's key algorithm; default ES256
	Logger     *slog.Logger           // default: discard
}

// Env is a running provider and application.
type Env struct {
	IdP   *oidctest.Provider
	Flow  *oauth.Flow
	App   *httptest.Server
	Clock *Clock
	Keys  [][]byte
	Auth  *oidcauth.Authorizer

	mu   sync.Mutex
	errs []error
}

// Errors returns the errors given to the ErrorHandler so far, and forgets
// them.
func (e *Env) Errors() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := e.errs
	e.errs = nil
	return errs
}

// Routes of the application.
const (
	// PathMe requires a login and answers "sub:<subject>".
	PathMe = "/me"
	// PathPublic is public and answers "anonymous" or "sub:<subject>".
	PathPublic = "/public"
	// PathAPI takes a session or a bearer token (Required) and answers
	// "sub:<subject> session:<bool>".
	PathAPI = "/api"
)

// Start starts a TLS provider and a TLS application wired to it.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	alg := o.Algorithm
	if alg == "" {
		alg = "ES256"
	}
	clock := NewClock()
	idp := oidctest.New(t, oidctest.Options{TLS: true, Algorithm: alg, Now: clock.Now})
	if o.Settings.AutoLogin == "" {
		o.Settings.AutoLogin = "alice"
	}
	idp.SetOAuth(o.Settings)

	mux := http.NewServeMux()
	app := httptest.NewTLSServer(mux)
	t.Cleanup(app.Close)

	client := oidctest.Client{
		ID:                     ClientID,
		Secret:                 ClientSecret,
		RedirectURIs:           []string{app.URL + "/callback"},
		PostLogoutRedirectURIs: []string{app.URL + "/"},
		Audience:               Audience,
	}
	if o.Public {
		client.Secret = ""
	}
	idp.MustRegisterClient(t, client)

	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	keys := [][]byte{oauth.GenerateKey()}
	cfg := oauth.Config{
		Issuer:       idp.Issuer(),
		ClientID:     client.ID,
		ClientSecret: client.Secret,
		RedirectURL:  app.URL + "/callback",
		Scopes:       []string{"openid", "offline_access"},
		Keys:         keys,
		Store:        o.Store,
		// An explicit name, so that SessionCookieName holds; tests of the
		// default (derived) names set it back to "" in Configure.
		CookieName: oauth.DefaultCookieName,
		HTTPClient: idp.Client(),
		Now:        clock.Now,
		Logger:     logger,
	}
	env := &Env{IdP: idp, App: app, Clock: clock, Keys: keys}
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		env.mu.Lock()
		env.errs = append(env.errs, err)
		env.mu.Unlock()
		env.Flow.WriteError(w, r, err)
	}
	var auth *oidcauth.Authorizer
	if o.Authorizer {
		var err error
		auth, err = oidcauth.New(context.Background(), oidcauth.Config{
			Issuer: idp.Issuer(), Audiences: []string{Audience}, HTTPClient: idp.Client(), Now: clock.Now, Logger: logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { auth.Close() })
		cfg.Authorizer = auth
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	flow, err := oauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { flow.Close() })
	env.Flow, env.Auth = flow, auth
	Mount(mux, flow)
	return env
}

// Mount mounts the test application's routes for flow on mux.
func Mount(mux *http.ServeMux, flow *oauth.Flow) {
	mux.Handle("GET /login", flow.LoginHandler())
	mux.Handle("GET /callback", flow.CallbackHandler())
	mux.Handle("POST /logout", flow.LogoutHandler())
	mux.Handle(PathMe, flow.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprintf(w, "sub:%s", c.Subject)
	})))
	mux.Handle(PathPublic, flow.MaybeLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
			fmt.Fprintf(w, "sub:%s", c.Subject)
			return
		}
		io.WriteString(w, "anonymous")
	})))
	mux.Handle(PathAPI, flow.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		_, s := oauth.SessionFromContext(r.Context())
		fmt.Fprintf(w, "sub:%s session:%v", c.Subject, s)
	})))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "home") })
}

// Response is one response seen by the Browser.
type Response struct {
	Status   int
	Header   http.Header
	Body     string
	URL      *url.URL // the request's URL
	Location string
	Cookies  []*http.Cookie // Set-Cookie of this response
}

// Cookie returns the Set-Cookie of this response for name, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Browser is a cookie-keeping client that does not follow redirects by
// itself.
type Browser struct {
	t      testing.TB
	Client *http.Client
	Jar    http.CookieJar
	// Header is added to every request (e.g. Sec-Fetch-Site).
	Header http.Header
}

// NewBrowser returns a browser that trusts the test servers' certificate.
func (e *Env) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	c := *e.App.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Browser{t: t, Client: &c, Jar: jar, Header: http.Header{}}
}

// Do sends one request.
func (b *Browser) Do(method, rawURL string, body io.Reader, header http.Header) *Response {
	b.t.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range b.Header {
		req.Header[k] = v
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: string(data), URL: req.URL, Cookies: resp.Cookies()}
	if loc, err := resp.Location(); err == nil {
		r.Location = loc.String()
	}
	return r
}

// Get sends one GET request.
func (b *Browser) Get(rawURL string) *Response {
	b.t.Helper()
	return b.Do(http.MethodGet, rawURL, nil, nil)
}

// Walk GETs rawURL and follows redirects (at most 10), returning every
// response in order. POST answers 303 are followed with GET.
func (b *Browser) Walk(rawURL string) []*Response {
	b.t.Helper()
	var out []*Response
	for range 10 {
		r := b.Get(rawURL)
		out = append(out, r)
		if r.Status < 300 || r.Status > 399 || r.Location == "" {
			return out
		}
		rawURL = r.Location
	}
	b.t.Fatalf("more than 10 redirects from %s", out[0].URL)
	return nil
}

// Last returns the last response of a walk.
func Last(rs []*Response) *Response { return rs[len(rs)-1] }

// Login walks the whole login for next (LoginPath?next=...) and fails the
// test unless it ends on next with status 200. It returns the walk.
func (e *Env) Login(b *Browser, next string) []*Response {
	b.t.Helper()
	rs := b.Walk(e.App.URL + e.Flow.LoginURL(next))
	last := Last(rs)
	if last.Status != http.StatusOK || last.URL.RequestURI() != next {
		b.t.Fatalf("login to %s ended at %s with %d: %s", next, last.URL, last.Status, last.Body)
	}
	return rs
}

// SessionCookieName is the session cookie's name in the test
// application (Config.CookieName "oidcauth").
const SessionCookieName = "__Host-oidcauth"

// SessionCookies returns the browser's session cookie(s) for the app.
func (e *Env) SessionCookies(b *Browser) []*http.Cookie {
	u, _ := url.Parse(e.App.URL)
	var out []*http.Cookie
	for _, c := range b.Jar.Cookies(u) {
		if name := e.Flow.SessionCookieName(); c.Name == name || strings.HasPrefix(c.Name, name+".") {
			out = append(out, c)
		}
	}
	return out
}

// Logout posts a same-origin logout and follows the redirects.
func (e *Env) Logout(b *Browser) []*Response {
	b.t.Helper()
	r := b.Do(http.MethodPost, e.App.URL+"/logout", strings.NewReader(""), http.Header{
		"Origin": {e.App.URL}, "Sec-Fetch-Site": {"same-origin"},
	})
	rs := []*Response{r}
	if r.Status == http.StatusOK && strings.Contains(r.Body, "<form") {
		// The page POSTing id_token_hint to the end-session endpoint.
		r = b.SubmitForm(r, e.App.URL)
		rs = append(rs, r)
	}
	if r.Status == http.StatusSeeOther || r.Status == http.StatusFound {
		rs = append(rs, b.Walk(r.Location)...)
	}
	return rs
}

var (
	formRE  = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// Form returns the action and the hidden fields of the (first) POST form
// of a page, as LogoutHandler writes it; action is "" without one.
func Form(body string) (action string, fields url.Values) {
	m := formRE.FindStringSubmatch(body)
	if m == nil {
		return "", nil
	}
	fields = url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(body, -1) {
		fields.Add(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	return html.UnescapeString(m[1]), fields
}

// SubmitForm submits the POST form of page r as a browser would from
// origin (cross-site), and returns the answer.
func (b *Browser) SubmitForm(r *Response, origin string) *Response {
	b.t.Helper()
	action, fields := Form(r.Body)
	if action == "" {
		b.t.Fatalf("no form in %q", r.Body)
	}
	return b.Do(http.MethodPost, action, strings.NewReader(fields.Encode()), http.Header{
		"Origin": {origin}, "Sec-Fetch-Site": {"cross-site"},
	})
}

// WithCookies returns a request header carrying exactly these cookies.
func WithCookies(cs []*http.Cookie) http.Header {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return http.Header{"Cookie": {strings.Join(parts, "; ")}}
}

// Plain returns a client without cookie jar that trusts the test servers
// and does not follow redirects.
func (e *Env) Plain() *http.Client {
	c := *e.App.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
