package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
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
}

// TestDescribeJWKSVerdicts checks that the library's verdicts land on the
// right rows: skipped keys by index, used keys by kid, type and pinned alg
// when several have no kid.
func TestDescribeJWKSVerdicts(t *testing.T) {
	t.Parallel()
	b64 := base64.RawURLEncoding.EncodeToString
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n, e := b64(rsaKey.N.Bytes()), b64(big.NewInt(int64(rsaKey.E)).Bytes())
	ecJWK := func(curve elliptic.Curve, extra map[string]any) map[string]any {
		k, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		size := (curve.Params().BitSize + 7) / 8
		m := map[string]any{"kty": "EC", "crv": curve.Params().Name, "x": b64(k.X.FillBytes(make([]byte, size))), "y": b64(k.Y.FillBytes(make([]byte, size)))}
		maps.Copy(m, extra)
		return m
	}
	keys := []any{
		1,
		"a",
		map[string]any{"kty": "RSA", "alg": "PS256", "n": n, "e": e},
		ecJWK(elliptic.P384(), nil),
		map[string]any{"kty": "RSA", "use": "sig", "key_ops": []string{"sign"}, "n": n, "e": e},
		map[string]any{"kty": "RSA", "alg": "RS256", "n": n, "e": e},
		ecJWK(elliptic.P256(), nil),
		ecJWK(elliptic.P256(), map[string]any{"kid": "k"}),
		map[string]any{"kty": "RSA", "kid": "k", "n": n, "e": e},
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := describeJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"no: not a JSON object",
		"no: not a JSON object",
		"yes: RSA 2048 PS256",
		"yes: EC P-384 ES384",
		`no: key_ops lacks "verify"`,
		"yes: RSA 2048 RS256",
		"yes: EC P-256 ES256",
		"yes: EC P-256 ES256",
		"no: duplicate kid",
	}
	var got []string
	for i, r := range rows {
		if r.index != i {
			t.Errorf("rows[%d].index = %d", i, r.index)
		}
		if r.usable() {
			got = append(got, "yes: "+r.typ+" "+strings.Join(r.algs, ","))
		} else {
			got = append(got, "no: "+r.reason)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("verdicts =\n%q\nwant\n%q", got, want)
	}
	if r := rows[8]; r.kid != "k" || r.kty != "RSA" || r.size != "2048" {
		t.Errorf("rows[8] = %+v, want kid k, RSA 2048", r)
	}
}

// TestMatchUsed checks that keys without kid get their own entry of the
// library's list whatever its order: by type, then by pinned alg.
func TestMatchUsed(t *testing.T) {
	t.Parallel()
	rows := []keyRow{
		{kty: "RSA", size: "2048", alg: "PS256"},
		{kty: "EC", size: "P-384"},
		{kty: "RSA", size: "2048", alg: "RS256"},
		{kid: "x", kty: "EC", size: "P-256", reason: "duplicate kid"},
		{kty: "EC", size: "P-256"},
		{kid: "y", kty: "OKP", size: "Ed25519"},
	}
	used := []oidcauth.KeyInfo{
		{Type: "EC P-256", Algorithms: []string{"ES256"}},
		{Type: "RSA 2048", Algorithms: []string{"RS256"}},
		{Type: "EC P-384", Algorithms: []string{"ES384"}},
		{Type: "RSA 2048", Algorithms: []string{"PS256"}},
	}
	matchUsed(rows, used)
	var got []string
	for _, r := range rows {
		got = append(got, r.typ+" "+strings.Join(r.algs, ",")+" "+r.reason)
	}
	want := []string{
		"RSA 2048 PS256 ",
		"EC P-384 ES384 ",
		"RSA 2048 RS256 ",
		"  duplicate kid",
		"EC P-256 ES256 ",
		"  not listed by oidcauth (reason unknown)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows =\n%q\nwant\n%q", got, want)
	}
}

// TestDescribeJWKSNoneUsable checks that a JWKS of which oidcauth uses no
// key, or an empty one, is described, not refused.
func TestDescribeJWKSNoneUsable(t *testing.T) {
	t.Parallel()
	rows, err := describeJWKS([]byte(`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"},{"kty":"EC","kid":"e","use":"enc","crv":"P-256"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].usable() || rows[1].reason != `use "enc" is not "sig"` || rows[1].size != "P-256" {
		t.Errorf("rows = %+v", rows)
	}
	if rows, err := describeJWKS([]byte(`{"keys":[]}`)); err != nil || len(rows) != 0 {
		t.Errorf("empty JWKS: rows = %+v, err = %v", rows, err)
	}
}

// TestCompareLoaded checks the notes on keys that an Authorizer loaded
// differently from the JWKS shown.
func TestCompareLoaded(t *testing.T) {
	t.Parallel()
	rows := []keyRow{
		{kid: "a", typ: "RSA 2048", algs: []string{"RS256"}},
		{kid: "b", reason: "EC point is not on its curve"},
		{kid: "", typ: "OKP Ed25519", algs: []string{"EdDSA", "Ed25519"}},
		{kid: "", typ: "OKP Ed25519", algs: []string{"EdDSA", "Ed25519"}},
		{kid: "c", typ: "EC P-256", algs: []string{"ES256"}},
	}
	same := []oidcauth.KeyInfo{
		{KeyID: "", Type: "OKP Ed25519", Algorithms: []string{"EdDSA", "Ed25519"}},
		{KeyID: "", Type: "OKP Ed25519", Algorithms: []string{"EdDSA", "Ed25519"}},
		{KeyID: "a", Type: "RSA 2048", Algorithms: []string{"RS256"}},
		{KeyID: "c", Type: "EC P-256", Algorithms: []string{"ES256"}},
	}
	if notes := compareLoaded(rows, same); notes != nil {
		t.Errorf("same keys: notes = %q, want none", notes)
	}
	other := []oidcauth.KeyInfo{
		{KeyID: "", Type: "OKP Ed25519", Algorithms: []string{"EdDSA", "Ed25519"}},
		{KeyID: "a", Type: "RSA 2048", Algorithms: []string{"RS256", "PS256"}},
		{KeyID: "b", Type: "EC P-256", Algorithms: []string{"ES256"}},
		{KeyID: "c", Type: "EC P-256", Algorithms: []string{"ES256"}},
	}
	want := []string{
		`oidcauth loaded a key "a" (RSA 2048: RS256, PS256) that is not among the usable keys shown: the library was served another key set`,
		`oidcauth loaded a key "b" (EC P-256: ES256) that is not among the usable keys shown: the library was served another key set`,
		`key "a" (RSA 2048: RS256) was not loaded by oidcauth: the library was served another key set`,
		`key (no kid) (OKP Ed25519: EdDSA, Ed25519) was not loaded by oidcauth: the library was served another key set`,
	}
	if notes := compareLoaded(rows, other); !slices.Equal(notes, want) {
		t.Errorf("notes =\n%q\nwant\n%q", notes, want)
	}
	if !rows[0].usable() || rows[1].usable() || !slices.Equal(rows[0].algs, []string{"RS256"}) {
		t.Errorf("compareLoaded changed the rows: %+v", rows)
	}
}
