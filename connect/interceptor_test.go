package oidcconnect_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/oidcauth/oidcauth"
	oidcconnect "github.com/oidcauth/oidcauth/connect"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	unaryProc  = "/test.v1.Svc/WhoAmI"
	streamProc = "/test.v1.Svc/Watch"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func subject(ctx context.Context) string {
	if c, ok := oidcauth.ClaimsFromContext(ctx); ok {
		return "sub:" + c.Subject
	}
	return "anonymous"
}

// serve starts a connect server with a unary and a server-streaming
// procedure that answer the subject they see.
func serve(t *testing.T, ic connect.Interceptor) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(unaryProc, connect.NewUnaryHandler(unaryProc,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
			return connect.NewResponse(wrapperspb.String(subject(ctx))), nil
		}, connect.WithInterceptors(ic)))
	mux.Handle(streamProc, connect.NewServerStreamHandler(streamProc,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty], s *connect.ServerStream[wrapperspb.StringValue]) error {
			return s.Send(wrapperspb.String(subject(ctx)))
		}, connect.WithInterceptors(ic)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func call(ctx context.Context, url, proc string, auth []string) (string, error) {
	if proc == unaryProc {
		c := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](http.DefaultClient, url+proc)
		req := connect.NewRequest(&emptypb.Empty{})
		for _, v := range auth {
			req.Header().Add("Authorization", v)
		}
		res, err := c.CallUnary(ctx, req)
		if err != nil {
			return "", err
		}
		return res.Msg.GetValue(), nil
	}
	c := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](http.DefaultClient, url+proc)
	req := connect.NewRequest(&emptypb.Empty{})
	for _, v := range auth {
		req.Header().Add("Authorization", v)
	}
	s, err := c.CallServerStream(ctx, req)
	if err != nil {
		return "", err
	}
	defer s.Close()
	if !s.Receive() {
		return "", s.Err()
	}
	return s.Msg().GetValue(), nil
}

func TestInterceptor(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	admin := p.MustMint(t, map[string]any{"aud": "api", "sub": "root", "scope": "admin"})
	expired := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "exp": time.Now().Add(-time.Hour).Unix()})
	tests := []struct {
		name  string
		auth  []string
		reqs  bool
		code  connect.Code // 0: OK
		maybe connect.Code
		seen  string
	}{
		{name: "no token", code: connect.CodeUnauthenticated},
		{name: "valid", auth: []string{"Bearer " + good}, seen: "sub:alice"},
		{name: "scheme lower case", auth: []string{"bearer " + good}, seen: "sub:alice"},
		{name: "basic", auth: []string{"Basic YWxpY2U6cHc="}, code: connect.CodeUnauthenticated},
		{name: "two headers", auth: []string{"Bearer " + good, "Bearer " + good}, code: connect.CodeInvalidArgument, maybe: connect.CodeInvalidArgument},
		{name: "expired", auth: []string{"Bearer " + expired}, code: connect.CodeUnauthenticated, maybe: connect.CodeUnauthenticated},
		{name: "scope missing", auth: []string{"Bearer " + good}, reqs: true, code: connect.CodePermissionDenied, maybe: connect.CodePermissionDenied},
		{name: "scope present", auth: []string{"Bearer " + admin}, reqs: true, seen: "sub:root"},
		{name: "no token, requirement", reqs: true, code: connect.CodeUnauthenticated, maybe: connect.CodeUnauthenticated},
	}
	for _, proc := range []string{unaryProc, streamProc} {
		for _, maybe := range []bool{false, true} {
			for _, reqs := range []bool{false, true} {
				cfg := oidcconnect.Config{Validator: a, Logger: quiet()}
				if reqs {
					cfg.Methods = map[string][]oidcauth.Requirement{proc: {oidcauth.RequireScopes("admin")}}
				}
				ic, err := oidcconnect.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				in := ic.Required()
				if maybe {
					in = ic.Maybe()
				}
				url := serve(t, in)
				for _, tt := range tests {
					if tt.reqs != reqs {
						continue
					}
					t.Run(proc+"/"+map[bool]string{false: "Required", true: "Maybe"}[maybe]+"/"+tt.name, func(t *testing.T) {
						want, seen := tt.code, tt.seen
						if maybe {
							want = tt.maybe
							if seen == "" {
								seen = "anonymous"
							}
						}
						got, err := call(context.Background(), url, proc, tt.auth)
						if want == 0 {
							if err != nil || got != seen {
								t.Fatalf("call = %q, %v, want %q", got, err, seen)
							}
							return
						}
						var ce *connect.Error
						if !errors.As(err, &ce) || ce.Code() != want {
							t.Fatalf("call error = %v, want code %v", err, want)
						}
						if !strings.HasPrefix(ce.Message(), "oidcauth: ") || strings.Contains(ce.Message(), "alice") {
							t.Errorf("message = %q", ce.Message())
						}
						if ch := ce.Meta().Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer realm=") {
							t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", ch)
						}
					})
				}
			}
		}
	}
}

// TestHTTP checks the answers on the wire, as curl sees them: the connect
// protocol's JSON over HTTP/1.1.
func TestHTTP(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ic, err := oidcconnect.New(oidcconnect.Config{Validator: a, Logger: quiet(),
		Methods: map[string][]oidcauth.Requirement{unaryProc: {oidcauth.RequireScopes("admin")}}})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, ic.Required())
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read"})
	admin := p.MustMint(t, map[string]any{"aud": "api", "sub": "root", "scope": "admin"})
	for _, tt := range []struct {
		auth, status, code, challenge string
	}{
		{"", "401", `"code":"unauthenticated"`, `Bearer realm="api"`},
		{"Bearer abc", "401", `"code":"unauthenticated"`, `Bearer realm="api", error="invalid_token", error_description="the token is invalid"`},
		{"Bearer " + good, "403", `"code":"permission_denied"`, `Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="admin"`},
		{"Bearer " + admin, "200", `"sub:root"`, ""},
	} {
		req, _ := http.NewRequest(http.MethodPost, url+unaryProc, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.HasPrefix(res.Status, tt.status) || !strings.Contains(string(body), tt.code) || res.Header.Get("WWW-Authenticate") != tt.challenge {
			t.Errorf("auth %.12q: %s %s WWW-Authenticate %q, want %s %s %q", tt.auth, res.Status, body, res.Header.Get("WWW-Authenticate"), tt.status, tt.code, tt.challenge)
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
	ic, _ := oidcconnect.New(oidcconnect.Config{Validator: a, Logger: quiet()})
	url := serve(t, ic.Required())
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	for _, proc := range []string{unaryProc, streamProc} {
		_, err := call(context.Background(), url, proc, []string{"Bearer " + tok})
		if connect.CodeOf(err) != connect.CodeUnavailable {
			t.Fatalf("%s: error = %v, want unavailable", proc, err)
		}
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Meta().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After in %v", proc, ce.Meta())
		}
	}
}

func TestPublicAndConfig(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ic, err := oidcconnect.New(oidcconnect.Config{Validator: a, Logger: quiet(), Public: []string{unaryProc}})
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, ic.Required())
	if got, err := call(context.Background(), url, unaryProc, nil); err != nil || got != "anonymous" {
		t.Errorf("public: %q, %v", got, err)
	}
	if _, err := call(context.Background(), url, streamProc, nil); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("guarded: %v", err)
	}
	for _, cfg := range []oidcconnect.Config{{}, {Validator: a, Public: []string{"x"}}, {Validator: a, Methods: map[string][]oidcauth.Requirement{"/a": nil}}} {
		if _, err := oidcconnect.New(cfg); err == nil || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("New(%+v) error = %v", cfg, err)
		}
	}
}
