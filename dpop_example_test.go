package oidcauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// A DPoP-bound token with its proof, then the same proof replayed and the
// token sent as a Bearer token.
func ExampleDPoPConfig() {
	idp, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	auth, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: idp.Issuer(), Audiences: []string{"my-api"}, Realm: "my-api",
		DPoP: &oidcauth.DPoPConfig{Algorithms: []string{"ES256", "EdDSA"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer auth.Close()
	api := auth.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		fmt.Fprint(w, "hello ", c.Subject)
	}))

	key, _ := oidctest.NewDPoPKey("ES256")
	token, _ := idp.MintDPoPBound(key, map[string]any{"sub": "alice", "aud": "my-api"})
	proof, _ := key.Proof("GET", "http://api.example/orders", token)
	call := func(scheme string) {
		r := httptest.NewRequest("GET", "http://api.example/orders", nil)
		r.Header.Set("Authorization", scheme+" "+token)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String()[:min(w.Body.Len(), 11)], w.Header().Values("WWW-Authenticate"))
	}
	call("DPoP") // accepted
	call("DPoP") // the same proof again: a replay
	proof = ""
	call("Bearer") // a bound token without a proof
	// Output:
	// 200 hello alice []
	// 401 {"error":"i [Bearer realm="my-api" DPoP realm="my-api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", algs="ES256 EdDSA"]
	// 401 {"error":"i [Bearer realm="my-api" DPoP realm="my-api", error="invalid_token", error_description="a DPoP-bound token with a DPoP proof is required", algs="ES256 EdDSA"]
}
