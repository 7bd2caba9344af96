package oidcauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"strings"
	"testing"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

var (
	testRSA2048 = mustRSA(2048)
	testRSA1024 = mustRSA(1024)
	testP256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	testEd, _   = func() (ed25519.PublicKey, error) { pub, _, err := ed25519.GenerateKey(rand.Reader); return pub, err }()
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(k *rsa.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	for n, v := range extra {
		m[n] = v
	}
	return m
}

func ecJWK(k *ecdsa.PublicKey, extra map[string]any) map[string]any {
	b, _ := k.Bytes() // uncompressed point 04 || X || Y
	m := map[string]any{"kty": "EC", "crv": "P-256", "x": enc(b[1:33]), "y": enc(b[33:])}
	for n, v := range extra {
		m[n] = v
	}
	return m
}

func jwksDoc(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// TestParseJWKS checks that unusable keys are skipped with a reason and the
// rest of the set still works (one bad key never breaks the set).
func TestParseJWKS(t *testing.T) {
	t.Parallel()
	good := rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "good", "alg": "RS256", "use": "sig"})
	offCurve := ecJWK(&testP256.PublicKey, map[string]any{"kid": "offcurve"})
	offCurve["y"] = enc(make([]byte, 32))
	private := rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "private", "d": enc(testRSA2048.D.Bytes())})
	tests := []struct {
		name       string
		key        map[string]any
		wantReason string // "" means usable
	}{
		{name: "EC P-256", key: ecJWK(&testP256.PublicKey, map[string]any{"kid": "ec"})},
		{name: "Ed25519", key: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(testEd), "kid": "ed"}},
		{name: "RSA without alg (Entra ID)", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "noalg"})},
		{name: "unknown kty", key: map[string]any{"kty": "XYZ", "kid": "x"}, wantReason: "unparseable JWK"},
		{name: "use enc", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "enc", "use": "enc"}), wantReason: `use "enc"`},
		{name: "key_ops without verify", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "ops", "key_ops": []string{"encrypt"}}), wantReason: "key_ops"},
		{name: "RSA 1024", key: rsaJWK(&testRSA1024.PublicKey, map[string]any{"kid": "small"}), wantReason: "2048"},
		{name: "EC point off the curve", key: offCurve, wantReason: "curve"},
		{name: "private key", key: private, wantReason: "private"},
		{name: "symmetric key", key: map[string]any{"kty": "oct", "k": enc([]byte("secret")), "kid": "hmac"}, wantReason: "symmetric"},
		{name: "alg does not fit the key", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "mismatch", "alg": "ES256"}), wantReason: "does not fit"},
		{name: "alg unknown", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "oaep", "alg": "RSA-OAEP"}), wantReason: "does not fit"},
		{name: "RSA exponent 1", key: rsaJWK(&rsa.PublicKey{N: testRSA2048.N, E: 1}, map[string]any{"kid": "e1"}), wantReason: "exponent"},
		{name: "RSA even exponent", key: rsaJWK(&rsa.PublicKey{N: testRSA2048.N, E: 65536}, map[string]any{"kid": "e2"}), wantReason: "exponent"},
		{name: "EC coordinates of the wrong length", key: map[string]any{"kty": "EC", "crv": "P-256", "x": enc(make([]byte, 48)), "y": enc(make([]byte, 48)), "kid": "len"}, wantReason: "JWK"},
		{name: "EC curve P-384 named, P-256 coordinates", key: func() map[string]any {
			m := ecJWK(&testP256.PublicKey, map[string]any{"kid": "crv"})
			m["crv"] = "P-384"
			return m
		}(), wantReason: "JWK"},
		{name: "OKP X25519 (an encryption curve)", key: map[string]any{"kty": "OKP", "crv": "X25519", "x": enc(make([]byte, 32)), "kid": "x25519"}, wantReason: "unsupported"},
		{name: "Ed25519 key of 31 bytes", key: map[string]any{"kty": "OKP", "crv": "Ed25519", "x": enc(make([]byte, 31)), "kid": "short"}, wantReason: "JWK"},
		{name: "alg none on a key", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "none", "alg": "none"}), wantReason: "does not fit"},
		{name: "alg HS256 on an RSA key", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "hs", "alg": "HS256"}), wantReason: "does not fit"},
		{name: "duplicate kid", key: rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "good"}), wantReason: "duplicate kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, skipped, err := parseJWKS(jwksDoc(good, tt.key), defaultAlgSet())
			if err != nil {
				t.Fatalf("parseJWKS() error = %v", err)
			}
			if set.byKID["good"] == nil {
				t.Fatal("the good key was lost")
			}
			if tt.wantReason == "" {
				if len(skipped) != 0 || len(set.keys) != 2 {
					t.Fatalf("skipped = %+v, want the key usable", skipped)
				}
				return
			}
			if len(skipped) != 1 || !strings.Contains(skipped[0].Reason, tt.wantReason) || skipped[0].Index != 1 {
				t.Fatalf("skipped = %+v, want index 1 with reason containing %q", skipped, tt.wantReason)
			}
			if len(set.keys) != 1 {
				t.Fatalf("usable keys = %d, want 1", len(set.keys))
			}
		})
	}
}

func TestParseJWKSDocument(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      error  // errors.Is target, or nil
		wantSub   string // substring of the error
	}{
		{name: "no keys member", doc: `{}`, wantSub: `no "keys"`},
		{name: "keys not an array", doc: `{"keys":{}}`, wantSub: "not an array"},
		{name: "empty set", doc: `{"keys":[]}`, want: errNoUsableKeys},
		{name: "only bad keys", doc: `{"keys":[{"kty":"oct","k":"AAAA"},1,"x"]}`, want: errNoUsableKeys},
		{name: "duplicate member", doc: `{"keys":[],"keys":[]}`, wantSub: "duplicate"},
		{name: "duplicate member inside a key", doc: `{"keys":[{"kty":"RSA","kty":"EC"}]}`, wantSub: "duplicate"},
		{name: "HTML", doc: `<html></html>`, wantSub: "invalid JWKS"},
	}
	for _, tt := range tests {
		_, _, err := parseJWKS([]byte(tt.doc), defaultAlgSet())
		if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.wantSub) {
			t.Errorf("%s: parseJWKS() error = %v, want %v / %q", tt.name, err, tt.want, tt.wantSub)
		}
	}
}

// TestParseJWKSOnlyKey checks the rule for tokens without kid: a key is
// chosen only when it is the single usable key for the algorithm.
func TestParseJWKSOnlyKey(t *testing.T) {
	t.Parallel()
	set, _, err := parseJWKS(jwksDoc(
		rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "r1", "alg": "RS256"}),
		rsaJWK(&mustRSA(2048).PublicKey, map[string]any{"kid": "r2", "alg": "RS256"}),
		ecJWK(&testP256.PublicKey, map[string]any{"kid": "e1"}),
		rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "p1", "alg": "PS256"}),
	), defaultAlgSet())
	if err != nil {
		t.Fatal(err)
	}
	if set.only[algRS256] != nil {
		t.Error("only[RS256] is set with two RS256 keys")
	}
	if k := set.only[algES256]; k == nil || k.kid != "e1" {
		t.Errorf("only[ES256] = %v, want e1", k)
	}
	if k := set.only[algPS256]; k == nil || k.kid != "p1" {
		t.Errorf("only[PS256] = %v, want p1", k)
	}
}

// defaultAlgSet is the allow-list of the default Config.
func defaultAlgSet() algSet {
	var s algSet
	for _, n := range DefaultAlgorithms {
		s.add(parseAlg([]byte(n)))
	}
	return s
}

func TestParseJWKSExported(t *testing.T) {
	t.Parallel()
	doc := jwksDoc(
		rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "r1", "alg": "RS256"}),
		ecJWK(&testP256.PublicKey, map[string]any{"kid": "e1"}),
		rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "enc", "use": "enc"}),
		rsaJWK(&testRSA1024.PublicKey, map[string]any{"kid": "small"}),
	)
	keys, skipped, err := ParseJWKS(doc, []string{"RS256"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].KeyID != "r1" || keys[0].Type != "RSA 2048" || strings.Join(keys[0].Algorithms, ",") != "RS256" {
		t.Errorf("keys = %+v, want only r1 (RSA 2048, RS256)", keys)
	}
	want := map[string]struct {
		reason   string
		expected bool
	}{
		"e1":    {"EC P-256 key fits no allowed algorithm", true},
		"enc":   {`use "enc" is not "sig"`, true},
		"small": {"RSA key of 1024 bits is under 2048", false},
	}
	if len(skipped) != len(want) {
		t.Fatalf("skipped = %+v", skipped)
	}
	for _, s := range skipped {
		if w := want[s.KeyID]; s.Reason != w.reason || s.Expected != w.expected {
			t.Errorf("skipped %q: %q expected=%v, want %q expected=%v", s.KeyID, s.Reason, s.Expected, w.reason, w.expected)
		}
	}
	if _, _, err := ParseJWKS(doc, []string{"HS256"}); err == nil {
		t.Error("ParseJWKS accepted HS256")
	}
}
