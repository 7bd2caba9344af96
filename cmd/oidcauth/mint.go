package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// mintCmd gets a token from a running dev-issuer.
var mintCmd = &command{
	name:    "mint",
	args:    "",
	summary: "get a token from a running dev-issuer",
	doc: `Mint asks a running "oidcauth dev-issuer" for a signed token and prints
it. It only talks to an issuer on a loopback address: the token comes from
the dev issuer's POST /dev/mint endpoint, which exists for development
only.

  oidcauth dev-issuer &
  oidcauth mint --issuer http://127.0.0.1:9400 --sub alice --audience api --scope "read write"

The token's iss is the dev issuer, iat is now and exp is now + --ttl. A
negative --ttl mints a token that has already expired, for testing.
--claim adds any other claim; its value is taken as JSON when it parses
as JSON, and as a string otherwise:

  --claim tenant=acme          "tenant": "acme"
  --claim admin=true           "admin": true
  --claim 'roles=["a","b"]'    "roles": ["a", "b"]
  --claim 'n="42"'             "n": "42"

--claim may override iss, iat, exp or any other claim, except sub, aud
and scope, which have their own flags; null removes a claim (--claim
exp=null mints a token without expiry).

--dpop-jkt binds the token to a DPoP key (RFC 9449 §6.1): it adds the
claim "cnf": {"jkt": THUMBPRINT}, the RFC 7638 SHA-256 thumbprint of the
client's public key, base64url (43 characters). An API then accepts the
token only with "Authorization: DPoP" and a proof signed by that key,
never as a bearer token. It cannot be combined with --claim cnf=...

Mint exits 0 with the token on standard output, 1 when no token was
obtained, and 2 on a usage error.
`,
	define: defineMint,
}

// mintFlags holds the flags of one run of mint.
type mintFlags struct {
	issuer string
	sub    string
	aud    listFlag
	scope  string
	ttl    time.Duration
	typ    string
	claims claimFlag
	jkt    string
}

// defineMint declares the flags of mint on fs.
func defineMint(fs *flag.FlagSet) runFunc {
	f := &mintFlags{}
	fs.StringVar(&f.issuer, "issuer", "", "the dev issuer's `URL`, e.g. http://127.0.0.1:9400 (required; loopback only)")
	fs.StringVar(&f.sub, "sub", "", "the token's `subject` (required)")
	fs.Var(&f.aud, "audience", "an `audience`; repeat it or separate with commas (required)")
	fs.StringVar(&f.scope, "scope", "", "space-separated `scopes`, e.g. \"read write\"")
	fs.DurationVar(&f.ttl, "ttl", time.Hour, "lifetime: exp is now + `duration`")
	fs.StringVar(&f.typ, "type", "", "the `typ` header, e.g. at+jwt for RFC 9068 access tokens (default JWT)")
	fs.Var(&f.claims, "claim", "another claim, as `name=value`; repeatable")
	fs.StringVar(&f.jkt, "dpop-jkt", "", "bind the token to a DPoP key: cnf.jkt = `thumbprint` (RFC 7638, SHA-256, base64url)")
	alias(fs, "aud", "audience")
	alias(fs, "typ", "type")
	return f.run
}

// run builds the claims, asks the dev issuer to sign them and prints the
// token.
func (f *mintFlags) run(ctx context.Context, e *env, args []string) int {
	switch {
	case len(args) > 0:
		return e.usageError("takes no arguments, got %d (flags go before arguments; quote a --scope with spaces)", len(args))
	case f.issuer == "":
		return e.usageError("--issuer is required (the URL \"oidcauth dev-issuer\" prints)")
	case f.sub == "":
		return e.usageError("--sub is required")
	case len(f.aud) == 0:
		return e.usageError("--audience is required")
	case f.ttl == 0:
		return e.usageError("--ttl must not be 0")
	}
	endpoint, err := devMintURL(f.issuer)
	if err != nil {
		return e.usageError("%v", err)
	}
	now := e.now()
	claims := map[string]any{
		"sub": f.sub,
		"iat": now.Unix(),
		"exp": now.Add(f.ttl).Unix(),
	}
	if len(f.aud) == 1 {
		claims["aud"] = f.aud[0]
	} else {
		claims["aud"] = []string(f.aud)
	}
	if f.scope != "" {
		scopes := strings.Fields(f.scope)
		if len(scopes) == 0 {
			return e.usageError("--scope is blank")
		}
		claims["scope"] = strings.Join(scopes, " ")
	}
	for _, c := range f.claims {
		claims[c.name] = c.value
	}
	if f.jkt != "" {
		if err := checkThumbprint(f.jkt); err != nil {
			return e.usageError("--dpop-jkt %q: %v", f.jkt, err)
		}
		if _, set := claims["cnf"]; set {
			return e.usageError("--dpop-jkt and --claim cnf=... both set cnf: give one")
		}
		claims["cnf"] = map[string]string{"jkt": f.jkt}
	}
	body, err := json.Marshal(mintRequest{Claims: claims, Typ: f.typ})
	if err != nil {
		e.errorf("%v", err)
		return exitInvalid
	}

	token, err := requestMint(ctx, e.client, endpoint, body)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(e)
		}
		e.errorf("%v", err)
		return exitInvalid
	}
	fmt.Fprintln(e.stdout, token)
	return exitOK
}

// checkThumbprint reports whether s has the form of an RFC 7638 SHA-256
// thumbprint in base64url without padding, as cnf.jkt carries it (RFC
// 9449 §6.1): 43 characters decoding to 32 bytes.
func checkThumbprint(s string) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return errors.New("not a SHA-256 thumbprint (43 characters of base64url, RFC 7638)")
	}
	return nil
}

// devMintURL returns the minting endpoint of the dev issuer at issuer,
// which must be an http(s) URL on a loopback host.
func devMintURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return "", fmt.Errorf("--issuer %q is not an http URL such as http://127.0.0.1:9400", issuer)
	case !oidcauth.IsLoopbackHost(u.Hostname()):
		return "", fmt.Errorf("--issuer %q is not on a loopback address: mint only talks to an \"oidcauth dev-issuer\" on this machine", issuer)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("--issuer %q must not have user info, a query or a fragment", issuer)
	}
	return strings.TrimSuffix(issuer, "/") + devMintPath, nil
}

// requestMint posts body to the minting endpoint and returns the token.
func requestMint(ctx context.Context, c *http.Client, endpoint string, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("cannot reach the dev issuer at %s (is \"oidcauth dev-issuer\" running?): %v", endpoint, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMintBody))
	if err != nil {
		return "", fmt.Errorf("reading the answer of %s: %v", endpoint, unwrapURLError(err))
	}
	var res mintResponse
	jsonErr := json.Unmarshal(b, &res)
	switch {
	case resp.StatusCode == http.StatusOK && jsonErr == nil && res.Token != "":
		return res.Token, nil
	case jsonErr == nil && res.Error != "":
		return "", fmt.Errorf("the dev issuer refused (status %d): %s", resp.StatusCode, res.Error)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return "", fmt.Errorf("%s answered %d: the issuer is not an \"oidcauth dev-issuer\" (only those can mint)", endpoint, resp.StatusCode)
	}
	return "", fmt.Errorf("%s answered %d without a token", endpoint, resp.StatusCode)
}

// A claim is one --claim flag: a name and its value, as JSON or a string.
type claim struct {
	name  string
	value any // json.RawMessage or string
}

// claimFlag is a [flag.Value] collecting --claim name=value flags.
type claimFlag []claim

// String returns the claims as name=value, separated by spaces.
func (c *claimFlag) String() string {
	var parts []string
	for _, cl := range *c {
		v, _ := json.Marshal(cl.value)
		parts = append(parts, cl.name+"="+string(v))
	}
	return strings.Join(parts, " ")
}

// Set parses name=value. The value is JSON if it is valid (strict) JSON,
// and a string otherwise.
func (c *claimFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	switch {
	case !ok:
		return errors.New("want name=value")
	case name == "":
		return errors.New("empty claim name")
	case name == "sub" || name == "aud" || name == "scope":
		flagName := map[string]string{"sub": "sub", "aud": "audience", "scope": "scope"}[name]
		return fmt.Errorf("set %s with --%s", name, flagName)
	}
	for _, cl := range *c {
		if cl.name == name {
			return fmt.Errorf("claim %q given twice", name)
		}
	}
	var v any = value
	if jsonx.Validate([]byte(value)) == nil {
		v = json.RawMessage(value)
	}
	*c = append(*c, claim{name, v})
	return nil
}
