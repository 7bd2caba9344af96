package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
)

// rsaKeyBits is the size of generated RSA keys.
const rsaKeyBits = 2048

// algSpec describes how one JWS algorithm (RFC 7518 §3) signs.
type algSpec struct {
	kty   string         // JWK key type: "RSA", "EC" or "OKP"
	hash  crypto.Hash    // digest; 0 for EdDSA
	pss   bool           // RSASSA-PSS rather than PKCS #1 v1.5
	curve elliptic.Curve // for ES*
	crv   string         // JWK "crv" for EC and OKP keys
	size  int            // ES*: byte length of each of r and s
}

var algSpecs = map[string]algSpec{
	"RS256": {kty: "RSA", hash: crypto.SHA256},
	"RS384": {kty: "RSA", hash: crypto.SHA384},
	"RS512": {kty: "RSA", hash: crypto.SHA512},
	"PS256": {kty: "RSA", hash: crypto.SHA256, pss: true},
	"PS384": {kty: "RSA", hash: crypto.SHA384, pss: true},
	"PS512": {kty: "RSA", hash: crypto.SHA512, pss: true},
	"ES256": {kty: "EC", hash: crypto.SHA256, curve: elliptic.P256(), crv: "P-256", size: 32},
	"ES384": {kty: "EC", hash: crypto.SHA384, curve: elliptic.P384(), crv: "P-384", size: 48},
	"ES512": {kty: "EC", hash: crypto.SHA512, curve: elliptic.P521(), crv: "P-521", size: 66},
	"EdDSA": {kty: "OKP", crv: "Ed25519"},
}

// Algorithms returns the JWS algorithms a Provider can sign with, in a fixed
// order: RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA.
func Algorithms() []string {
	return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
}

// signingKey is one key pair held by a Provider.
type signingKey struct {
	kid    string
	alg    string
	spec   algSpec
	signer crypto.Signer
}

// generateKey creates a fresh key pair for alg. Keys are never shared
// between providers or between key ids: a test that expects a signature by
// one key to fail against another key must be able to rely on that.
func generateKey(alg string) (crypto.Signer, algSpec, error) {
	spec, ok := algSpecs[alg]
	if !ok {
		return nil, algSpec{}, fmt.Errorf("oidctest: unsupported algorithm %q (supported: %v)", alg, Algorithms())
	}
	var (
		signer crypto.Signer
		err    error
	)
	switch spec.kty {
	case "RSA":
		signer, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	case "EC":
		signer, err = ecdsa.GenerateKey(spec.curve, rand.Reader)
	case "OKP":
		_, signer, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		return nil, algSpec{}, fmt.Errorf("oidctest: generating %s key: %w", alg, err)
	}
	return signer, spec, nil
}

// sign computes the JWS signature of signingInput (the ASCII
// "base64url(header).base64url(payload)") as specified by RFC 7518 §3 and
// RFC 8037 §3.1.
func (k *signingKey) sign(signingInput []byte) ([]byte, error) {
	if k.spec.kty == "OKP" {
		return ed25519.Sign(k.signer.(ed25519.PrivateKey), signingInput), nil
	}
	h := k.spec.hash.New()
	h.Write(signingInput)
	digest := h.Sum(nil)
	switch k.spec.kty {
	case "RSA":
		priv := k.signer.(*rsa.PrivateKey)
		if k.spec.pss {
			return rsa.SignPSS(rand.Reader, priv, k.spec.hash, digest,
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: k.spec.hash})
		}
		return rsa.SignPKCS1v15(rand.Reader, priv, k.spec.hash, digest)
	case "EC":
		r, s, err := ecdsa.Sign(rand.Reader, k.signer.(*ecdsa.PrivateKey), digest)
		if err != nil {
			return nil, err
		}
		// RFC 7518 §3.4: R and S as fixed-length big-endian octet
		// strings, concatenated (not ASN.1 DER).
		sig := make([]byte, 2*k.spec.size)
		r.FillBytes(sig[:k.spec.size])
		s.FillBytes(sig[k.spec.size:])
		return sig, nil
	}
	return nil, fmt.Errorf("oidctest: key %q has unknown type %q", k.kid, k.spec.kty)
}

// publicJWK returns the public JWK (RFC 7517, RFC 7518 §6, RFC 8037 §2) of k.
func (k *signingKey) publicJWK() map[string]any {
	jwk := map[string]any{
		"kty": k.spec.kty,
		"kid": k.kid,
		"use": "sig",
		"alg": k.alg,
	}
	switch pub := k.signer.Public().(type) {
	case *rsa.PublicKey:
		jwk["n"] = b64(pub.N.Bytes())
		jwk["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		// Uncompressed SEC 1 point: 0x04 || X || Y, each coordinate
		// already padded to the curve's field size (RFC 7518 §6.2.1.2).
		pt, err := pub.Bytes()
		if err != nil {
			panic("oidctest: encoding EC public key: " + err.Error())
		}
		n := (len(pt) - 1) / 2
		jwk["crv"] = k.spec.crv
		jwk["x"] = b64(pt[1 : 1+n])
		jwk["y"] = b64(pt[1+n:])
	case ed25519.PublicKey:
		jwk["crv"] = k.spec.crv
		jwk["x"] = b64(slices.Clone(pub))
	}
	return jwk
}

// b64 is unpadded base64url (RFC 7515 §2).
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
