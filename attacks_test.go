package oidcauth_test

// The attack catalogue: every known way to get a JWT validator to accept
// what it must not, or to misbehave on hostile input, with its source and
// the exact expected outcome. Sources:
//
//	RFC8725   JSON Web Token Best Current Practices (and draft-ietf-oauth-rfc8725bis)
//	RFC7515   JWS (§4.1.11 crit, §5.2 validation)  RFC7519 JWT  RFC7518 JWA
//	RFC9068   JWT profile for access tokens        RFC6750 bearer tokens
//	OIDC      OpenID Connect Core 3.1.3.7, Discovery §4.3; RP conformance tests
//	OWASP     JSON Web Token cheat sheet
//	CVE-…     advisories of jwx, go-jose, golang-jwt, go-oidc and others
//
// SECURITY.md summarises the guarantees; this file is their proof.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

type attack struct {
	name   string
	source string
	token  func(p *attackRig) string
	want   error
}

// attackRig is a provider with one RS256 key (the active key), one ES256
// key and one EdDSA key, all published, and an Authorizer that accepts
// RS256, ES256 and EdDSA.
type attackRig struct {
	t                   *testing.T
	p                   *oidctest.Provider
	a                   *oidcauth.Authorizer
	kidRS, kidES, kidEd string
	good                string // a valid RS256 token
	attacker            *httptest.Server
	attackerHits        atomic.Int64
}

func newAttackRig(t *testing.T) *attackRig {
	r := &attackRig{t: t}
	r.attacker = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.attackerHits.Add(1)
		w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(r.attacker.Close)
	r.p, r.a = newPair(t, oidcauth.Config{Algorithms: []string{"RS256", "ES256", "EdDSA"}})
	r.kidRS = r.p.ActiveKeyID()
	var err error
	if r.kidES, err = r.p.AddKey("ES256"); err != nil {
		t.Fatal(err)
	}
	if r.kidEd, err = r.p.AddKey("EdDSA"); err != nil {
		t.Fatal(err)
	}
	if err := r.a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.good = r.p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	return r
}

func (r *attackRig) parts() []string { return strings.Split(r.good, ".") }

func (r *attackRig) mint(tok oidctest.Token) string {
	r.t.Helper()
	if tok.Claims == nil && tok.RawPayload == nil {
		tok.Claims = map[string]any{"aud": "api", "sub": "alice"}
	}
	return r.p.MustMintToken(r.t, tok)
}

// withHeader re-encodes the good token's payload and signature under a
// different raw header.
func (r *attackRig) withHeader(h string) string {
	p := r.parts()
	return b64(h) + "." + p[1] + "." + p[2]
}

// TestAttacksToken is the catalogue for token parsing and signatures.
func TestAttacksToken(t *testing.T) {
	r := newAttackRig(t)
	pemPub := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(r.p.PublicKey(r.kidRS))
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	attackerEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attackerSign := func(input string) string {
		h := sha256.Sum256([]byte(input))
		rr, ss, _ := ecdsa.Sign(rand.Reader, attackerEC, h[:])
		sig := make([]byte, 64)
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	attackerJWK := func() string {
		b, _ := attackerEC.PublicKey.Bytes()
		return `{"kty":"EC","crv":"P-256","x":"` + base64.RawURLEncoding.EncodeToString(b[1:33]) + `","y":"` + base64.RawURLEncoding.EncodeToString(b[33:]) + `"}`
	}
	claims := func() string { return r.parts()[1] }
	order := elliptic.P256().Params().N.Bytes()
	attacks := []attack{
		// alg "none" and its spellings (RFC 8725 §2.1, §3.1; CVE-2015-9235).
		{"alg none with a signature", "RFC8725 §3.1", func(r *attackRig) string { return r.withHeader(`{"alg":"none"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg none, empty signature", "RFC8725 §2.1", func(r *attackRig) string { return b64(`{"alg":"none"}`) + "." + claims() + "." }, oidcauth.ErrMalformedToken},
		{"alg None", "CVE-2015-9235", func(r *attackRig) string { return r.withHeader(`{"alg":"None","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg NONE", "CVE-2015-9235", func(r *attackRig) string { return r.withHeader(`{"alg":"NONE"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg nOnE", "CVE-2015-9235", func(r *attackRig) string { return r.withHeader(`{"alg":"nOnE"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg empty", "RFC7515 §4.1.1", func(r *attackRig) string { return r.withHeader(`{"alg":""}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg missing", "RFC7515 §4.1.1", func(r *attackRig) string { return r.withHeader(`{"kid":"` + r.kidRS + `"}`) }, oidcauth.ErrInvalidHeader},
		{"alg null", "RFC7515 §4.1.1", func(r *attackRig) string { return r.withHeader(`{"alg":null}`) }, oidcauth.ErrInvalidHeader},
		{"alg array", "RFC7515 §4.1.1", func(r *attackRig) string { return r.withHeader(`{"alg":["RS256"]}`) }, oidcauth.ErrInvalidHeader},
		{"alg with escapes", "RFC7515 §4.1.1", func(r *attackRig) string { return r.withHeader(`{"alg":"RS\u0032\u00356","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrInvalidHeader},
		{"alg lower case rs256", "RFC7515 §4.1.1 (case-sensitive)", func(r *attackRig) string { return r.withHeader(`{"alg":"rs256","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"alg homoglyph (Cyrillic S)", "OWASP", func(r *attackRig) string { return r.withHeader(`{"alg":"RЅ256","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"ALG case variant only", "RFC7515 §4 (exact names)", func(r *attackRig) string { return r.withHeader(`{"ALG":"RS256","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrInvalidHeader},
		{"duplicate alg: none then RS256", "RFC7515 §4, RFC8725 §3.?", func(r *attackRig) string {
			return r.withHeader(`{"alg":"none","alg":"RS256","kid":"` + r.kidRS + `"}`)
		}, oidcauth.ErrMalformedToken},
		// Algorithm confusion (RFC 8725 §2.1, §3.1; CVE-2016-5431, CVE-2016-10555, CVE-2022-29217).
		{"HS256 keyed with the JWKS", "CVE-2016-10555", func(r *attackRig) string {
			return hs256Token(b64(`{"alg":"HS256","kid":"`+r.kidRS+`"}`)+"."+claims(), r.p.JWKS())
		}, oidcauth.ErrUnsupportedAlgorithm},
		{"HS256 keyed with the PEM public key", "CVE-2016-5431", func(r *attackRig) string {
			return hs256Token(b64(`{"alg":"HS256","kid":"`+r.kidRS+`"}`)+"."+claims(), pemPub())
		}, oidcauth.ErrUnsupportedAlgorithm},
		{"HS384 without kid", "CVE-2022-29217", func(r *attackRig) string { return r.withHeader(`{"alg":"HS384"}`) }, oidcauth.ErrUnsupportedAlgorithm},
		{"ES256 token naming the RSA kid", "RFC8725 §3.1", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidES, Header: map[string]any{"kid": r.kidRS}})
		}, oidcauth.ErrUnknownKey},
		{"RS256 token naming the EC kid", "RFC8725 §3.1", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"kid": r.kidES}})
		}, oidcauth.ErrUnknownKey},
		{"EdDSA token naming the EC kid", "RFC8725 §3.1", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidEd, Header: map[string]any{"kid": r.kidES}})
		}, oidcauth.ErrUnknownKey},
		{"PS256 on a key pinned to RS256", "RFC7517 §4.4", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"alg": "PS256"}})
		}, oidcauth.ErrUnsupportedAlgorithm},
		// Keys from the token itself (RFC 8725 §3.10; CVE-2018-0114).
		{"embedded jwk of the attacker", "CVE-2018-0114", func(r *attackRig) string {
			return attackerSign(b64(`{"alg":"ES256","jwk":`+attackerJWK()+`}`) + "." + claims())
		}, oidcauth.ErrInvalidSignature},
		{"embedded jwk with the provider's kid", "CVE-2018-0114", func(r *attackRig) string {
			return attackerSign(b64(`{"alg":"ES256","kid":"`+r.kidES+`","jwk":`+attackerJWK()+`}`) + "." + claims())
		}, oidcauth.ErrInvalidSignature},
		{"jku to the attacker", "RFC8725 §3.10", func(r *attackRig) string {
			return attackerSign(b64(`{"alg":"ES256","kid":"evil","jku":"`+r.attacker.URL+`"}`) + "." + claims())
		}, errKIDUnknown},
		{"x5u to the attacker", "RFC8725 §3.10", func(r *attackRig) string {
			return attackerSign(b64(`{"alg":"ES256","x5u":"`+r.attacker.URL+`"}`) + "." + claims())
		}, oidcauth.ErrInvalidSignature},
		{"x5c of the attacker", "OWASP", func(r *attackRig) string {
			return attackerSign(b64(`{"alg":"ES256","x5c":["MIIB"]}`) + "." + claims())
		}, oidcauth.ErrInvalidSignature},
		// kid injection (OWASP: path traversal, SQL injection through kid).
		{"kid path traversal", "OWASP", func(r *attackRig) string {
			return hs256Token(b64(`{"alg":"HS256","kid":"../../../../dev/null"}`)+"."+claims(), nil)
		}, oidcauth.ErrUnsupportedAlgorithm},
		{"kid SQL injection", "OWASP", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"kid": "x' UNION SELECT 'key"}})
		}, errKIDUnknown},
		{"kid not a string", "RFC7515 §4.1.4", func(r *attackRig) string { return r.withHeader(`{"alg":"RS256","kid":1}`) }, oidcauth.ErrInvalidHeader},
		// ECDSA signature forgeries (CVE-2022-21449 "psychic signatures").
		{"ECDSA r = s = 0", "CVE-2022-21449", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidES, Signature: make([]byte, 64)})
		}, oidcauth.ErrInvalidSignature},
		{"ECDSA r = s = n", "CVE-2022-21449", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidES, Signature: append(append([]byte{}, order...), order...)})
		}, oidcauth.ErrInvalidSignature},
		{"ECDSA r = 1, s = 1", "RFC7518 §3.4", func(r *attackRig) string {
			sig := make([]byte, 64)
			sig[31], sig[63] = 1, 1
			return r.mint(oidctest.Token{KeyID: r.kidES, Signature: sig})
		}, oidcauth.ErrInvalidSignature},
		{"ECDSA ASN.1 DER signature", "RFC7518 §3.4", func(r *attackRig) string {
			tok := r.mint(oidctest.Token{KeyID: r.kidES})
			raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[2])
			der := derSig(raw)
			p := strings.Split(tok, ".")
			return p[0] + "." + p[1] + "." + base64.RawURLEncoding.EncodeToString(der)
		}, oidcauth.ErrInvalidSignature},
		{"ECDSA signature one byte short", "RFC7518 §3.4", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidES, Signature: make([]byte, 63)})
		}, oidcauth.ErrInvalidSignature},
		{"Ed25519 zero signature", "RFC8032 §5.1.7", func(r *attackRig) string {
			return r.mint(oidctest.Token{KeyID: r.kidEd, Signature: make([]byte, 64)})
		}, oidcauth.ErrInvalidSignature},
		{"RSA signature with a leading zero byte stripped", "RFC8017 §8.2.2", func(r *attackRig) string {
			return r.parts()[0] + "." + r.parts()[1] + "." + truncate(r.parts()[2], 1)
		}, oidcauth.ErrInvalidSignature},
		{"RSA signature of zeros", "RFC8017 §8.2.2", func(r *attackRig) string {
			return r.mint(oidctest.Token{Signature: make([]byte, 256)})
		}, oidcauth.ErrInvalidSignature},
		// Signature and claims order (RFC 8725 §3.3; CVE-2024-51744).
		{"expired and badly signed: signature error first", "CVE-2024-51744", func(r *attackRig) string {
			return r.parts()[0] + "." + b64(`{"iss":"`+r.p.Issuer()+`","aud":"api","exp":1}`) + "." + r.parts()[2]
		}, oidcauth.ErrInvalidSignature},
		{"wrong audience and badly signed", "RFC8725 §3.3", func(r *attackRig) string {
			return r.parts()[0] + "." + b64(`{"iss":"`+r.p.Issuer()+`","aud":"x","exp":4000000000}`) + "." + r.parts()[2]
		}, oidcauth.ErrInvalidSignature},
		{"payload swapped, signature kept", "RFC7515 §5.2", func(r *attackRig) string {
			return r.parts()[0] + "." + b64(`{"iss":"`+r.p.Issuer()+`","aud":"api","sub":"admin","exp":4000000000}`) + "." + r.parts()[2]
		}, oidcauth.ErrInvalidSignature},
		{"header swapped to RS384, signature kept", "RFC7515 §5.2", func(r *attackRig) string {
			return r.withHeader(`{"alg":"RS256","kid":"` + r.kidRS + `","x":1}`)
		}, oidcauth.ErrInvalidSignature},
		// Header parameters that change the meaning (RFC 7515 §4.1.11, RFC 7797, RFC 7519 §5.2).
		{"crit with an unknown extension", "RFC7515 §4.1.11", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"crit": []string{"http://evil/ext"}, "http://evil/ext": true}})
		}, oidcauth.ErrInvalidHeader},
		{"crit empty array", "RFC7515 §4.1.11", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"crit": []string{}}})
		}, oidcauth.ErrInvalidHeader},
		{"b64 false (unencoded payload)", "RFC7797 §3", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"b64": false, "crit": []string{"b64"}}})
		}, oidcauth.ErrInvalidHeader},
		{"cty JWT (nested token)", "RFC7519 §5.2", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"cty": "JWT"}})
		}, oidcauth.ErrInvalidHeader},
		{"zip in a JWS", "RFC7516 §4.1.3", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"zip": "DEF"}})
		}, oidcauth.ErrInvalidHeader},
		{"enc in a JWS (JWE confusion)", "RFC8725 §2.8", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"enc": "A128GCM"}})
		}, oidcauth.ErrInvalidHeader},
		{"typ of a logout token", "RFC8725 §3.11", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"typ": "logout+jwt"}})
		}, oidcauth.ErrInvalidHeader},
		{"typ of a DPoP proof", "RFC9449 §4.2", func(r *attackRig) string {
			return r.mint(oidctest.Token{Header: map[string]any{"typ": "dpop+jwt"}})
		}, oidcauth.ErrInvalidHeader},
		// Shape and encoding (RFC 7515 §7.1, RFC 4648 §3.5; CVE-2025-30204).
		{"JWE compact (five parts)", "RFC8725 §2.8", func(r *attackRig) string { return "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..aaaa.bbbb.cccc" }, oidcauth.ErrMalformedToken},
		{"JWS JSON serialization", "RFC7515 §7.2", func(r *attackRig) string { return `{"payload":"` + claims() + `","signatures":[]}` }, oidcauth.ErrMalformedToken},
		{"a megabyte of dots", "CVE-2025-30204", func(r *attackRig) string { return strings.Repeat(".", 1<<20) }, oidcauth.ErrMalformedToken},
		{"16 KiB + 1 of base64", "RFC8725 §3.? (size)", func(r *attackRig) string { return strings.Repeat("A", 16<<10+1) }, oidcauth.ErrMalformedToken},
		{"trailing dot", "RFC7515 §7.1", func(r *attackRig) string { return r.good + "." }, oidcauth.ErrMalformedToken},
		{"leading dot", "RFC7515 §7.1", func(r *attackRig) string { return "." + r.good }, oidcauth.ErrMalformedToken},
		{"padding in the signature", "RFC7515 §2", func(r *attackRig) string { return r.good + "==" }, oidcauth.ErrMalformedToken},
		{"standard base64 alphabet", "RFC7515 §2", func(r *attackRig) string { return strings.NewReplacer("-", "+", "_", "/").Replace(r.good) + "+/" }, oidcauth.ErrMalformedToken},
		{"CR LF inside", "RFC4648 §3.3", func(r *attackRig) string { return r.good[:20] + "\r\n" + r.good[20:] }, oidcauth.ErrMalformedToken},
		{"NUL byte inside", "RFC4648 §3.3", func(r *attackRig) string { return r.good[:20] + "\x00" + r.good[20:] }, oidcauth.ErrMalformedToken},
		{"non-canonical trailing bits in the header", "RFC4648 §3.5", func(r *attackRig) string { return nonCanonical(r.parts()[0]) + "." + r.parts()[1] + "." + r.parts()[2] }, oidcauth.ErrMalformedToken},
		{"header with a byte-order mark", "RFC8259 §8.1", func(r *attackRig) string { return r.withHeader("\ufeff" + `{"alg":"RS256","kid":"` + r.kidRS + `"}`) }, oidcauth.ErrMalformedToken},
		{"header with invalid UTF-8", "RFC8259 §8.1", func(r *attackRig) string { return r.withHeader(`{"alg":"RS256","kid":"` + r.kidRS + "\xff" + `"}`) }, oidcauth.ErrMalformedToken},
		{"header not an object", "RFC7515 §4", func(r *attackRig) string { return r.withHeader(`["RS256"]`) }, oidcauth.ErrMalformedToken},
		{"header nested 100 deep", "RFC8259 §9", func(r *attackRig) string {
			return r.withHeader(`{"alg":"RS256","x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)
		}, oidcauth.ErrMalformedToken},
	}
	runAttacks(t, r, attacks)
	if n := r.attackerHits.Load(); n != 0 {
		t.Errorf("the attacker's server was fetched %d times; jku/x5u must never be followed", n)
	}
}

// derSig re-encodes a raw r||s ECDSA signature as ASN.1 DER.
func derSig(raw []byte) []byte {
	n := len(raw) / 2
	enc := func(b []byte) []byte {
		v := new(big.Int).SetBytes(b).Bytes()
		if len(v) == 0 || v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{2, byte(len(v))}, v...)
	}
	body := append(enc(raw[:n]), enc(raw[n:])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func runAttacks(t *testing.T, r *attackRig, attacks []attack) {
	t.Helper()
	seen := map[string]bool{}
	for _, at := range attacks {
		if seen[at.name] {
			t.Fatalf("duplicate case name %q", at.name)
		}
		seen[at.name] = true
		t.Run(at.name, func(t *testing.T) {
			r.t = t
			_, err := r.a.Validate(context.Background(), at.token(r))
			if !isErr(err, at.want) || (at.want == nil && err != nil) {
				t.Fatalf("[%s] Validate() error = %v, want %v", at.source, err, at.want)
			}
		})
	}
}

// TestAttacksClaims is the catalogue for the claims set. Every payload is
// correctly signed by the provider: these are the claims a compromised or
// sloppy issuer component, or a confused parser, could produce.
func TestAttacksClaims(t *testing.T) {
	r := newAttackRig(t)
	iss := r.p.Issuer()
	raw := func(s string) func(*attackRig) string {
		return func(r *attackRig) string { return r.mint(oidctest.Token{RawPayload: []byte(s)}) }
	}
	const exp = `"exp":1800003600`
	issM := `"iss":"` + iss + `"`
	attacks := []attack{
		{"baseline", "-", raw(`{` + issM + `,"aud":"api",` + exp + `}`), nil},
		// aud type confusion (RFC 7519 §4.1.3; CVE-2020-26160).
		{"aud array with the audience", "RFC7519 §4.1.3", raw(`{` + issM + `,"aud":["x","api"],` + exp + `}`), nil},
		{"aud empty array", "CVE-2020-26160", raw(`{` + issM + `,"aud":[],` + exp + `}`), oidcauth.ErrInvalidAudience},
		{"aud empty string", "CVE-2020-26160", raw(`{` + issM + `,"aud":"",` + exp + `}`), oidcauth.ErrInvalidAudience},
		{"aud null", "CVE-2020-26160", raw(`{` + issM + `,"aud":null,` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"aud number", "RFC7519 §4.1.3", raw(`{` + issM + `,"aud":1,` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"aud nested array", "RFC7519 §4.1.3", raw(`{` + issM + `,"aud":[["api"]],` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"aud object", "RFC7519 §4.1.3", raw(`{` + issM + `,"aud":{"api":1},` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"aud mixed array", "RFC7519 §4.1.3", raw(`{` + issM + `,"aud":["api",true],` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"aud prefix of the audience", "OIDC 3.1.3.7 (3)", raw(`{` + issM + `,"aud":"ap",` + exp + `}`), oidcauth.ErrInvalidAudience},
		{"aud with NUL suffix", "OWASP", raw(`{` + issM + `,"aud":"api\u0000",` + exp + `}`), oidcauth.ErrInvalidAudience},
		{"AUD case variant only", "RFC7519 §4 (exact names)", raw(`{` + issM + `,"AUD":"api",` + exp + `}`), oidcauth.ErrInvalidAudience},
		{"Aud variant beside a wrong aud", "RFC7519 §4", raw(`{` + issM + `,"aud":"x","Aud":"api",` + exp + `}`), oidcauth.ErrInvalidAudience},
		// iss (OIDC 3.1.3.7 (2); RFC 8725 §3.8).
		{"iss missing", "RFC8725 §3.8", raw(`{"aud":"api",` + exp + `}`), oidcauth.ErrInvalidIssuer},
		{"iss of another tenant", "RFC8725 §3.8", raw(`{"iss":"https://login.example/other","aud":"api",` + exp + `}`), oidcauth.ErrInvalidIssuer},
		{"iss upper-cased scheme", "OIDC 3.1.3.7 (2) exact match", raw(`{"iss":"` + strings.ToUpper(iss[:4]) + iss[4:] + `","aud":"api",` + exp + `}`), oidcauth.ErrInvalidIssuer},
		{"iss with trailing slash", "OIDC 3.1.3.7 (2)", raw(`{"iss":"` + iss + `/","aud":"api",` + exp + `}`), oidcauth.ErrInvalidIssuer},
		{"iss array", "RFC7519 §4.1.1", raw(`{"iss":["` + iss + `"],"aud":"api",` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"iss escaped slashes (same string)", "RFC8259 §7", raw(`{"iss":"` + strings.ReplaceAll(iss, "/", `\/`) + `","aud":"api",` + exp + `}`), nil},
		{"ISS case variant only", "RFC7519 §4", raw(`{"ISS":"` + iss + `","aud":"api",` + exp + `}`), oidcauth.ErrInvalidIssuer},
		// Dates (RFC 7519 §2 NumericDate, §4.1.4).
		{"exp missing", "RFC9068 §2.2", raw(`{` + issM + `,"aud":"api"}`), oidcauth.ErrInvalidClaims},
		{"exp string", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":"1800003600"}`), oidcauth.ErrInvalidClaims},
		{"exp null", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":null}`), oidcauth.ErrInvalidClaims},
		{"exp true", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":true}`), oidcauth.ErrInvalidClaims},
		{"exp array", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":[1800003600]}`), oidcauth.ErrInvalidClaims},
		{"exp negative", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":-1}`), oidcauth.ErrInvalidClaims},
		{"exp 1e20", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":1e20}`), oidcauth.ErrInvalidClaims},
		{"exp 1e400 (overflow)", "RFC8259 §6", raw(`{` + issM + `,"aud":"api","exp":1e400}`), oidcauth.ErrInvalidClaims},
		{"exp fractional", "RFC7519 §2", raw(`{` + issM + `,"aud":"api","exp":1800003600.25}`), nil},
		{"exp exponent form", "RFC8259 §6", raw(`{` + issM + `,"aud":"api","exp":1.8000036e9}`), nil},
		{"exp past", "RFC7519 §4.1.4", raw(`{` + issM + `,"aud":"api","exp":1799999000}`), oidcauth.ErrTokenExpired},
		{"exp with leading zero", "RFC8259 §6", raw(`{` + issM + `,"aud":"api","exp":01800003600}`), oidcauth.ErrInvalidClaims},
		{"exp hex", "RFC8259 §6", raw(`{` + issM + `,"aud":"api","exp":0x6B49D200}`), oidcauth.ErrInvalidClaims},
		{"exp NaN", "RFC8259 §6", raw(`{` + issM + `,"aud":"api","exp":NaN}`), oidcauth.ErrInvalidClaims},
		{"Exp case variant only", "RFC7519 §4", raw(`{` + issM + `,"aud":"api","Exp":1800003600}`), oidcauth.ErrInvalidClaims},
		{"nbf in the future", "RFC7519 §4.1.5", raw(`{` + issM + `,"aud":"api",` + exp + `,"nbf":1800000600}`), oidcauth.ErrTokenNotYetValid},
		{"nbf string", "RFC7519 §2", raw(`{` + issM + `,"aud":"api",` + exp + `,"nbf":"0"}`), oidcauth.ErrInvalidClaims},
		{"iat in the future", "RFC7519 §4.1.6", raw(`{` + issM + `,"aud":"api",` + exp + `,"iat":1800000600}`), oidcauth.ErrTokenIssuedInFuture},
		{"iat null", "RFC7519 §2", raw(`{` + issM + `,"aud":"api",` + exp + `,"iat":null}`), oidcauth.ErrInvalidClaims},
		// Duplicate and case-variant members (RFC 7519 §4, RFC 8259 §4, RFC 8725 §3.?).
		{"duplicate exp: expired then valid", "RFC7519 §4", raw(`{` + issM + `,"aud":"api","exp":1,` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"duplicate aud", "RFC7519 §4", raw(`{` + issM + `,"aud":"x","aud":"api",` + exp + `}`), oidcauth.ErrInvalidClaims},
		{"duplicate sub via escape", "RFC8259 §4", raw(`{` + issM + `,"aud":"api",` + exp + `,"sub":"a","\u0073ub":"admin"}`), oidcauth.ErrInvalidClaims},
		{"duplicate inside a custom claim", "RFC8259 §4", raw(`{` + issM + `,"aud":"api",` + exp + `,"x":{"role":"user","role":"admin"}}`), oidcauth.ErrInvalidClaims},
		// Types of the other registered claims (RFC 7519 §4.1, RFC 9068 §2.2).
		{"sub number", "RFC7519 §4.1.2", raw(`{` + issM + `,"aud":"api",` + exp + `,"sub":1}`), oidcauth.ErrInvalidClaims},
		{"jti object", "RFC7519 §4.1.7", raw(`{` + issM + `,"aud":"api",` + exp + `,"jti":{}}`), oidcauth.ErrInvalidClaims},
		{"client_id array", "RFC9068 §2.2", raw(`{` + issM + `,"aud":"api",` + exp + `,"client_id":["a"]}`), oidcauth.ErrInvalidClaims},
		{"scope array", "RFC8693 §4.2", raw(`{` + issM + `,"aud":"api",` + exp + `,"scope":["admin"]}`), oidcauth.ErrInvalidClaims},
		{"scp array of objects", "RFC9068 §2.2.3", raw(`{` + issM + `,"aud":"api",` + exp + `,"scp":[{"admin":true}]}`), oidcauth.ErrInvalidClaims},
		// Malformed claims JSON (RFC 8259).
		{"claims array", "RFC7519 §7.2", raw(`[{` + issM + `}]`), oidcauth.ErrInvalidClaims},
		{"claims string", "RFC7519 §7.2", raw(`"` + iss + `"`), oidcauth.ErrInvalidClaims},
		{"claims trailing garbage", "RFC8259 §2", raw(`{` + issM + `,"aud":"api",` + exp + `}{}`), oidcauth.ErrInvalidClaims},
		{"claims trailing comma", "RFC8259 §4", raw(`{` + issM + `,"aud":"api",` + exp + `,}`), oidcauth.ErrInvalidClaims},
		{"claims single quotes", "RFC8259 §7", raw(`{'iss':'` + iss + `'}`), oidcauth.ErrInvalidClaims},
		{"claims invalid UTF-8", "RFC8259 §8.1", raw(`{` + issM + `,"aud":"api",` + exp + `,"name":"` + "\xc3\x28" + `"}`), oidcauth.ErrInvalidClaims},
		{"claims lone surrogate", "RFC8259 §8.2", raw(`{` + issM + `,"aud":"api",` + exp + `,"name":"\ud800"}`), oidcauth.ErrInvalidClaims},
		{"claims nested 1000 deep", "RFC8259 §9", raw(`{` + issM + `,"aud":"api",` + exp + `,"x":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`), oidcauth.ErrInvalidClaims},
		{"claims with comments", "RFC8259", raw(`{` + issM + `,"aud":"api",` + exp + `/* admin */}`), oidcauth.ErrInvalidClaims},
		{"claims empty", "RFC7515 §7.1", raw(``), oidcauth.ErrMalformedToken},
	}
	runAttacks(t, r, attacks)
}

// TestAttacksAllocation checks that a hostile token never costs more than
// a small multiple of its own size (at most MaxTokenSize), whatever the
// rejection: at most 4 bytes per token byte plus 8 KiB.
func TestAttacksAllocation(t *testing.T) {
	r := newAttackRig(t)
	big := strings.Repeat("A", 8000)
	tokens := map[string]string{
		"megabyte of dots":       strings.Repeat(".", 1<<20),
		"16 KiB of base64":       strings.Repeat("A", 16<<10),
		"huge header":            b64(`{"alg":"RS256","x":"`+big+`"}`) + ".e30.AAAA",
		"huge kid":               b64(`{"alg":"RS256","kid":"`+big+`"}`) + ".e30.AAAA",
		"huge signature":         r.parts()[0] + "." + r.parts()[1] + "." + strings.Repeat("A", 10000),
		"deeply nested header":   b64(`{"alg":"RS256","x":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)+`}`) + ".e30.AAAA",
		"many members in header": b64(`{"alg":"RS256"`+strings.Repeat(`,"a":1`, 1)+manyMembers(1000)+`}`) + ".e30.AAAA",
	}
	for name, tok := range tokens {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		const runs = 20
		for range runs {
			if _, err := r.a.Validate(context.Background(), tok); err == nil {
				t.Fatalf("%s: accepted", name)
			}
		}
		runtime.ReadMemStats(&ms1)
		per := (ms1.TotalAlloc - ms0.TotalAlloc) / runs
		// The documented bound: 4 bytes per byte of (size-limited) token,
		// plus 8 KiB.
		limit := uint64(min(len(tok), 16<<10))*4 + 8<<10
		if per > limit {
			t.Errorf("%s (%d bytes): %d bytes allocated per Validate, want at most %d", name, len(tok), per, limit)
		}
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`,"m`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(big.NewInt(int64(i)).String())
		b.WriteString(`":0`)
	}
	return b.String()
}

// TestAttacksMiddleware is the catalogue for the HTTP layer (RFC 6750).
func TestAttacksMiddleware(t *testing.T) {
	p, a := newPair(t, oidcauth.Config{Realm: "api\"\r\nSet-Cookie: x=1\\ é"})
	q, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: fixedNow, Logger: quietLogger(), InsecureAllowQueryToken: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	good := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice"})
	const realm = `Bearer realm="api\"Set-Cookie: x=1\\ "`
	tests := []struct {
		name, source string
		a            *oidcauth.Authorizer
		url          string
		headers      []string
		status       int
		challenge    string
	}{
		{"realm cannot break the header", "RFC9110 §5.6.4", a, "/", nil, 401, realm},
		{"token in the query is ignored by default", "RFC6750 §2.3", a, "/?access_token=" + good, nil, 401, realm},
		{"query token accepted when opted in", "RFC6750 §2.3", q, "/?access_token=" + good, nil, 200, ""},
		{"token in header and query", "RFC6750 §2", q, "/?access_token=" + good, []string{"Bearer " + good}, 400, `Bearer realm="api", error="invalid_request", error_description="the request is malformed"`},
		{"token twice in the query", "RFC6750 §2", q, "/?access_token=" + good + "&access_token=" + good, nil, 400, `Bearer realm="api", error="invalid_request", error_description="the request is malformed"`},
		{"empty query token", "RFC6750 §2.3", q, "/?access_token=", nil, 400, `Bearer realm="api", error="invalid_request", error_description="the request is malformed"`},
		{"two Authorization headers", "RFC6750 §2", a, "/", []string{"Bearer " + good, "Bearer x"}, 400, realm + `, error="invalid_request", error_description="the request is malformed"`},
		{"tab after Bearer", "RFC6750 §2.1", a, "/", []string{"Bearer\t" + good}, 400, realm + `, error="invalid_request", error_description="the request is malformed"`},
		{"quote in the token", "RFC6750 §2.1", a, "/", []string{`Bearer a"b`}, 400, realm + `, error="invalid_request", error_description="the request is malformed"`},
		{"non-ASCII in the token", "RFC6750 §2.1", a, "/", []string{"Bearer aé"}, 400, realm + `, error="invalid_request", error_description="the request is malformed"`},
		{"token of a megabyte", "CVE-2025-30204", a, "/", []string{"Bearer " + strings.Repeat("a", 1<<20)}, 401, realm + `, error="invalid_token", error_description="the token is invalid"`},
		{"token of dots only", "CVE-2025-30204", a, "/", []string{"Bearer " + strings.Repeat(".", 1000)}, 401, realm + `, error="invalid_token", error_description="the token is invalid"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tt.url, nil)
			for _, h := range tt.headers {
				req.Header.Add("Authorization", h)
			}
			rec := httptest.NewRecorder()
			tt.a.Required(echo).ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Errorf("[%s] status = %d, want %d", tt.source, rec.Code, tt.status)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("[%s] WWW-Authenticate = %s, want %s", tt.source, got, tt.challenge)
			}
			if strings.ContainsAny(rec.Header().Get("WWW-Authenticate"), "\r\n") || len(rec.Header().Values("Set-Cookie")) > 0 {
				t.Errorf("[%s] header injection: %q", tt.source, rec.Header())
			}
			if tt.status != 200 && strings.Contains(rec.Body.String(), good[:40]) {
				t.Errorf("[%s] the body echoes the token", tt.source)
			}
		})
	}
}

// TestInsufficientScopeAnswer checks the 403 challenge of RFC 6750 §3.1.
func TestInsufficientScopeAnswer(t *testing.T) {
	_, a := newPair(t, oidcauth.Config{})
	rec := httptest.NewRecorder()
	a.WriteError(rec, httptest.NewRequest("GET", "/", nil), &oidcauth.ValidationError{Err: oidcauth.ErrInsufficientScope, Scope: `read:orders "admin"`})
	want := `Bearer realm="api", error="insufficient_scope", error_description="the token does not grant the required scope", scope="read:orders \"admin\""`
	if rec.Code != 403 || rec.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("got %d %s, want 403 %s", rec.Code, rec.Header().Get("WWW-Authenticate"), want)
	}
}
