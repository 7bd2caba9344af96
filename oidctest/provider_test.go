package oidctest_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// ---- helpers ----

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, c *http.Client, url string) response {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func fetchJWKS(t *testing.T, p *oidctest.Provider) []map[string]any {
	t.Helper()
	r := get(t, p.Client(), p.JWKSURL())
	if r.status != 200 {
		t.Fatalf("JWKS status %d", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("JWKS Content-Type %q", ct)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(r.body, &set); err != nil {
		t.Fatalf("JWKS: %v\n%s", err, r.body)
	}
	return set.Keys
}

func jwkKids(keys []map[string]any) []string {
	var kids []string
	for _, k := range keys {
		kid, _ := k["kid"].(string)
		kids = append(kids, kid)
	}
	return kids
}

func findJWK(t *testing.T, keys []map[string]any, kid string) map[string]any {
	t.Helper()
	for _, k := range keys {
		if k["kid"] == kid {
			return k
		}
	}
	t.Fatalf("kid %q not in JWKS %v", kid, jwkKids(keys))
	return nil
}

// splitToken splits a compact JWS and decodes its parts.
func splitToken(t *testing.T, tok string) (header, payload, sig []byte, signingInput string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts: %q", len(parts), tok)
	}
	if strings.ContainsAny(tok, "=+/") {
		t.Fatalf("token is not unpadded base64url: %q", tok)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("decoding %q: %v", s, err)
		}
		return b
	}
	return dec(parts[0]), dec(parts[1]), dec(parts[2]), parts[0] + "." + parts[1]
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

func b64field(t *testing.T, jwk map[string]any, name string) []byte {
	t.Helper()
	s, ok := jwk[name].(string)
	if !ok {
		t.Fatalf("JWK member %q missing or not a string: %v", name, jwk)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("JWK member %q: %v", name, err)
	}
	return b
}

// publicKeyFromJWK decodes a public JWK with the standard library only.
func publicKeyFromJWK(t *testing.T, jwk map[string]any) crypto.PublicKey {
	t.Helper()
	switch jwk["kty"] {
	case "RSA":
		n := new(big.Int).SetBytes(b64field(t, jwk, "n"))
		e := new(big.Int).SetBytes(b64field(t, jwk, "e"))
		if !e.IsInt64() {
			t.Fatalf("bad e")
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}
	case "EC":
		curves := map[string]struct {
			c    elliptic.Curve
			size int
		}{"P-256": {elliptic.P256(), 32}, "P-384": {elliptic.P384(), 48}, "P-521": {elliptic.P521(), 66}}
		cv, ok := curves[jwk["crv"].(string)]
		if !ok {
			t.Fatalf("unknown crv %v", jwk["crv"])
		}
		x, y := b64field(t, jwk, "x"), b64field(t, jwk, "y")
		if len(x) != cv.size || len(y) != cv.size {
			t.Fatalf("EC coordinates are %d and %d bytes, want %d", len(x), len(y), cv.size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(cv.c, slices.Concat([]byte{4}, x, y))
		if err != nil {
			t.Fatalf("EC point: %v", err)
		}
		return pub
	case "OKP":
		if jwk["crv"] != "Ed25519" {
			t.Fatalf("crv %v", jwk["crv"])
		}
		x := b64field(t, jwk, "x")
		if len(x) != ed25519.PublicKeySize {
			t.Fatalf("Ed25519 x is %d bytes", len(x))
		}
		return ed25519.PublicKey(x)
	}
	t.Fatalf("unknown kty %v", jwk["kty"])
	return nil
}

var algHash = map[string]crypto.Hash{
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "PS384": crypto.SHA384, "PS512": crypto.SHA512,
	"ES256": crypto.SHA256, "ES384": crypto.SHA384, "ES512": crypto.SHA512,
}

// verify checks a JWS signature per RFC 7518 with the standard library.
func verify(alg string, pub crypto.PublicKey, signingInput string, sig []byte) error {
	if alg == "EdDSA" {
		k, ok := pub.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(k, []byte(signingInput), sig) {
			return errors.New("bad EdDSA signature")
		}
		return nil
	}
	hash := algHash[alg]
	h := hash.New()
	h.Write([]byte(signingInput))
	digest := h.Sum(nil)
	switch alg[:2] {
	case "RS":
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), hash, digest, sig)
	case "PS":
		// Strict: the salt must be exactly the hash length.
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), hash, digest, sig,
			&rsa.PSSOptions{SaltLength: hash.Size(), Hash: hash})
	case "ES":
		k := pub.(*ecdsa.PublicKey)
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("ECDSA signature is %d bytes, want %d (raw r||s)", len(sig), 2*size)
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return errors.New("bad ECDSA signature")
		}
		return nil
	}
	return fmt.Errorf("unknown alg %s", alg)
}

// verifyToken checks tok's signature against the key with kid in the
// provider's published JWKS.
func verifyToken(t *testing.T, p *oidctest.Provider, alg, kid, tok string) {
	t.Helper()
	_, _, sig, in := splitToken(t, tok)
	jwk := findJWK(t, fetchJWKS(t, p), kid)
	if err := verify(alg, publicKeyFromJWK(t, jwk), in, sig); err != nil {
		t.Fatalf("verify %s token with kid %s: %v", alg, kid, err)
	}
}

// ---- signing and JWKS ----

func TestAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range oidctest.Algorithms() {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p := oidctest.New(t, oidctest.Options{Algorithm: alg})
			kid := p.ActiveKeyID()
			if got := p.KeyAlgorithm(kid); got != alg {
				t.Errorf("KeyAlgorithm = %q", got)
			}
			tok := p.MustMint(t, map[string]any{"sub": "alice"})
			hdr, _, sig, in := splitToken(t, tok)
			h := decodeJSON(t, hdr)
			if h["alg"] != alg || h["kid"] != kid || h["typ"] != "JWT" {
				t.Errorf("header = %s", hdr)
			}

			keys := fetchJWKS(t, p)
			if len(keys) != 1 {
				t.Fatalf("JWKS has %d keys", len(keys))
			}
			jwk := keys[0]
			wantKty := map[string]string{"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}[alg[:2]]
			if jwk["kty"] != wantKty || jwk["kid"] != kid || jwk["use"] != "sig" || jwk["alg"] != alg {
				t.Errorf("JWK = %v", jwk)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := jwk[private]; ok {
					t.Errorf("JWK has private member %q", private)
				}
			}
			pub := publicKeyFromJWK(t, jwk)
			if rk, ok := pub.(*rsa.PublicKey); ok && rk.N.BitLen() != 2048 {
				t.Errorf("RSA modulus is %d bits", rk.N.BitLen())
			}
			if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(p.PublicKey(kid)) {
				t.Error("JWK does not match PublicKey(kid)")
			}
			if !p.PrivateKey(kid).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Error("JWK does not match PrivateKey(kid)")
			}
			if err := verify(alg, pub, in, sig); err != nil {
				t.Fatal(err)
			}
			// A tampered signing input must not verify.
			if err := verify(alg, pub, in+"x", sig); err == nil {
				t.Error("tampered token verified")
			}

			disc := decodeJSON(t, get(t, p.Client(), p.DiscoveryURL()).body)
			if got := fmt.Sprint(disc["id_token_signing_alg_values_supported"]); got != "["+alg+"]" {
				t.Errorf("id_token_signing_alg_values_supported = %s", got)
			}
		})
	}
}

func TestUnsupportedAlgorithm(t *testing.T) {
	t.Parallel()
	if _, err := oidctest.Start(oidctest.Options{Algorithm: "HS256"}); err == nil {
		t.Error("Start with HS256 succeeded")
	}
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	for _, alg := range []string{"none", "HS256", "", "es256"} {
		if _, err := p.AddKey(alg); err == nil {
			t.Errorf("AddKey(%q) succeeded", alg)
		}
	}
	if got := p.PublishedKeyIDs(); !reflect.DeepEqual(got, []string{"k1"}) {
		t.Errorf("PublishedKeyIDs = %v", got)
	}
}

func TestTokenDefaultsAndOverrides(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", Now: func() time.Time { return now }})
	iss := p.Issuer()

	tests := []struct {
		name       string
		tok        oidctest.Token
		wantHeader string
		wantClaims string
	}{
		{
			name:       "defaults",
			wantHeader: `{"alg":"ES256","kid":"k1","typ":"JWT"}`,
			wantClaims: `{"exp":1700003600,"iat":1700000000,"iss":"` + iss + `"}`,
		},
		{
			name: "extra claims",
			tok: oidctest.Token{Claims: map[string]any{
				"sub": "alice", "aud": []string{"a", "b"}, "scope": "read write", "n": 1.5,
				"url": "https://x/?a=1&b=<2>",
			}},
			wantHeader: `{"alg":"ES256","kid":"k1","typ":"JWT"}`,
			wantClaims: `{"aud":["a","b"],"exp":1700003600,"iat":1700000000,"iss":"` + iss +
				`","n":1.5,"scope":"read write","sub":"alice","url":"https://x/?a=1&b=<2>"}`,
		},
		{
			name:       "override and remove defaults",
			tok:        oidctest.Token{Claims: map[string]any{"iss": "https://evil", "exp": nil, "iat": nil}},
			wantHeader: `{"alg":"ES256","kid":"k1","typ":"JWT"}`,
			wantClaims: `{"iss":"https://evil"}`,
		},
		{
			name:       "time values",
			tok:        oidctest.Token{Claims: map[string]any{"exp": now.Add(-time.Minute), "nbf": now.Add(time.Minute)}},
			wantHeader: `{"alg":"ES256","kid":"k1","typ":"JWT"}`,
			wantClaims: `{"exp":1699999940,"iat":1700000000,"iss":"` + iss + `","nbf":1700000060}`,
		},
		{
			name:       "no kid",
			tok:        oidctest.Token{Header: map[string]any{"kid": nil}},
			wantHeader: `{"alg":"ES256","typ":"JWT"}`,
			wantClaims: `{"exp":1700003600,"iat":1700000000,"iss":"` + iss + `"}`,
		},
		{
			name:       "header overrides",
			tok:        oidctest.Token{Header: map[string]any{"typ": "at+jwt", "kid": "other", "alg": "HS256", "crit": []string{"x"}}},
			wantHeader: `{"alg":"HS256","crit":["x"],"kid":"other","typ":"at+jwt"}`,
			wantClaims: `{"exp":1700003600,"iat":1700000000,"iss":"` + iss + `"}`,
		},
		{
			name:       "remove all",
			tok:        oidctest.Token{Header: map[string]any{"typ": nil, "kid": nil}, Claims: map[string]any{"iss": nil, "iat": nil, "exp": nil}},
			wantHeader: `{"alg":"ES256"}`,
			wantClaims: `{}`,
		},
		{
			name: "raw header and payload",
			tok: oidctest.Token{
				RawHeader:  []byte(`{"alg":"ES256","alg":"none", "kid":"k1"}`),
				RawPayload: []byte(`{"exp":1.7e9,"exp":10000000000000000000000, "sub" : "\u0061"}`),
				Header:     map[string]any{"ignored": true},
				Claims:     map[string]any{"ignored": true},
			},
			wantHeader: `{"alg":"ES256","alg":"none", "kid":"k1"}`,
			wantClaims: `{"exp":1.7e9,"exp":10000000000000000000000, "sub" : "\u0061"}`,
		},
		{
			name:       "raw empty payload",
			tok:        oidctest.Token{RawPayload: []byte{}},
			wantHeader: `{"alg":"ES256","kid":"k1","typ":"JWT"}`,
			wantClaims: ``,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := p.MustMintToken(t, tt.tok)
			hdr, payload, sig, in := splitToken(t, tok)
			if string(hdr) != tt.wantHeader {
				t.Errorf("header\n got %s\nwant %s", hdr, tt.wantHeader)
			}
			if string(payload) != tt.wantClaims {
				t.Errorf("claims\n got %s\nwant %s", payload, tt.wantClaims)
			}
			// Whatever the header says, the signature is by key k1.
			if err := verify("ES256", p.PublicKey("k1"), in, sig); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestMintDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "EdDSA"})
	claims := map[string]any{"exp": nil, "sub": "x", "t": time.Unix(5, 0)}
	header := map[string]any{"kid": nil}
	if _, err := p.MintToken(oidctest.Token{Claims: claims, Header: header}); err != nil {
		t.Fatal(err)
	}
	if len(claims) != 3 || claims["exp"] != nil || claims["t"] != time.Unix(5, 0) || len(header) != 1 {
		t.Errorf("inputs modified: %v %v", claims, header)
	}
}

func TestMintErrors(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	if _, err := p.MintToken(oidctest.Token{KeyID: "nope"}); err == nil {
		t.Error("minting with unknown key succeeded")
	}
	if _, err := p.Mint(map[string]any{"bad": func() {}}); err == nil {
		t.Error("minting unmarshalable claims succeeded")
	}
	if _, err := p.MintToken(oidctest.Token{Header: map[string]any{"bad": make(chan int)}}); err == nil {
		t.Error("minting unmarshalable header succeeded")
	}
}

func TestSignatureOverride(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	tok := p.MustMintToken(t, oidctest.Token{Header: map[string]any{"alg": "none", "kid": nil}, Signature: []byte{}})
	if !strings.HasSuffix(tok, ".") || strings.Count(tok, ".") != 2 {
		t.Errorf("unsigned token = %q", tok)
	}
	tok = p.MustMintToken(t, oidctest.Token{Signature: []byte("garbage")})
	if _, _, sig, _ := splitToken(t, tok); string(sig) != "garbage" {
		t.Errorf("signature = %q", sig)
	}
}

// ---- key management ----

func TestKeyLifecycle(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	check := func(wantActive string, wantPublished ...string) {
		t.Helper()
		if got := p.ActiveKeyID(); got != wantActive {
			t.Errorf("ActiveKeyID = %q, want %q", got, wantActive)
		}
		if got := p.PublishedKeyIDs(); !slices.Equal(got, wantPublished) {
			t.Errorf("PublishedKeyIDs = %v, want %v", got, wantPublished)
		}
		if got := jwkKids(fetchJWKS(t, p)); !slices.Equal(got, wantPublished) {
			t.Errorf("JWKS kids = %v, want %v", got, wantPublished)
		}
	}
	check("k1", "k1")

	k2, err := p.AddKey("EdDSA")
	if err != nil || k2 != "k2" {
		t.Fatalf("AddKey = %q, %v", k2, err)
	}
	check("k1", "k1", "k2")
	disc := p.DiscoveryDocument()
	if got := disc["id_token_signing_alg_values_supported"]; !reflect.DeepEqual(got, []string{"ES256", "EdDSA"}) {
		t.Errorf("algs = %v", got)
	}

	// New key signs before it is published.
	k3, err := p.AddUnpublishedKey("ES384")
	if err != nil {
		t.Fatal(err)
	}
	check("k1", "k1", "k2")
	tok := p.MustMintToken(t, oidctest.Token{KeyID: k3})
	if h, _, _, _ := splitToken(t, tok); !strings.Contains(string(h), `"kid":"k3"`) {
		t.Errorf("header %s", h)
	}
	if err := p.PublishKey(k3); err != nil {
		t.Fatal(err)
	}
	if err := p.PublishKey(k3); err != nil { // idempotent
		t.Fatal(err)
	}
	check("k1", "k1", "k2", "k3")
	verifyToken(t, p, "ES384", k3, tok)

	if err := p.SetActiveKey(k2); err != nil {
		t.Fatal(err)
	}
	check("k2", "k1", "k2", "k3")
	verifyToken(t, p, "EdDSA", k2, p.MustMint(t, nil))

	// Removed keys still sign, but are gone from the JWKS.
	if err := p.RemoveKey("k1"); err != nil {
		t.Fatal(err)
	}
	check("k2", "k2", "k3")
	old := p.MustMintToken(t, oidctest.Token{KeyID: "k1"})
	_, _, sig, in := splitToken(t, old)
	if err := verify("ES256", p.PublicKey("k1"), in, sig); err != nil {
		t.Error(err)
	}

	// Rotation: the new key is active and published, the old one stays.
	k4, err := p.Rotate("ES256")
	if err != nil || k4 != "k4" {
		t.Fatalf("Rotate = %q, %v", k4, err)
	}
	check("k4", "k2", "k3", "k4")
	verifyToken(t, p, "ES256", k4, p.MustMint(t, nil))

	// Republish at the end.
	if err := p.PublishKey("k1"); err != nil {
		t.Fatal(err)
	}
	check("k4", "k2", "k3", "k4", "k1")

	for _, f := range []func(string) error{p.PublishKey, p.RemoveKey, p.SetActiveKey} {
		if err := f("nope"); err == nil {
			t.Error("unknown kid accepted")
		}
	}
	if p.PublicKey("nope") != nil || p.PrivateKey("nope") != nil || p.KeyAlgorithm("nope") != "" {
		t.Error("unknown kid has a key")
	}

	// Every key is distinct.
	seen := map[string]bool{}
	for _, kid := range []string{"k1", "k2", "k3", "k4"} {
		der := fmt.Sprint(p.PublicKey(kid))
		if seen[der] {
			t.Errorf("key %s repeats another key", kid)
		}
		seen[der] = true
	}
}

func TestKeysDistinctAcrossProviders(t *testing.T) {
	t.Parallel()
	a := oidctest.New(t)
	b := oidctest.New(t)
	if a.ActiveKeyID() != b.ActiveKeyID() {
		t.Fatalf("kids differ: %s %s", a.ActiveKeyID(), b.ActiveKeyID())
	}
	// Same kid, different key: b's token must not verify with a's key.
	_, _, sig, in := splitToken(t, b.MustMint(t, map[string]any{"iss": a.Issuer()}))
	if err := verify("RS256", a.PublicKey("k1"), in, sig); err == nil {
		t.Error("token from another provider verified")
	}
}

func TestAddRawJWK(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	raw := []map[string]any{
		{"kty": "unknown", "kid": "x1"},
		{"kty": "RSA", "kid": "x2", "use": "enc", "n": "AQAB", "e": "AQAB"},
		{"kty": "EC", "kid": "k1", "crv": "P-256", "x": "AA", "y": "AA", "extra": map[string]any{"nested": []int{1}}},
	}
	for _, r := range raw {
		p.AddRawJWK(r)
	}
	raw[0]["kty"] = "mutated after adding"
	keys := fetchJWKS(t, p)
	if got := jwkKids(keys); !slices.Equal(got, []string{"k1", "x1", "x2", "k1"}) {
		t.Fatalf("kids = %v", got)
	}
	if keys[1]["kty"] != "unknown" || keys[2]["use"] != "enc" {
		t.Errorf("raw JWKs changed: %v", keys[1:])
	}
	if got, _ := json.Marshal(keys[3]); string(got) != `{"crv":"P-256","extra":{"nested":[1]},"kid":"k1","kty":"EC","x":"AA","y":"AA"}` {
		t.Errorf("raw JWK = %s", got)
	}
	if got := p.PublishedKeyIDs(); !slices.Equal(got, []string{"k1"}) {
		t.Errorf("PublishedKeyIDs = %v", got)
	}
	p.RemoveRawJWKs()
	if got := jwkKids(fetchJWKS(t, p)); !slices.Equal(got, []string{"k1"}) {
		t.Errorf("kids after RemoveRawJWKs = %v", got)
	}
}

// ---- discovery ----

func TestDiscoveryLocations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		issuerPath string
		paths      [3]bool // openid, inserted, appended
		want       map[string]int
	}{
		{"", [3]bool{true, true, true}, map[string]int{
			"/.well-known/openid-configuration":         200,
			"/.well-known/oauth-authorization-server":   200,
			"/tenant1/.well-known/openid-configuration": 404,
		}},
		{"/tenant1", [3]bool{true, true, true}, map[string]int{
			"/tenant1/.well-known/openid-configuration":       200,
			"/.well-known/oauth-authorization-server/tenant1": 200,
			"/tenant1/.well-known/oauth-authorization-server": 200,
			"/.well-known/openid-configuration":               404,
			"/.well-known/oauth-authorization-server":         404,
			"/.well-known/unknown":                            404,
		}},
		{"/tenant1", [3]bool{false, true, false}, map[string]int{
			"/tenant1/.well-known/openid-configuration":       404,
			"/.well-known/oauth-authorization-server/tenant1": 200,
			"/tenant1/.well-known/oauth-authorization-server": 404,
		}},
		{"/a/b", [3]bool{false, false, true}, map[string]int{
			"/a/b/.well-known/openid-configuration":       404,
			"/.well-known/oauth-authorization-server/a/b": 404,
			"/a/b/.well-known/oauth-authorization-server": 200,
		}},
		{"", [3]bool{false, false, true}, map[string]int{
			"/.well-known/openid-configuration":       404,
			"/.well-known/oauth-authorization-server": 200,
		}},
		{"", [3]bool{true, false, false}, map[string]int{
			"/.well-known/openid-configuration":       200,
			"/.well-known/oauth-authorization-server": 404,
		}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q/%v", tt.issuerPath, tt.paths), func(t *testing.T) {
			t.Parallel()
			p := oidctest.New(t, oidctest.Options{IssuerPath: tt.issuerPath, Algorithm: "EdDSA"})
			p.SetDiscoveryPaths(tt.paths[0], tt.paths[1], tt.paths[2])
			root := strings.TrimSuffix(p.Issuer(), tt.issuerPath)
			if p.IssuerPath() != tt.issuerPath {
				t.Errorf("IssuerPath = %q", p.IssuerPath())
			}
			n := int64(0)
			for path, want := range tt.want {
				r := get(t, p.Client(), root+path)
				n++
				if r.status != want {
					t.Errorf("%s: status %d, want %d", path, r.status, want)
					continue
				}
				if want != 200 {
					continue
				}
				doc := decodeJSON(t, r.body)
				if doc["issuer"] != p.Issuer() || doc["jwks_uri"] != p.Issuer()+"/jwks" {
					t.Errorf("%s: issuer %v jwks_uri %v", path, doc["issuer"], doc["jwks_uri"])
				}
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			if got := p.DiscoveryFetches(); got != n {
				t.Errorf("DiscoveryFetches = %d, want %d", got, n)
			}
			if p.JWKSFetches() != 0 {
				t.Errorf("JWKSFetches = %d", p.JWKSFetches())
			}
		})
	}
}

func TestDiscoveryDocument(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", IssuerPath: "tenant1/"})
	if !strings.HasSuffix(p.Issuer(), "/tenant1") || !strings.HasPrefix(p.Issuer(), "http://127.0.0.1:") {
		t.Fatalf("Issuer = %q", p.Issuer())
	}
	if p.OAuthMetadataURL() != strings.TrimSuffix(p.Issuer(), "/tenant1")+"/.well-known/oauth-authorization-server/tenant1" {
		t.Errorf("OAuthMetadataURL = %q", p.OAuthMetadataURL())
	}
	iss := p.Issuer()
	want := map[string]any{
		"issuer":                                iss,
		"jwks_uri":                              iss + "/jwks",
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"response_types_supported":              []any{"code"},
		"subject_types_supported":               []any{"public"},
		"id_token_signing_alg_values_supported": []any{"ES256"},
	}
	fetch := func() map[string]any {
		var doc map[string]any
		if err := json.Unmarshal(get(t, p.Client(), p.DiscoveryURL()).body, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	if doc := fetch(); !reflect.DeepEqual(doc, want) {
		t.Errorf("doc = %v\nwant %v", doc, want)
	}
	if p.AuthorizationEndpoint() != iss+"/authorize" || p.TokenEndpoint() != iss+"/token" {
		t.Error("endpoint getters")
	}

	p.SetDiscovery(map[string]any{"issuer": "https://other", "token_endpoint": nil})
	p.SetDiscovery(map[string]any{"scopes_supported": []string{"openid"}})
	want["issuer"] = "https://other"
	delete(want, "token_endpoint")
	want["scopes_supported"] = []any{"openid"}
	if doc := fetch(); !reflect.DeepEqual(doc, want) {
		t.Errorf("doc = %v\nwant %v", doc, want)
	}

	p.SetDiscovery(nil)
	if doc := fetch(); doc["issuer"] != iss || doc["token_endpoint"] != iss+"/token" || doc["scopes_supported"] != nil {
		t.Errorf("after reset: %v", doc)
	}
}

// ---- faults ----

func noRedirectClient(p *oidctest.Provider) *http.Client {
	c := *p.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestJWKSFaults(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	normal := get(t, p.Client(), p.JWKSURL()).body

	tests := []struct {
		name  string
		fault oidctest.Fault
		check func(t *testing.T, r response)
	}{
		{"zero fault", oidctest.Fault{}, func(t *testing.T, r response) {
			if r.status != 200 || !bytes.Equal(r.body, normal) {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"status keeps body", oidctest.Fault{Status: 500}, func(t *testing.T, r response) {
			if r.status != 500 || !bytes.Equal(r.body, normal) {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"body", oidctest.Fault{Status: 503, Body: []byte(`oops`)}, func(t *testing.T, r response) {
			if r.status != 503 || string(r.body) != "oops" {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"empty body", oidctest.Fault{Body: []byte{}}, func(t *testing.T, r response) {
			if r.status != 200 || len(r.body) != 0 {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"content type and headers", oidctest.Fault{
			ContentType: "text/html",
			Header:      http.Header{"Cache-Control": {"no-store"}, "X-Test": {"a", "b"}},
		}, func(t *testing.T, r response) {
			if r.header.Get("Content-Type") != "text/html" || r.header.Get("Cache-Control") != "no-store" ||
				!slices.Equal(r.header.Values("X-Test"), []string{"a", "b"}) || !bytes.Equal(r.body, normal) {
				t.Errorf("%v %s", r.header, r.body)
			}
		}},
		{"redirect", oidctest.Fault{Redirect: "/elsewhere"}, func(t *testing.T, r response) {
			if r.status != 302 || r.header.Get("Location") != "/elsewhere" {
				t.Errorf("%d %v", r.status, r.header)
			}
		}},
		{"redirect 307", oidctest.Fault{Redirect: "https://example.invalid/jwks", Status: 307}, func(t *testing.T, r response) {
			if r.status != 307 || r.header.Get("Location") != "https://example.invalid/jwks" {
				t.Errorf("%d %v", r.status, r.header)
			}
		}},
		{"small BodySize", oidctest.Fault{BodySize: 5}, func(t *testing.T, r response) {
			if string(r.body) != `{"key` {
				t.Errorf("%q", r.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the fault is provider-wide.
			p.SetJWKSFault(&tt.fault)
			tt.check(t, get(t, noRedirectClient(p), p.JWKSURL()))
		})
	}
	p.SetJWKSFault(nil)
	if r := get(t, p.Client(), p.JWKSURL()); r.status != 200 || !bytes.Equal(r.body, normal) {
		t.Errorf("after clearing: %d %s", r.status, r.body)
	}
	if got, want := p.JWKSFetches(), int64(len(tests)+2); got != want {
		t.Errorf("JWKSFetches = %d, want %d", got, want)
	}
}

func TestFaultIsCopied(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	f := &oidctest.Fault{Status: 500, Body: []byte("abc"), Header: http.Header{"X": {"1"}}}
	p.SetJWKSFault(f)
	f.Status, f.Body[0], f.Header["X"][0] = 200, 'z', "2"
	r := get(t, p.Client(), p.JWKSURL())
	if r.status != 500 || string(r.body) != "abc" || r.header.Get("X") != "1" {
		t.Errorf("%d %s %v", r.status, r.body, r.header)
	}
}

func TestRedirectFollowed(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.Handle("/moved", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"keys":[]}`)
	}))
	p.SetJWKSFault(&oidctest.Fault{Redirect: "/moved"})
	if r := get(t, p.Client(), p.JWKSURL()); r.status != 200 || string(r.body) != `{"keys":[]}` {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestBodySizeStreaming(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	const size = 50 << 20
	p.SetJWKSFault(&oidctest.Fault{BodySize: size})
	resp, err := p.Client().Get(p.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Errorf("ContentLength = %d", resp.ContentLength)
	}
	head := make([]byte, 9)
	if _, err := io.ReadFull(resp.Body, head); err != nil || string(head) != `{"keys":[` {
		t.Fatalf("head %q %v", head, err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n+9 != size {
		t.Errorf("read %d bytes, %v", n+9, err)
	}

	// A limited reader stops early and the connection is abandoned.
	p.SetJWKSFault(&oidctest.Fault{BodySize: size, Header: http.Header{"Content-Length": {fmt.Sprint(size)}}})
	resp, err = p.Client().Get(p.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != size {
		t.Errorf("ContentLength = %d", resp.ContentLength)
	}
	n, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if n != 1<<20 {
		t.Errorf("read %d", n)
	}
}

func TestCloseConnection(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", TLS: true})
	p.SetJWKSFault(&oidctest.Fault{CloseConnection: true})
	p.SetDiscoveryFault(&oidctest.Fault{CloseConnection: true})
	for _, u := range []string{p.JWKSURL(), p.DiscoveryURL()} {
		resp, err := p.Client().Get(u)
		if err == nil {
			resp.Body.Close()
			t.Errorf("%s: got status %d, want connection error", u, resp.StatusCode)
		}
	}
	if p.JWKSFetches() < 1 || p.DiscoveryFetches() < 1 {
		t.Errorf("fetches %d %d", p.JWKSFetches(), p.DiscoveryFetches())
	}
}

func TestDelay(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.SetJWKSFault(&oidctest.Fault{Delay: 200 * time.Millisecond})
	start := time.Now()
	if r := get(t, p.Client(), p.JWKSURL()); r.status != 200 {
		t.Errorf("status %d", r.status)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("answered after %v", d)
	}

	// The client gives up: the request ends promptly.
	p.SetJWKSFault(&oidctest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", p.JWKSURL(), nil)
	start = time.Now()
	resp, err := p.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("delayed request succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if p.JWKSFetches() != 2 {
		t.Errorf("JWKSFetches = %d", p.JWKSFetches())
	}
}

func TestDiscoveryFaultAllPaths(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", IssuerPath: "/t"})
	p.SetDiscoveryFault(&oidctest.Fault{Status: 502, Body: []byte("bad gateway")})
	root := strings.TrimSuffix(p.Issuer(), "/t")
	for _, path := range []string{"/t/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/t", "/t/.well-known/oauth-authorization-server"} {
		if r := get(t, p.Client(), root+path); r.status != 502 || string(r.body) != "bad gateway" {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	// The JWKS is unaffected.
	if r := get(t, p.Client(), p.JWKSURL()); r.status != 200 {
		t.Errorf("JWKS status %d", r.status)
	}
	p.SetDiscoveryFault(nil)
	if r := get(t, p.Client(), p.DiscoveryURL()); r.status != 200 {
		t.Errorf("status %d", r.status)
	}
	if p.DiscoveryFetches() != 4 || p.JWKSFetches() != 1 {
		t.Errorf("fetches %d %d", p.DiscoveryFetches(), p.JWKSFetches())
	}
}

func TestJWKSHeader(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	h := http.Header{"Cache-Control": {"max-age=600"}, "Etag": {`"v1"`}}
	p.SetJWKSHeader(h)
	h.Set("Cache-Control", "mutated")
	r := get(t, p.Client(), p.JWKSURL())
	if r.header.Get("Cache-Control") != "max-age=600" || r.header.Get("ETag") != `"v1"` {
		t.Errorf("headers %v", r.header)
	}
	if r := get(t, p.Client(), p.DiscoveryURL()); r.header.Get("Cache-Control") != "" {
		t.Errorf("discovery got JWKS headers: %v", r.header)
	}
	p.SetJWKSFault(&oidctest.Fault{Header: http.Header{"Cache-Control": {"no-cache"}}})
	r = get(t, p.Client(), p.JWKSURL())
	if r.header.Get("Cache-Control") != "no-cache" || r.header.Get("ETag") != `"v1"` {
		t.Errorf("headers with fault %v", r.header)
	}
	p.SetJWKSFault(nil)
	p.SetJWKSHeader(nil)
	if r := get(t, p.Client(), p.JWKSURL()); r.header.Get("Cache-Control") != "" {
		t.Errorf("after clearing: %v", r.header)
	}
}

// ---- server ----

func TestTLS(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{TLS: true, Algorithm: "ES256"})
	if !strings.HasPrefix(p.Issuer(), "https://127.0.0.1:") {
		t.Fatalf("Issuer = %q", p.Issuer())
	}
	verifyToken(t, p, "ES256", "k1", p.MustMint(t, nil))
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(p.JWKSURL()); err == nil {
		resp.Body.Close()
		t.Error("untrusted client accepted the test certificate")
	}
}

func TestAddr(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0", "127.0.0.1"} {
		if p, err := oidctest.Start(oidctest.Options{Addr: addr, Algorithm: "ES256"}); err == nil {
			p.Close()
			t.Errorf("Start with Addr %q succeeded", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "127.0.0.2:0", "[::1]:0"} {
		p, err := oidctest.Start(oidctest.Options{Addr: addr, Algorithm: "ES256"})
		if err != nil {
			if addr == "[::1]:0" || addr == "127.0.0.2:0" {
				t.Logf("%s unavailable here: %v", addr, err)
				continue
			}
			t.Errorf("Start with Addr %q: %v", addr, err)
			continue
		}
		if r := get(t, p.Client(), p.JWKSURL()); r.status != 200 {
			t.Errorf("%s: status %d", addr, r.status)
		}
		p.Close()
	}
}

func TestIssuerPathValidation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "", "/": "", "t1": "/t1", "/t1/": "/t1", "/a/b": "/a/b"} {
		p := oidctest.New(t, oidctest.Options{IssuerPath: in, Algorithm: "ES256"})
		if p.IssuerPath() != want || !strings.HasSuffix(p.Issuer(), want) {
			t.Errorf("IssuerPath(%q) = %q, Issuer %q", in, p.IssuerPath(), p.Issuer())
		}
	}
	for _, bad := range []string{"/a?b", "/a#b", "/a b", "/a//b", "/a/../b", "/%2f"} {
		if p, err := oidctest.Start(oidctest.Options{IssuerPath: bad, Algorithm: "ES256"}); err == nil {
			p.Close()
			t.Errorf("IssuerPath %q accepted", bad)
		}
	}
}

func TestHandle(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256", IssuerPath: "/t"})
	p.Handle("POST "+p.IssuerPath()+"/token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "token endpoint")
	}))
	p.Handle("/t/jwks", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "shadowed")
	}))
	resp, err := p.Client().Post(p.TokenEndpoint(), "application/x-www-form-urlencoded", strings.NewReader("a=b"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "token endpoint" {
		t.Errorf("token endpoint: %d %s", resp.StatusCode, body)
	}
	if r := get(t, p.Client(), p.JWKSURL()); string(r.body) == "shadowed" {
		t.Error("Handle shadowed the JWKS")
	}
	if r := get(t, p.Client(), p.Issuer()+"/nothing"); r.status != 404 {
		t.Errorf("unknown path: %d", r.status)
	}
}

// fakeTB records Fatal calls; Fatal ends the calling goroutine like the
// real one.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	fatal    string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatal(args ...any) {
	f.mu.Lock()
	f.fatal = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }
func (f *fakeTB) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }

func runTB(fn func(tb *fakeTB)) *fakeTB {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
	for _, c := range slices.Backward(tb.cleanups) {
		c()
	}
	return tb
}

func TestNewAndMustFailures(t *testing.T) {
	t.Parallel()
	if tb := runTB(func(tb *fakeTB) { oidctest.New(tb, oidctest.Options{}, oidctest.Options{}) }); tb.fatal == "" {
		t.Error("New with two Options did not fail")
	}
	if tb := runTB(func(tb *fakeTB) { oidctest.New(tb, oidctest.Options{Algorithm: "XX"}) }); !strings.Contains(tb.fatal, "XX") {
		t.Errorf("New with bad alg: %q", tb.fatal)
	}
	var p *oidctest.Provider
	tb := runTB(func(tb *fakeTB) {
		p = oidctest.New(tb, oidctest.Options{Algorithm: "ES256"})
		p.MustMintToken(tb, oidctest.Token{KeyID: "missing"})
	})
	if !strings.Contains(tb.fatal, "missing") || len(tb.cleanups) != 1 {
		t.Errorf("MustMintToken: %q, %d cleanups", tb.fatal, len(tb.cleanups))
	}
	// The registered cleanup was Close; a second Close is harmless.
	p.Close()
}

// ---- concurrency and Close ----

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				switch (w + i) % 5 {
				case 0:
					if _, err := p.Mint(map[string]any{"i": i}); err != nil {
						t.Error(err)
					}
				case 1:
					if _, err := p.Rotate("EdDSA"); err != nil {
						t.Error(err)
					}
				case 2:
					_ = p.RemoveKey(p.ActiveKeyID())
					p.AddRawJWK(map[string]any{"kty": "x"})
				case 3:
					p.SetJWKSFault(&oidctest.Fault{Header: http.Header{"X": {"1"}}})
					p.SetDiscovery(map[string]any{"x": i})
					p.SetJWKSHeader(http.Header{"Y": {"2"}})
					p.SetDiscoveryPaths(true, i%2 == 0, true)
				case 4:
					_ = p.PublishedKeyIDs()
					_ = p.JWKS()
				}
				resp, err := p.Client().Get(p.JWKSURL())
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				resp, err = p.Client().Get(p.DiscoveryURL())
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if p.JWKSFetches() != workers*rounds || p.DiscoveryFetches() != workers*rounds {
		t.Errorf("fetches %d %d", p.JWKSFetches(), p.DiscoveryFetches())
	}
}

// TestCloseWithPendingRequests is not parallel so that it can count
// goroutines.
func TestCloseWithPendingRequests(t *testing.T) {
	before := runtime.NumGoroutine()

	p, err := oidctest.Start(oidctest.Options{Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	p.SetJWKSFault(&oidctest.Fault{Delay: time.Hour})
	p.SetDiscoveryFault(&oidctest.Fault{BodySize: 1 << 40})
	client := p.Client()

	errs := make(chan error, 2)
	go func() {
		resp, err := client.Get(p.JWKSURL())
		if err == nil {
			resp.Body.Close()
		}
		errs <- err
	}()
	// A reader that stops reading a huge body.
	resp, err := client.Get(p.DiscoveryURL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	for p.JWKSFetches() == 0 {
		time.Sleep(5 * time.Millisecond)
	}

	done := make(chan struct{})
	start := time.Now()
	go func() {
		p.Close()
		p.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung with a delayed request pending")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-errs; err == nil {
		t.Error("delayed request succeeded after Close")
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Error("huge body completed after Close")
	}

	if _, err := http.Get(p.JWKSURL()); err == nil {
		t.Error("server still answering after Close")
	}

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
