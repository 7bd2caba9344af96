// Command api is a small HTTP API protected by oidcauth, to try the
// library with curl.
//
// Usage:
//
//	go run ./examples/api [--addr 127.0.0.1:8080] [--audience api]
//	go run ./examples/api --issuer URL --audience AUD [--type at+jwt] [--addr HOST:PORT]
//	go run ./examples/api --introspect [--client-id ID --client-secret S] [--introspect-all] [--introspect-cache 60s]
//	go run ./examples/api --issuer URL --audience AUD --introspect --client-id ID --client-secret S
//	    [--introspection-url URL] [--introspect-all] [--introspect-cache 60s]
//	go run ./examples/api [--issuer URL --audience AUD] --dpop-required
//
// Without --issuer it starts an embedded fake provider (package oidctest)
// on a random loopback port, mints a token for the user "alice" and prints
// a curl command that calls the API with it:
//
//	listening on http://127.0.0.1:8080
//	curl -H 'Authorization: Bearer eyJhbGciOi...' http://127.0.0.1:8080/api/me
//
// With --issuer it trusts tokens from that provider instead (Auth0, Okta,
// Entra ID, Keycloak, ...), and prints only the "listening on" line; get a
// token for the API's audience from the provider.
//
// With --introspect, tokens that are not JWTs (opaque tokens: Ory Hydra,
// Auth0 without an audience, ...) are checked at the provider's
// introspection endpoint (RFC 7662), authenticated as --client-id with
// --client-secret (or $OIDCAUTH_CLIENT_SECRET), and /api/me answers the
// introspection response's members. --introspect-all introspects JWTs
// too, so that a revoked token is refused within --introspect-cache (how
// long an active answer is remembered; default 60s, 0 asks the provider
// on every request). --introspection-url overrides the endpoint in the
// provider's metadata. With the embedded provider the client is
// registered in it (with a random secret unless given) and a second curl
// command is printed, with an opaque token for alice:
//
//	listening on http://127.0.0.1:8080
//	curl -H 'Authorization: Bearer eyJhbGciOi...' http://127.0.0.1:8080/api/me
//	curl -H 'Authorization: Bearer 3q2-7w...' http://127.0.0.1:8080/api/me
//
// DPoP (RFC 9449): tokens are accepted with "Authorization: DPoP" and a
// proof in the DPoP header as well as with "Authorization: Bearer"; a
// token bound to a DPoP key (cnf.jkt) is accepted only with a valid proof
// of that key, never as a bearer token. With --dpop-required only
// DPoP-bound tokens with a valid proof are accepted. The embedded
// provider also mints a DPoP-bound token for alice and prints one more
// curl command with it and a proof for GET /api/me (a proof is good for
// one request, within a minute; make more with oidctest.DPoPKey.Proof):
//
//	curl -H 'Authorization: DPoP eyJhbGciOi...' -H 'DPoP: eyJ0eXAiOi...' http://127.0.0.1:8080/api/me
//
// With --dpop-required the Bearer curl command is not printed (the API
// refuses it).
//
// Routes:
//
//	GET /api/me    requires a valid token; answers with its claims as issued
//	               (for an introspected opaque token, the introspection
//	               response)
//	GET /api/feed  open to all; answers {"subject":"alice"} with a valid
//	               token, {"subject":null} without one, and 401 with an
//	               invalid one (never anonymous)
//	GET /api/admin requires a valid token with the "admin" scope: 403
//	               insufficient_scope otherwise (the demo token has
//	               "read write", so it gets 403)
//	GET /metrics   open; the Authorizer's metrics in Prometheus text format
//	               (validations by outcome and reason, latency, key fetches
//	               and refreshes, keys cached; see metrics.go)
//
// Standard output carries only the lines above; logs go to standard error.
// SIGINT or SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// errUsage marks the errors of run that are due to a bad command line;
// run has printed them with the usage.
var errUsage = errors.New("usage")

// shutdownTimeout bounds the wait for requests in flight at shutdown.
const shutdownTimeout = 10 * time.Second

// main runs the API until SIGINT or SIGTERM; it exits 1 on an error and
// 2 on a bad command line.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // run has printed the error and the usage
	case err != nil:
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run starts the API (and the embedded provider without --issuer), prints
// the "listening on" line and, with the embedded provider, a curl command
// to stdout, and serves until ctx is cancelled. It then shuts down
// gracefully and returns nil. A bad command line gives an error wrapping
// errUsage, and -h or --help gives flag.ErrHelp.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; port 0 picks a free port")
	issuer := fs.String("issuer", "", "issuer `URL` of a real provider (default: start an embedded fake provider)")
	audience := fs.String("audience", "api", "the API's `audience`: tokens' aud must contain it")
	typ := fs.String("type", "", "the required `typ` header, e.g. at+jwt (default: at+jwt with the embedded provider, any JWT with --issuer)")
	dpopRequired := fs.Bool("dpop-required", false, "accept only DPoP-bound tokens with a valid DPoP proof (RFC 9449); default: bearer and DPoP tokens")
	var in introspectFlags
	in.define(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: api [--addr HOST:PORT] [--audience AUD] [--issuer URL [--type TYP]]\n"+
			"           [--introspect [--client-id ID --client-secret S] [--introspection-url URL] [--introspect-all] [--introspect-cache 60s]]\n"+
			"           [--dpop-required]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err) // printed by fs
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if err := in.check(*issuer == ""); err != nil {
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	var idp *oidctest.Provider
	if *issuer == "" {
		var err error
		idp, err = oidctest.Start(oidctest.Options{})
		if err != nil {
			return err
		}
		defer idp.Close()
		*issuer = idp.Issuer()
		if *typ == "" {
			*typ = "at+jwt" // the embedded provider issues RFC 9068 access tokens
		}
		logger.Info("embedded provider started", "issuer", *issuer)
		if in.enabled {
			in.register(idp)
		}
	}

	// auth is used by ErrorHandler, which runs only once New has returned.
	var auth *oidcauth.Authorizer
	metrics := newMetrics() // GET /metrics; see metrics.go
	auth, err := oidcauth.New(ctx, oidcauth.Config{
		Observer:  metrics,
		Issuer:    *issuer,
		Audiences: []string{*audience},
		TokenType: *typ,
		Logger:    logger,
		// nil without --introspect: only JWTs are accepted.
		Introspection: in.config(),
		// nil: DPoP accepted beside Bearer, with the library's defaults.
		DPoP: dpopConfig(*dpopRequired),
		// Log why a token was refused; the client gets only the fixed
		// RFC 6750 answer of WriteError.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			logger.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", oidcauth.StatusCode(err), "err", err)
			auth.WriteError(w, r, err)
		},
	})
	if err != nil {
		return err
	}
	defer auth.Close()

	var token, opaque, bound string
	var dpopKey *oidctest.DPoPKey
	if idp != nil {
		if token, err = mintDemoToken(idp, *audience); err != nil {
			return err
		}
		if dpopKey, bound, err = mintDemoBound(idp, *audience); err != nil {
			return err
		}
		if in.enabled {
			opaque = mintDemoOpaque(idp, *audience)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           withMetrics(routes(auth), metrics),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "listening on %s\n", base)
	if token != "" && !*dpopRequired {
		fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/me\n", token, base)
	}
	if opaque != "" && !*dpopRequired {
		fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' %s/api/me\n", opaque, base)
	}
	if bound != "" {
		proof, err := dpopKey.Proof(http.MethodGet, base+"/api/me", bound)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "curl -H 'Authorization: DPoP %s' -H 'DPoP: %s' %s/api/me\n", bound, proof, base)
	}

	select {
	case err := <-served:
		return err // Serve never returns nil
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// routes returns the API's handler.
func routes(auth *oidcauth.Authorizer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /api/me", auth.Required(http.HandlerFunc(me)))
	mux.Handle("GET /api/feed", auth.Maybe(http.HandlerFunc(feed)))
	requireAdmin := auth.Require(oidcauth.RequireScopes("admin"))
	mux.Handle("GET /api/admin", auth.Required(requireAdmin(http.HandlerFunc(admin))))
	return mux
}

// me answers with the caller's claims set, exactly as issued.
func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := oidcauth.ClaimsFromContext(r.Context()) // always set behind Required
	w.Header().Set("Content-Type", "application/json")
	w.Write(claims.Raw) //nolint:errcheck
}

// admin answers callers whose token grants the admin scope.
func admin(w http.ResponseWriter, r *http.Request) {
	claims, _ := oidcauth.ClaimsFromContext(r.Context())
	b, _ := json.Marshal(map[string]string{"admin": claims.Subject})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b) //nolint:errcheck
}

// feed answers with the caller's subject, or null for an anonymous caller.
func feed(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Subject *string `json:"subject"`
	}
	if claims, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
		body.Subject = &claims.Subject
	}
	b, _ := json.Marshal(body) // cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Vary", "Authorization") // the answer depends on the token
	w.Write(b)                     //nolint:errcheck
}

// mintDemoToken mints an RFC 9068 access token for alice with the embedded
// provider. It lives for one hour (the provider's default) so that the
// printed curl command keeps working during a demo; real access tokens
// are usually shorter-lived.
func mintDemoToken(idp *oidctest.Provider, audience string) (string, error) {
	return idp.MintToken(oidctest.Token{
		Header: map[string]any{"typ": "at+jwt"},
		Claims: map[string]any{
			"sub":       "alice",
			"aud":       audience,
			"scope":     "read write",
			"client_id": "demo-client",
			"jti":       rand.Text(),
			"exp":       time.Now().Add(time.Hour),
		},
	})
}

// dpopConfig returns the DPoP settings: nil (the library's defaults: DPoP
// and Bearer both accepted, a bound token only with its proof) or, with
// --dpop-required, DPoP only.
func dpopConfig(required bool) *oidcauth.DPoPConfig {
	if !required {
		return nil
	}
	return &oidcauth.DPoPConfig{Required: true}
}

// mintDemoBound makes a DPoP key (ES256) and mints, with the embedded
// provider, the demo token for alice bound to it (cnf.jkt, RFC 9449 §6.1).
func mintDemoBound(idp *oidctest.Provider, audience string) (*oidctest.DPoPKey, string, error) {
	key, err := oidctest.NewDPoPKey("ES256")
	if err != nil {
		return nil, "", err
	}
	token, err := idp.MintToken(oidctest.Token{
		Header: map[string]any{"typ": "at+jwt"},
		Claims: map[string]any{
			"sub":       "alice",
			"aud":       audience,
			"scope":     "read write",
			"client_id": "demo-client",
			"jti":       rand.Text(),
			"exp":       time.Now().Add(time.Hour),
			"cnf":       map[string]any{"jkt": key.Thumbprint()},
		},
	})
	return key, token, err
}

// secretEnv is the environment variable the client secret is read from
// when --client-secret is not given.
const secretEnv = "OIDCAUTH_CLIENT_SECRET"

// introspectFlags are the flags of token introspection (RFC 7662).
type introspectFlags struct {
	enabled  bool
	clientID string
	secret   string
	endpoint string
	all      bool
	cache    time.Duration
}

// define declares the introspection flags on fs.
func (f *introspectFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&f.enabled, "introspect", false, "check tokens that are not JWTs at the provider's introspection endpoint (RFC 7662)")
	fs.StringVar(&f.clientID, "client-id", "", "with --introspect, this API's client `ID` at the provider (default with the embedded provider: api)")
	fs.StringVar(&f.secret, "client-secret", "", "with --introspect, the client's `secret` (default $"+secretEnv+"; with the embedded provider: random)")
	fs.StringVar(&f.endpoint, "introspection-url", "", "with --introspect, the introspection endpoint `URL` (default: the provider's introspection_endpoint)")
	fs.BoolVar(&f.all, "introspect-all", false, "with --introspect, introspect JWTs too, so that revocation takes effect within --introspect-cache")
	fs.DurationVar(&f.cache, "introspect-cache", oidcauth.DefaultIntrospectionCacheTTL, "with --introspect, how long an active answer is remembered; 0 asks on every request")
}

// check validates the flags once parsed; embedded says whether the
// embedded provider runs, which can make up the client's credentials.
func (f *introspectFlags) check(embedded bool) error {
	if f.secret == "" {
		f.secret = os.Getenv(secretEnv)
	}
	if !f.enabled {
		if f.clientID != "" || f.endpoint != "" || f.all {
			return errors.New("--client-id, --introspection-url and --introspect-all need --introspect")
		}
		return nil
	}
	if f.cache < 0 {
		return errors.New("--introspect-cache must not be negative")
	}
	if embedded {
		if f.clientID == "" {
			f.clientID = "api"
		}
		if f.secret == "" {
			f.secret = rand.Text()
		}
	}
	if f.clientID == "" || f.secret == "" {
		return fmt.Errorf("--introspect needs --client-id and --client-secret (or $%s)", secretEnv)
	}
	return nil
}

// config returns the IntrospectionConfig the flags ask for, or nil
// without --introspect.
func (f *introspectFlags) config() *oidcauth.IntrospectionConfig {
	if !f.enabled {
		return nil
	}
	ttl := f.cache
	if ttl == 0 {
		ttl = -1 // in IntrospectionConfig, 0 means the default and a negative value no cache
	}
	return &oidcauth.IntrospectionConfig{
		Endpoint:     f.endpoint,
		ClientID:     f.clientID,
		ClientSecret: f.secret,
		All:          f.all,
		CacheTTL:     ttl,
	}
}

// register lets the flags' client call the embedded provider's
// introspection endpoint.
func (f *introspectFlags) register(idp *oidctest.Provider) {
	idp.EnableIntrospection(f.clientID, f.secret)
}

// mintDemoOpaque mints an opaque access token for alice with the embedded
// provider, described by its introspection endpoint with the same claims
// as the demo JWT.
func mintDemoOpaque(idp *oidctest.Provider, audience string) string {
	return idp.MintOpaque(map[string]any{
		"sub":       "alice",
		"aud":       audience,
		"scope":     "read write",
		"client_id": "demo-client",
		"exp":       time.Now().Add(time.Hour),
	})
}
