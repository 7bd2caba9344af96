package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// port hides the random port of a test provider in golden output.
func port(p *oidctest.Provider) []string {
	return []string{strings.TrimSuffix(p.Issuer(), p.IssuerPath()), "http://127.0.0.1:PORT"}
}

// mixedProvider returns a provider whose JWKS holds, in order: k1 (RS256,
// active), k2 (ES256), then raw JWKs: an Ed25519 key without kid, which
// oidcauth uses, and keys it skips for every reason it has.
func mixedProvider(t *testing.T) *oidctest.Provider {
	t.Helper()
	p := oidctest.New(t)
	if _, err := p.AddKey("ES256"); err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	rsaPub := p.PublicKey("k1").(*rsa.PublicKey)
	n, e := b64(rsaPub.N.Bytes()), b64(big.NewInt(int64(rsaPub.E)).Bytes())
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []map[string]any }
	if err := json.Unmarshal(p.JWKS(), &jwks); err != nil {
		t.Fatal(err)
	}
	dup := maps.Clone(jwks.Keys[1]) // k2, renamed k1
	dup["kid"] = "k1"

	for _, k := range []map[string]any{
		{"kty": "OKP", "crv": "Ed25519", "x": b64(edPub)},
		{"kty": "RSA", "kid": "enc1", "use": "enc", "alg": "RSA-OAEP", "n": n, "e": e},
		{"kty": "RSA", "kid": "small", "alg": "RS256", "n": b64(small.N.Bytes()), "e": "AQAB"},
		{"kty": "oct", "kid": "hmac", "alg": "HS256", "k": "c2VjcmV0"},
		dup,
		{"kty": "RSA", "kid": "pinned", "alg": "ES256", "n": n, "e": e},
		{"kty": "RSA", "kid": "wrap", "key_ops": []string{"wrapKey"}, "n": n, "e": e},
		{"kty": "XYZ", "kid": "odd"},
	} {
		p.AddRawJWK(k)
	}
	return p
}

func TestDescribeJWKSErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc, want string
	}{
		{"not JSON", `<html>`, "not a strict JSON object: syntax error at offset 0: expected value, found '<'"},
		{"not an object", `[]`, "not a strict JSON object: not an object at offset 0: top-level value is an array"},
		{"duplicate", `{"keys":[],"keys":[]}`, "not a strict JSON object: duplicate member name at offset 11: member name repeats an earlier name in the same object"},
		{"no keys", `{"issuer":"x"}`, `no "keys" member: not a JWKS`},
		{"keys not an array", `{"keys":{}}`, `"keys" is not an array`},
	}
	for _, tt := range tests {
		if _, err := describeJWKS([]byte(tt.doc)); err == nil || err.Error() != tt.want {
			t.Errorf("%s: describeJWKS(%s) error = %v, want %q", tt.name, tt.doc, err, tt.want)
		}
	}
	rows, err := describeJWKS([]byte(`{"keys":[1,"a",{"kty":"RSA","use":"sig","key_ops":["sign"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"not a JSON object", "not a JSON object", `key_ops lacks "verify"`}
	if got := []string{rows[0].reason, rows[1].reason, rows[2].reason}; !slices.Equal(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
}

// TestReconcile checks that the library's verdict wins, with a note.
func TestReconcile(t *testing.T) {
	t.Parallel()
	rows := []keyRow{
		{kid: "a", desc: "RSA 2048", algs: []string{"RS256"}},
		{kid: "b", desc: "EC P-256", reason: "EC point is not on its curve"},
		{kid: "c", desc: "EC P-256", algs: []string{"ES256"}},
	}
	lib := []oidcauth.KeyInfo{
		{KeyID: "a", Type: "RSA 2048", Algorithms: []string{"RS256", "PS256"}},
		{KeyID: "b", Type: "EC P-256", Algorithms: []string{"ES256"}},
		{KeyID: "z", Type: "OKP Ed25519", Algorithms: []string{"EdDSA"}},
	}
	notes := reconcile(rows, lib)
	wantNotes := []string{
		`key "b": oidcauth uses it, although this command thought "EC point is not on its curve"`,
		`oidcauth loaded a key "z" (OKP Ed25519) that this command did not find`,
		`key "c": this command found no reason to skip it, but oidcauth did not load it`,
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes = %q, want %q", notes, wantNotes)
	}
	if got := rows[0].algs; !slices.Equal(got, []string{"RS256", "PS256"}) {
		t.Errorf("rows[0].algs = %q, want the library's", got)
	}
	if !rows[1].usable() || rows[2].usable() {
		t.Errorf("usable = %v, %v, want true, false", rows[1].usable(), rows[2].usable())
	}
}
