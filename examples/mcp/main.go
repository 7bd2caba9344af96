// Command mcp is an MCP server (streamable HTTP transport) protected as the
// MCP authorization specification requires, with oidcauth and oidcmcp:
//
//	go run . [--issuer URL] [--audience AUD] [--resource URL] [--scope S]... [--leeway 30s] [--addr 127.0.0.1:8090]
//
// (from the examples/mcp folder: the example is its own module, so that only
// its users download the MCP SDK). It prints
//
//	listening on http://127.0.0.1:8090
//
// and serves:
//
//	/mcp                                       the MCP endpoint; tool "whoami"
//	/.well-known/oauth-protected-resource/mcp  the RFC 9728 metadata
//
// The resource identifier is --resource (default http://ADDR/mcp) and the
// accepted audience --audience (default: the resource). A request without a
// token gets 401 with WWW-Authenticate: Bearer resource_metadata="…" (plus
// error="invalid_token" for a bad token, scope="…" when --scope is set); a
// token without the --scope values gets 403 insufficient_scope. The tool
// whoami (no arguments) answers with the text {"sub":…,"client_id":…,"scopes":[…]}.
//
// Without --issuer it starts an embedded authorization server (package
// oidctest: RFC 8414 metadata, open dynamic client registration, client ID
// metadata documents, authorization code + PKCE with automatic sign-in as
// "alice", the resource parameter setting aud) and prints how to connect an
// MCP client.
package main

import (
	"context"
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
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidcmcp"
	"github.com/oidcauth/oidcauth/oidctest"
)

var errUsage = errors.New("usage")

const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}

// scopes is the repeatable --scope flag.
type scopes []string

func (s *scopes) String() string     { return strings.Join(*s, " ") }
func (s *scopes) Set(v string) error { *s = append(*s, v); return nil }

// run serves until ctx is cancelled, then shuts down and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen `address`; port 0 picks a free port")
	issuer := fs.String("issuer", "", "issuer `URL` of a real authorization server (default: start an embedded one)")
	audience := fs.String("audience", "", "accepted `audience` (default: the resource)")
	resource := fs.String("resource", "", "the resource identifier, an absolute `URL` (default: http://ADDR/mcp)")
	leeway := fs.Duration("leeway", oidcauth.DefaultLeeway, "clock skew tolerated on exp, nbf and iat")
	var required scopes
	fs.Var(&required, "scope", "a `scope` every token must carry (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: mcp [--issuer URL] [--audience AUD] [--resource URL] [--scope S]... [--leeway 30s] [--addr 127.0.0.1:8090]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	if *resource == "" {
		*resource = base + "/mcp"
	}
	if *audience == "" {
		*audience = *resource
	}

	var idp *oidctest.Provider
	if *issuer == "" {
		if idp, err = startAuthorizationServer(); err != nil {
			return err
		}
		defer idp.Close()
		*issuer = idp.Issuer()
		logger.Info("embedded authorization server started", "issuer", *issuer)
	}
	var authz *oidcauth.Authorizer
	var audiences []string // empty: the resource is the audience (Config.Resource)
	if *audience != *resource {
		audiences = []string{*audience}
	}
	authz, err = oidcauth.New(ctx, oidcauth.Config{
		Issuer:          *issuer,
		Resource:        *resource,
		Audiences:       audiences,
		ScopesSupported: required,
		ResourceName:    "oidcauth MCP example",
		Leeway:          *leeway,
		Logger:          logger,
	})
	if err != nil {
		return err
	}
	defer authz.Close()
	guard, err := oidcmcp.New(oidcmcp.Config{Authorizer: authz, Scopes: required})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           routes(guard, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "listening on %s\n", base)
	if idp != nil {
		fmt.Fprintf(stdout, "connect an MCP client to %s/mcp (streamable HTTP): it finds the embedded authorization server %s in %s, registers itself and signs in as alice automatically, e.g. npx @modelcontextprotocol/inspector\n",
			base, idp.Issuer(), guard.MetadataURL())
	}

	select {
	case err := <-served:
		return err
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

// startAuthorizationServer starts the embedded oidctest authorization
// server, set up for what MCP clients send.
func startAuthorizationServer() (*oidctest.Provider, error) {
	idp, err := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	if err != nil {
		return nil, err
	}
	idp.EnableRegistration(oidctest.RegistrationSettings{})
	idp.EnableClientMetadataDocuments(oidctest.ClientMetadataSettings{})
	idp.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
	return idp, nil
}

// routes returns the server's handler.
func routes(guard *oidcmcp.Guard, logger *slog.Logger) http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "oidcauth-mcp-example", Version: "1.0.0"}, &mcp.ServerOptions{Logger: logger})
	mcp.AddTool(server, &mcp.Tool{Name: "whoami", Description: "The caller's subject, client and scopes, from the verified access token."}, whoami)
	mux := http.NewServeMux()
	mux.Handle(guard.MetadataPath(), guard.MetadataHandler())
	mux.Handle("/mcp", guard.Protect(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)))
	return mux
}

// whoami answers with {"sub":…,"client_id":…,"scopes":[…]}.
func whoami(ctx context.Context, req *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
	c, ok := oidcmcp.Claims(req.Extra.TokenInfo)
	if !ok {
		return nil, nil, errors.New("no verified token")
	}
	sc := c.Scopes
	if sc == nil {
		sc = []string{}
	}
	b, err := json.Marshal(struct {
		Sub      string   `json:"sub"`
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}{c.Subject, c.ClientID, sc})
	if err != nil {
		return nil, nil, err
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(b)}}}, nil, nil
}
