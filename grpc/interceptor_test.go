package oidcgrpc_test

import (
	"context"
	"errors"

	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	oidcgrpc "github.com/oidcauth/oidcauth/grpc"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// recorder remembers the subject the handler saw ("" anonymous).
type recorder struct {
	mu   sync.Mutex
	seen map[string]string
}

func (r *recorder) note(ctx context.Context, method string) {
	sub := "anonymous"
	if c, ok := oidcauth.ClaimsFromContext(ctx); ok {
		sub = "sub:" + c.Subject
	}
	r.mu.Lock()
	r.seen[method] = sub
	r.mu.Unlock()
}

func (r *recorder) take(method string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen[method]
	delete(r.seen, method)
	return s
}

// serve starts a health server guarded by ic over bufconn and returns a
// client connection.
func serve(t *testing.T, ic *oidcgrpc.Interceptor, maybe bool, rec *recorder) *grpc.ClientConn {
	t.Helper()
	unary, stream := ic.Unary(), ic.Stream()
	if maybe {
		unary, stream = ic.MaybeUnary(), ic.MaybeStream()
	}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			rec.note(ctx, info.FullMethod)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(stream, func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			rec.note(ss.Context(), info.FullMethod)
			return h(srv, ss)
		}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(lis) }() //nolint:errcheck
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); srv.Stop(); <-done })
	return conn
}

func call(ctx context.Context, conn *grpc.ClientConn, method string) error {
	c := healthpb.NewHealthClient(conn)
	if method == checkMethod {
		_, err := c.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	s, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	_, err = s.Recv()
	return err
}

func TestInterceptors(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	admin := p.MustMint(t, map[string]any{"aud": "api", "sub": "root", "scope": "read admin"})
	expired := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()})
	stranger := oidctest.New(t)
	forged := stranger.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "iss": p.Issuer()})

	tests := []struct {
		name   string
		method string
		md     []string // authorization values
		reqs   bool     // method requires scope admin
		code   codes.Code
		maybe  codes.Code // code with Maybe
		seen   string     // what the handler saw with Required (Maybe: anonymous when no token)
	}{
		{name: "no token", code: codes.Unauthenticated, maybe: codes.OK},
		{name: "valid", md: []string{"Bearer " + good}, code: codes.OK, maybe: codes.OK, seen: "sub:alice"},
		{name: "scheme lower case", md: []string{"bearer " + good}, code: codes.OK, maybe: codes.OK, seen: "sub:alice"},
		{name: "scheme upper case", md: []string{"BEARER " + good}, code: codes.OK, maybe: codes.OK, seen: "sub:alice"},
		{name: "basic scheme", md: []string{"Basic YWxpY2U6cHc="}, code: codes.Unauthenticated, maybe: codes.OK},
		{name: "two values", md: []string{"Bearer " + good, "Bearer " + good}, code: codes.InvalidArgument, maybe: codes.InvalidArgument},
		{name: "malformed value", md: []string{"Bearer a b"}, code: codes.InvalidArgument, maybe: codes.InvalidArgument},
		{name: "expired", md: []string{"Bearer " + expired}, code: codes.Unauthenticated, maybe: codes.Unauthenticated},
		{name: "forged", md: []string{"Bearer " + forged}, code: codes.Unauthenticated, maybe: codes.Unauthenticated},
		{name: "garbage", md: []string{"Bearer abc"}, code: codes.Unauthenticated, maybe: codes.Unauthenticated},
		{name: "scope missing", md: []string{"Bearer " + good}, reqs: true, code: codes.PermissionDenied, maybe: codes.PermissionDenied},
		{name: "scope present", md: []string{"Bearer " + admin}, reqs: true, code: codes.OK, maybe: codes.OK, seen: "sub:root"},
		{name: "no token, requirement", reqs: true, code: codes.Unauthenticated, maybe: codes.Unauthenticated},
	}
	for _, method := range []string{checkMethod, watchMethod} {
		for _, maybe := range []bool{false, true} {
			for _, reqs := range []bool{false, true} {
				cfg := oidcgrpc.Config{Validator: a, Logger: quiet()}
				if reqs {
					cfg.Methods = map[string][]oidcauth.Requirement{method: {oidcauth.RequireScopes("admin")}}
				}
				ic, err := oidcgrpc.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				rec := &recorder{seen: map[string]string{}}
				conn := serve(t, ic, maybe, rec)
				for _, tt := range tests {
					if tt.reqs != reqs {
						continue
					}
					name := method + "/" + map[bool]string{false: "Required", true: "Maybe"}[maybe] + "/" + tt.name
					t.Run(name, func(t *testing.T) {
						ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
						defer cancel()
						for _, v := range tt.md {
							ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
						}
						want, seen := tt.code, tt.seen
						if maybe {
							want = tt.maybe
							if seen == "" {
								seen = "anonymous"
							}
						}
						err := call(ctx, conn, method)
						st := status.Convert(err)
						if st.Code() != want {
							t.Fatalf("code = %v (%v), want %v", st.Code(), err, want)
						}
						if got := rec.take(method); want == codes.OK && got != seen || want != codes.OK && got != "" {
							t.Fatalf("handler saw %q, want %q", got, seen)
						}
						if want != codes.OK {
							if !strings.HasPrefix(st.Message(), "oidcauth: ") {
								t.Errorf("message = %q, want the oidcauth: prefix", st.Message())
							}
							for _, tok := range []string{good, admin, expired, forged} {
								if strings.Contains(st.Message(), tok) || strings.Contains(st.Message(), "alice") {
									t.Errorf("message %q echoes the token or its claims", st.Message())
								}
							}
						}
					})
				}
			}
		}
	}
}

func TestKeysUnavailable(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	p.SetJWKSFault(&oidctest.Fault{Status: 500})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet(), StartWithoutKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: a, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for _, maybe := range []bool{false, true} {
		conn := serve(t, ic, maybe, &recorder{seen: map[string]string{}})
		for _, method := range []string{checkMethod, watchMethod} {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
			st := status.Convert(call(ctx, conn, method))
			if st.Code() != codes.Unavailable {
				t.Fatalf("%s maybe=%v: code = %v, want Unavailable", method, maybe, st.Code())
			}
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					retry = r
				}
			}
			if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
				t.Fatalf("details = %v, want a RetryInfo with a positive delay", st.Details())
			}
		}
	}
}

func TestPublicAndCredentials(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	for _, tt := range []struct {
		public       []string
		check, watch codes.Code
	}{
		{public: []string{oidcgrpc.HealthService}, check: codes.OK, watch: codes.OK},
		{public: []string{checkMethod}, check: codes.OK, watch: codes.Unauthenticated},
		{public: oidcgrpc.ReflectionServices, check: codes.Unauthenticated, watch: codes.Unauthenticated},
	} {
		ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: a, Public: tt.public, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{seen: map[string]string{}}
		conn := serve(t, ic, false, rec)
		if got := status.Code(call(context.Background(), conn, checkMethod)); got != tt.check {
			t.Errorf("Public %v: Check code = %v, want %v", tt.public, got, tt.check)
		}
		if got := status.Code(call(context.Background(), conn, watchMethod)); got != tt.watch {
			t.Errorf("Public %v: Watch code = %v, want %v", tt.public, got, tt.watch)
		}
	}
	// A public call with a token gets no claims.
	ic, _ := oidcgrpc.New(oidcgrpc.Config{Validator: a, Public: []string{oidcgrpc.HealthService}, Logger: quiet()})
	rec := &recorder{seen: map[string]string{}}
	conn := serve(t, ic, false, rec)
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	if err := call(ctx, conn, checkMethod); err != nil || rec.take(checkMethod) != "anonymous" {
		t.Fatalf("public call: err = %v, want anonymous claims", err)
	}

	// TokenCredentials: refused on plaintext unless allowed.
	if got := (oidcgrpc.TokenCredentials{Token: tok}).RequireTransportSecurity(); !got {
		t.Errorf("RequireTransportSecurity() = false, want true by default")
	}
	md, _ := oidcgrpc.TokenCredentials{Token: tok}.GetRequestMetadata(context.Background())
	if md["authorization"] != "Bearer "+tok {
		t.Errorf("metadata = %v", md)
	}
	ic, _ = oidcgrpc.New(oidcgrpc.Config{Validator: a, Logger: quiet()})
	conn = serve(t, ic, false, &recorder{seen: map[string]string{}})
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{},
		grpc.PerRPCCredentials(oidcgrpc.TokenCredentials{Token: tok})); status.Code(err) != codes.Unauthenticated {
		t.Errorf("secure-only credentials over plaintext: err = %v, want the client to refuse (Unauthenticated)", err)
	}
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{},
		grpc.PerRPCCredentials(oidcgrpc.TokenCredentials{Token: tok, InsecureAllowPlaintext: true})); err != nil {
		t.Errorf("InsecureAllowPlaintext credentials: err = %v, want nil", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	for _, cfg := range []oidcgrpc.Config{
		{},
		{Validator: a, Methods: map[string][]oidcauth.Requirement{"Check": nil}},
		{Validator: a, Public: []string{"grpc.health.v1.Health"}},
		{Validator: a, Public: []string{"/"}},
	} {
		if _, err := oidcgrpc.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("New(%+v) error = %v, want an oidcauth: error", cfg, err)
		}
	}
	// Requirements func applies to methods not in Methods.
	ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: a, Logger: quiet(), Requirements: func(m string) []oidcauth.Requirement {
		if m == watchMethod {
			return []oidcauth.Requirement{oidcauth.RequireScopes("admin")}
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, ic, false, &recorder{seen: map[string]string{}})
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	if err := call(ctx, conn, checkMethod); err != nil {
		t.Errorf("Check: %v", err)
	}
	if err := call(ctx, conn, watchMethod); status.Code(err) != codes.PermissionDenied {
		t.Errorf("Watch: %v, want PermissionDenied", err)
	}
}

// logBuffer is an io.Writer safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRefusalsLogged(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	logs := &logBuffer{}
	ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: a, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	conn := serve(t, ic, false, &recorder{seen: map[string]string{}})
	tok := p.MustMint(t, map[string]any{"aud": "web", "sub": "alice"})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tok)
	if err := call(ctx, conn, checkMethod); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("call error = %v, want Unauthenticated", err)
	}
	got := logs.String()
	for _, want := range []string{"oidcauth: call refused", "code=Unauthenticated", "method=" + checkMethod, "invalid audience"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, tok) || strings.Contains(got, tok[strings.LastIndexByte(tok, '.')+1:]) {
		t.Errorf("log contains the token:\n%s", got)
	}
}

func BenchmarkStreamInterceptor(b *testing.B) {
	a, tok := benchSetup(b, 1024)
	ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: a, Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	stream := ic.Stream()
	ss := fakeStream{ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))}
	info := &grpc.StreamServerInfo{FullMethod: "/x.Y/Z"}
	handler := func(any, grpc.ServerStream) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := stream(nil, ss, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }

// failing is a TokenValidator whose Validate returns err.
type failing struct{ err error }

func (f failing) Validate(context.Context, string) (*oidcauth.Claims, error) { return nil, f.err }
func (f failing) Answer(err error) oidcauth.Answer {
	return (&oidcauth.Chain{}).Answer(err)
}

func TestCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		code codes.Code
	}{
		{oidcauth.ErrNoToken, codes.Unauthenticated},
		{oidcauth.ErrInvalidRequest, codes.InvalidArgument},
		{oidcauth.ErrTokenExpired, codes.Unauthenticated},
		{oidcauth.ErrInvalidSignature, codes.Unauthenticated},
		{oidcauth.ErrInsufficientScope, codes.PermissionDenied},
		{oidcauth.ErrKeysUnavailable, codes.Unavailable},
		{oidcauth.ErrKeyNotYetKnown, codes.Unavailable},
		{oidcauth.ErrIntrospectionFailed, codes.Unavailable},
		{errors.New("database down"), codes.Internal},
	} {
		ic, err := oidcgrpc.New(oidcgrpc.Config{Validator: failing{tt.err}, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		conn := serve(t, ic, false, &recorder{seen: map[string]string{}})
		ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer abc")
		err = call(ctx, conn, checkMethod)
		if st := status.Convert(err); st.Code() != tt.code || !strings.HasPrefix(st.Message(), "oidcauth: ") || strings.Contains(st.Message(), "database") {
			t.Errorf("Validate error %v: status %v %q, want %v with a fixed oidcauth: message", tt.err, st.Code(), st.Message(), tt.code)
		}
	}
}
