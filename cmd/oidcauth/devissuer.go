package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// devIssuerCmd runs a throwaway local issuer for development.
var devIssuerCmd = &command{
	name:    "dev-issuer",
	args:    "",
	summary: "run a local issuer for development (loopback only)",
	doc: `Dev-issuer runs a local OpenID provider for development until it is
interrupted (Ctrl-C). It serves a discovery document and a JWKS, like a
real provider, so that an API using oidcauth can be pointed at it:

  Issuer: http://127.0.0.1:9400

It also serves a minting endpoint, POST /dev/mint, which signs whatever
claims it is sent; "oidcauth mint" calls it:

  oidcauth mint --issuer http://127.0.0.1:9400 --sub alice --audience api --scope "read write"

FOR DEVELOPMENT ONLY. Anyone who can reach the endpoint can mint valid
tokens for this issuer: it only ever listens on a loopback address, and
it refuses requests from web pages and through other host names. Never
configure a production service to trust it. Its signing key is generated
at start and lives in memory only, so tokens do not survive a restart.

The minting endpoint takes a JSON object with the claims and an optional
typ header, and answers with the token:

  POST /dev/mint  {"claims":{"sub":"alice","aud":"api"},"typ":"at+jwt"}
  200             {"token":"eyJ..."}

iss defaults to the issuer, iat to now and exp to an hour later.
Dev-issuer exits 0 when interrupted, and 2 on a usage error or when it
cannot listen.
`,
	define: defineDevIssuer,
}

// Defaults of dev-issuer.
const (
	devIssuerAddr = "127.0.0.1:9400"
	devIssuerAlg  = "RS256"
	devMintPath   = "/dev/mint"
	maxMintBody   = 64 << 10
)

// devIssuerFlags holds the flags of one run of dev-issuer.
type devIssuerFlags struct {
	addr string
	alg  string
}

// defineDevIssuer declares the flags of dev-issuer on fs.
func defineDevIssuer(fs *flag.FlagSet) runFunc {
	f := &devIssuerFlags{}
	fs.StringVar(&f.addr, "addr", devIssuerAddr, "loopback `address` to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&f.alg, "alg", devIssuerAlg, "signing `algorithm`: "+strings.Join(oidctest.Algorithms(), ", "))
	return f.run
}

// run starts the issuer and serves until ctx is done.
func (f *devIssuerFlags) run(ctx context.Context, e *env, args []string) int {
	if len(args) > 0 {
		return e.usageError("takes no arguments, got %d", len(args))
	}
	if !slices.Contains(oidctest.Algorithms(), f.alg) {
		return e.usageError("--alg %q is not supported (supported: %s)", f.alg, strings.Join(oidctest.Algorithms(), ", "))
	}
	host, _, err := net.SplitHostPort(f.addr)
	if err != nil {
		return e.usageError("--addr %q is not host:port", f.addr)
	}
	if !oidcauth.IsLoopbackHost(host) {
		return e.usageError("--addr %q is not a loopback address: the dev issuer listens on 127.0.0.1, ::1 or localhost only", f.addr)
	}
	p, err := oidctest.Start(oidctest.Options{Addr: f.addr, Algorithm: f.alg})
	if err != nil {
		msg := err.Error()
		if errors.Is(err, syscall.EADDRINUSE) {
			msg = fmt.Sprintf("%s is in use (is another dev-issuer running?); choose another port with --addr", f.addr)
		}
		e.errorf("%s", msg)
		return exitUsage
	}
	defer p.Close()
	log := &lockedWriter{w: e.stderr}
	p.Handle("POST "+devMintPath, &mintHandler{p: p, log: log})

	iss := p.Issuer()
	kid := p.ActiveKeyID()
	fmt.Fprintf(e.stdout, `oidcauth dev-issuer: FOR DEVELOPMENT ONLY. Anyone who can reach it can mint
valid tokens for this issuer; it listens on loopback only. Never configure a
production service to trust it.

Issuer:     %[1]s
Discovery:  %[2]s
JWKS:       %[3]s
Signing:    %[4]s key %[5]q, new at every start
Minting:    POST %[1]s%[6]s

Mint a token:
  oidcauth mint --issuer %[1]s --sub alice --audience api --scope "read write"

Validate it:
  oidcauth verify --issuer %[1]s --audience api TOKEN

Press Ctrl-C to stop.
`, iss, p.DiscoveryURL(), p.JWKSURL(), f.alg, kid, devMintPath)

	<-ctx.Done()
	fmt.Fprintln(log, "oidcauth dev-issuer: stopped")
	return exitOK
}

// lockedWriter serializes writes from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// mintRequest is the body of POST /dev/mint.
type mintRequest struct {
	// Claims are merged over the defaults iss (the issuer), iat (now) and
	// exp (now + 1h); a null value removes a default.
	Claims map[string]any `json:"claims"`
	// Typ is the typ header; default "JWT".
	Typ string `json:"typ,omitempty"`
}

// mintResponse is the answer of POST /dev/mint: the token, or why not.
type mintResponse struct {
	Token string `json:"token,omitempty"`
	Error string `json:"error,omitempty"`
}

// mintHandler serves POST /dev/mint on the dev issuer.
type mintHandler struct {
	p   *oidctest.Provider
	log io.Writer
}

func (h *mintHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The listener is on loopback, but a web page the developer visits
	// could still reach it: through its own host name rebound to
	// 127.0.0.1 (so the Host must be a loopback name), or with a
	// cross-site form post (so no Origin, and a JSON content type, which a
	// form cannot send).
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !oidcauth.IsLoopbackHost(strings.Trim(host, "[]")) {
		mintError(w, http.StatusForbidden, "the Host header must name a loopback address")
		return
	}
	if r.Header.Get("Origin") != "" {
		mintError(w, http.StatusForbidden, "requests from web pages are refused")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		mintError(w, http.StatusUnsupportedMediaType, "the body must be JSON, with Content-Type: application/json")
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxMintBody))
	dec.DisallowUnknownFields()
	dec.UseNumber() // numbers are signed exactly as sent
	var req mintRequest
	if err := dec.Decode(&req); err != nil {
		mintError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return
	}
	if dec.More() {
		mintError(w, http.StatusBadRequest, "bad request body: more than one JSON value")
		return
	}
	tok := oidctest.Token{Claims: req.Claims}
	if req.Typ != "" {
		tok.Header = map[string]any{"typ": req.Typ}
	}
	token, err := h.p.MintToken(tok)
	if err != nil {
		mintError(w, http.StatusInternalServerError, err.Error())
		return
	}
	fmt.Fprintf(h.log, "oidcauth dev-issuer: minted a token for sub %s, aud %s\n", claimText(req.Claims["sub"]), claimText(req.Claims["aud"]))
	writeJSON(w, http.StatusOK, mintResponse{Token: token})
}

// claimText formats a claim value for the log.
func claimText(v any) string {
	if v == nil {
		return "(none)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(b)
}

func mintError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, mintResponse{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
