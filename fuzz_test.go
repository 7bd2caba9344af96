package oidcauth

// Fuzz targets for every parser that sees untrusted input. `go test` runs
// their seed corpora (the attack catalogue's shapes plus testdata/fuzz);
// run them for real with, for example:
//
//	go test -run '^$' -fuzz '^FuzzValidate$' -fuzztime 10m .

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
	"github.com/oidcauth/oidcauth/oidctest"
)

// staticAuthorizer returns an Authorizer that trusts the keys of p without
// any background work or network access (refreshes fail at once).
func staticAuthorizer(tb testing.TB, p *oidctest.Provider) *Authorizer {
	tb.Helper()
	a, err := newAuthorizer(Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, JWKSURL: p.JWKSURL(),
		Now: func() time.Time { return time.Unix(1_800_000_000, 0) }, Logger: discard,
	})
	if err != nil {
		tb.Fatal(err)
	}
	set, _, err := parseJWKS(p.JWKS(), a.allowed)
	if err != nil {
		tb.Fatal(err)
	}
	set.fetched = a.now()
	a.keys.set.Store(set)
	a.keys.closed = true
	return a
}

// fuzzProvider is a provider with an ES256 (active), an EdDSA and an RS256
// key, its clock at the fuzz authorizer's time.
func fuzzProvider(f *testing.F) *oidctest.Provider {
	p := oidctest.New(f, oidctest.Options{Algorithm: "ES256", Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	if _, err := p.AddKey("EdDSA"); err != nil {
		f.Fatal(err)
	}
	if _, err := p.AddKey("RS256"); err != nil {
		f.Fatal(err)
	}
	return p
}

// FuzzValidate feeds arbitrary tokens to Validate: it must never panic,
// must return a *ValidationError on failure, and whatever it accepts must
// satisfy every claim rule.
func FuzzValidate(f *testing.F) {
	p := fuzzProvider(f)
	a := staticAuthorizer(f, p)
	ids := p.PublishedKeyIDs()
	for _, claims := range []map[string]any{
		{"aud": "api", "sub": "alice"},
		{"aud": []string{"x", "api"}, "scope": "a b", "scp": []string{"c"}},
		{"aud": "api", "nbf": 1_800_000_100, "iat": 1_799_999_999.5},
		{"aud": "api", "exp": nil},
	} {
		for _, kid := range ids {
			f.Add(p.MustMintToken(f, oidctest.Token{Claims: claims, KeyID: kid}))
		}
	}
	for _, raw := range []string{
		`{"iss":"` + p.Issuer() + `","aud":"api","exp":1800003600,"x":{"y":[1,2,{"z":null}]}}`,
		`{"iss":"` + p.Issuer() + `","aud":"api","exp":1800003600,"aud":"api"}`,
		`{"iss":"` + p.Issuer() + `","aud":"api","exp":"1800003600"}`,
	} {
		f.Add(p.MustMintToken(f, oidctest.Token{RawPayload: []byte(raw)}))
	}
	f.Add(p.MustMintToken(f, oidctest.Token{RawHeader: []byte(`{"alg":"ES256","crit":["x"]}`), Claims: map[string]any{"aud": "api"}}))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat(".", 100))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := a.Validate(context.Background(), token)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || StatusCode(err) != 401 {
				t.Fatalf("Validate() error %T %v is not a 401 *ValidationError", err, err)
			}
			return
		}
		if c.Issuer != p.Issuer() || !a.audienceOK(c.Audience) || c.ExpiresAt.IsZero() || checkTimes(c, a.now(), a.leeway) != nil {
			t.Fatalf("accepted a token breaking a claim rule: %+v", c)
		}
	})
}

// FuzzClaims feeds arbitrary (already "verified") payloads to the claims
// decoder.
func FuzzClaims(f *testing.F) {
	p := fuzzProvider(f)
	a := staticAuthorizer(f, p)
	iss := p.Issuer()
	for _, s := range []string{
		`{"iss":"` + iss + `","aud":"api","exp":1800003600}`,
		`{"iss":"` + iss + `","aud":["api"],"exp":1800003600.5,"nbf":1,"iat":2,"sub":"a","jti":"j","client_id":"c","scope":"a  b"}`,
		`{"iss":"` + iss + `","aud":"api","exp":1800003600,"scp":["a","b"]}`,
		`{"iss":"` + iss + `","aud":"api","exp":1800003600,"scp":"a b"}`,
		`{"iss":"` + strings.ReplaceAll(iss, "/", `\/`) + `","aud":"\u0061pi","exp":18e8}`,
		`{"iss":1}`, `{"aud":null}`, `{"exp":-0}`, `{"exp":1e999}`, `[]`, `{"a":{"a":1,"a":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c := &Claims{Raw: payload}
		verr := a.parseClaims(c, payload)
		if verr == nil {
			verr = a.checkClaims(c, a.now())
		}
		if verr != nil {
			if StatusCode(verr) != 401 {
				t.Fatalf("error %v is not a token error", verr)
			}
			return
		}
		if c.Issuer != iss || c.ExpiresAt.IsZero() || !a.audienceOK(c.Audience) {
			t.Fatalf("accepted claims breaking a rule: %+v", c)
		}
		// The string claims, decoded together into one string, agree
		// with encoding/json (into a map: member names match exactly).
		var std map[string]any
		if err := json.Unmarshal(payload, &std); err == nil {
			get := func(n string) string { s, _ := std[n].(string); return s }
			if c.Subject != get("sub") || c.ID != get("jti") || c.ClientID != get("client_id") {
				t.Fatalf("sub, jti, client_id = %q %q %q; encoding/json says %q %q %q", c.Subject, c.ID, c.ClientID, get("sub"), get("jti"), get("client_id"))
			}
			if sc, ok := std["scope"].(string); ok && strings.Join(c.Scopes, " ") != strings.Join(strings.Fields(sc), " ") {
				t.Fatalf("scopes = %q; encoding/json says scope %q", c.Scopes, sc)
			}
		}
	})
}

// FuzzJWKS feeds arbitrary documents to the JWKS parser.
func FuzzJWKS(f *testing.F) {
	p := fuzzProvider(f)
	f.Add(p.JWKS())
	f.Add(jwksDoc(rsaJWK(&testRSA2048.PublicKey, map[string]any{"kid": "r", "alg": "PS256"}), ecJWK(&testP256.PublicKey, nil)))
	for _, s := range []string{`{"keys":[]}`, `{"keys":[{"kty":"oct","k":"AA"}]}`, `{"keys":[1,"a",null,{}]}`, `{"keys":{}}`, `{}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`, `{"keys":[{"kty":"OKP","crv":"X25519","x":"AA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQ"}]}`} {
		f.Add([]byte(s))
	}
	allowed := defaultAlgSet()
	f.Fuzz(func(t *testing.T, doc []byte) {
		set, _, err := parseJWKS(doc, allowed)
		if err != nil {
			return
		}
		if len(set.keys) == 0 {
			t.Fatal("a set without usable keys was accepted")
		}
		for _, k := range set.keys {
			if k.algs == 0 || k.algs&^allowed != 0 {
				t.Fatalf("key %q has algorithms %v outside the allow-list", k.kid, k.algs)
			}
			if k.kid != "" && set.byKID[k.kid] != k {
				t.Fatalf("key %q not indexed", k.kid)
			}
			if k.rsa != nil && k.rsa.N.BitLen() < minRSABits {
				t.Fatalf("small RSA key %q accepted", k.kid)
			}
		}
	})
}

// FuzzMetadata feeds arbitrary discovery documents to the metadata parser.
func FuzzMetadata(f *testing.F) {
	const iss = "https://idp.example/tenant"
	for _, s := range []string{
		`{"issuer":"https://idp.example/tenant","jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https://idp.example/tenant","jwks_uri":"http://127.0.0.1/keys"}`,
		`{"issuer":"https://idp.example/tenant/","jwks_uri":"https://idp.example/keys"}`,
		`{"issuer":"https:\/\/idp.example\/tenant","jwks_uri":"https://x#y"}`,
		`{"issuer":null}`, `[]`, `{"issuer":"a","issuer":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		md, err := parseMetadata(doc, iss, false)
		if err != nil {
			return
		}
		if md.Issuer != iss {
			t.Fatalf("issuer %q accepted", md.Issuer)
		}
		if err := checkURL("jwks_uri", md.JWKSURL, false); err != nil {
			t.Fatalf("jwks_uri %q accepted: %v", md.JWKSURL, err)
		}
	})
}

// FuzzIntrospectionAnswer: checkAnswer never panics, and accepts only a
// strict JSON object with "active": true whose Raw is the whole answer.
func FuzzIntrospectionAnswer(f *testing.F) {
	for _, s := range []string{
		`{"active":true,"aud":"api","exp":99999999999,"scope":"a b","client_id":"c","sub":"s"}`,
		`{"active":false}`, `{"active":"true"}`, `{"active":true,"aud":["x","api"],"iss":"https://idp.example.com"}`,
		`{"active":true,"active":true}`, `[]`, `{"active":true,"aud":"api","exp":1e400}`, ``,
	} {
		f.Add([]byte(s))
	}
	ic := &IntrospectionConfig{Endpoint: "https://idp.example.com/introspect", ClientID: "c", ClientSecret: "s"}
	a, err := newAuthorizer(Config{Issuer: "https://idp.example.com", Audiences: []string{"api"}, StaticKeys: introTestKeys(), Introspection: ic})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		c, verr := a.checkAnswer(body, now)
		if verr != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			if StatusCode(verr) != 401 && StatusCode(verr) != 503 {
				t.Fatalf("status %d for %v", StatusCode(verr), verr)
			}
			return
		}
		if jsonx.Validate(body) != nil || !bytes.Contains(body, []byte("true")) || !bytes.Equal(c.Raw, body) {
			t.Fatalf("accepted %q", body)
		}
		if !a.audienceOK(c.Audience) {
			t.Fatalf("accepted %q without a configured audience", body)
		}
	})
}
