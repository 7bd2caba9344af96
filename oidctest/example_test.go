package oidctest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"strings"

	"github.com/oidcauth/oidcauth/oidctest"
)

func Example() {
	idp, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	// Mint an access token. iss, iat and exp get defaults.
	token, err := idp.Mint(map[string]any{"sub": "alice", "aud": "my-api"})
	if err != nil {
		log.Fatal(err)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	fmt.Println("header:", string(header))

	// Fetch the discovery document as a relying party would.
	resp, err := idp.Client().Get(idp.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer  string   `json:"issuer"`
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", resp.StatusCode)
	fmt.Println("issuer matches:", doc.Issuer == idp.Issuer())
	fmt.Println("jwks_uri:", strings.TrimPrefix(doc.JWKSURI, idp.Issuer()))
	fmt.Println("algs:", doc.Algs)
	fmt.Println("discovery fetches:", idp.DiscoveryFetches())

	// Output:
	// header: {"alg":"RS256","kid":"k1","typ":"JWT"}
	// status: 200
	// issuer matches: true
	// jwks_uri: /jwks
	// algs: [RS256]
	// discovery fetches: 1
}

func ExampleProvider_SetJWKSFault() {
	idp, err := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	idp.SetJWKSFault(&oidctest.Fault{Status: 503, Body: []byte(`{"error":"down"}`)})
	resp, err := idp.Client().Get(idp.JWKSURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, idp.JWKSFetches())

	idp.SetJWKSFault(nil)
	resp, err = idp.Client().Get(idp.JWKSURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, idp.JWKSFetches())

	// Output:
	// 503 1
	// 200 2
}
