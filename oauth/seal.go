package oauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// KeySize is the size of the keys in Config.Keys: 32 bytes (256 bits).
const KeySize = 32

// maxKeys bounds Config.Keys: opening a value tries each key.
const maxKeys = 8

// GenerateKey returns a new random key for Config.Keys. Keep it secret and
// give every replica of the application the same keys.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never fails (crypto/rand, Go 1.24)
	return k
}

// sealer encrypts and authenticates values with AES-256-GCM.
//
// Sealed format (base64url without padding):
//
//	version (1 byte, 1) || salt (16 bytes) || ciphertext || GCM tag (16 bytes)
//
// Each value is sealed under its own key: HKDF-SHA256 (RFC 5869) of the
// purpose key and the random salt. The purpose key is HKDF-SHA256 of a
// configured key, the purpose ("session", "transaction") and the
// application (the Flow's issuer, client ID and redirect origin, see
// appBinding), so the two kinds of cookies can never be swapped, and a
// value sealed by one Flow never opens in a Flow for another client,
// issuer or origin, even when both were given the same Config.Keys. And
// because no two values share a key, the GCM nonce can be fixed and the
// 2^32-messages limit of random GCM nonces does not apply. The additional
// data binds a value to the cookie name it was issued under.
type sealer struct {
	keys [][]byte // purpose keys; the first seals, all open
}

const (
	sealVersion  = 1
	sealSaltSize = 16
	sealOverhead = 1 + sealSaltSize + 16
)

var zeroNonce = make([]byte, 12)

// newSealer derives the purpose keys of app (an appBinding) from keys.
func newSealer(keys [][]byte, purpose, app string) (*sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("oauth: Config.Keys is required (use oauth.GenerateKey)")
	}
	if len(keys) > maxKeys {
		return nil, fmt.Errorf("oauth: Config.Keys has %d keys, at most %d are allowed", len(keys), maxKeys)
	}
	s := &sealer{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("oauth: Config.Keys[%d] has %d bytes, want %d", i, len(k), KeySize)
		}
		pk, err := hkdf.Key(sha256.New, k, nil, "oidcauth/oauth v1 "+purpose+" "+app, KeySize)
		if err != nil {
			return nil, fmt.Errorf("oauth: deriving keys: %w", err)
		}
		s.keys = append(s.keys, pk)
	}
	return s, nil
}

func messageAEAD(purposeKey, salt []byte) cipher.AEAD {
	k, err := hkdf.Key(sha256.New, purposeKey, salt, "oidcauth/oauth v1 message", KeySize)
	if err != nil {
		panic("oauth: hkdf: " + err.Error()) // only for impossible lengths
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		panic("oauth: aes: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("oauth: gcm: " + err.Error())
	}
	return aead
}

// seal encrypts plaintext bound to ad.
func (s *sealer) seal(plaintext []byte, ad string) string {
	buf := make([]byte, 1+sealSaltSize, sealOverhead+len(plaintext))
	buf[0] = sealVersion
	rand.Read(buf[1:])
	aead := messageAEAD(s.keys[0], buf[1:1+sealSaltSize])
	buf = aead.Seal(buf, zeroNonce, plaintext, []byte(ad))
	return b64.EncodeToString(buf)
}

// b64 is strict unpadded base64url: a value whose unused trailing bits are
// set is refused, so that no two strings open to the same value.
var b64 = base64.RawURLEncoding.Strict()

var errUnsealable = errors.New("oauth: value does not open with any key")

// open decrypts a sealed value bound to ad, trying each key.
func (s *sealer) open(value, ad string) ([]byte, error) {
	raw, err := b64.DecodeString(value)
	if err != nil || len(raw) < sealOverhead || raw[0] != sealVersion {
		return nil, errUnsealable
	}
	salt, ct := raw[1:1+sealSaltSize], raw[1+sealSaltSize:]
	for _, k := range s.keys {
		if pt, err := messageAEAD(k, salt).Open(nil, zeroNonce, ct, []byte(ad)); err == nil {
			return pt, nil
		}
	}
	return nil, errUnsealable
}

// appBinding is what a Flow's sealing keys and default cookie names are
// derived from: issuer, client ID and the origin of the redirect URL, each
// length-prefixed so that no two triples give the same string.
func appBinding(issuer, clientID, origin string) string {
	var b strings.Builder
	for _, v := range []string{issuer, clientID, strings.ToLower(origin)} {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// sealedLen is the length of the sealed form of n bytes.
func sealedLen(n int) int { return b64.EncodedLen(sealOverhead + n) }
