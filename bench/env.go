// Package bench compares oidcauth with the other Go libraries that validate
// JWT access tokens, and with the floor: the signature check alone.
//
// It is a nested module so that the peers never enter the library's
// dependency graph. Every contender validates the same RS256, ES256 and
// EdDSA tokens against the keys of one oidctest provider on 127.0.0.1,
// with checks equivalent to oidcauth's (signature, alg, iss, aud, exp
// required, nbf, iat, 30 s leeway); TestContenders proves each accepts the
// good token and rejects tampered, wrong-audience, wrong-issuer, expired
// and not-yet-valid ones before anything is timed. Run ./run.sh for the
// full benchmark; it writes RESULTS.md and ratios.svg.
package bench

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// Algorithms are the algorithms compared, in table order.
var Algorithms = []string{"RS256", "ES256", "EdDSA"}

// Audience is the API identifier every good token is issued for.
const Audience = "api"

// Leeway is the clock skew every contender tolerates (oidcauth's default).
const Leeway = 30 * time.Second

// Tokens are the tokens of one algorithm: one good, the others each bad in
// one way.
type Tokens struct {
	Good            string
	TamperedPayload string // payload changed after signing
	TamperedSig     string // one signature bit flipped
	WrongAudience   string
	WrongIssuer     string
	Expired         string // exp an hour ago
	NotYetValid     string // nbf in an hour
	IssuedInFuture  string // iat in an hour
	NoExpiry        string // no exp
}

// Bad returns the bad tokens by name.
func (t Tokens) Bad() []NamedToken {
	return []NamedToken{
		{"tampered payload", t.TamperedPayload},
		{"tampered signature", t.TamperedSig},
		{"wrong audience", t.WrongAudience},
		{"wrong issuer", t.WrongIssuer},
		{"expired", t.Expired},
		{"not yet valid", t.NotYetValid},
		{"issued in the future", t.IssuedInFuture},
		{"no exp", t.NoExpiry},
	}
}

// NamedToken is a token with a description.
type NamedToken struct {
	Name  string
	Token string
}

// Env is one fake provider with one key per algorithm, and the tokens it
// minted.
type Env struct {
	Provider *oidctest.Provider
	Issuer   string
	JWKSURL  string
	JWKS     []byte                      // the JWKS document as served
	KeyIDs   map[string]string           // alg → kid
	Keys     map[string]crypto.PublicKey // alg → public key, for the floor
	Tokens   map[string]Tokens           // alg → tokens
}

// NewEnv starts a provider on 127.0.0.1 publishing an RS256, an ES256 and
// an EdDSA key, and mints the tokens. The caller must call Close.
func NewEnv() (*Env, error) {
	p, err := oidctest.Start(oidctest.Options{Algorithm: "RS256"})
	if err != nil {
		return nil, err
	}
	e := &Env{
		Provider: p,
		Issuer:   p.Issuer(),
		JWKSURL:  p.JWKSURL(),
		KeyIDs:   map[string]string{"RS256": p.ActiveKeyID()},
		Keys:     map[string]crypto.PublicKey{},
		Tokens:   map[string]Tokens{},
	}
	for _, alg := range []string{"ES256", "EdDSA"} {
		kid, err := p.AddKey(alg)
		if err != nil {
			p.Close()
			return nil, err
		}
		e.KeyIDs[alg] = kid
	}
	for _, alg := range Algorithms {
		e.Keys[alg] = p.PublicKey(e.KeyIDs[alg])
		t, err := e.mint(alg)
		if err != nil {
			p.Close()
			return nil, err
		}
		e.Tokens[alg] = t
	}
	if e.JWKS, err = e.get(e.JWKSURL); err != nil {
		p.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the provider.
func (e *Env) Close() { e.Provider.Close() }

// Claims returns the claims of a good token: an RFC 9068 style access
// token valid for a day.
func (e *Env) Claims(now time.Time) map[string]any {
	return map[string]any{
		"iss":       e.Issuer,
		"sub":       "alice",
		"aud":       Audience,
		"client_id": "c1",
		"jti":       "j1",
		"scope":     "read write",
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(24 * time.Hour).Unix(),
	}
}

// Mint mints a token of alg with the good claims, changed by over (a nil
// value removes a claim).
func (e *Env) Mint(alg string, over map[string]any) (string, error) {
	c := e.Claims(time.Now())
	for k, v := range over {
		c[k] = v // MintToken removes claims whose value is nil
	}
	return e.Provider.MintToken(oidctest.Token{
		KeyID:  e.KeyIDs[alg],
		Header: map[string]any{"typ": "at+jwt"},
		Claims: c,
	})
}

func (e *Env) mint(alg string) (Tokens, error) {
	now := time.Now()
	var t Tokens
	var err error
	must := func(over map[string]any) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = e.Mint(alg, over)
		return s
	}
	t.Good = must(nil)
	t.WrongAudience = must(map[string]any{"aud": "another-api"})
	t.WrongIssuer = must(map[string]any{"iss": e.Issuer + "/other"})
	t.Expired = must(map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()})
	t.NotYetValid = must(map[string]any{"nbf": now.Add(time.Hour).Unix()})
	t.IssuedInFuture = must(map[string]any{"iat": now.Add(time.Hour).Unix(), "nbf": nil})
	t.NoExpiry = must(map[string]any{"exp": nil})
	other := must(map[string]any{"sub": "mallory"})
	if err != nil {
		return t, err
	}
	// The payload of another token with the good token's signature.
	g := strings.Split(t.Good, ".")
	o := strings.Split(other, ".")
	t.TamperedPayload = g[0] + "." + o[1] + "." + g[2]
	// Flip one bit in the middle of the signature (a character in the
	// middle always encodes six whole signature bits).
	sig := []byte(g[2])
	i := len(sig) / 2
	sig[i] = flip(sig[i])
	t.TamperedSig = g[0] + "." + g[1] + "." + string(sig)
	return t, nil
}

// flip returns another base64url character, differing in the lowest bit of
// the value it encodes.
func flip(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func (e *Env) get(url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// Suite is an Env with every contender set up for every algorithm.
type Suite struct {
	*Env
	Contenders []Contender
	validators map[string]map[string]Validator // alg → name → validator
	closers    []func()
}

// NewSuite starts an Env and sets up every contender; keys are fetched and
// remote key sets primed before it returns. The caller must call Close.
func NewSuite(ctx context.Context) (*Suite, error) {
	e, err := NewEnv()
	if err != nil {
		return nil, err
	}
	s := &Suite{Env: e, Contenders: Contenders(), validators: map[string]map[string]Validator{}}
	for _, alg := range Algorithms {
		s.validators[alg] = map[string]Validator{}
		for _, c := range s.Contenders {
			if !c.For(alg) {
				continue
			}
			v, closer, err := c.Setup(ctx, e, alg)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("%s/%s: %w", alg, c.Name, err)
			}
			s.validators[alg][c.Name] = v
			if closer != nil {
				s.closers = append(s.closers, closer)
			}
		}
	}
	return s, nil
}

// Validator returns the validator of contender name for alg, or nil.
func (s *Suite) Validator(alg, name string) Validator { return s.validators[alg][name] }

// Close stops every contender and the provider.
func (s *Suite) Close() {
	for _, c := range s.closers {
		c()
	}
	s.Env.Close()
}
