package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	jwtmiddleware3 "github.com/auth0/go-jwt-middleware/v3"
	jwtmw3validator "github.com/auth0/go-jwt-middleware/v3/validator"
	"github.com/go-chi/jwtauth/v5"
	jwtv3 "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/oidcauth/oidcauth"
)

// WholeRequestAlg is the algorithm of the whole-request benchmark: RS256,
// what most providers sign access tokens with by default.
const WholeRequestAlg = "RS256"

// WholeRequestCacheSize is oidcauth's TokenCacheSize in the whole-request
// benchmark. The cache is off by default; an API that sees a token more
// than once (every API behind a browser or a service client) turns it on,
// and the pool case measures what it buys.
const WholeRequestCacheSize = 10_000

// Service is one library's own middleware in front of the same protected
// handler: what a user deploys, measured over HTTP.
type Service struct {
	Name string
	// Protected is false for the unprotected reference handler.
	Protected bool
	// Setup builds the handler afresh (no state carried over from an
	// earlier run, such as a token cache) and returns a function that
	// releases it (nil when there is nothing to release).
	Setup func(ctx context.Context, e *Env, alg string) (h http.Handler, release func(), err error)
}

// Services returns the unprotected reference first, then every library
// that ships a middleware (or, for go-oidc, the middleware its users
// write). golang-jwt, go-jose and jwx ship none; zitadel's resource-server
// middleware introspects, so none of them is here.
func Services() []Service {
	return []Service{
		{Name: "unprotected", Setup: setupUnprotected},
		{Name: "oidcauth", Protected: true, Setup: setupOIDCAuthService},
		{Name: "go-jwt-middleware", Protected: true, Setup: setupJWTMiddlewareService},
		{Name: "go-jwt-middleware-v3", Protected: true, Setup: setupJWTMiddlewareV3Service},
		{Name: "go-oidc", Protected: true, Setup: setupGoOIDCService},
		{Name: "jwtauth", Protected: true, Setup: setupJWTAuthService},
	}
}

// protected is the handler every service protects: it writes the subject
// the middleware found, as an API that personalises its answer does.
func protected(subject func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("hello " + subject(r) + "\n"))
	})
}

func setupUnprotected(context.Context, *Env, string) (http.Handler, func(), error) {
	return protected(func(*http.Request) string { return "anonymous" }), nil, nil
}

// setupOIDCAuthService is oidcauth's Required with the function
// benchmark's configuration plus a token cache.
func setupOIDCAuthService(ctx context.Context, e *Env, _ string) (http.Handler, func(), error) {
	a, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:         e.Issuer,
		Audiences:      []string{Audience},
		TokenType:      "at+jwt",
		TokenCacheSize: WholeRequestCacheSize,
		Logger:         quiet,
	})
	if err != nil {
		return nil, nil, err
	}
	h := a.Required(protected(func(r *http.Request) string {
		c, _ := oidcauth.ClaimsFromContext(r.Context())
		return c.Subject
	}))
	return h, func() { a.Close() }, nil
}

// setupJWTMiddlewareService is go-jwt-middleware v2's CheckJWT around the
// contender's validator, with the exp check the contender adds.
func setupJWTMiddlewareService(ctx context.Context, e *Env, alg string) (http.Handler, func(), error) {
	v, err := newJWTMiddlewareV2(ctx, e, alg)
	if err != nil {
		return nil, nil, err
	}
	m := jwtmiddleware.New(func(ctx context.Context, tok string) (any, error) {
		r, err := v.ValidateToken(ctx, tok)
		if err != nil {
			return nil, err
		}
		if _, err := jwtmwResult(r); err != nil {
			return nil, err
		}
		return r, nil
	}, jwtmiddleware.WithErrorHandler(quietErrorHandler))
	return m.CheckJWT(protected(func(r *http.Request) string {
		res, _ := jwtmwResult(r.Context().Value(jwtmiddleware.ContextKey{}))
		return res.Subject
	})), nil, nil
}

// quietErrorHandler is go-jwt-middleware v2's DefaultErrorHandler without
// its log line: 401 for a missing or invalid token.
func quietErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, jwtmiddleware.ErrJWTMissing):
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"JWT is missing."}`))
	default:
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"JWT is invalid."}`))
	}
}

// setupJWTMiddlewareV3Service is go-jwt-middleware v3's CheckJWT with the
// contender's validator; v3 answers errors itself (RFC 6750 challenge).
func setupJWTMiddlewareV3Service(ctx context.Context, e *Env, alg string) (http.Handler, func(), error) {
	v, err := newJWTMiddlewareV3(ctx, e, alg)
	if err != nil {
		return nil, nil, err
	}
	m, err := jwtmiddleware3.New(jwtmiddleware3.WithValidator(v))
	if err != nil {
		return nil, nil, err
	}
	return m.CheckJWT(protected(func(r *http.Request) string {
		c, err := jwtmiddleware3.GetClaims[*jwtmw3validator.ValidatedClaims](r.Context())
		if err != nil {
			return ""
		}
		return c.RegisteredClaims.Subject
	})), nil, nil
}

type resultKey struct{}

// setupGoOIDCService is go-oidc's verifier (the contender) behind the
// middleware its users write: the Bearer token from the Authorization
// header, 401 with a challenge when it is missing or fails, the claims in
// the request's context.
func setupGoOIDCService(ctx context.Context, e *Env, alg string) (http.Handler, func(), error) {
	v, release, err := setupGoOIDC(ctx, e, alg)
	if err != nil {
		return nil, nil, err
	}
	next := protected(func(r *http.Request) string {
		res, _ := r.Context().Value(resultKey{}).(Result)
		return res.Subject
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			http.Error(w, "missing token", http.StatusUnauthorized)
			return
		}
		res, err := v(r.Context(), tok)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), resultKey{}, res)))
	}), release, nil
}

// setupJWTAuthService is go-chi/jwtauth's Verifier and Authenticator with
// the provider's public key: jwtauth takes one static key and fetches no
// JWKS, so it applies only where the key is configured by hand. Issuer,
// audience and the time claims (with the leeway) are checked by jwx v3,
// which jwtauth runs underneath.
func setupJWTAuthService(_ context.Context, e *Env, alg string) (http.Handler, func(), error) {
	k, ok := e.Keys[alg]
	if !ok {
		return nil, nil, fmt.Errorf("jwtauth: no key for %s", alg)
	}
	ja := jwtauth.New(alg, nil, k,
		jwtv3.WithIssuer(e.Issuer),
		jwtv3.WithAudience(Audience),
		jwtv3.WithAcceptableSkew(Leeway),
		jwtv3.WithRequiredClaim("exp"),
	)
	h := jwtauth.Verifier(ja)(jwtauth.Authenticator(ja)(protected(func(r *http.Request) string {
		t, _, err := jwtauth.FromContext(r.Context())
		if err != nil || t == nil {
			return ""
		}
		sub, _ := t.Subject()
		return sub
	})))
	return h, nil, nil
}

// wholeRequestTimeout bounds one request of the load generator.
const wholeRequestTimeout = 10 * time.Second

// TokenSupply mints distinct good tokens of one algorithm on demand (a jti
// each), once: every run and every service reads the same tokens, and no
// service keeps state between runs, so none has seen them before.
type TokenSupply struct {
	e   *Env
	alg string

	mu   sync.Mutex
	toks []string
}

// NewTokenSupply returns a supply of alg tokens from e.
func NewTokenSupply(e *Env, alg string) *TokenSupply { return &TokenSupply{e: e, alg: alg} }

// Tokens returns the first n tokens, minting the missing ones on every
// core (an RS256 signature costs about a millisecond).
func (s *TokenSupply) Tokens(n int) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if have := len(s.toks); have < n {
		more := make([]string, n-have)
		var (
			wg    sync.WaitGroup
			next  atomic.Int64
			errMu sync.Mutex
			first error
		)
		for range runtime.NumCPU() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= len(more) {
						return
					}
					t, err := s.e.Mint(s.alg, map[string]any{"jti": fmt.Sprintf("wr-%d", have+i)})
					if err != nil {
						errMu.Lock()
						first = cmp.Or(first, err)
						errMu.Unlock()
						return
					}
					more[i] = t
				}
			}()
		}
		wg.Wait()
		if first != nil {
			return nil, first
		}
		s.toks = append(s.toks, more...)
	}
	return s.toks[:n:n], nil
}
