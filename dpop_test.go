package oidcauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

const dpopURL = "http://api.test/orders"

func mustKey(t testing.TB, alg string) *oidctest.DPoPKey {
	t.Helper()
	k, err := oidctest.NewDPoPKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// mustProof makes a proof at t0 (the tests' clock) unless opts say otherwise.
func mustProof(t testing.TB, k *oidctest.DPoPKey, method, u, token string, opts ...oidctest.ProofOption) string {
	t.Helper()
	p, err := k.Proof(method, u, token, append([]oidctest.ProofOption{oidctest.WithIssuedAt(t0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// serve runs r through a.Required (or Maybe) and returns the recorder and
// the error handed to the error handler.
func serveDPoP(a *oidcauth.Authorizer, r *http.Request, maybe bool) *httptest.ResponseRecorder {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := oidcauth.ClaimsFromContext(r.Context()); ok {
			w.Write([]byte("sub:" + c.Subject))
			return
		}
		w.Write([]byte("anonymous"))
	})
	w := httptest.NewRecorder()
	if maybe {
		a.Maybe(h).ServeHTTP(w, r)
	} else {
		a.Required(h).ServeHTTP(w, r)
	}
	return w
}

const (
	dpopAlgs     = `algs="ES256 ES384 EdDSA"`
	bearerBare   = `Bearer realm="api"`
	dpopBare     = `DPoP realm="api", ` + dpopAlgs
	dpopBadProof = `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", ` + dpopAlgs
	dpopNeeded   = `DPoP realm="api", error="invalid_token", error_description="a DPoP-bound token with a DPoP proof is required", ` + dpopAlgs
	dpopNonce    = `DPoP realm="api", error="use_dpop_nonce", error_description="the DPoP proof must carry the server's nonce", ` + dpopAlgs
	dpopInvalid  = `DPoP realm="api", error="invalid_token", error_description="the token is invalid", ` + dpopAlgs
)

func newDPoPPair(t *testing.T, dc *oidcauth.DPoPConfig) (*oidctest.Provider, *oidcauth.Authorizer) {
	t.Helper()
	if dc != nil && dc.Algorithms == nil {
		dc.Algorithms = []string{"ES256", "ES384", "EdDSA"}
	}
	return newPair(t, oidcauth.Config{Realm: "api", DPoP: dc})
}

// TestDPoPProofRules: one case per check of RFC 9449 §4.3, with the exact
// error and the exact WWW-Authenticate answer.
func TestDPoPProofRules(t *testing.T) {
	t.Parallel()
	p, a := newDPoPPair(t, &oidcauth.DPoPConfig{})
	k := mustKey(t, "ES256")
	ed := mustKey(t, "EdDSA")
	other := mustKey(t, "ES256")
	rsaKey := mustKey(t, "RS256")
	claims := map[string]any{"aud": "api", "sub": "alice"}
	tok, err := p.MintDPoPBound(k, claims)
	if err != nil {
		t.Fatal(err)
	}
	edTok, _ := p.MintDPoPBound(ed, claims)
	rsaTok, _ := p.MintDPoPBound(rsaKey, claims)
	tok2, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "bob"})
	priv := k.PublicJWK()
	priv["d"] = "AAAA"
	offCurve := k.PublicJWK()
	offCurve["y"] = offCurve["x"] // (x, x) is not on P-256 (but for a 1 in 2^128 chance)
	type tc struct {
		name   string
		token  string
		proofs []string
		method string
		target string
		err    error
		auth   []string // WWW-Authenticate values
	}
	P := func(opts ...oidctest.ProofOption) string { return mustProof(t, k, "GET", dpopURL, tok, opts...) }
	tests := []tc{
		{name: "valid ES256", token: tok, proofs: []string{P()}},
		{name: "valid EdDSA", token: edTok, proofs: []string{mustProof(t, ed, "GET", dpopURL, edTok)}},
		{name: "htu normalised: scheme and host case, default port", token: tok, proofs: []string{P(oidctest.WithHTU("HTTP://API.Test:80/orders"))}},
		{name: "htu query and fragment ignored", token: tok, proofs: []string{P(oidctest.WithHTU("http://api.test/orders?x=1#f"))}},
		{name: "htu percent-encoding normalised", token: tok, proofs: []string{P(oidctest.WithHTU("http://api.test/%6Frders"))}},
		{name: "1 two DPoP headers", token: tok, proofs: []string{P(), P()}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "2 not a JWS", token: tok, proofs: []string{"abc"}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "2 padded base64", token: tok, proofs: []string{strings.Replace(P(), ".", "=.", 1)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 no jti", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"jti": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 no htm", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"htm": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 no htu", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"htu": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 no iat", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"iat": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 iat a string", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"iat": "1800000000"}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "3 no ath", token: tok, proofs: []string{P(oidctest.WithProofClaims(map[string]any{"ath": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "4 typ JWT", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"typ": "JWT"}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "4 no typ", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"typ": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "4 crit", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"crit": []string{"x"}}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "5 alg none", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"alg": "none"}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "5 alg HS256", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"alg": "HS256"}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "5 alg RS256 not in DPoP allow-list", token: rsaTok, proofs: []string{mustProof(t, rsaKey, "GET", dpopURL, rsaTok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "6 no jwk", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"jwk": nil}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "6 private jwk", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"jwk": priv}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "6 symmetric jwk", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"jwk": map[string]any{"kty": "oct", "k": "c2VjcmV0"}}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "6 point not on the curve", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"jwk": offCurve}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "6 jwk does not fit alg", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"alg": "ES384"}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "7 re-signed: jwk of another key", token: tok, proofs: []string{P(oidctest.WithProofHeader(map[string]any{"jwk": other.PublicJWK()}))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "7 bad signature", token: tok, proofs: []string{P(oidctest.WithProofSignature(make([]byte, 64)))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "8 htm POST for GET", token: tok, proofs: []string{mustProof(t, k, "POST", dpopURL, tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "8 htm lower case", token: tok, proofs: []string{mustProof(t, k, "get", dpopURL, tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "9 re-targeted: other path", token: tok, proofs: []string{mustProof(t, k, "GET", "http://api.test/admin", tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "9 other host", token: tok, proofs: []string{mustProof(t, k, "GET", "http://evil.test/orders", tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "9 https for http", token: tok, proofs: []string{mustProof(t, k, "GET", "https://api.test/orders", tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "9 userinfo", token: tok, proofs: []string{P(oidctest.WithHTU("http://u@api.test/orders"))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "11 iat 59 s old", token: tok, proofs: []string{P(oidctest.WithIssuedAt(t0.Add(-59 * time.Second)))}},
		{name: "11 iat 61 s old", token: tok, proofs: []string{P(oidctest.WithIssuedAt(t0.Add(-61 * time.Second)))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "11 iat 61 s ahead", token: tok, proofs: []string{P(oidctest.WithIssuedAt(t0.Add(61 * time.Second)))}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "12 ath of another token", token: tok2, proofs: []string{P()}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "12 key is not cnf.jkt", token: tok, proofs: []string{mustProof(t, other, "GET", dpopURL, tok)}, err: oidcauth.ErrInvalidDPoPProof, auth: []string{bearerBare, dpopBadProof}},
		{name: "invalid token with the DPoP scheme", token: tok + "x", proofs: []string{P()}, err: oidcauth.ErrMalformedToken, auth: []string{bearerBare, dpopInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(orStr(tt.method, "GET"), orStr(tt.target, dpopURL), nil)
			r.Header.Set("Authorization", "DPoP "+tt.token)
			for _, pr := range tt.proofs {
				r.Header.Add("DPoP", pr)
			}
			_, err := a.Authenticate(r)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Authenticate() = %v, want ok", err)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Authenticate() = %v, want %v", err, tt.err)
			}
			// Through the middleware: a fresh request (the proof above is
			// not recorded, as it failed).
			w := serveDPoP(a, r, false)
			if got := w.Header().Values("WWW-Authenticate"); w.Code != 401 || !slices.Equal(got, tt.auth) {
				t.Fatalf("Required: %d %q, want 401 %q", w.Code, got, tt.auth)
			}
			if w := serveDPoP(a, r, true); w.Code != 401 {
				t.Fatalf("Maybe: %d, want 401 (never anonymous)", w.Code)
			}
		})
	}
}

func TestDPoPReplay(t *testing.T) {
	t.Parallel()
	p, a := newDPoPPair(t, &oidcauth.DPoPConfig{})
	k := mustKey(t, "ES256")
	tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
	proof := mustProof(t, k, "GET", dpopURL, tok)
	req := func() *http.Request {
		r := httptest.NewRequest("GET", dpopURL, nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", proof)
		return r
	}
	if w := serveDPoP(a, req(), false); w.Code != 200 || w.Body.String() != "sub:alice" {
		t.Fatalf("first use: %d %q", w.Code, w.Body)
	}
	if _, err := a.Authenticate(req()); !errors.Is(err, oidcauth.ErrDPoPReplay) || !errors.Is(err, oidcauth.ErrInvalidDPoPProof) {
		t.Fatalf("replay: %v, want ErrDPoPReplay", err)
	}
	w := serveDPoP(a, req(), false)
	if got := w.Header().Values("WWW-Authenticate"); w.Code != 401 || !slices.Equal(got, []string{bearerBare, dpopBadProof}) {
		t.Fatalf("replay: %d %q", w.Code, got)
	}
	// ValidateDPoP shares the cache.
	if _, err := a.ValidateDPoP(context.Background(), tok, proof, "GET", dpopURL); !errors.Is(err, oidcauth.ErrDPoPReplay) {
		t.Fatalf("ValidateDPoP replay: %v", err)
	}
	fresh := mustProof(t, k, "GET", dpopURL, tok)
	if c, err := a.ValidateDPoP(context.Background(), tok, fresh, "GET", dpopURL+"?q=1"); err != nil || c.Subject != "alice" {
		t.Fatalf("ValidateDPoP: %v", err)
	}
}

// TestDPoPDowngrade: the rules of RFC 9449 §7.2 and the policy for
// unbound tokens.
func TestDPoPDowngrade(t *testing.T) {
	t.Parallel()
	k := mustKey(t, "ES256")
	claims := map[string]any{"aud": "api", "sub": "alice"}
	for _, mode := range []string{"nil config", "default", "required"} {
		t.Run(mode, func(t *testing.T) {
			var dc *oidcauth.DPoPConfig
			switch mode {
			case "default":
				dc = &oidcauth.DPoPConfig{}
			case "required":
				dc = &oidcauth.DPoPConfig{Required: true}
			}
			p, a := newDPoPPair(t, dc)
			bound, _ := p.MintDPoPBound(k, claims)
			plain := p.MustMint(t, claims)
			algs := dpopAlgs
			if dc == nil {
				algs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
			}
			needed := strings.Replace(dpopNeeded, dpopAlgs, algs, 1)
			badProof := strings.Replace(dpopBadProof, dpopAlgs, algs, 1)
			bare := strings.Replace(dpopBare, dpopAlgs, algs, 1)
			both := func(d string) []string {
				if mode == "required" {
					return []string{d}
				}
				return []string{bearerBare, d}
			}
			type tc struct {
				name   string
				authz  string
				proofs []string
				want   int
				err    error
				auth   []string
				maybe  int
			}
			tests := []tc{
				{name: "bound token as Bearer", authz: "Bearer " + bound, want: 401, err: oidcauth.ErrDPoPRequired, auth: both(needed)},
				{name: "bound token with DPoP scheme and proof", authz: "DPoP " + bound, proofs: []string{mustProof(t, k, "GET", dpopURL, bound)}, want: 200},
				{name: "bound token with DPoP scheme, no proof", authz: "DPoP " + bound, want: 401, err: oidcauth.ErrInvalidDPoPProof, auth: both(badProof)},
				{name: "proof without a token", proofs: []string{mustProof(t, k, "GET", dpopURL, bound)}, want: 401, err: oidcauth.ErrInvalidDPoPProof, auth: both(badProof)},
				{name: "proof with the Bearer scheme", authz: "Bearer " + plain, proofs: []string{mustProof(t, k, "GET", dpopURL, plain)}, want: 401, err: oidcauth.ErrInvalidDPoPProof, auth: both(badProof)},
				{name: "unbound token with the DPoP scheme", authz: "DPoP " + plain, proofs: []string{mustProof(t, k, "GET", dpopURL, plain)}, want: 401, err: oidcauth.ErrDPoPRequired, auth: both(needed)},
				{name: "DPoP scheme without token", authz: "DPoP ", proofs: []string{mustProof(t, k, "GET", dpopURL, bound)}, want: 400, err: oidcauth.ErrInvalidRequest},
			}
			if mode == "required" {
				tests = append(tests,
					tc{name: "unbound Bearer token refused", authz: "Bearer " + plain, want: 401, err: oidcauth.ErrDPoPRequired, auth: []string{needed}},
					tc{name: "no credential", want: 401, err: oidcauth.ErrNoToken, auth: []string{bare}, maybe: 200})
			} else {
				tests = append(tests, tc{name: "unbound Bearer token accepted", authz: "Bearer " + plain, want: 200})
				noCred := []string{bearerBare, bare}
				if dc == nil {
					noCred = []string{bearerBare} // nil Config.DPoP: answers unchanged
				}
				tests = append(tests, tc{name: "no credential", want: 401, err: oidcauth.ErrNoToken, auth: noCred, maybe: 200})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := httptest.NewRequest("GET", dpopURL, nil)
					if tt.authz != "" {
						r.Header.Set("Authorization", tt.authz)
					}
					for _, pr := range tt.proofs {
						r.Header.Add("DPoP", pr)
					}
					w := serveDPoP(a, r, false)
					if w.Code != tt.want {
						t.Fatalf("Required: %d, want %d", w.Code, tt.want)
					}
					if tt.want == 200 {
						return
					}
					if _, err := a.Authenticate(r); !errors.Is(err, tt.err) {
						t.Fatalf("Authenticate() = %v, want %v", err, tt.err)
					}
					if got := w.Header().Values("WWW-Authenticate"); tt.auth != nil && !slices.Equal(got, tt.auth) {
						t.Fatalf("WWW-Authenticate %q, want %q", got, tt.auth)
					}
					if a.HasCredential(r) != !errors.Is(tt.err, oidcauth.ErrNoToken) {
						t.Fatalf("HasCredential() = %v", a.HasCredential(r))
					}
					wantMaybe := orInt(tt.maybe, tt.want)
					if w := serveDPoP(a, r, true); w.Code != wantMaybe {
						t.Fatalf("Maybe: %d, want %d", w.Code, wantMaybe)
					}
				})
			}
			// Validate has no request: a bound token is refused.
			if _, err := a.Validate(context.Background(), bound); !errors.Is(err, oidcauth.ErrDPoPRequired) {
				t.Fatalf("Validate(bound) = %v, want ErrDPoPRequired", err)
			}
		})
	}
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func TestDPoPNonce(t *testing.T) {
	t.Parallel()
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{
		Issuer: p.Issuer(), Audiences: []string{"api"}, Realm: "api", Now: clock, Logger: quietLogger(),
		DPoP: &oidcauth.DPoPConfig{Algorithms: []string{"ES256", "ES384", "EdDSA"}, NonceSecret: []byte(strings.Repeat("s", 32)), NonceRotation: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	k := mustKey(t, "ES256")
	tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
	call := func(opts ...oidctest.ProofOption) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", dpopURL, nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", mustProof(t, k, "GET", dpopURL, tok, append([]oidctest.ProofOption{oidctest.WithIssuedAt(clock())}, opts...)...))
		return serveDPoP(a, r, false)
	}
	w := call()
	nonce := w.Header().Get("DPoP-Nonce")
	if got := w.Header().Values("WWW-Authenticate"); w.Code != 401 || !slices.Equal(got, []string{bearerBare, dpopNonce}) || nonce == "" || nonce != a.DPoPNonce() {
		t.Fatalf("no nonce: %d %q nonce %q", w.Code, got, nonce)
	}
	if w := call(oidctest.WithNonce(nonce)); w.Code != 200 {
		t.Fatalf("with nonce: %d %q", w.Code, w.Header().Values("WWW-Authenticate"))
	}
	if w := call(oidctest.WithNonce("wrong")); w.Code != 401 || w.Header().Get("DPoP-Nonce") != nonce {
		t.Fatalf("wrong nonce: %d", w.Code)
	}
	mu.Lock()
	now = now.Add(time.Minute) // next period: the previous nonce still counts
	mu.Unlock()
	if w := call(oidctest.WithNonce(nonce)); w.Code != 200 {
		t.Fatalf("previous period's nonce: %d", w.Code)
	}
	if a.DPoPNonce() == nonce {
		t.Fatal("nonce did not rotate")
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if w := call(oidctest.WithNonce(nonce)); w.Code != 401 || w.Header().Get("DPoP-Nonce") != a.DPoPNonce() {
		t.Fatalf("nonce two periods old: %d", w.Code)
	}
}

// TestDPoPBehindProxy: ExternalURL and TrustForwarded decide the htu.
func TestDPoPBehindProxy(t *testing.T) {
	t.Parallel()
	k := mustKey(t, "ES256")
	for _, tc := range []struct {
		name      string
		dc        oidcauth.DPoPConfig
		htu       string
		forwarded bool
		want      int
	}{
		{name: "default: forwarded headers ignored", htu: "https://public.example/orders", forwarded: true, want: 401},
		{name: "default: r.Host", htu: dpopURL, forwarded: true, want: 200},
		{name: "TrustForwarded", dc: oidcauth.DPoPConfig{TrustForwarded: true}, htu: "https://public.example/orders", forwarded: true, want: 200},
		{name: "ExternalURL with prefix", dc: oidcauth.DPoPConfig{ExternalURL: "https://public.example/v1/"}, htu: "https://public.example/v1/orders", want: 200},
		{name: "ExternalURL: internal URL refused", dc: oidcauth.DPoPConfig{ExternalURL: "https://public.example/v1"}, htu: dpopURL, want: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc := tc.dc
			p, a := newDPoPPair(t, &dc)
			tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
			r := httptest.NewRequest("GET", dpopURL, nil)
			r.Header.Set("Authorization", "DPoP "+tok)
			r.Header.Set("DPoP", mustProof(t, k, "GET", tc.htu, tok))
			if tc.forwarded {
				r.Header.Set("X-Forwarded-Proto", "https")
				r.Header.Set("X-Forwarded-Host", "public.example")
			}
			if w := serveDPoP(a, r, false); w.Code != tc.want {
				t.Fatalf("%d, want %d", w.Code, tc.want)
			}
		})
	}
}

func TestDPoPConfigErrors(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	for _, dc := range []oidcauth.DPoPConfig{
		{Algorithms: []string{"HS256"}},
		{Algorithms: []string{"none"}},
		{NonceSecret: []byte("short")},
		{ExternalURL: "ftp://x"},
		{ExternalURL: "https://x/?q"},
		{ProofWindow: -time.Second},
	} {
		if _, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, DPoP: &dc, Logger: quietLogger()}); err == nil || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("New(%+v) = %v, want an error", dc, err)
		}
	}
}

// TestDPoPConcurrentProofs: 1,000 distinct proofs for one token from
// parallel clients are all accepted, and every replay is refused.
func TestDPoPConcurrentProofs(t *testing.T) {
	t.Parallel()
	p, a := newDPoPPair(t, &oidcauth.DPoPConfig{})
	k := mustKey(t, "ES256")
	tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
	srv := httptest.NewServer(a.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))
	defer srv.Close()
	const n = 1000
	proofs := make([]string, n)
	for i := range proofs {
		proofs[i] = mustProof(t, k, "GET", srv.URL+"/x", tok)
	}
	run := func() (ok, replayed int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		next := make(chan string)
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for pr := range next {
					req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
					req.Header.Set("Authorization", "DPoP "+tok)
					req.Header.Set("DPoP", pr)
					resp, err := srv.Client().Do(req)
					if err != nil {
						t.Error(err)
						continue
					}
					resp.Body.Close()
					mu.Lock()
					switch {
					case resp.StatusCode == 200:
						ok++
					case resp.StatusCode == 401 && strings.Contains(resp.Header.Values("WWW-Authenticate")[1], "invalid_dpop_proof"):
						replayed++
					}
					mu.Unlock()
				}
			}()
		}
		for _, pr := range proofs {
			next <- pr
		}
		close(next)
		wg.Wait()
		return ok, replayed
	}
	if ok, rep := run(); ok != n || rep != 0 {
		t.Fatalf("first round: %d accepted, %d refused; want %d, 0", ok, rep, n)
	}
	if ok, rep := run(); ok != 0 || rep != n {
		t.Fatalf("replays: %d accepted, %d refused; want 0, %d", ok, rep, n)
	}
}

func selfSigned(t testing.TB, cn string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestCertificateBound: RFC 8705 §3, from r.TLS and from a proxy header.
func TestCertificateBound(t *testing.T) {
	t.Parallel()
	cert, other := selfSigned(t, "client"), selfSigned(t, "other")
	pemOf := func(c *x509.Certificate) string {
		return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	const hdr = "X-Client-Cert"
	const mismatch = `Bearer realm="api", error="invalid_token", error_description="the token is bound to another client certificate"`
	for _, tc := range []struct {
		name   string
		header string // Config.InsecureClientCertificateHeader
		tls    *x509.Certificate
		value  []string
		err    error
	}{
		{name: "TLS certificate matches", tls: cert},
		{name: "TLS certificate of another client", tls: other, err: oidcauth.ErrCertificateMismatch},
		{name: "no certificate", err: oidcauth.ErrCertificateMismatch},
		{name: "header ignored by default", value: []string{pemOf(cert)}, err: oidcauth.ErrCertificateMismatch},
		{name: "nginx header", header: hdr, value: []string{pemOf(cert)}},
		{name: "envoy XFCC header", header: hdr, value: []string{`By=spiffe://x;Hash=abc;Cert="` + pemOf(cert) + `";Subject="CN=client"`}},
		{name: "header of another client", header: hdr, value: []string{pemOf(other)}, err: oidcauth.ErrCertificateMismatch},
		{name: "two headers", header: hdr, value: []string{pemOf(cert), pemOf(cert)}, err: oidcauth.ErrCertificateMismatch},
		{name: "garbage header", header: hdr, value: []string{"%%%"}, err: oidcauth.ErrCertificateMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, a := newPair(t, oidcauth.Config{Realm: "api", InsecureClientCertificateHeader: tc.header})
			tok, err := p.MintCertificateBound(cert, map[string]any{"aud": "api", "sub": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "https://api.test/x", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			if tc.tls != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{tc.tls}}
			}
			for _, v := range tc.value {
				r.Header.Add(hdr, v)
			}
			_, err = a.Authenticate(r)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Authenticate() = %v, want %v", err, tc.err)
			}
			w := serveDPoP(a, r, false)
			if tc.err == nil {
				if w.Code != 200 {
					t.Fatalf("Required: %d", w.Code)
				}
				return
			}
			if got := w.Header().Values("WWW-Authenticate"); w.Code != 401 || !slices.Equal(got, []string{mismatch}) {
				t.Fatalf("Required: %d %q", w.Code, got)
			}
			if _, err := a.Validate(context.Background(), tok); !errors.Is(err, oidcauth.ErrCertificateMismatch) {
				t.Fatalf("Validate() = %v", err)
			}
		})
	}
}

// TestDPoPResourceMetadata: with Config.DPoP and Config.Resource, the
// metadata announces DPoP (RFC 9728 §2) and the DPoP challenge points to it.
func TestDPoPResourceMetadata(t *testing.T) {
	t.Parallel()
	for _, required := range []bool{false, true} {
		_, a := newPair(t, oidcauth.Config{Resource: "https://api.example.com/mcp", Audiences: []string{"api"},
			DPoP: &oidcauth.DPoPConfig{Required: required, Algorithms: []string{"ES256", "EdDSA"}}, InsecureClientCertificateHeader: "X-Cert"})
		m := a.ResourceMetadata()
		if !slices.Equal(m.DPoPSigningAlgValuesSupported, []string{"ES256", "EdDSA"}) || m.DPoPBoundAccessTokensRequired != required || !m.TLSClientCertificateBoundAccessTokens {
			t.Fatalf("metadata %+v", m)
		}
		w := serveDPoP(a, httptest.NewRequest("GET", dpopURL, nil), false)
		got := w.Header().Values("WWW-Authenticate")
		want := `DPoP realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp", algs="ES256 EdDSA"`
		if got[len(got)-1] != want || len(got) != map[bool]int{false: 2, true: 1}[required] {
			t.Fatalf("required=%v: %q", required, got)
		}
	}
}

type failingCache struct{ err error }

func (c failingCache) Add(context.Context, string, time.Time) (bool, error) { return false, c.err }

// TestDPoPReplayCacheFailure: a cache that fails or is full is 503, never a pass.
func TestDPoPReplayCacheFailure(t *testing.T) {
	t.Parallel()
	k := mustKey(t, "ES256")
	for _, cerr := range []error{errors.New("redis: connection refused"), oidcauth.ErrReplayCacheFull} {
		p, a := newDPoPPair(t, &oidcauth.DPoPConfig{ReplayCache: failingCache{cerr}})
		tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
		r := httptest.NewRequest("GET", dpopURL, nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", mustProof(t, k, "GET", dpopURL, tok))
		_, err := a.Authenticate(r)
		if !errors.Is(err, oidcauth.ErrReplayCacheUnavailable) || strings.Count(err.Error(), "oidcauth:") != 1 {
			t.Fatalf("Authenticate() = %v", err)
		}
		if w := serveDPoP(a, r, true); w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("Maybe: %d", w.Code)
		}
	}
}
