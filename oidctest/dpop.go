package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DPoPKey is a client's DPoP key pair (RFC 9449 §4): it makes proofs, and
// Provider.MintDPoPBound binds tokens to it.
type DPoPKey struct {
	key   signingKey
	jwk   map[string]any
	thumb string
}

// NewDPoPKey generates a fresh DPoP key for alg, one of Algorithms().
func NewDPoPKey(alg string) (*DPoPKey, error) {
	signer, spec, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	k := &DPoPKey{key: signingKey{alg: alg, spec: spec, signer: signer}}
	k.jwk = k.key.publicJWK()
	for _, m := range []string{"kid", "use", "alg"} {
		delete(k.jwk, m)
	}
	// RFC 7638 §3.2: the required members, in lexicographic order.
	var in string
	switch spec.kty {
	case "EC":
		in = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.jwk["crv"], k.jwk["x"], k.jwk["y"])
	case "RSA":
		in = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, k.jwk["e"], k.jwk["n"])
	case "OKP":
		in = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, k.jwk["crv"], k.jwk["x"])
	}
	sum := sha256.Sum256([]byte(in))
	k.thumb = b64(sum[:])
	return k, nil
}

// Alg returns the key's JWS algorithm.
func (k *DPoPKey) Alg() string { return k.key.alg }

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of the public key,
// base64url: the cnf.jkt of tokens bound to it (RFC 9449 §6.1).
func (k *DPoPKey) Thumbprint() string { return k.thumb }

// PublicJWK returns a copy of the public JWK put in proofs' headers.
func (k *DPoPKey) PublicJWK() map[string]any {
	m := make(map[string]any, len(k.jwk))
	for n, v := range k.jwk {
		m[n] = v
	}
	return m
}

// ProofOption changes a proof made by DPoPKey.Proof, mostly to make bad
// ones in tests.
type ProofOption func(*proofSettings)

type proofSettings struct {
	claims, header map[string]any
	sig            []byte
}

// WithNonce sets the nonce claim (RFC 9449 §8).
func WithNonce(nonce string) ProofOption {
	return WithProofClaims(map[string]any{"nonce": nonce})
}

// WithIssuedAt sets iat.
func WithIssuedAt(t time.Time) ProofOption { return WithProofClaims(map[string]any{"iat": t.Unix()}) }

// WithJTI sets jti (default: 16 random bytes, base64url).
func WithJTI(jti string) ProofOption { return WithProofClaims(map[string]any{"jti": jti}) }

// WithHTU sets htu verbatim (default: the url of Proof without query
// and fragment).
func WithHTU(htu string) ProofOption { return WithProofClaims(map[string]any{"htu": htu}) }

// WithProofClaims merges claims over the proof's claims; a nil value
// removes a claim.
func WithProofClaims(claims map[string]any) ProofOption {
	return func(s *proofSettings) { s.claims = overlay(s.claims, claims) }
}

// WithProofHeader merges members over the proof's header (typ, alg,
// jwk); a nil value removes one. The signature is still made with the key.
func WithProofHeader(header map[string]any) ProofOption {
	return func(s *proofSettings) { s.header = overlay(s.header, header) }
}

// WithProofSignature replaces the signature (before base64url).
func WithProofSignature(sig []byte) ProofOption {
	return func(s *proofSettings) { s.sig = sig }
}

// Proof returns a DPoP proof (RFC 9449 §4.2) for a request with method
// to url: typ dpop+jwt, the key's alg and public jwk, and the claims jti
// (random), htm, htu (url without query and fragment), iat (now) and,
// when accessToken is not empty, ath = base64url(SHA-256(accessToken)).
func (k *DPoPKey) Proof(method, url, accessToken string, opts ...ProofOption) (string, error) {
	htu := url
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	var jti [16]byte
	rand.Read(jti[:]) //nolint:errcheck // never fails
	s := proofSettings{
		header: map[string]any{"typ": "dpop+jwt", "alg": k.key.alg, "jwk": k.PublicJWK()},
		claims: map[string]any{"jti": b64(jti[:]), "htm": method, "htu": htu, "iat": time.Now().Unix()},
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		s.claims["ath"] = b64(sum[:])
	}
	for _, o := range opts {
		o(&s)
	}
	h, err := json.Marshal(s.header)
	if err != nil {
		return "", fmt.Errorf("oidctest: marshalling proof header: %w", err)
	}
	c, err := json.Marshal(s.claims)
	if err != nil {
		return "", fmt.Errorf("oidctest: marshalling proof claims: %w", err)
	}
	in := b64(h) + "." + b64(c)
	sig := s.sig
	if sig == nil {
		if sig, err = k.key.sign([]byte(in)); err != nil {
			return "", err
		}
	}
	return in + "." + b64(sig), nil
}

// MintDPoPBound mints a token bound to key: claims with
// "cnf": {"jkt": key.Thumbprint()} (RFC 9449 §6.1), as Mint does.
func (p *Provider) MintDPoPBound(key *DPoPKey, claims map[string]any) (string, error) {
	return p.Mint(overlay(overlay(nil, claims), map[string]any{"cnf": map[string]any{"jkt": key.Thumbprint()}}))
}

// CertificateThumbprint returns the x5t#S256 of cert: base64url of the
// SHA-256 of its DER (RFC 8705 §3.1).
func CertificateThumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return b64(sum[:])
}

// MintCertificateBound mints a token bound to the client certificate
// cert: claims with "cnf": {"x5t#S256": CertificateThumbprint(cert)}
// (RFC 8705 §3.1), as Mint does.
func (p *Provider) MintCertificateBound(cert *x509.Certificate, claims map[string]any) (string, error) {
	return p.Mint(overlay(overlay(nil, claims), map[string]any{"cnf": map[string]any{"x5t#S256": CertificateThumbprint(cert)}}))
}

// overlay returns a copy of base with over's members set (nil removes).
func overlay(base, over map[string]any) map[string]any {
	m := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}
