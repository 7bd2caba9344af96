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
