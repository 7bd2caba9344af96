package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	jwtmw "github.com/auth0/go-jwt-middleware/v2/jwks"
	jwtmwvalidator "github.com/auth0/go-jwt-middleware/v2/validator"
	jwtmw3 "github.com/auth0/go-jwt-middleware/v3/jwks"
	jwtmw3validator "github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	golangjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/httprc/v3"
	jwkv2 "github.com/lestrrat-go/jwx/v2/jwk"
	jwtv2 "github.com/lestrrat-go/jwx/v2/jwt"
	jwkv3 "github.com/lestrrat-go/jwx/v3/jwk"
	jwtv3 "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/oidcauth/oidcauth"
)

// Result is what every contender hands the API: the subject and a claim
// that is not a registered one (client_id, RFC 9068 §2.2), so that each
// contender has decoded the claims as an API needs them.
type Result struct {
	Subject  string
	ClientID string
}

// Validator validates a token with full checks.
type Validator func(ctx context.Context, token string) (Result, error)

// Contender is one way of validating tokens.
type Contender struct {
	// Name is the benchmark sub-test name.
	Name string
	// Floor marks a reference that only checks the signature: it is
	// expected to accept a token with valid signature but bad claims.
	Floor bool
	// Algs limits the contender to some algorithms; nil means all.
	Algs []string
	// Setup prepares a validator for alg, and returns a function that
	// releases it (nil when there is nothing to release). Keys are fetched
	// (remote key sets primed) before it returns.
	Setup func(ctx context.Context, e *Env, alg string) (v Validator, release func(), err error)
}

// Contenders returns every contender, floors first.
func Contenders() []Contender {
	return []Contender{
		{Name: "floor", Floor: true, Setup: setupFloor},
		{Name: "floor-asn1", Floor: true, Algs: []string{"ES256"}, Setup: setupFloorASN1},
		{Name: "oidcauth", Setup: setupOIDCAuth},
		{Name: "golang-jwt+keyfunc", Setup: setupGolangJWT},
		{Name: "go-jose", Setup: setupGoJose},
		{Name: "go-oidc", Setup: setupGoOIDC},
		{Name: "go-jwt-middleware", Setup: setupJWTMiddleware},
		{Name: "go-jwt-middleware-v3", Setup: setupJWTMiddlewareV3},
		{Name: "zitadel", Setup: setupZitadel},
		{Name: "jwx-v3", Setup: setupJWXv3},
		{Name: "jwx-v2", Setup: setupJWXv2},
	}
}

// For reports whether c runs for alg.
func (c Contender) For(alg string) bool {
	if c.Algs == nil {
		return true
	}
	for _, a := range c.Algs {
		if a == alg {
			return true
		}
	}
	return false
}

var errSignature = errors.New("invalid signature")

// setupFloor is the signature check alone: base64url-decode the signature
// and call crypto/rsa, crypto/ecdsa (r and s as big.Ints, ecdsa.Verify) or
// crypto/ed25519 with the provider's public key, parsed beforehand. It
// reads no header and no claim.
func setupFloor(_ context.Context, e *Env, alg string) (Validator, func(), error) {
	switch k := e.Keys[alg].(type) {
	case *rsa.PublicKey:
		return func(_ context.Context, tok string) (Result, error) {
			i := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
			if err != nil {
				return Result{}, err
			}
			d := sha256.Sum256([]byte(tok[:i]))
			if err := rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig); err != nil {
				return Result{}, err
			}
			return Result{}, nil
		}, nil, nil
	case *ecdsa.PublicKey:
		return func(_ context.Context, tok string) (Result, error) {
			i := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
			if err != nil {
				return Result{}, err
			}
			if len(sig) != 64 {
				return Result{}, errSignature
			}
			r := new(big.Int).SetBytes(sig[:32])
			s := new(big.Int).SetBytes(sig[32:])
			d := sha256.Sum256([]byte(tok[:i]))
			if !ecdsa.Verify(k, d[:], r, s) {
				return Result{}, errSignature
			}
			return Result{}, nil
		}, nil, nil
	case ed25519.PublicKey:
		return func(_ context.Context, tok string) (Result, error) {
			i := strings.LastIndexByte(tok, '.')
			sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
			if err != nil {
				return Result{}, err
			}
			if !ed25519.Verify(k, []byte(tok[:i]), sig) {
				return Result{}, errSignature
			}
			return Result{}, nil
		}, nil, nil
	}
	return nil, nil, fmt.Errorf("floor: no key for %s", alg)
}

// setupFloorASN1 is the ES256 floor without big.Ints: r || s re-encoded as
// DER in a stack buffer for ecdsa.VerifyASN1, as oidcauth does. It is the
// cheapest way crypto/ecdsa offers to check a JWS signature.
func setupFloorASN1(_ context.Context, e *Env, alg string) (Validator, func(), error) {
	k, ok := e.Keys[alg].(*ecdsa.PublicKey)
	if !ok {
		return nil, nil, fmt.Errorf("floor-asn1: %s is not ECDSA", alg)
	}
	return func(_ context.Context, tok string) (Result, error) {
		i := strings.LastIndexByte(tok, '.')
		var buf [96]byte
		sig, err := base64.RawURLEncoding.AppendDecode(buf[:0], []byte(tok[i+1:]))
		if err != nil {
			return Result{}, err
		}
		if len(sig) != 64 {
			return Result{}, errSignature
		}
		var der [72]byte
		n := derSignature(&der, sig[:32], sig[32:])
		d := sha256.Sum256([]byte(tok[:i]))
		if !ecdsa.VerifyASN1(k, d[:], der[:n]) {
			return Result{}, errSignature
		}
		return Result{}, nil
	}, nil, nil
}

// derSignature writes SEQUENCE { INTEGER r, INTEGER s } into der and
// returns its length (at most 72 bytes for P-256).
func derSignature(der *[72]byte, r, s []byte) int {
	n := 2
	for _, v := range [][]byte{r, s} {
		for len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		pad := v[0]&0x80 != 0
		l := len(v)
		if pad {
			l++
		}
		der[n], der[n+1] = 0x02, byte(l)
		n += 2
		if pad {
			der[n] = 0
			n++
		}
		n += copy(der[n:], v)
	}
	der[0], der[1] = 0x30, byte(n-2)
	return n
}

// quiet is a logger for libraries that want one.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// setupOIDCAuth is oidcauth with its defaults, plus TokenType "at+jwt"
// (so it also checks typ, which no peer does). No token cache: every
// validation is cold.
func setupOIDCAuth(ctx context.Context, e *Env, _ string) (Validator, func(), error) {
	a, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:    e.Issuer,
		Audiences: []string{Audience},
		TokenType: "at+jwt",
		Logger:    quiet,
	})
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, tok string) (Result, error) {
		c, err := a.Validate(ctx, tok)
		if err != nil {
			return Result{}, err
		}
		return Result{c.Subject, c.ClientID}, nil
	}, func() { a.Close() }, nil
}

// golangJWTClaims are the claims golang-jwt decodes: the registered ones
// and those an API reads.
type golangJWTClaims struct {
	golangjwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// setupGolangJWT is golang-jwt/jwt v5 with MicahParks/keyfunc v3 fetching
// the JWKS (keys read by kid, alg must match the JWK's alg).
func setupGolangJWT(ctx context.Context, e *Env, _ string) (Validator, func(), error) {
	kctx, cancel := context.WithCancel(context.Background())
	kf, err := keyfunc.NewDefaultCtx(kctx, []string{e.JWKSURL})
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if keys, err := kf.Storage().KeyReadAll(ctx); err != nil || len(keys) == 0 {
		cancel()
		return nil, nil, fmt.Errorf("keyfunc: %d keys, %v", len(keys), err)
	}
	p := golangjwt.NewParser(
		golangjwt.WithValidMethods(Algorithms),
		golangjwt.WithIssuer(e.Issuer),
		golangjwt.WithAudience(Audience),
		golangjwt.WithExpirationRequired(),
		golangjwt.WithIssuedAt(),
		golangjwt.WithLeeway(Leeway),
	)
	return func(_ context.Context, tok string) (Result, error) {
		var c golangJWTClaims
		if _, err := p.ParseWithClaims(tok, &c, kf.Keyfunc); err != nil {
			return Result{}, err
		}
		return Result{c.Subject, c.ClientID}, nil
	}, cancel, nil
}

type joseClaims struct {
	josejwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

var errNoExp = errors.New("token has no exp")

// setupGoJose is go-jose v4's jwt package with the JWKS fetched once into
// a jose.JSONWebKeySet (go-jose has no remote key set). go-jose does not
// require exp; that check is added here.
func setupGoJose(_ context.Context, e *Env, _ string) (Validator, func(), error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(e.JWKS, &set); err != nil {
		return nil, nil, err
	}
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}
	want := josejwt.Expected{Issuer: e.Issuer, AnyAudience: josejwt.Audience{Audience}}
	return func(_ context.Context, tok string) (Result, error) {
		t, err := josejwt.ParseSigned(tok, algs)
		if err != nil {
			return Result{}, err
		}
		var c joseClaims
		if err := t.Claims(&set, &c); err != nil {
			return Result{}, err
		}
		if err := c.ValidateWithLeeway(want.WithTime(time.Now()), Leeway); err != nil {
			return Result{}, err
		}
		if c.Expiry == nil {
			return Result{}, errNoExp
		}
		return Result{c.Subject, c.ClientID}, nil
	}, nil, nil
}

var errIATFuture = errors.New("token issued in the future")

// setupGoOIDC is coreos/go-oidc v3's IDTokenVerifier with a RemoteKeySet
// (primed by one verification), ClientID = the API's audience. go-oidc
// checks exp without leeway and nbf with 5 minutes, and ignores iat; the
// iat check is added here. client_id needs a second decode (IDToken.Claims).
func setupGoOIDC(ctx context.Context, e *Env, alg string) (Validator, func(), error) {
	ks := oidc.NewRemoteKeySet(context.Background(), e.JWKSURL)
	v := oidc.NewVerifier(e.Issuer, ks, &oidc.Config{ClientID: Audience, SupportedSigningAlgs: Algorithms})
	f := func(ctx context.Context, tok string) (Result, error) {
		t, err := v.Verify(ctx, tok)
		if err != nil {
			return Result{}, err
		}
		if t.IssuedAt.After(time.Now().Add(Leeway)) {
			return Result{}, errIATFuture
		}
		var c struct {
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
		}
		if err := t.Claims(&c); err != nil {
			return Result{}, err
		}
		return Result{t.Subject, c.ClientID}, nil
	}
	if _, err := f(ctx, e.Tokens[alg].Good); err != nil {
		return nil, nil, fmt.Errorf("priming go-oidc: %w", err)
	}
	return f, nil, nil
}

type jwtmwClaims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

func (*jwtmwClaims) Validate(context.Context) error { return nil }

// setupJWTMiddleware is auth0/go-jwt-middleware v2's validator with its
// CachingProvider (discovery, then JWKS; TTL one hour so that it does not
// refresh during the run). A validator takes exactly one algorithm.
// It does not require exp; that check is added here.
func setupJWTMiddleware(ctx context.Context, e *Env, alg string) (Validator, func(), error) {
	v, err := newJWTMiddlewareV2(ctx, e, alg)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, tok string) (Result, error) {
		r, err := v.ValidateToken(ctx, tok)
		if err != nil {
			return Result{}, err
		}
		return jwtmwResult(r)
	}, nil, nil
}

// newJWTMiddlewareV2 builds the v2 validator that both the function
// benchmark and the whole-request benchmark (behind its own middleware)
// use.
func newJWTMiddlewareV2(ctx context.Context, e *Env, alg string) (*jwtmwvalidator.Validator, error) {
	u, err := url.Parse(e.Issuer)
	if err != nil {
		return nil, err
	}
	p := jwtmw.NewCachingProvider(u, time.Hour)
	if _, err := p.KeyFunc(ctx); err != nil {
		return nil, err
	}
	return jwtmwvalidator.New(p.KeyFunc, jwtmwvalidator.SignatureAlgorithm(alg), e.Issuer, []string{Audience},
		jwtmwvalidator.WithAllowedClockSkew(Leeway),
		jwtmwvalidator.WithCustomClaims(func() jwtmwvalidator.CustomClaims { return &jwtmwClaims{} }),
	)
}

// jwtmwResult reads what the API needs from v2's validated claims, and
// refuses a token without exp (v2 does not require it).
func jwtmwResult(r any) (Result, error) {
	c, ok := r.(*jwtmwvalidator.ValidatedClaims)
	if !ok {
		return Result{}, fmt.Errorf("go-jwt-middleware: claims of type %T", r)
	}
	if c.RegisteredClaims.Expiry == 0 {
		return Result{}, errNoExp
	}
	return Result{c.RegisteredClaims.Subject, c.CustomClaims.(*jwtmwClaims).ClientID}, nil
}

// setupJWTMiddlewareV3 is auth0/go-jwt-middleware v3's validator (jwx v3
// underneath) with its CachingProvider (discovery, then JWKS; TTL one hour
// so that it does not refresh during the run), one algorithm per
// validator as its examples do. Like v2 it does not require exp; that
// check is added here.
func setupJWTMiddlewareV3(ctx context.Context, e *Env, alg string) (Validator, func(), error) {
	v, err := newJWTMiddlewareV3(ctx, e, alg)
	if err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, tok string) (Result, error) {
		r, err := v.ValidateToken(ctx, tok)
		if err != nil {
			return Result{}, err
		}
		return jwtmw3Result(r)
	}, nil, nil
}

// newJWTMiddlewareV3 builds the v3 validator that both the function
// benchmark and the whole-request benchmark (behind its own middleware)
// use.
func newJWTMiddlewareV3(ctx context.Context, e *Env, alg string) (*jwtmw3validator.Validator, error) {
	u, err := url.Parse(e.Issuer)
	if err != nil {
		return nil, err
	}
	p, err := jwtmw3.NewCachingProvider(jwtmw3.WithIssuerURL(u), jwtmw3.WithCacheTTL(time.Hour))
	if err != nil {
		return nil, err
	}
	if _, err := p.KeyFunc(ctx); err != nil {
		return nil, err
	}
	return jwtmw3validator.New(
		jwtmw3validator.WithKeyFunc(p.KeyFunc),
		jwtmw3validator.WithAlgorithm(jwtmw3validator.SignatureAlgorithm(alg)),
		jwtmw3validator.WithIssuer(e.Issuer),
		jwtmw3validator.WithAudience(Audience),
		jwtmw3validator.WithAllowedClockSkew(Leeway),
		jwtmw3validator.WithCustomClaims(func() *jwtmw3Claims { return &jwtmw3Claims{} }),
	)
}

// jwtmw3Result reads what the API needs from v3's validated claims, and
// refuses a token without exp (v3 does not require it).
func jwtmw3Result(r any) (Result, error) {
	c, ok := r.(*jwtmw3validator.ValidatedClaims)
	if !ok {
		return Result{}, fmt.Errorf("go-jwt-middleware v3: claims of type %T", r)
	}
	if c.RegisteredClaims.Expiry == 0 {
		return Result{}, errNoExp
	}
	return Result{c.RegisteredClaims.Subject, c.CustomClaims.(*jwtmw3Claims).ClientID}, nil
}

type jwtmw3Claims struct {
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

func (*jwtmw3Claims) Validate(context.Context) error { return nil }

// setupZitadel is zitadel/oidc v3's resource-server check of a JWT access
// token where it validates locally: op.VerifyAccessToken with
// rp.NewRemoteKeySet (keys fetched on first use and on an unknown kid).
// VerifyAccessToken checks the issuer, the signature and exp only, so the
// audience (oidc.CheckAudience), iat (oidc.CheckIssuedAt) and nbf checks
// a resource server needs are added here with zitadel's own helpers.
// zitadel's rs package introspects instead; that is a network round trip
// per token and not comparable here.
func setupZitadel(ctx context.Context, e *Env, alg string) (Validator, func(), error) {
	ks := rp.NewRemoteKeySet(http.DefaultClient, e.JWKSURL)
	v := op.NewAccessTokenVerifier(e.Issuer, ks, op.WithSupportedAccessTokenSigningAlgorithms(alg))
	v.Offset = -Leeway
	f := func(ctx context.Context, tok string) (Result, error) {
		c, err := op.VerifyAccessToken[*zoidc.AccessTokenClaims](ctx, tok, v)
		if err != nil {
			return Result{}, err
		}
		if err := zoidc.CheckAudience(c, Audience); err != nil {
			return Result{}, err
		}
		if err := zoidc.CheckIssuedAt(c, 0, Leeway); err != nil {
			return Result{}, err
		}
		if nbf := c.NotBefore.AsTime(); !nbf.IsZero() && time.Now().Add(Leeway).Before(nbf) {
			return Result{}, errNotYetValid
		}
		return Result{c.Subject, c.ClientID}, nil
	}
	if _, err := f(ctx, e.Tokens[alg].Good); err != nil {
		return nil, nil, fmt.Errorf("priming zitadel: %w", err)
	}
	return f, nil, nil
}

var errNotYetValid = errors.New("token not valid yet (nbf)")

// setupJWXv3 is lestrrat-go/jwx v3's jwt.Parse with a jwk.Cache-backed
// CachedSet (keys by kid; the JWK's alg is used), exp required. The parse
// options are built once.
func setupJWXv3(ctx context.Context, e *Env, _ string) (Validator, func(), error) {
	cctx, cancel := context.WithCancel(context.Background())
	c, err := jwkv3.NewCache(cctx, httprc.NewClient())
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if err := c.Register(ctx, e.JWKSURL); err != nil {
		cancel()
		return nil, nil, err
	}
	if _, err := c.Refresh(ctx, e.JWKSURL); err != nil {
		cancel()
		return nil, nil, err
	}
	set, err := c.CachedSet(e.JWKSURL)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	opts := []jwtv3.ParseOption{
		jwtv3.WithKeySet(set),
		jwtv3.WithIssuer(e.Issuer),
		jwtv3.WithAudience(Audience),
		jwtv3.WithAcceptableSkew(Leeway),
		jwtv3.WithRequiredClaim("exp"),
	}
	return func(_ context.Context, tok string) (Result, error) {
		t, err := jwtv3.ParseString(tok, opts...)
		if err != nil {
			return Result{}, err
		}
		var r Result
		r.Subject, _ = t.Subject()
		_ = t.Get("client_id", &r.ClientID)
		return r, nil
	}, cancel, nil
}

// setupJWXv2 is lestrrat-go/jwx v2's jwt.Parse with a jwk.Cache-backed
// CachedSet, exp required. The parse options are built once.
func setupJWXv2(ctx context.Context, e *Env, _ string) (Validator, func(), error) {
	cctx, cancel := context.WithCancel(context.Background())
	c := jwkv2.NewCache(cctx)
	if err := c.Register(e.JWKSURL); err != nil {
		cancel()
		return nil, nil, err
	}
	if _, err := c.Refresh(ctx, e.JWKSURL); err != nil {
		cancel()
		return nil, nil, err
	}
	set := jwkv2.NewCachedSet(c, e.JWKSURL)
	opts := []jwtv2.ParseOption{
		jwtv2.WithKeySet(set),
		jwtv2.WithIssuer(e.Issuer),
		jwtv2.WithAudience(Audience),
		jwtv2.WithAcceptableSkew(Leeway),
		jwtv2.WithRequiredClaim("exp"),
	}
	return func(_ context.Context, tok string) (Result, error) {
		t, err := jwtv2.ParseString(tok, opts...)
		if err != nil {
			return Result{}, err
		}
		r := Result{Subject: t.Subject()}
		if v, ok := t.Get("client_id"); ok {
			r.ClientID, _ = v.(string)
		}
		return r, nil
	}, cancel, nil
}
