// Command webapp is a small web application that signs users in with
// OpenID Connect using package oauth.
//
//	go run ./examples/webapp
//
// runs it on http://127.0.0.1:9401 with an embedded fake provider
// (oidctest) that signs everyone in as "alice" without asking: open
// http://127.0.0.1:9401/me in a browser and click through. With a real
// provider:
//
//	go run ./examples/webapp --issuer https://example.eu.auth0.com/ \
//	    --client-id ID --client-secret SECRET [--addr 127.0.0.1:9401] \
//	    [--redirect-url http://127.0.0.1:9401/callback] [--api-audience AUD]
//
// (register the redirect URL, default http://ADDR/callback, and
// http://ADDR/ as a post-logout redirect URI with the provider).
//
// Routes:
//
//	GET  /         public: "hello, anonymous" or "hello, <sub>", with a sign-out form
//	GET  /me       sign-in required: the session's claims as JSON
//	GET  /login    starts a sign-in (?next=/path)
//	GET  /callback the provider's redirect back
//	POST /logout   signs out (same-origin form POST): 303 to the provider's
//	               end-session endpoint with client_id only (no ID token in the URL)
//	GET  /api/me   the session, or a bearer token for --api-audience: the claims as JSON
//	GET  /me/userinfo  sign-in required: the session's UserInfo claims (--userinfo), else 404
//	POST /backchannel-logout  OpenID Connect Back-Channel Logout 1.0 (logout_token):
//	               200 and the sessions of the sid/sub ended, 400 for a bad token;
//	               501 with the cookie store, which cannot end sessions
//
// With --issuer and without --api-audience, /api/me takes the session only
// and refuses bearer tokens: the only audience it could check then is the
// client ID, which is the audience of the user's ID token, and an ID token
// is not an access token (OpenID Connect Core §2, RFC 8725 §3.11). Give
// --api-audience the audience your provider puts in access tokens for this
// API (an API identifier, never the client ID) to accept bearer tokens too.
// With the embedded provider the API audience is webapp-api.
//
// Sessions live in encrypted cookies, or with --session-store memory,
// --session-store redis://host:port/0 or --session-store
// postgres://user@host/db (package sqlstore; the table is created at
// start if missing) on the server. The session key comes
// from --session-key or $OIDCAUTH_SESSION_KEY (32 bytes, base64url); without
// one a random key is generated, and sessions do not survive a restart.
//
// Replicas: run several webapps on different --addr with the same
// --issuer, --redirect-url, --session-key and --session-store redis://…
// or postgres://…;
// they serve one session, and a refresh (--refresh-margin before the access
// token expires; default the library's, 1 minute) is made by one of them
// under the store's lock, so a provider that rotates refresh tokens never
// sees one twice. While the store is unreachable pages answer 503, never a
// redirect to the login, and the session is back with the store.
//
// Back-channel logout: register http(s)://ADDR/backchannel-logout as the
// client's backchannel_logout_uri (one replica, or the load balancer in
// front of them all). The provider POSTs a logout token there when the
// user signs out at the provider; the webapp checks it
// (oauth.Flow.BackChannelLogoutHandler: signature, iss, aud, iat, exp,
// events, no nonce, single-use jti) and ends the sessions of its sid, or
// of its sub without sid, in the shared store, so on every replica: 200,
// or 400 with {"error":"invalid_request"} for a bad token. With the
// default cookie store the route answers 501 with a message saying that
// a server-side --session-store is needed: a cookie in the browser cannot
// be ended from the server, so the logout would silently do nothing.
package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the Postgres driver of --session-store postgres://
	"github.com/redis/go-redis/v9"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/redisstore"
	"github.com/oidcauth/oidcauth/oauth/sqlstore"
	"github.com/oidcauth/oidcauth/oidctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, issuer, clientID, clientSecret, redirectURL string
	sessionStore, sessionKey, apiAudience, demoUser   string
	refreshMargin                                     time.Duration
	userInfo                                          bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:9401", "listen address")
	fs.StringVar(&o.issuer, "issuer", "", "OpenID provider's issuer URL (default: an embedded fake provider)")
	fs.StringVar(&o.clientID, "client-id", "", "client ID registered with the provider")
	fs.StringVar(&o.clientSecret, "client-secret", "", "client secret (empty for a public client)")
	fs.StringVar(&o.redirectURL, "redirect-url", "", "redirect URL registered with the provider (default http://ADDR/callback)")
	fs.StringVar(&o.sessionStore, "session-store", "cookie", "where sessions live: cookie, memory, redis://host:port/db or postgres://user@host/db")
	fs.StringVar(&o.sessionKey, "session-key", os.Getenv("OIDCAUTH_SESSION_KEY"), "32-byte session key, base64url (default $OIDCAUTH_SESSION_KEY, else random)")
	fs.StringVar(&o.apiAudience, "api-audience", "", "audience of bearer tokens for /api/me; without it /api/me takes the session only (default with the embedded provider: webapp-api)")
	fs.StringVar(&o.demoUser, "demo-user", "alice", "subject the embedded provider signs in")
	fs.DurationVar(&o.refreshMargin, "refresh-margin", 0, "how long before its expiry an access token is refreshed (default the library's, oauth.DefaultRefreshMargin)")
	fs.BoolVar(&o.userInfo, "userinfo", false, "fetch the provider's UserInfo claims at login (shown at /me/userinfo)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.refreshMargin < 0 {
		return o, errors.New("--refresh-margin must not be negative")
	}
	if o.issuer != "" && o.clientID == "" {
		return o, errors.New("--client-id is required with --issuer")
	}
	if o.issuer == "" && (o.clientID != "" || o.clientSecret != "") {
		return o, errors.New("--client-id and --client-secret need --issuer")
	}
	return o, nil
}

// run serves until ctx ends. It prints "listening on http://ADDR" once it
// accepts connections.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	a, err := newApp(ctx, o, ln.Addr().String(), logger)
	if err != nil {
		return err
	}
	defer a.Close()

	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	<-errc
	return nil
}

// app is the web application and what it owns.
type app struct {
	flow  *oauth.Flow
	auth  *oidcauth.Authorizer
	idp   *oidctest.Provider // the embedded provider, or nil
	redis *redis.Client
	db    *sql.DB         // --session-store postgres://
	sql   *sqlstore.Store // its store (a sweep goroutine)
	log   *slog.Logger
}

func newApp(ctx context.Context, o options, addr string, logger *slog.Logger) (_ *app, err error) {
	a := &app{log: logger}
	defer func() {
		if err != nil {
			a.Close() // what was started before the failure
		}
	}()
	base := "http://" + addr
	if o.redirectURL == "" {
		o.redirectURL = base + "/callback"
	}

	if o.issuer == "" {
		// The embedded fake provider, signing in o.demoUser at once.
		a.idp, err = oidctest.Start(oidctest.Options{})
		if err != nil {
			return nil, err
		}
		a.idp.SetOAuth(oidctest.OAuthSettings{
			AutoLogin:  o.demoUser,
			UserClaims: map[string]any{"name": "Demo User " + o.demoUser, "email": o.demoUser + "@example.com"},
		})
		o.issuer, o.clientID, o.clientSecret = a.idp.Issuer(), "webapp", base64.RawURLEncoding.EncodeToString(oauth.GenerateKey())
		if o.apiAudience == "" {
			o.apiAudience = "webapp-api"
		}
		if err := a.idp.RegisterClient(oidctest.Client{
			ID: o.clientID, Secret: o.clientSecret, Audience: o.apiAudience,
			RedirectURIs: []string{o.redirectURL}, PostLogoutRedirectURIs: []string{base + "/"},
		}); err != nil {
			return nil, err
		}
		logger.Info("using the embedded fake provider: everyone is signed in as "+o.demoUser, "issuer", a.idp.Issuer())
	}

	key, err := sessionKey(o.sessionKey, logger)
	if err != nil {
		return nil, err
	}
	store, err := a.store(ctx, o.sessionStore)
	if err != nil {
		return nil, err
	}
	if o.apiAudience != "" {
		// Bearer tokens for the API's own audience; without one, /api/me
		// takes the session only (see the package documentation).
		a.auth, err = oidcauth.New(ctx, oidcauth.Config{Issuer: o.issuer, Audiences: []string{o.apiAudience}, Logger: logger})
		if err != nil {
			return nil, err
		}
	} else {
		logger.Info("no --api-audience: /api/me takes the session only, no bearer tokens")
	}
	a.flow, err = oauth.New(ctx, oauth.Config{
		Issuer:       o.issuer,
		ClientID:     o.clientID,
		ClientSecret: o.clientSecret,
		RedirectURL:  o.redirectURL,
		Scopes:       []string{"openid", "profile", "email", "offline_access"},
		Keys:         [][]byte{key},
		Store:        store,
		Authorizer:   a.auth,
		Logger:       logger,
		// POST /logout keeps answering with a redirect chain (303 to the
		// provider, back to /) that plain HTTP clients follow; the ID token
		// stays out of the URL because the redirect carries client_id only.
		// An application that prefers the provider's silent logout leaves
		// this false: LogoutHandler then answers a page that POSTs the hint.
		EndSessionRedirect: true,
		RefreshMargin:      o.refreshMargin,
		UserInfo:           o.userInfo,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func sessionKey(s string, logger *slog.Logger) ([]byte, error) {
	if s == "" {
		logger.Warn("no --session-key or $OIDCAUTH_SESSION_KEY: using a random key; sessions will not survive a restart")
		return oauth.GenerateKey(), nil
	}
	k, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(k) != oauth.KeySize {
		return nil, fmt.Errorf("the session key must be %d bytes in base64url", oauth.KeySize)
	}
	return k, nil
}

func (a *app) store(ctx context.Context, spec string) (oauth.Store, error) {
	switch {
	case spec == "" || spec == "cookie":
		return nil, nil // the Flow's encrypted cookie store
	case spec == "memory":
		return oauth.NewMemoryStore(), nil
	case strings.HasPrefix(spec, "redis://") || strings.HasPrefix(spec, "rediss://"):
		opt, err := redis.ParseURL(spec)
		if err != nil {
			return nil, fmt.Errorf("--session-store: %w", err)
		}
		a.redis = redis.NewClient(opt)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := a.redis.Ping(pctx).Err(); err != nil {
			return nil, fmt.Errorf("--session-store: redis at %s: %w", opt.Addr, err)
		}
		return redisstore.New(redisstore.Config{Client: a.redis})
	case strings.HasPrefix(spec, "postgres://") || strings.HasPrefix(spec, "postgresql://"):
		db, err := sql.Open("postgres", spec)
		if err != nil {
			return nil, fmt.Errorf("--session-store: %w", err)
		}
		a.db = db
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			return nil, fmt.Errorf("--session-store: postgres: %w", err)
		}
		// The table is created if missing (sqlstore's schema).
		a.sql, err = sqlstore.New(pctx, db, sqlstore.Config{})
		if err != nil {
			return nil, fmt.Errorf("--session-store: %w", err)
		}
		return a.sql, nil
	}
	return nil, fmt.Errorf("--session-store %q: use cookie, memory, redis://host:port/db or postgres://user@host/db", spec)
}

// Close releases everything the app owns.
func (a *app) Close() {
	if a.flow != nil {
		a.flow.Close()
	}
	if a.auth != nil {
		a.auth.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	if a.sql != nil {
		a.sql.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
	if a.idp != nil {
		a.idp.Close()
	}
}

func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", a.flow.MaybeLogin(http.HandlerFunc(a.home)))
	mux.Handle("GET /me", a.flow.RequireLogin(http.HandlerFunc(claimsJSON)))
	mux.Handle("GET /login", a.flow.LoginHandler())
	mux.Handle("GET /callback", a.flow.CallbackHandler())
	mux.Handle("POST /logout", a.flow.LogoutHandler())
	mux.Handle("GET /api/me", a.flow.Required(http.HandlerFunc(claimsJSON)))
	mux.Handle("GET /me/userinfo", a.flow.RequireLogin(http.HandlerFunc(userInfoJSON)))
	if bc, err := a.flow.BackChannelLogoutHandler(); err == nil {
		mux.Handle("POST /backchannel-logout", bc)
	} else {
		// The cookie store cannot end a session from the server side.
		mux.Handle("POST /backchannel-logout", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "back-channel logout needs a server-side --session-store (memory, redis://, postgres://)", http.StatusNotImplemented)
		}))
	}
	return securityHeaders(mux)
}

var homePage = template.Must(template.New("home").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>oidcauth webapp</title></head>
<body>
<h1 id="greeting">hello, {{if .Subject}}{{.Subject}}{{else}}anonymous{{end}}</h1>
{{if .Subject -}}
<p><a href="/me">your claims</a> · <a href="/api/me">/api/me</a></p>
<form id="logout" method="post" action="/logout"><button id="logout-button" type="submit">Sign out</button></form>
{{- else -}}
<p><a id="login" href="/login?next=%2Fme">Sign in</a></p>
{{- end}}
</body></html>
`))

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	var data struct{ Subject string }
	if c, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
		data.Subject = c.Subject
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := homePage.Execute(w, data); err != nil {
		a.log.Error("rendering /", "err", err)
	}
}

// claimsJSON answers with the claims as issued (of the session's ID token,
// or of the bearer token).
func claimsJSON(w http.ResponseWriter, r *http.Request) {
	c, _ := oidcauth.ClaimsFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(c.Raw)
	w.Write([]byte("\n"))
}

// userInfoJSON answers with the session's UserInfo claims (--userinfo),
// or 404 when the session has none.
func userInfoJSON(w http.ResponseWriter, r *http.Request) {
	s, _ := oauth.SessionFromContext(r.Context())
	if s == nil || len(s.UserInfo) == 0 {
		http.Error(w, "no UserInfo claims (start with --userinfo)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(s.UserInfo)
	w.Write([]byte("\n"))
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'none'; form-action 'self' http: https:; frame-ancestors 'none'")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}
