// Command grpc is an example gRPC and connect API protected by oidcauth,
// to try the library with grpcurl and curl.
//
//	go run . [--issuer URL --audience AUD [--type at+jwt]] [--start-without-keys] [--addr 127.0.0.1:9090]
//
// Without --issuer it starts an embedded fake provider (package oidctest),
// mints a demo access token (subject alice, scopes read write) and prints
// grpcurl and curl commands that call the API with it:
//
//	listening on grpc://127.0.0.1:9090
//	grpcurl -plaintext -H 'authorization: Bearer eyJhbGciOi...' 127.0.0.1:9090 oidcauth.example.v1.Greeter/WhoAmI
//	curl -H 'Authorization: Bearer eyJhbGciOi...' -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:9090/oidcauth.example.v1.Greeter/WhoAmI
//
// The service oidcauth.example.v1.Greeter (proto/, generated code in gen/)
// has WhoAmI (any valid token: the subject and scopes) and Admin (scope
// admin). Server reflection and grpc.health.v1 are served without
// authentication. The same port answers gRPC (HTTP/2 without TLS, "prior
// knowledge", content-type application/grpc…: the grpc-go server with the
// oidcgrpc interceptors) and everything else with the connect handler of
// the same service (connect protocol, JSON or binary, over HTTP/1.1 or
// HTTP/2; 401 unauthenticated, 403 permission_denied, 400
// invalid_argument, 503 unavailable). One port, so one "listening on" line.
//
// --start-without-keys starts even when the provider is unreachable, and
// answers UNAVAILABLE (503 over connect) until its keys arrive.
package main

import (
	"context"
	"crypto/rand"
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

	"connectrpc.com/connect"
	"github.com/oidcauth/oidcauth"
	oidcconnect "github.com/oidcauth/oidcauth/connect"
	examplev1 "github.com/oidcauth/oidcauth/examples/grpc/gen/oidcauth/example/v1"
	"github.com/oidcauth/oidcauth/examples/grpc/gen/oidcauth/example/v1/examplev1connect"
	oidcgrpc "github.com/oidcauth/oidcauth/grpc"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

var errUsage = errors.New("usage")

// shutdownTimeout bounds the wait for calls in flight at shutdown.
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
		fmt.Fprintln(os.Stderr, "grpc:", err)
		os.Exit(1)
	}
}

// The methods, as gRPC full method names and connect procedures.
const (
	whoAmIMethod = examplev1.Greeter_WhoAmI_FullMethodName
	adminMethod  = examplev1.Greeter_Admin_FullMethodName
)

// run starts the API (and the embedded provider without --issuer), prints
// the "listening on" line (and the demo commands), and serves until ctx is
// cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("grpc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen `address`; port 0 picks a free port")
	issuer := fs.String("issuer", "", "issuer `URL` of a real provider (default: start an embedded fake provider)")
	audience := fs.String("audience", "api", "the API's `audience`: tokens' aud must contain it")
	typ := fs.String("type", "", "the required `typ` header, e.g. at+jwt (default: at+jwt with the embedded provider, any JWT with --issuer)")
	withoutKeys := fs.Bool("start-without-keys", false, "start even when the provider's keys cannot be fetched; answer UNAVAILABLE until they arrive")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "usage: grpc [--issuer URL --audience AUD [--type at+jwt]] [--start-without-keys] [--addr 127.0.0.1:9090]\n\nFlags:\n")
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

	var idp *oidctest.Provider
	if *issuer == "" {
		var err error
		if idp, err = oidctest.Start(oidctest.Options{}); err != nil {
			return err
		}
		defer idp.Close()
		*issuer = idp.Issuer()
		if *typ == "" {
			*typ = "at+jwt"
		}
		logger.Info("embedded provider started", "issuer", *issuer)
	}
	auth, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:           *issuer,
		Audiences:        []string{*audience},
		TokenType:        *typ,
		Logger:           logger,
		StartWithoutKeys: *withoutKeys,
	})
	if err != nil {
		return err
	}
	defer auth.Close()

	handler, stopGRPC, err := newHandler(auth, logger)
	if err != nil {
		return err
	}
	defer stopGRPC()

	var token string
	if idp != nil {
		if token, err = mintDemoToken(idp, *audience); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // gRPC without TLS: h2c with prior knowledge
	srv := &http.Server{
		Handler:           handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	a := ln.Addr().String()
	fmt.Fprintf(stdout, "listening on grpc://%s\n", a)
	if token != "" {
		fmt.Fprintf(stdout, "grpcurl -plaintext -H 'authorization: Bearer %s' %s oidcauth.example.v1.Greeter/WhoAmI\n", token, a)
		fmt.Fprintf(stdout, "curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{}' http://%s%s\n", token, a, whoAmIMethod)
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

// newHandler returns the handler of the port: gRPC calls go to the grpc-go
// server, everything else to the connect handler. stop stops the gRPC
// server.
func newHandler(auth *oidcauth.Authorizer, logger *slog.Logger) (h http.Handler, stop func(), err error) {
	// One requirement table for both transports.
	methods := map[string][]oidcauth.Requirement{adminMethod: {oidcauth.RequireScopes("admin")}}
	public := append([]string{oidcgrpc.HealthService}, oidcgrpc.ReflectionServices...)

	gi, err := oidcgrpc.New(oidcgrpc.Config{Validator: auth, Methods: methods, Public: public, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(gi.Unary()), grpc.StreamInterceptor(gi.Stream()))
	examplev1.RegisterGreeterServer(gs, greeter{})
	hs := health.NewServer()
	hs.SetServingStatus(examplev1.Greeter_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	ci, err := oidcconnect.New(oidcconnect.Config{Validator: auth, Methods: methods, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(examplev1connect.NewGreeterHandler(connectGreeter{}, connect.WithInterceptors(ci.Required())))

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			gs.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), gs.Stop, nil
}

// greeter is the gRPC implementation of the service.
type greeter struct {
	examplev1.UnimplementedGreeterServer
}

func (greeter) WhoAmI(ctx context.Context, _ *examplev1.WhoAmIRequest) (*examplev1.WhoAmIResponse, error) {
	return whoAmI(ctx), nil
}

func (greeter) Admin(ctx context.Context, _ *examplev1.AdminRequest) (*examplev1.AdminResponse, error) {
	return adminAnswer(ctx), nil
}

// connectGreeter is the connect implementation of the same service.
type connectGreeter struct{}

func (connectGreeter) WhoAmI(ctx context.Context, _ *connect.Request[examplev1.WhoAmIRequest]) (*connect.Response[examplev1.WhoAmIResponse], error) {
	return connect.NewResponse(whoAmI(ctx)), nil
}

func (connectGreeter) Admin(ctx context.Context, _ *connect.Request[examplev1.AdminRequest]) (*connect.Response[examplev1.AdminResponse], error) {
	return connect.NewResponse(adminAnswer(ctx)), nil
}

func whoAmI(ctx context.Context) *examplev1.WhoAmIResponse {
	c, _ := oidcauth.ClaimsFromContext(ctx) // always set behind the interceptors
	return &examplev1.WhoAmIResponse{Subject: c.Subject, Scopes: c.Scopes}
}

func adminAnswer(ctx context.Context) *examplev1.AdminResponse {
	c, _ := oidcauth.ClaimsFromContext(ctx)
	return &examplev1.AdminResponse{Subject: c.Subject}
}

// mintDemoToken mints the demo token printed with the embedded provider.
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
