package oidcconnect_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"connectrpc.com/connect"
	"github.com/oidcauth/oidcauth"
	oidcconnect "github.com/oidcauth/oidcauth/connect"
	"github.com/oidcauth/oidcauth/oidctest"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func ExampleNew() {
	idp, _ := oidctest.Start(oidctest.Options{})
	defer idp.Close()
	auth, _ := oidcauth.New(context.Background(), oidcauth.Config{Issuer: idp.Issuer(), Audiences: []string{"api"}, Logger: quiet()})
	defer auth.Close()

	ic, _ := oidcconnect.New(oidcconnect.Config{Validator: auth})
	const proc = "/shop.v1.Orders/WhoAmI"
	mux := http.NewServeMux()
	mux.Handle(proc, connect.NewUnaryHandler(proc,
		func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
			c, _ := oidcauth.ClaimsFromContext(ctx)
			return connect.NewResponse(wrapperspb.String(c.Subject)), nil
		}, connect.WithInterceptors(ic.Required())))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	token, _ := idp.MintToken(oidctest.Token{Claims: map[string]any{"aud": "api", "sub": "alice"}})
	for _, auth := range []string{"Bearer " + token, ""} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+proc, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, _ := http.DefaultClient.Do(req)
		res.Body.Close()
		fmt.Println(res.StatusCode, res.Header.Values("WWW-Authenticate"))
	}
	// Output:
	// 200 []
	// 401 [Bearer realm="api"]
}
