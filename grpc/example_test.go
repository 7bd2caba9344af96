package oidcgrpc_test

import (
	"context"
	"fmt"

	"github.com/oidcauth/oidcauth"
	oidcgrpc "github.com/oidcauth/oidcauth/grpc"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func ExampleNew() {
	idp, _ := oidctest.Start(oidctest.Options{})
	defer idp.Close()
	auth, _ := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	defer auth.Close()

	ic, _ := oidcgrpc.New(oidcgrpc.Config{
		Validator: auth,
		Methods:   map[string][]oidcauth.Requirement{"/shop.v1.Orders/Delete": {oidcauth.RequireScopes("admin")}},
		Public:    []string{oidcgrpc.HealthService},
	})
	// grpc.NewServer(grpc.UnaryInterceptor(ic.Unary()), grpc.StreamInterceptor(ic.Stream()))
	unary := ic.Unary()
	handler := func(ctx context.Context, _ any) (any, error) {
		c, _ := oidcauth.ClaimsFromContext(ctx)
		return c.Subject, nil
	}

	token, _ := idp.MintToken(oidctest.Token{Claims: map[string]any{"aud": "api", "sub": "alice", "scope": "read"}})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	for _, method := range []string{"/shop.v1.Orders/List", "/shop.v1.Orders/Delete"} {
		sub, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, handler)
		fmt.Println(method, sub, status.Code(err))
	}
	_, err := unary(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: "/shop.v1.Orders/List"}, handler)
	fmt.Println(status.Convert(err).Message())
	// Output:
	// /shop.v1.Orders/List alice OK
	// /shop.v1.Orders/Delete <nil> PermissionDenied
	// oidcauth: a bearer token is required
}
