package oidcauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// algorithm is a JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1,
// RFC 9864 §2.2). "none" is deliberately absent. HMAC algorithms exist only
// for Config.HMACSecret: no key of a provider's key set ever fits them
// (RFC 8725 §3.1, §3.2).
type algorithm uint8

const (
	algUnknown algorithm = iota
	algRS256
	algRS384
	algRS512
	algPS256
	algPS384
	algPS512
	algES256
	algES384
	algES512
	algEdDSA
	algEd25519
	algHS256
	algHS384
	algHS512
	numAlgs
)

var algNames = [numAlgs]string{
	"", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "Ed25519", "HS256", "HS384", "HS512",
}

func (a algorithm) String() string { return algNames[a] }

// DefaultAlgorithms is the allow-list used when Config.Algorithms is empty:
// every asymmetric algorithm of RFC 7518 §3.1 plus EdDSA (RFC 8037) and its
// fully specified name Ed25519 (RFC 9864).
var DefaultAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "Ed25519",
}

// parseAlg maps an algorithm name to its algorithm, exactly (names are case
// sensitive, RFC 7515 §4.1.1). The switch on string(b) does not allocate.
func parseAlg(b []byte) algorithm {
	switch string(b) {
	case "RS256":
		return algRS256
	case "RS384":
		return algRS384
	case "RS512":
		return algRS512
	case "PS256":
		return algPS256
	case "PS384":
		return algPS384
	case "PS512":
		return algPS512
	case "ES256":
		return algES256
	case "ES384":
		return algES384
	case "ES512":
		return algES512
	case "EdDSA":
		return algEdDSA
	case "Ed25519":
		return algEd25519
	case "HS256":
		return algHS256
	case "HS384":
		return algHS384
	case "HS512":
		return algHS512
	}
	return algUnknown
}

// algSet is a set of algorithms.
type algSet uint16

func (s algSet) has(a algorithm) bool { return s&(1<<a) != 0 }
func (s *algSet) add(a algorithm)     { *s |= 1 << a }

func (s algSet) String() string {
	var names []string
	for a := algorithm(1); a < numAlgs; a++ {
		if s.has(a) {
			names = append(names, a.String())
		}
	}
	return strings.Join(names, ",")
}

const (
	rsaAlgs   algSet = 1<<algRS256 | 1<<algRS384 | 1<<algRS512 | 1<<algPS256 | 1<<algPS384 | 1<<algPS512
	p256Algs  algSet = 1 << algES256
	p384Algs  algSet = 1 << algES384
	p521Algs  algSet = 1 << algES512
	ed25519Al algSet = 1<<algEdDSA | 1<<algEd25519
	hmacAlgs  algSet = 1<<algHS256 | 1<<algHS384 | 1<<algHS512
)

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits
// or larger MUST be used).
const minRSABits = 2048

// digest hashes the signing input with the hash of a. The result lives in
// the caller's buffer; nothing is allocated.
func digest(a algorithm, buf *[64]byte, msg []byte) (crypto.Hash, []byte) {
	switch a {
	case algRS256, algPS256, algES256, algHS256:
		*(*[32]byte)(buf[:32]) = sha256.Sum256(msg)
		return crypto.SHA256, buf[:32]
	case algRS384, algPS384, algES384, algHS384:
		*(*[48]byte)(buf[:48]) = sha512.Sum384(msg)
		return crypto.SHA384, buf[:48]
	default:
		*buf = sha512.Sum512(msg)
		return crypto.SHA512, buf[:64]
	}
}

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// sigScratch is the scratch space verifySignatureIn needs: a digest
// (64 bytes) and the DER form of an ECDSA signature (verifyECDSA).
const sigScratch = 64 + derMax

// derMax is the longest DER ECDSA signature verifyECDSA builds: a
// SEQUENCE of two INTEGERs of at most 66 bytes plus a sign byte each.
const derMax = 2*(66+3) + 3

// verifySignature checks sig over msg with key k under algorithm a. The
// caller has already checked that k may be used with a.
func verifySignature(k *verifyKey, a algorithm, msg, sig []byte) bool {
	switch a {
	case algEdDSA, algEd25519, algHS256, algHS384, algHS512:
		return verifySignatureIn(k, a, msg, sig, nil)
	}
	return verifySignatureIn(k, a, msg, sig, new([sigScratch]byte))
}

// verifySignatureIn is verifySignature with the caller's scratch space for
// the digest and the DER signature, which the crypto packages retain
// (escape analysis moves them to the heap): validateJWT lends a part of
// its one buffer, so that they cost no allocation of their own. scratch
// may be nil for EdDSA and HMAC, which use none.
func verifySignatureIn(k *verifyKey, a algorithm, msg, sig []byte, scratch *[sigScratch]byte) bool {
	switch a {
	case algEdDSA, algEd25519:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.ed, msg, sig)
	case algHS256, algHS384, algHS512:
		return verifyHMAC(k.hmac, a, msg, sig)
	}
	h, d := digest(a, (*[64]byte)(scratch[:64]), msg)
	switch a {
	case algRS256, algRS384, algRS512:
		return rsa.VerifyPKCS1v15(k.rsa, h, d, sig) == nil
	case algPS256, algPS384, algPS512:
		// RFC 7518 §3.5: the salt length equals the hash output length.
		return rsa.VerifyPSS(k.rsa, h, d, sig, pssOptions) == nil
	case algES256, algES384, algES512:
		return verifyECDSA(k, d, sig, (*[derMax]byte)(scratch[64:]))
	}
	return false
}

// verifyECDSA checks a JWS ECDSA signature: the fixed-width concatenation
// R || S of RFC 7518 §3.4, not ASN.1. The width must be exactly twice the
// curve's byte size. R and S are re-encoded as DER in der so that
// ecdsa.VerifyASN1 can be used without big.Int allocations; it rejects
// zero and out-of-range values (the "psychic signature" r = s = 0).
func verifyECDSA(k *verifyKey, d, sig []byte, der *[derMax]byte) bool {
	n := k.ecSize
	if len(sig) != 2*n {
		return false
	}
	body := appendDERInt(der[:3], sig[:n])
	body = appendDERInt(body, sig[n:])
	l := len(body) - 3
	var enc []byte
	if l < 0x80 {
		der[1], der[2] = 0x30, byte(l)
		enc = body[1:]
	} else {
		der[0], der[1], der[2] = 0x30, 0x81, byte(l)
		enc = body
	}
	return ecdsa.VerifyASN1(k.ec, d, enc)
}

// appendDERInt appends the DER INTEGER encoding of the unsigned big-endian
// value v (at most 66 bytes, so the length always fits in one byte).
func appendDERInt(dst, v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	pad := len(v) > 0 && v[0]&0x80 != 0
	l := len(v)
	if pad {
		l++
	}
	dst = append(dst, 0x02, byte(l))
	if pad {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}

// hmacMinSecret is the shortest secret accepted for the HMAC algorithm a:
// the size of its hash output (RFC 7518 §3.2: "a key of the same size as
// the hash output ... or larger MUST be used").
func hmacMinSecret(a algorithm) int {
	switch a {
	case algHS384:
		return 48
	case algHS512:
		return 64
	}
	return 32
}

// verifyHMAC checks an HMAC signature (RFC 7518 §3.2) in constant time.
func verifyHMAC(secret []byte, a algorithm, msg, sig []byte) bool {
	var h func() hash.Hash
	switch a {
	case algHS256:
		h = sha256.New
	case algHS384:
		h = sha512.New384
	default:
		h = sha512.New
	}
	m := hmac.New(h, secret)
	m.Write(msg)
	var buf [64]byte
	return hmac.Equal(m.Sum(buf[:0]), sig)
}
