// Package oidcconnect authenticates connect-go calls (connectrpc.com/connect)
// with OIDC/OAuth access tokens: an interceptor for handlers, unary and
// streaming, with the semantics of the HTTP middleware of
// github.com/oidcauth/oidcauth (Required and Maybe), built on its
// transport-neutral core (oidcauth.Authorize).
//
// The token is read from the Authorization header, "Bearer …" (the scheme
// is case-insensitive; two headers are refused). Claims are stored in the
// call's context: read them with oidcauth.ClaimsFromContext. Refusals map
// to connect codes, which connect answers over HTTP with the same statuses
// as the HTTP middleware:
//
//	no bearer token, invalid token     CodeUnauthenticated   (401)
//	two headers, malformed Bearer      CodeInvalidArgument   (400, RFC 6750 invalid_request)
//	requirement not met                CodePermissionDenied  (403)
//	keys unavailable                   CodeUnavailable       (503)
//	anything else                      CodeInternal          (500)
//
// Connect runs over HTTP, so the error carries, as metadata (response
// headers of a unary call, trailers of a stream), the WWW-Authenticate
// challenge of RFC 6750 §3 with 400, 401 and 403, and Retry-After with 503,
// exactly as the HTTP middleware writes them. The message is "oidcauth: "
// and the fixed description of oidcauth.Answer: nothing of the token is
// echoed.
//
// This package lives in its own module so that users of the core never
// download connect.
package oidcconnect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/oidcauth/oidcauth"
)

// Config configures an Interceptor. It has the fields of
// oidcgrpc.Config, with the same meaning.
type Config struct {
	// Validator validates the tokens: an *oidcauth.Authorizer,
	// *oidcauth.Issuers or *oidcauth.Chain. Required.
	Validator oidcauth.TokenValidator

	// Methods maps procedures ("/pkg.Service/Method") to the requirements
	// the claims must meet (all of them, in order). Default: none.
	Methods map[string][]oidcauth.Requirement

	// Requirements, when set, gives the requirements of a procedure that
	// is not in Methods. Default: none.
	Requirements func(procedure string) []oidcauth.Requirement

	// Public lists what is served without looking at credentials: full
	// procedure names, or service prefixes ending in "/"
	// ("/grpc.health.v1.Health/"). Default: none.
	Public []string

	// Logger receives every refused call at Debug level (the code, the
	// reason and the procedure; never the token). Default: slog.Default().
	Logger *slog.Logger
}

// Interceptor checks the calls of connect handlers. Use Required or Maybe
// with connect.WithInterceptors. It is safe for concurrent use.
type Interceptor struct {
	v     oidcauth.TokenValidator
	procs *oidcauth.Procedures
	log   *slog.Logger
}

// New checks cfg and returns an Interceptor.
func New(cfg Config) (*Interceptor, error) {
	if cfg.Validator == nil {
		return nil, errors.New("oidcauth: oidcconnect.Config.Validator is required")
	}
	procs, err := oidcauth.NewProcedures(cfg.Methods, cfg.Requirements, cfg.Public)
	if err != nil {
		var pe *oidcauth.ProcedureError
		if errors.As(err, &pe) {
			pe.Config = "oidcconnect.Config"
		}
		return nil, err
	}
	i := &Interceptor{v: cfg.Validator, procs: procs, log: cfg.Logger}
	if i.log == nil {
		i.log = slog.Default()
	}
	return i, nil
}

// Required returns an interceptor with Required semantics: a call goes
// through only with a valid token that meets the procedure's requirements.
func (i *Interceptor) Required() connect.Interceptor { return guard{i: i} }

// Maybe returns an interceptor with Maybe semantics: a call without a
// bearer token to a procedure without requirements goes through
// anonymously; a token that is present but not valid is refused as by
// Required, never downgraded to anonymous.
func (i *Interceptor) Maybe() connect.Interceptor { return guard{i: i, optional: true} }

func (i *Interceptor) authorize(ctx context.Context, procedure string, h http.Header, optional bool) (context.Context, error) {
	c, err := i.procs.Authorize(ctx, i.v, procedure, func() []string { return h.Values("Authorization") }, optional)
	if err == nil {
		if c == nil {
			return ctx, nil
		}
		return oidcauth.ContextWithClaims(ctx, c), nil
	}
	cerr := i.Error(err)
	if i.log.Enabled(ctx, slog.LevelDebug) {
		i.log.LogAttrs(ctx, slog.LevelDebug, "oidcauth: call refused",
			slog.String("code", cerr.Code().String()), slog.String("reason", err.Error()), slog.String("procedure", procedure))
	}
	return nil, cerr
}

// Error maps an error of oidcauth to the connect error the interceptor
// answers with (see the package doc), with WWW-Authenticate or
// Retry-After in its metadata.
func (i *Interceptor) Error(err error) *connect.Error { return ErrorOf(i.v.Answer(err)) }

// ErrorOf maps an oidcauth.Answer to a connect error (see the package doc).
func ErrorOf(ans oidcauth.Answer) *connect.Error {
	var code connect.Code
	switch ans.Status {
	case http.StatusBadRequest:
		code = connect.CodeInvalidArgument
	case http.StatusUnauthorized:
		code = connect.CodeUnauthenticated
	case http.StatusForbidden:
		code = connect.CodePermissionDenied
	case http.StatusServiceUnavailable:
		code = connect.CodeUnavailable
	default:
		code = connect.CodeInternal
	}
	desc := ans.Description
	if desc == "" {
		desc = "a bearer token is required"
	}
	e := connect.NewError(code, errors.New("oidcauth: "+desc))
	for _, c := range ans.Challenges {
		e.Meta().Add("WWW-Authenticate", c.String())
	}
	if code == connect.CodeUnavailable {
		secs := 1
		if ans.RetryAfter > 0 {
			secs = int((ans.RetryAfter + time.Second - 1) / time.Second)
		}
		e.Meta().Set("Retry-After", strconv.Itoa(secs))
	}
	return e
}

type guard struct {
	i        *Interceptor
	optional bool
}

func (g guard) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := g.i.authorize(ctx, req.Spec().Procedure, req.Header(), g.optional)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient leaves client streams alone: the interceptor is for
// handlers.
func (g guard) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (g guard) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := g.i.authorize(ctx, conn.Spec().Procedure, conn.RequestHeader(), g.optional)
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
