package oidcauth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// check checks a DPoP proof (RFC 9449 §4.3) for a request with method and
// target URL want, presenting token whose cnf.jkt is jkt. In order,
// stopping at the first failure (all ErrInvalidDPoPProof unless said):
//
//  1. one DPoP header (the caller) of at most 8 KiB;
//  2. a compact JWS: three strict base64url parts, header and claims
//     strict JSON objects;
//  3. the required members: typ, alg, jwk in the header; jti, htm, htu,
//     iat in the claims (and ath, as a token is presented);
//  4. typ is exactly "dpop+jwt"; no crit;
//  5. alg is in DPoPConfig.Algorithms (asymmetric only);
//  6. jwk is a public EC (P-256/384/521), RSA (≥ 2048 bits) or OKP
//     Ed25519 key that fits alg: a private member (d, p, q, dp, dq, qi,
//     oth, k) or kty oct refuses the proof;
//  7. the signature verifies with jwk;
//  8. htm equals the request method;
//  9. htu equals the request URL without query and fragment, after
//     normalisation (see htuMatches);
//  10. with DPoPConfig.NonceSecret, nonce is a current server nonce,
//     else ErrUseDPoPNonce;
//  11. iat within DPoPConfig.ProofWindow of now, either way;
//  12. ath is base64url(SHA-256(token)) and the RFC 7638 thumbprint of
//     jwk is jkt;
//  13. jti not seen before: recorded in the ReplayCache with expiry
//     iat+ProofWindow (ErrDPoPReplay; ErrReplayCacheUnavailable when the
//     cache fails or is full). It is the last step, so that a proof that
//     fails any other check never takes a place in the cache.
func (d *dpopVerifier) check(ctx context.Context, proof, method string, want reqURL, token, jkt string) error {
	if len(proof) > maxProofSize {
		return errProofSize
	}
	h1, h2, ok := splitToken(proof)
	if !ok {
		return errProofParts
	}
	pb := []byte(proof)
	var hbuf [1536]byte
	hb := hbuf[:0]
	if n := b64.DecodedLen(h1); n > len(hbuf) {
		hb = make([]byte, 0, n)
	}
	hb, err := b64.AppendDecode(hb, pb[:h1])
	if err != nil {
		return errProofBase64
	}
	var ph proofHeader
	if verr := ph.parse(hb); verr != nil {
		return verr
	}
	if !ph.typOK {
		return errProofTyp
	}
	if ph.alg == algUnknown || !d.allowed.has(ph.alg) {
		return errProofAlg
	}
	if ph.jwk == nil {
		return errProofNoJWK
	}
	var key verifyKey
	var tp [1500]byte
	thumbInput, verr := parseProofJWK(ph.jwk, &key, tp[:0])
	if verr != nil {
		return verr
	}
	if !key.algs.has(ph.alg) {
		return errProofKeyAlg
	}
	var sbuf [512]byte
	sig := sbuf[:0]
	if n := b64.DecodedLen(len(proof) - h2 - 1); n > len(sbuf) {
		sig = make([]byte, 0, n)
	}
	if sig, err = b64.AppendDecode(sig, pb[h2+1:]); err != nil {
		return errProofBase64
	}
	if !verifySignature(&key, ph.alg, pb[:h2], sig) {
		return errProofSignature
	}
	var cbuf [1024]byte
	cb := cbuf[:0]
	if n := b64.DecodedLen(h2 - h1 - 1); n > len(cbuf) {
		cb = make([]byte, 0, n)
	}
	if cb, err = b64.AppendDecode(cb, pb[h1+1:h2]); err != nil {
		return errProofBase64
	}
	var pc proofClaims
	if verr := pc.parse(cb); verr != nil {
		return verr
	}
	if string(pc.htm) != method {
		return errProofHTM
	}
	if !htuMatches(string(pc.htu), want) {
		return errProofHTU
	}
	now := d.now()
	if d.nonceKey != nil && (pc.nonce == nil || !d.nonceOK(pc.nonce, now)) {
		return errProofNonce
	}
	iat := time.Unix(pc.iat, 0)
	if iat.Before(now.Add(-d.window)) {
		return errProofOld
	}
	if iat.After(now.Add(d.window)) {
		return errProofFuture
	}
	var ath [32]byte
	if len(token) <= 4096 {
		var tbuf [4096]byte
		ath = sha256.Sum256(tbuf[:copy(tbuf[:], token)])
	} else {
		ath = sha256.Sum256([]byte(token))
	}
	var athb [43]byte
	b64.Encode(athb[:], ath[:])
	if pc.ath == nil || !bytes.Equal(pc.ath, athb[:]) {
		return errProofATH
	}
	thumb := sha256.Sum256(thumbInput)
	var tb [43]byte
	b64.Encode(tb[:], thumb[:])
	if string(tb[:]) != jkt {
		return errProofJKT
	}
	// The replay key: SHA-256 of thumbprint and jti, so that its size is
	// fixed whatever the jti.
	var kin [43 + 1 + 512]byte
	n := copy(kin[:], tb[:])
	kin[n] = 0
	n += 1 + copy(kin[n+1:], pc.jti)
	ks := sha256.Sum256(kin[:n])
	var kb [43]byte
	b64.Encode(kb[:], ks[:])
	fresh, err := d.replay.Add(ctx, string(kb[:]), iat.Add(d.window))
	if err != nil {
		if errors.Is(err, ErrReplayCacheFull) {
			return errReplayFull
		}
		return &ValidationError{Err: ErrReplayCacheUnavailable, Reason: "recording the proof: " + strings.ReplaceAll(err.Error(), prefix, "")}
	}
	if !fresh {
		if d.obs != nil {
			d.obs.DPoPReplay(ctx)
		}
		return errProofReplay
	}
	return nil
}

var (
	errProofSize      = invalid(ErrInvalidDPoPProof, "DPoP proof larger than 8 KiB")
	errProofParts     = invalid(ErrInvalidDPoPProof, "DPoP proof is not a compact JWS with three parts")
	errProofBase64    = invalid(ErrInvalidDPoPProof, "DPoP proof part is not strict base64url")
	errProofJSON      = invalid(ErrInvalidDPoPProof, "DPoP proof header or claims are not a strict JSON object")
	errProofMember    = invalid(ErrInvalidDPoPProof, "DPoP proof member has the wrong type")
	errProofCrit      = invalid(ErrInvalidDPoPProof, "DPoP proof has a crit header")
	errProofTyp       = invalid(ErrInvalidDPoPProof, `DPoP proof typ is not "dpop+jwt"`)
	errProofAlg       = invalid(ErrInvalidDPoPProof, "DPoP proof alg is not an allowed asymmetric algorithm")
	errProofNoJWK     = invalid(ErrInvalidDPoPProof, "DPoP proof header has no jwk")
	errProofPrivate   = invalid(ErrInvalidDPoPProof, "DPoP proof jwk holds private or symmetric key material")
	errProofJWK       = invalid(ErrInvalidDPoPProof, "DPoP proof jwk is not a usable public key")
	errProofKeyAlg    = invalid(ErrInvalidDPoPProof, "DPoP proof jwk does not fit alg")
	errProofSignature = invalid(ErrInvalidDPoPProof, "DPoP proof signature does not verify")
	errProofMissing   = invalid(ErrInvalidDPoPProof, "DPoP proof lacks jti, htm, htu, iat or ath")
	errProofHTM       = invalid(ErrInvalidDPoPProof, "DPoP proof htm is not the request method")
	errProofHTU       = invalid(ErrInvalidDPoPProof, "DPoP proof htu is not the request URL")
	errProofNonce     = invalid(ErrUseDPoPNonce, "DPoP proof lacks a current server nonce")
	errProofOld       = invalid(ErrInvalidDPoPProof, "DPoP proof iat is older than the proof window")
	errProofFuture    = invalid(ErrInvalidDPoPProof, "DPoP proof iat is further in the future than the proof window")
	errProofATH       = invalid(ErrInvalidDPoPProof, "DPoP proof ath is not the hash of the access token")
	errProofJKT       = invalid(ErrInvalidDPoPProof, "DPoP proof key is not the key the token is bound to (cnf.jkt)")
	errProofReplay    = invalid(ErrDPoPReplay, "DPoP proof jti was used before")
	errReplayFull     = invalid(ErrReplayCacheFull, "the memory replay cache is full")
)

type proofHeader struct {
	alg   algorithm
	typOK bool
	jwk   []byte
}

func (h *proofHeader) parse(b []byte) *ValidationError {
	var bad *ValidationError
	err := jsonx.Members(b, func(name []byte, kind jsonx.Kind, raw []byte) error {
		switch string(name) {
		case "typ":
			h.typOK = jsonx.EqualString(raw, "dpop+jwt")
		case "alg":
			if kind != jsonx.KindString || bytes.IndexByte(raw, '\\') >= 0 {
				bad = errProofMember
				return errStop
			}
			h.alg = parseAlg(raw[1 : len(raw)-1])
		case "jwk":
			if kind != jsonx.KindObject {
				bad = errProofMember
				return errStop
			}
			h.jwk = raw
		case "crit":
			bad = errProofCrit
			return errStop
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return errProofJSON
	}
	return nil
}

type proofClaims struct {
	jti, htm, htu, ath, nonce []byte
	iat                       int64
	hasIAT                    bool
}

// plain returns the contents of a JSON string without escapes.
func plain(kind jsonx.Kind, raw []byte) ([]byte, bool) {
	if kind != jsonx.KindString || bytes.IndexByte(raw, '\\') >= 0 {
		return nil, false
	}
	return raw[1 : len(raw)-1], true
}

func (c *proofClaims) parse(b []byte) *ValidationError {
	var bad *ValidationError
	err := jsonx.Members(b, func(name []byte, kind jsonx.Kind, raw []byte) error {
		var ok = true
		switch string(name) {
		case "jti":
			c.jti, ok = plain(kind, raw)
			ok = ok && len(c.jti) > 0 && len(c.jti) <= 512
		case "htm":
			c.htm, ok = plain(kind, raw)
		case "htu":
			// A JSON encoder may escape "/" as "\/": decode.
			if c.htu, ok = plain(kind, raw); !ok && kind == jsonx.KindString {
				var err error
				c.htu, err = jsonx.Unquote(nil, raw)
				ok = err == nil
			}
		case "ath":
			c.ath, ok = plain(kind, raw)
		case "nonce":
			c.nonce, ok = plain(kind, raw)
		case "iat":
			f, err := jsonx.Float(raw)
			ok = err == nil && f >= 0 && f < math.MaxInt32*4 && !math.IsNaN(f)
			c.iat, c.hasIAT = int64(f), true
		}
		if !ok {
			bad = errProofMember
			return errStop
		}
		return nil
	})
	if bad != nil {
		return bad
	}
	if err != nil {
		return errProofJSON
	}
	if c.jti == nil || c.htm == nil || c.htu == nil || !c.hasIAT || c.ath == nil {
		return errProofMissing
	}
	return nil
}

// parseProofJWK reads the public key of a proof's jwk header (RFC 7517,
// RFC 7518 §6, RFC 8037 §2) into k and appends its RFC 7638 thumbprint
// input (the required members in lexicographic order, no whitespace) to
// dst. Values must be strict base64url, so the thumbprint input is the
// canonical one.
func parseProofJWK(raw []byte, k *verifyKey, dst []byte) ([]byte, *ValidationError) {
	var kty, crv, x, y, n, e []byte
	var bad *ValidationError
	err := jsonx.Members(raw, func(name []byte, kind jsonx.Kind, v []byte) error {
		var p *[]byte
		switch string(name) {
		case "kty":
			p = &kty
		case "crv":
			p = &crv
		case "x":
			p = &x
		case "y":
			p = &y
		case "n":
			p = &n
		case "e":
			p = &e
		case "d", "p", "q", "dp", "dq", "qi", "oth", "k":
			bad = errProofPrivate
			return errStop
		default:
			return nil
		}
		s, ok := plain(kind, v)
		if !ok {
			bad = errProofJWK
			return errStop
		}
		*p = s
		return nil
	})
	if bad != nil {
		return nil, bad
	}
	if err != nil {
		return nil, errProofJSON
	}
	var buf [133]byte // an uncompressed P-521 point
	switch string(kty) {
	case "EC":
		var curve elliptic.Curve
		var size int
		switch string(crv) {
		case "P-256":
			curve, size, k.algs = elliptic.P256(), 32, p256Algs
		case "P-384":
			curve, size, k.algs = elliptic.P384(), 48, p384Algs
		case "P-521":
			curve, size, k.algs = elliptic.P521(), 66, p521Algs
		default:
			return nil, errProofJWK
		}
		buf[0] = 4
		if b64.DecodedLen(len(x)) != size || b64.DecodedLen(len(y)) != size {
			return nil, errProofJWK
		}
		if _, err := b64.Decode(buf[1:1+size], x); err != nil {
			return nil, errProofJWK
		}
		if _, err := b64.Decode(buf[1+size:1+2*size], y); err != nil {
			return nil, errProofJWK
		}
		// The point is checked to be on the curve by ecdsa.VerifyASN1.
		// One allocation for the key and its coordinates.
		eb := new(ecKeyBuf)
		eb.x.SetBytes(buf[1 : 1+size])
		eb.y.SetBytes(buf[1+size : 1+2*size])
		eb.pub = ecdsa.PublicKey{Curve: curve, X: &eb.x, Y: &eb.y}
		k.ec, k.ecSize = &eb.pub, size
		dst = append(dst, `{"crv":"`...)
		dst = append(dst, crv...)
		dst = append(dst, `","kty":"EC","x":"`...)
		dst = append(dst, x...)
		dst = append(dst, `","y":"`...)
		dst = append(dst, y...)
		return append(dst, `"}`...), nil
	case "RSA":
		if len(n) > 1400 || len(e) == 0 || len(e) > 8 {
			return nil, errProofJWK
		}
		var nb [1050]byte
		nl, err := b64.Decode(nb[:], n)
		if err != nil || nl == 0 || nb[0] == 0 {
			return nil, errProofJWK
		}
		var eb [6]byte
		el, err := b64.Decode(eb[:], e)
		if err != nil || el == 0 || el > 4 || eb[0] == 0 {
			return nil, errProofJWK
		}
		ev := 0
		for _, c := range eb[:el] {
			ev = ev<<8 | int(c)
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb[:nl]), E: ev}
		if pub.N.BitLen() < minRSABits || ev < 3 || ev%2 == 0 {
			return nil, errProofJWK
		}
		k.rsa, k.algs = pub, rsaAlgs
		dst = append(dst, `{"e":"`...)
		dst = append(dst, e...)
		dst = append(dst, `","kty":"RSA","n":"`...)
		dst = append(dst, n...)
		return append(dst, `"}`...), nil
	case "OKP":
		if string(crv) != "Ed25519" || b64.DecodedLen(len(x)) != ed25519.PublicKeySize {
			return nil, errProofJWK
		}
		pk := make([]byte, ed25519.PublicKeySize)
		if _, err := b64.Decode(pk, x); err != nil {
			return nil, errProofJWK
		}
		k.ed, k.algs = ed25519.PublicKey(pk), ed25519Al
		dst = append(dst, `{"crv":"Ed25519","kty":"OKP","x":"`...)
		dst = append(dst, x...)
		return append(dst, `"}`...), nil
	case "oct":
		return nil, errProofPrivate
	}
	return nil, errProofJWK
}

// ecKeyBuf holds an EC public key with its coordinates.
type ecKeyBuf struct {
	pub  ecdsa.PublicKey
	x, y big.Int
}
