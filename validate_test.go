package oidcauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// t0 is the fixed "now" of the validation tests.
var t0 = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return t0 }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newPair starts a provider with an RS256 key and an Authorizer for it,
// both on the fixed clock.
func newPair(t *testing.T, cfg oidcauth.Config, opts ...oidctest.Options) (*oidctest.Provider, *oidcauth.Authorizer) {
	t.Helper()
	o := oidctest.Options{Now: fixedNow}
	if len(opts) > 0 {
		o = opts[0]
		if o.Now == nil {
			o.Now = fixedNow
		}
	}
	p := oidctest.New(t, o)
	cfg.Issuer = orStr(cfg.Issuer, p.Issuer())
	if cfg.Audiences == nil && !cfg.SkipAudienceCheck {
		cfg.Audiences = []string{"api"}
	}
	if cfg.Now == nil {
		cfg.Now = fixedNow
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	a, err := oidcauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return p, a
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// errKIDUnknown stands, in test tables, for the refusal of a kid the key
// set lacks: ErrUnknownKey (401) when a refresh ran, ErrKeyNotYetKnown (503)
// within the refresh cooldown that an earlier case started.
var errKIDUnknown = errors.New("unknown kid: ErrUnknownKey or ErrKeyNotYetKnown")

// isErr is errors.Is that also understands errKIDUnknown.
func isErr(err, want error) bool {
	if want == errKIDUnknown {
		return errors.Is(err, oidcauth.ErrUnknownKey) || errors.Is(err, oidcauth.ErrKeyNotYetKnown)
	}
	return errors.Is(err, want)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestValidateClaims is one table case per claim rule of Validate.
func TestValidateClaims(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{Audiences: []string{"api", "api2"}})
	iss := p.Issuer()
	tests := []struct {
		name   string
		claims map[string]any // merged over iss, iat=t0, exp=t0+1h
		raw    string         // when set, the payload verbatim
		want   error
	}{
		{name: "valid, aud string", claims: map[string]any{"sub": "alice", "aud": "api"}},
		{name: "valid, aud array with one match", claims: map[string]any{"aud": []string{"other", "api2"}}},
		{name: "aud none matches", claims: map[string]any{"aud": []string{"other", "API"}}, want: oidcauth.ErrInvalidAudience},
		{name: "aud missing", claims: map[string]any{}, want: oidcauth.ErrInvalidAudience},
		{name: "aud empty array", claims: map[string]any{"aud": []string{}}, want: oidcauth.ErrInvalidAudience},
		{name: "aud number", claims: map[string]any{"aud": 1}, want: oidcauth.ErrInvalidClaims},
		{name: "aud array with number", claims: map[string]any{"aud": []any{"api", 1}}, want: oidcauth.ErrInvalidClaims},
		{name: "aud object", claims: map[string]any{"aud": map[string]any{"api": true}}, want: oidcauth.ErrInvalidClaims},
		{name: "iss other", claims: map[string]any{"aud": "api", "iss": "https://evil.example"}, want: oidcauth.ErrInvalidIssuer},
		{name: "iss with trailing slash", claims: map[string]any{"aud": "api", "iss": iss + "/"}, want: oidcauth.ErrInvalidIssuer},
		{name: "iss missing", claims: map[string]any{"aud": "api", "iss": nil}, want: oidcauth.ErrInvalidIssuer},
		{name: "iss not a string", claims: map[string]any{"aud": "api", "iss": 5}, want: oidcauth.ErrInvalidClaims},
		{name: "iss escaped still equal", raw: `{"iss":"` + strings.ReplaceAll(iss, "/", `\/`) + `","aud":"api","exp":1800003600}`},
		{name: "ISS case variant is not iss", raw: `{"ISS":"` + iss + `","aud":"api","exp":1800003600}`, want: oidcauth.ErrInvalidIssuer},
		{name: "exp missing", claims: map[string]any{"aud": "api", "exp": nil}, want: oidcauth.ErrInvalidClaims},
		{name: "exp past", claims: map[string]any{"aud": "api", "exp": t0.Add(-31 * time.Second).Unix()}, want: oidcauth.ErrTokenExpired},
		{name: "exp past within leeway", claims: map[string]any{"aud": "api", "exp": t0.Add(-29 * time.Second).Unix()}},
		{name: "exp now minus leeway exactly", claims: map[string]any{"aud": "api", "exp": t0.Add(-30 * time.Second).Unix()}, want: oidcauth.ErrTokenExpired},
		{name: "exp fractional", raw: `{"iss":"` + iss + `","aud":"api","exp":1800003600.5}`},
		{name: "exp string", claims: map[string]any{"aud": "api", "exp": "1800003600"}, want: oidcauth.ErrInvalidClaims},
		{name: "exp null", raw: `{"iss":"` + iss + `","aud":"api","exp":null}`, want: oidcauth.ErrInvalidClaims},
		{name: "exp bool", claims: map[string]any{"aud": "api", "exp": true}, want: oidcauth.ErrInvalidClaims},
		{name: "exp negative", claims: map[string]any{"aud": "api", "exp": -1}, want: oidcauth.ErrInvalidClaims},
		{name: "exp beyond year 9999", raw: `{"iss":"` + iss + `","aud":"api","exp":1e300}`, want: oidcauth.ErrInvalidClaims},
		{name: "nbf future", claims: map[string]any{"aud": "api", "nbf": t0.Add(31 * time.Second).Unix()}, want: oidcauth.ErrTokenNotYetValid},
		{name: "nbf future within leeway", claims: map[string]any{"aud": "api", "nbf": t0.Add(30 * time.Second).Unix()}},
		{name: "nbf string", claims: map[string]any{"aud": "api", "nbf": "soon"}, want: oidcauth.ErrInvalidClaims},
		{name: "iat future", claims: map[string]any{"aud": "api", "iat": t0.Add(time.Minute).Unix()}, want: oidcauth.ErrTokenIssuedInFuture},
		{name: "iat future within leeway", claims: map[string]any{"aud": "api", "iat": t0.Add(20 * time.Second).Unix()}},
		{name: "iat string", claims: map[string]any{"aud": "api", "iat": "now"}, want: oidcauth.ErrInvalidClaims},
		{name: "sub number", claims: map[string]any{"aud": "api", "sub": 42}, want: oidcauth.ErrInvalidClaims},
		{name: "scope array is not a scope string", claims: map[string]any{"aud": "api", "scope": []string{"a"}}, want: oidcauth.ErrInvalidClaims},
		{name: "scp array of numbers", claims: map[string]any{"aud": "api", "scp": []int{1}}, want: oidcauth.ErrInvalidClaims},
		{name: "duplicate iss", raw: `{"iss":"https://evil.example","iss":"` + iss + `","aud":"api","exp":1800003600}`, want: oidcauth.ErrInvalidClaims},
		{name: "duplicate escaped aud", raw: `{"iss":"` + iss + `","aud":"x","\u0061ud":"api","exp":1800003600}`, want: oidcauth.ErrInvalidClaims},
		{name: "claims not an object", raw: `["iss"]`, want: oidcauth.ErrInvalidClaims},
		{name: "claims trailing garbage", raw: `{"iss":"` + iss + `","aud":"api","exp":1800003600} x`, want: oidcauth.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := oidctest.Token{Claims: tt.claims}
			if tt.raw != "" {
				tok = oidctest.Token{RawPayload: []byte(tt.raw)}
			}
			c, err := a.Validate(context.Background(), p.MustMintToken(t, tok))
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Validate() error = %v, want %v", err, tt.want)
			}
			if err == nil && c.Issuer != iss {
				t.Errorf("Claims.Issuer = %q, want %q", c.Issuer, iss)
			}
			var ve *oidcauth.ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("Validate() error %T is not a *ValidationError", err)
			}
		})
	}
}

// TestValidateHeader covers the JOSE header, the key choice and the
// signature.
func TestValidateHeader(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{Algorithms: []string{"RS256", "PS256", "ES256"}})
	okClaims := map[string]any{"aud": "api"}
	kidRS := p.ActiveKeyID()
	kidES, err := p.AddKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	kidEd, err := p.AddUnpublishedKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	good := p.MustMint(t, okClaims)
	parts := strings.Split(good, ".")
	pub := p.PublicKey(kidRS)
	_ = pub
	tests := []struct {
		name  string
		tok   oidctest.Token
		token string // used verbatim when set
		want  error
	}{
		{name: "RS256 by kid", tok: oidctest.Token{Claims: okClaims}},
		{name: "ES256 by kid", tok: oidctest.Token{Claims: okClaims, KeyID: kidES}},
		{name: "PS256 token, key pinned to RS256", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"alg": "PS256"}}, want: oidcauth.ErrUnknownKey},
		{name: "alg not allowed", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"alg": "RS384"}}, want: oidcauth.ErrUnsupportedAlgorithm},
		{name: "alg none", token: b64(`{"alg":"none"}`) + "." + parts[1] + ".AA", want: oidcauth.ErrUnsupportedAlgorithm},
		{name: "alg none without signature", token: b64(`{"alg":"none"}`) + "." + parts[1] + ".", want: oidcauth.ErrMalformedToken},
		{name: "alg None", token: b64(`{"alg":"None"}`) + "." + parts[1] + ".AA", want: oidcauth.ErrUnsupportedAlgorithm},
		{name: "HS256 with the public key as secret", token: hs256Token(b64(`{"alg":"HS256","kid":"`+kidRS+`"}`)+"."+parts[1], []byte(p.JWKS())), want: oidcauth.ErrUnsupportedAlgorithm},
		{name: "alg missing", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"alg": nil}}, want: oidcauth.ErrInvalidHeader},
		{name: "ALG case variant is not alg", tok: oidctest.Token{RawHeader: []byte(`{"ALG":"RS256","kid":"` + kidRS + `"}`), Claims: okClaims}, want: oidcauth.ErrInvalidHeader},
		{name: "alg not a string", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"alg": 256}}, want: oidcauth.ErrInvalidHeader},
		{name: "duplicate alg", tok: oidctest.Token{RawHeader: []byte(`{"alg":"none","alg":"RS256","kid":"` + kidRS + `"}`), Claims: okClaims}, want: oidcauth.ErrMalformedToken},
		{name: "crit header", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"crit": []string{"exp"}, "exp": 1}}, want: oidcauth.ErrInvalidHeader},
		{name: "b64 header", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"b64": false}}, want: oidcauth.ErrInvalidHeader},
		{name: "zip header", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"zip": "DEF"}}, want: oidcauth.ErrInvalidHeader},
		{name: "unknown kid", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"kid": "nope"}}, want: errKIDUnknown},
		{name: "kid of an unpublished key", tok: oidctest.Token{Claims: okClaims, KeyID: kidEd}, want: oidcauth.ErrUnsupportedAlgorithm},
		{name: "kid of the RSA key on an ES256 token", tok: oidctest.Token{Claims: okClaims, KeyID: kidES, Header: map[string]any{"kid": kidRS}}, want: oidcauth.ErrUnknownKey},
		{name: "no kid, exactly one RS256 key", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"kid": nil}}},
		{name: "no kid, exactly one ES256 key", tok: oidctest.Token{Claims: okClaims, KeyID: kidES, Header: map[string]any{"kid": nil}}},
		{name: "jwk header is never used", tok: oidctest.Token{Claims: okClaims, KeyID: kidEd, Header: map[string]any{"alg": "ES256", "kid": nil, "jwk": map[string]any{"kty": "OKP"}}}, want: oidcauth.ErrInvalidSignature},
		{name: "jku header is never fetched", tok: oidctest.Token{Claims: okClaims, Header: map[string]any{"kid": "evil", "jku": "http://127.0.0.1:1/jwks"}}, want: errKIDUnknown},
		{name: "tampered payload", token: parts[0] + "." + b64(`{"iss":"`+p.Issuer()+`","aud":"api","exp":1900000000}`) + "." + parts[2], want: oidcauth.ErrInvalidSignature},
		{name: "signature of another token", token: parts[0] + "." + parts[1] + "." + strings.Split(p.MustMint(t, map[string]any{"aud": "x"}), ".")[2], want: oidcauth.ErrInvalidSignature},
		{name: "expired and badly signed is a signature error", token: parts[0] + "." + b64(`{"iss":"`+p.Issuer()+`","aud":"api","exp":1}`) + "." + parts[2], want: oidcauth.ErrInvalidSignature},
		{name: "truncated signature", token: parts[0] + "." + parts[1] + "." + truncate(parts[2], 3), want: oidcauth.ErrInvalidSignature},
		{name: "ECDSA r=s=0", tok: oidctest.Token{Claims: okClaims, KeyID: kidES, Signature: make([]byte, 64)}, want: oidcauth.ErrInvalidSignature},
		{name: "ECDSA ASN.1 signature", tok: oidctest.Token{Claims: okClaims, KeyID: kidES, Signature: append([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, make([]byte, 56)...)}, want: oidcauth.ErrInvalidSignature},
		{name: "ECDSA signature too short", tok: oidctest.Token{Claims: okClaims, KeyID: kidES, Signature: make([]byte, 63)}, want: oidcauth.ErrInvalidSignature},
		{name: "two parts", token: parts[0] + "." + parts[1], want: oidcauth.ErrMalformedToken},
		{name: "four parts", token: good + ".x", want: oidcauth.ErrMalformedToken},
		{name: "JWE five parts", token: "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", want: oidcauth.ErrMalformedToken},
		{name: "empty header", token: "." + parts[1] + "." + parts[2], want: oidcauth.ErrMalformedToken},
		{name: "padding", token: parts[0] + "=." + parts[1] + "." + parts[2], want: oidcauth.ErrMalformedToken},
		{name: "standard alphabet", token: strings.NewReplacer("-", "+", "_", "/").Replace(good), want: oidcauth.ErrMalformedToken},
		{name: "line break", token: parts[0][:5] + "\n" + parts[0][5:] + "." + parts[1] + "." + parts[2], want: oidcauth.ErrMalformedToken},
		{name: "space", token: " " + good, want: oidcauth.ErrMalformedToken},
		{name: "non-canonical trailing bits", token: nonCanonical(parts[0]) + "." + parts[1] + "." + parts[2], want: oidcauth.ErrMalformedToken},
		{name: "header not JSON", token: b64("alg") + "." + parts[1] + "." + parts[2], want: oidcauth.ErrMalformedToken},
		{name: "empty", token: "", want: oidcauth.ErrMalformedToken},
		{name: "dots only", token: strings.Repeat(".", 1000), want: oidcauth.ErrMalformedToken},
		{name: "too large", token: strings.Repeat("a", 16<<10+1), want: oidcauth.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" && tt.want != oidcauth.ErrMalformedToken {
				token = p.MustMintToken(t, tt.tok)
			}
			_, err := a.Validate(context.Background(), token)
			if !isErr(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
}

// hs256Token signs input with HMAC-SHA256 under secret: the classic
// algorithm-confusion attack, with the provider's public key as secret.
func hs256Token(input string, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// truncate removes n bytes from the end of a base64url value.
func truncate(s string, n int) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:len(b)-n])
}

// nonCanonical flips the unused low bits of the last base64url character,
// which lenient decoders ignore.
func nonCanonical(s string) string {
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 == 0 {
		return s
	}
	last := strings.IndexByte(alpha, s[len(s)-1])
	return s[:len(s)-1] + string(alpha[last|1])
}

// TestValidateTokenType covers Config.TokenType (RFC 9068 §4) and the
// default typ policy (RFC 8725 §3.11).
func TestValidateTokenType(t *testing.T) {
	t.Parallel()
	p, strict := newPair(t, oidcauth.Config{TokenType: "at+jwt"})
	lax, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Now: fixedNow, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer lax.Close()
	tests := []struct {
		typ        any
		strictWant error
		laxWant    error
	}{
		{typ: "at+jwt"},
		{typ: "AT+JWT"},
		{typ: "application/at+jwt"},
		{typ: "Application/At+Jwt"},
		{typ: "JWT", strictWant: oidcauth.ErrInvalidHeader},
		{typ: nil, strictWant: oidcauth.ErrInvalidHeader},
		{typ: "application/jwt", strictWant: oidcauth.ErrInvalidHeader},
		{typ: "at+jwt ", strictWant: oidcauth.ErrInvalidHeader, laxWant: oidcauth.ErrInvalidHeader},
		{typ: "logout+jwt", strictWant: oidcauth.ErrInvalidHeader, laxWant: oidcauth.ErrInvalidHeader},
		{typ: "dpop+jwt", strictWant: oidcauth.ErrInvalidHeader, laxWant: oidcauth.ErrInvalidHeader},
		{typ: 1, strictWant: oidcauth.ErrInvalidHeader, laxWant: oidcauth.ErrInvalidHeader},
	}
	for _, tt := range tests {
		tok := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"aud": "api"}, Header: map[string]any{"typ": tt.typ}})
		if _, err := strict.Validate(context.Background(), tok); !errors.Is(err, tt.strictWant) || (tt.strictWant == nil && err != nil) {
			t.Errorf("typ %v: Validate(TokenType at+jwt) error = %v, want %v", tt.typ, err, tt.strictWant)
		}
		if _, err := lax.Validate(context.Background(), tok); !errors.Is(err, tt.laxWant) || (tt.laxWant == nil && err != nil) {
			t.Errorf("typ %v: Validate(no TokenType) error = %v, want %v", tt.typ, err, tt.laxWant)
		}
	}
}

// TestValidateAlgorithms validates a token of every supported algorithm.
func TestValidateAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			p, a := newPair(t, oidcauth.Config{}, oidctest.Options{Algorithm: alg})
			tok := p.MustMint(t, map[string]any{"aud": "api", "sub": "alice", "scope": "read  write", "client_id": "cli", "jti": "j1"})
			c, err := a.Validate(context.Background(), tok)
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if c.Subject != "alice" || c.ClientID != "cli" || c.ID != "j1" || strings.Join(c.Scopes, ",") != "read,write" {
				t.Errorf("Claims = %+v", c)
			}
			if !c.ExpiresAt.Equal(t0.Add(time.Hour)) || !c.IssuedAt.Equal(t0) || !c.NotBefore.IsZero() {
				t.Errorf("times = exp %v iat %v nbf %v", c.ExpiresAt, c.IssuedAt, c.NotBefore)
			}
			// Only the allow-list counts: the same token with the
			// algorithm excluded is refused.
			other := "ES256"
			if alg == "ES256" {
				other = "RS256"
			}
			b, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Algorithms: []string{other}, Now: fixedNow, Logger: quietLogger()})
			if err == nil {
				defer b.Close()
				t.Fatalf("New() with no key fitting %s succeeded; want an error (no usable key)", other)
			}
		})
	}
}

// TestValidateRefusesIDTokens: a token whose header typ is not at+jwt and
// that carries an ID-token claim is refused with ErrIDToken, even when its
// aud equals a configured audience (the API whose audience is a client
// ID); typ at+jwt settles it as an access token; the opt-outs work.
func TestValidateRefusesIDTokens(t *testing.T) {
	t.Parallel()
	p, a := newPair(t, oidcauth.Config{Audiences: []string{"client-1"}})
	newA := func(cfg oidcauth.Config) *oidcauth.Authorizer {
		cfg.Issuer, cfg.Audiences, cfg.Now, cfg.Logger = p.Issuer(), []string{"client-1"}, fixedNow, quietLogger()
		x, err := oidcauth.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}
	skip := newA(oidcauth.Config{SkipIDTokenCheck: true})
	nonceOK := newA(oidcauth.Config{NonceInAccessTokens: true})
	tests := []struct {
		name              string
		typ               any // header typ; oidctest's default is "JWT"
		claims            map[string]any
		want, wantNonceOK error
		wantSkip          error
	}{
		{name: "plain access token", claims: map[string]any{"scope": "read"}},
		{name: "at_hash", claims: map[string]any{"at_hash": "x"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "c_hash", claims: map[string]any{"c_hash": "x"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "s_hash", claims: map[string]any{"s_hash": "x"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "nonce", claims: map[string]any{"nonce": "n"}, want: oidcauth.ErrIDToken},
		{name: "nonce and at_hash", claims: map[string]any{"nonce": "n", "at_hash": "x"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "Keycloak typ ID", claims: map[string]any{"typ": "ID"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "Keycloak typ Bearer", claims: map[string]any{"typ": "Bearer"}},
		{name: "Cognito token_use id", claims: map[string]any{"token_use": "id"}, want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrIDToken},
		{name: "Cognito token_use access", claims: map[string]any{"token_use": "access"}},
		{name: "no typ header, nonce", typ: nil, claims: map[string]any{"nonce": "n"}, want: oidcauth.ErrIDToken},
		{name: "typ at+jwt overrides", typ: "at+jwt", claims: map[string]any{"nonce": "n", "at_hash": "x"}},
		{name: "typ application/at+jwt overrides", typ: "application/AT+JWT", claims: map[string]any{"nonce": "n"}},
		{name: "expired ID token reports ID token first", claims: map[string]any{"nonce": "n", "exp": t0.Add(-time.Hour).Unix()},
			want: oidcauth.ErrIDToken, wantNonceOK: oidcauth.ErrTokenExpired, wantSkip: oidcauth.ErrTokenExpired},
		{name: "wrong aud reports aud first", claims: map[string]any{"nonce": "n", "aud": "other"},
			want: oidcauth.ErrInvalidAudience, wantNonceOK: oidcauth.ErrInvalidAudience, wantSkip: oidcauth.ErrInvalidAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := map[string]any{"sub": "alice", "aud": "client-1"}
			for k, v := range tt.claims {
				claims[k] = v
			}
			hdr := map[string]any{"typ": "JWT"}
			if tt.typ != "" {
				hdr["typ"] = tt.typ
			}
			tok := p.MustMintToken(t, oidctest.Token{Header: hdr, Claims: claims})
			for _, c := range []struct {
				name string
				a    *oidcauth.Authorizer
				want error
			}{{"default", a, tt.want}, {"NonceInAccessTokens", nonceOK, tt.wantNonceOK}, {"SkipIDTokenCheck", skip, tt.wantSkip}} {
				_, err := c.a.Validate(context.Background(), tok)
				if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
					t.Errorf("%s: Validate() error = %v, want %v", c.name, err, c.want)
				}
				if err != nil && oidcauth.StatusCode(err) != 401 {
					t.Errorf("%s: StatusCode(%v) = %d, want 401", c.name, err, oidcauth.StatusCode(err))
				}
			}
		})
	}
}

// TestHMACSecretLength: New refuses a secret shorter than the hash output
// of any HMAC algorithm it would accept (RFC 7518 §3.2), and accepts one
// of exactly that length.
func TestHMACSecretLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		algs   []string
		n      int
		wantOK bool
	}{
		{[]string{"HS256"}, 31, false},
		{[]string{"HS256"}, 32, true},
		{[]string{"HS384"}, 32, false},
		{[]string{"HS384"}, 47, false},
		{[]string{"HS384"}, 48, true},
		{[]string{"HS512"}, 48, false},
		{[]string{"HS512"}, 63, false},
		{[]string{"HS512"}, 64, true},
		{[]string{"HS256", "HS512"}, 32, false},
		{[]string{"HS256", "HS384", "HS512"}, 64, true},
	}
	for _, tt := range tests {
		_, err := oidcauth.New(context.Background(), oidcauth.Config{
			Issuer: "https://issuer.example", Audiences: []string{"api"}, Logger: quietLogger(),
			Algorithms: tt.algs, HMACSecret: []byte(strings.Repeat("s", tt.n)),
		})
		if (err == nil) != tt.wantOK {
			t.Errorf("New(%v, %d-byte secret) error = %v, want ok %t", tt.algs, tt.n, err, tt.wantOK)
		}
		if err != nil && !strings.Contains(err.Error(), "RFC 7518 §3.2") {
			t.Errorf("New(%v, %d-byte secret) error = %q, want it to name RFC 7518 §3.2", tt.algs, tt.n, err)
		}
	}
}

// TestSchemelessIssuerNeedsHTTPS: New refuses SchemelessIssuer where it
// cannot mean anything (an http or static issuer), as NewIssuers does.
func TestSchemelessIssuerNeedsHTTPS(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	for name, cfg := range map[string]oidcauth.Config{
		"http issuer":   {Issuer: p.Issuer(), Audiences: []string{"a"}, SchemelessIssuer: true},
		"static issuer": {Issuer: "svc", Audiences: []string{"a"}, SchemelessIssuer: true, StaticJWKS: p.JWKS()},
	} {
		a, err := oidcauth.New(context.Background(), cfg)
		if err == nil {
			a.Close()
			t.Errorf("%s: New succeeded, want an error", name)
		} else if !strings.Contains(err.Error(), "SchemelessIssuer needs an https issuer") {
			t.Errorf("%s: error %q", name, err)
		}
	}
}
