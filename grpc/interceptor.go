// Package oidcgrpc authenticates gRPC calls with OIDC/OAuth access tokens:
// unary and stream server interceptors with the semantics of the HTTP
// middleware of github.com/oidcauth/oidcauth (Required and Maybe), built on
// its transport-neutral core (oidcauth.Authorize).
//
// The token is read from the "authorization" metadata, "Bearer …" (the
// scheme is case-insensitive; RFC 6750 §2.1). The claims are stored in the
// call's context: read them with oidcauth.ClaimsFromContext. Refusals map
// to gRPC codes as the HTTP middleware maps them to statuses:
//
//	no bearer token             401  Unauthenticated
//	invalid token               401  Unauthenticated
//	two authorization values,   400  InvalidArgument (RFC 6750 §3.1
//	malformed Bearer value            invalid_request is 400, and gRPC's
//	                                  HTTP mapping of 400 is InvalidArgument)
//	requirement not met         403  PermissionDenied
//	keys unavailable            503  Unavailable, with an errdetails.RetryInfo
//	anything else               500  Internal
//
// The status message is "oidcauth: " and the fixed description of
// oidcauth.Answer: nothing of the token or of the metadata is echoed.
//
// This package lives in its own module so that users of the core never
// download gRPC.
package oidcgrpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/oidcauth/oidcauth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Service prefixes for Config.Public: the gRPC health checking protocol
// and server reflection (v1 and v1alpha), which load balancers and tools
// like grpcurl call without credentials.
const (
	HealthService = "/grpc.health.v1.Health/"
)

// ReflectionServices are the service prefixes of gRPC server reflection.
var ReflectionServices = []string{
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Config configures an Interceptor.
type Config struct {
	// Validator validates the tokens: an *oidcauth.Authorizer,
	// *oidcauth.Issuers or *oidcauth.Chain. Required.
	Validator oidcauth.TokenValidator

	// Methods maps full method names ("/pkg.Service/Method") to the
	// requirements the claims must meet (all of them, in order). Default:
	// none, any valid token is enough.
	Methods map[string][]oidcauth.Requirement

	// Requirements, when set, gives the requirements of a method that is
	// not in Methods. Default: none.
	Requirements func(fullMethod string) []oidcauth.Requirement

	// Public lists what is served without looking at the credentials: full
	// method names, or service prefixes ending in "/" (HealthService,
	// ReflectionServices). A public call gets no claims even with a token.
	// Default: none, every method is guarded.
	Public []string

	// Logger receives every refused call at Debug level (the gRPC code,
	// the reason and the method; never the token). Default: slog.Default().
	Logger *slog.Logger
}

// Interceptor holds the configuration shared by the interceptors it returns.
// It is safe for concurrent use.
type Interceptor struct {
	v     oidcauth.TokenValidator
	procs *oidcauth.Procedures
	log   *slog.Logger
}

// New checks cfg and returns an Interceptor.
func New(cfg Config) (*Interceptor, error) {
	if cfg.Validator == nil {
		return nil, errors.New("oidcauth: oidcgrpc.Config.Validator is required")
	}
	procs, err := oidcauth.NewProcedures(cfg.Methods, cfg.Requirements, cfg.Public)
	if err != nil {
		var pe *oidcauth.ProcedureError
		if errors.As(err, &pe) {
			pe.Config = "oidcgrpc.Config"
		}
		return nil, err
	}
	i := &Interceptor{v: cfg.Validator, procs: procs, log: cfg.Logger}
	if i.log == nil {
		i.log = slog.Default()
	}
	return i, nil
}

// authorize returns the context for the handler, or the status error.
func (i *Interceptor) authorize(ctx context.Context, method string, optional bool) (context.Context, error) {
	c, err := i.procs.Authorize(ctx, i.v, method, func() []string {
		return metadata.ValueFromIncomingContext(ctx, "authorization")
	}, optional)
	if err == nil {
		if c == nil {
			return ctx, nil
		}
		return oidcauth.ContextWithClaims(ctx, c), nil
	}
	st := i.Status(err)
	if i.log.Enabled(ctx, slog.LevelDebug) {
		i.log.LogAttrs(ctx, slog.LevelDebug, "oidcauth: call refused",
			slog.String("code", st.Code().String()), slog.String("reason", err.Error()), slog.String("method", method))
	}
	return nil, st.Err()
}

// Status maps an error of oidcauth (of Authorize, Validate or a
// Requirement) to the gRPC status the interceptors answer with (see the
// package doc). Custom code refusing a call itself can use it.
func (i *Interceptor) Status(err error) *status.Status {
	ans := i.v.Answer(err)
	return StatusOf(ans)
}

// StatusOf maps an oidcauth.Answer to a gRPC status (see the package doc).
func StatusOf(ans oidcauth.Answer) *status.Status {
	var code codes.Code
	switch ans.Status {
	case http.StatusOK:
		return status.New(codes.OK, "")
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusUnauthorized:
		code = codes.Unauthenticated
	case http.StatusForbidden:
		code = codes.PermissionDenied
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	default:
		code = codes.Internal
	}
	desc := ans.Description
	if desc == "" {
		desc = "a bearer token is required"
	}
	st := status.New(code, "oidcauth: "+desc)
	if code == codes.Unavailable {
		d := ans.RetryAfter
		if d <= 0 {
			d = 1e9
		}
		if ds, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
			st = ds
		}
	}
	return st
}

// Unary returns a unary server interceptor with Required semantics: a call
// goes through only with a valid token that meets the method's
// requirements.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor { return i.unary(false) }

// MaybeUnary returns a unary server interceptor with Maybe semantics: a
// call without a bearer token to a method without requirements goes
// through anonymously (oidcauth.ClaimsFromContext reports false); a
// token that is present but not valid is refused as by Unary, never
// downgraded to anonymous.
func (i *Interceptor) MaybeUnary() grpc.UnaryServerInterceptor { return i.unary(true) }

// Stream returns a stream server interceptor with Required semantics.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor { return i.stream(false) }

// MaybeStream returns a stream server interceptor with Maybe semantics.
func (i *Interceptor) MaybeStream() grpc.StreamServerInterceptor { return i.stream(true) }

func (i *Interceptor) unary(optional bool) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := i.authorize(ctx, info.FullMethod, optional)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

func (i *Interceptor) stream(optional bool) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := i.authorize(ss.Context(), info.FullMethod, optional)
		if err != nil {
			return err
		}
		if ctx == ss.Context() {
			return handler(srv, ss)
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

// stream is a ServerStream with the claims in its context.
type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
