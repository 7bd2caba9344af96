package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"testing"
	"time"

	examplev1 "github.com/oidcauth/oidcauth/examples/grpc/gen/oidcauth/example/v1"
	oidcgrpc "github.com/oidcauth/oidcauth/grpc"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPCClient calls the example with grpc-go's client (no grpcurl
// needed): the printed token works, Admin needs scope admin, health is open.
func TestGRPCClient(t *testing.T) {
	s := start(t)
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	creds := grpc.PerRPCCredentials(oidcgrpc.TokenCredentials{Token: s.token, InsecureAllowPlaintext: true})
	c := examplev1.NewGreeterClient(conn)
	res, err := c.WhoAmI(ctx, &examplev1.WhoAmIRequest{}, creds)
	if err != nil || res.GetSubject() != "alice" || len(res.GetScopes()) != 2 {
		t.Fatalf("WhoAmI = %v, %v, want alice with scopes read write", res, err)
	}
	if _, err := c.Admin(ctx, &examplev1.AdminRequest{}, creds); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("Admin error = %v, want PermissionDenied", err)
	}
	if _, err := c.WhoAmI(ctx, &examplev1.WhoAmIRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("WhoAmI without token error = %v, want Unauthenticated", err)
	}
	if h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "oidcauth.example.v1.Greeter"}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v, want SERVING", h, err)
	}
}

func TestUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want error
	}{
		{[]string{"-h"}, flag.ErrHelp},
		{[]string{"--no-such-flag"}, errUsage},
		{[]string{"extra"}, errUsage},
	} {
		if err := run(context.Background(), tt.args, io.Discard, io.Discard); !errors.Is(err, tt.want) {
			t.Errorf("run(%q) error = %v, want %v", tt.args, err, tt.want)
		}
	}
}

// TestStartWithoutKeys: with --start-without-keys the example starts while
// the provider's keys are unavailable, answers UNAVAILABLE (with a
// RetryInfo), and serves the call once the keys arrive.
func TestStartWithoutKeys(t *testing.T) {
	p := oidctest.New(t)
	p.SetJWKSFault(&oidctest.Fault{Status: 503})
	s := start(t, "--issuer", p.Issuer(), "--audience", "api", "--start-without-keys")
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "dave"})
	creds := grpc.PerRPCCredentials(oidcgrpc.TokenCredentials{Token: tok, InsecureAllowPlaintext: true})
	c := examplev1.NewGreeterClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = c.WhoAmI(ctx, &examplev1.WhoAmIRequest{}, creds)
	if st := status.Convert(err); st.Code() != codes.Unavailable || len(st.Details()) == 0 {
		t.Fatalf("WhoAmI while keys unavailable: %v (details %v), want Unavailable with RetryInfo", err, st.Details())
	}
	p.SetJWKSFault(nil)
	for {
		res, err := c.WhoAmI(ctx, &examplev1.WhoAmIRequest{}, creds)
		if err == nil {
			if res.GetSubject() != "dave" {
				t.Fatalf("WhoAmI = %v, want dave", res)
			}
			return
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			t.Fatalf("WhoAmI after the keys came back: %v, want success within 30 s", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
