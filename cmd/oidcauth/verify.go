package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
)

// verifyCmd validates access tokens; see the package documentation.
var verifyCmd = &command{
	name:    "verify",
	args:    "TOKEN | -",
	summary: "validate an access token and print its claims",
	doc: `Verify fetches the issuer's discovery document and keys, validates TOKEN
as an access token for one of the audiences, and prints its claims set as
issued (every member with its original name) as one line of JSON.
It exits 0 when the token is valid, 1 with the reason on standard error
when it is not, and 2 on a usage or set-up error.

With - in place of TOKEN, tokens are read from standard input, one per
line (blank lines are skipped), and each gives one line of output, in
order:

  {"valid":true,"claims":{...}}
  {"valid":false,"error":"..."}

The exit status is then 0 if every token was valid and 1 otherwise.
The token itself is never printed.

With --dpop-proof, TOKEN must be a DPoP-bound token (cnf.jkt) and PROOF
its DPoP proof (RFC 9449 §4.3) for the request --htm METHOD --htu URL
(the request's absolute URL; query and fragment are ignored): the proof's
signature, typ, alg, htm, htu, ath and iat (within 60s of now) are
checked, and its key's thumbprint must be the token's cnf.jkt. Without
--dpop-proof a DPoP-bound token is refused, as an API refuses it as a
bearer token. --dpop-proof checks one TOKEN, not -.

  oidcauth verify --issuer URL --audience api --dpop-proof "$PROOF" \
    --htm GET --htu https://api.example.com/me "$TOKEN"

--leeway 0 means no leeway at all: a token is refused the second it
expires. This differs from the library, where Config.Leeway 0 means the
default of 30s (and a negative value means none); leaving --leeway out
gives the library's default.
`,
	define: defineVerify,
}

// maxLine bounds one line of standard input in "-" mode, newline
// excluded. Longer lines are reported as invalid and skipped.
const maxLine = 1 << 20

// verifyFlags holds the flags of one run of verify.
type verifyFlags struct {
	issuer       string
	audiences    listFlag
	algs         listFlag
	typ          string
	leeway       time.Duration
	jwksURL      string
	insecureHTTP bool
	verbose      bool
	nonceInAT    bool
	skipIDToken  bool
	dpopProof    string
	htm          string
	htu          string
}

// defineVerify declares the flags of verify on fs.
func defineVerify(fs *flag.FlagSet) runFunc {
	f := &verifyFlags{}
	fs.StringVar(&f.issuer, "issuer", "", "the provider's issuer `URL`, exactly as in the tokens' iss (required)")
	fs.Var(&f.audiences, "audience", "an `audience` of this API; repeat it or separate with commas (required)")
	fs.Var(&f.algs, "alg", "allowed JWS `algorithms`, comma-separated (default "+strings.Join(oidcauth.DefaultAlgorithms, ",")+")")
	fs.StringVar(&f.typ, "type", "", "the required `typ` header, e.g. at+jwt for RFC 9068 access tokens (default: any JWT)")
	fs.DurationVar(&f.leeway, "leeway", oidcauth.DefaultLeeway, "clock skew tolerated for exp, nbf and iat; --leeway 0 means NO leeway\n(unlike Config.Leeway, where 0 means the 30s default)")
	fs.StringVar(&f.jwksURL, "jwks-url", "", "fetch keys from this `URL` instead of the discovered jwks_uri")
	fs.BoolVar(&f.insecureHTTP, "insecure-allow-http", false, "allow http URLs for a non-loopback issuer or JWKS")
	fs.BoolVar(&f.nonceInAT, "nonce-in-access-tokens", false, "tolerate a nonce claim in access tokens (Keycloak before 24); Config.NonceInAccessTokens")
	fs.BoolVar(&f.skipIDToken, "skip-id-token-check", false, "accept tokens that carry ID-token claims (at_hash, nonce, ...); Config.SkipIDTokenCheck")
	fs.BoolVar(&f.verbose, "verbose", false, "log discovery and key fetches to standard error")
	fs.StringVar(&f.dpopProof, "dpop-proof", "", "check TOKEN as a DPoP-bound token with this DPoP `proof` (RFC 9449); needs --htm and --htu")
	fs.StringVar(&f.htm, "htm", "", "with --dpop-proof, the request's `method`, e.g. GET")
	fs.StringVar(&f.htu, "htu", "", "with --dpop-proof, the request's absolute `URL`, e.g. https://api.example.com/me")
	alias(fs, "aud", "audience")
	alias(fs, "typ", "type")
	return f.run
}

// run checks the arguments, builds an Authorizer and validates the token,
// or the tokens on standard input.
func (f *verifyFlags) run(ctx context.Context, e *env, args []string) int {
	switch {
	case len(args) > 1:
		// Checked first: the flags after TOKEN were not parsed. The
		// arguments are not echoed: one of them is likely a token.
		return e.usageError("%s", tooManyTokens(args))
	case f.issuer == "":
		return e.usageError("--issuer is required")
	case len(f.audiences) == 0:
		return e.usageError("--audience is required")
	case len(args) == 0:
		return e.usageError("missing TOKEN (or - to read tokens from standard input)")
	case f.leeway < 0:
		return e.usageError("--leeway must not be negative")
	}
	token := strings.TrimSpace(args[0])
	if token == "" {
		return e.usageError("TOKEN is empty")
	}
	if msg := f.checkDPoP(token); msg != "" {
		return e.usageError("%s", msg)
	}

	leeway, logger := configLeeway(f.leeway), e.logger(f.verbose)
	auth, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:              f.issuer,
		Audiences:           f.audiences,
		Algorithms:          f.algs,
		TokenType:           f.typ,
		Leeway:              leeway,
		JWKSURL:             f.jwksURL,
		InsecureAllowHTTP:   f.insecureHTTP,
		NonceInAccessTokens: f.nonceInAT,
		SkipIDTokenCheck:    f.skipIDToken,
		Logger:              logger,
	})
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(e)
		}
		e.errorf("%v", err)
		return exitUsage
	}
	defer auth.Close()

	if token == "-" {
		return verifyStream(ctx, e, auth)
	}
	var claims *oidcauth.Claims
	if f.dpopProof != "" {
		claims, err = auth.ValidateDPoP(ctx, token, strings.TrimSpace(f.dpopProof), f.htm, f.htu)
	} else {
		claims, err = auth.Validate(ctx, token)
	}
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(e)
		}
		e.errorf("invalid token: %v", err)
		return exitInvalid
	}
	return e.printClaims(claims)
}

// tooManyTokens is the usage error for more than one argument; the
// arguments are not echoed, one of them is likely a token.
func tooManyTokens(args []string) string {
	msg := "want one TOKEN, got " + strconv.Itoa(len(args)) + " arguments"
	if slices.ContainsFunc(args[1:], func(a string) bool { return len(a) > 1 && a[0] == '-' }) {
		msg += " (flags go before TOKEN)"
	}
	return msg
}

// configLeeway turns a --leeway value into Config.Leeway: on the command
// line 0 means none, in Config it means the default and a negative value
// means none.
func configLeeway(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// logger is the Authorizer's logger: standard error with --verbose,
// nothing otherwise.
func (e *env) logger(verbose bool) *slog.Logger {
	if verbose {
		return slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// printClaims writes the claims as issued, as one compact JSON line.
func (e *env) printClaims(claims *oidcauth.Claims) int {
	var out bytes.Buffer
	if err := json.Compact(&out, claims.Raw); err != nil {
		// Cannot happen: Validate accepts strict JSON only.
		out.Reset()
		out.Write(claims.Raw)
	}
	out.WriteByte('\n')
	if _, err := e.stdout.Write(out.Bytes()); err != nil {
		e.errorf("writing output: %v", err)
		return exitUsage
	}
	return exitOK
}

// streamResult is the output line for one token read from standard input.
type streamResult struct {
	Valid  bool            `json:"valid"`
	Claims json.RawMessage `json:"claims,omitempty"` // as issued
	Error  string          `json:"error,omitempty"`
}

// verifyStream validates the tokens on standard input, one per line, and
// writes one streamResult per token, in input order. Lines are read by
// another goroutine so that an interrupt is noticed even while standard
// input blocks.
func verifyStream(ctx context.Context, e *env, auth *oidcauth.Authorizer) int {
	lines := make(chan line)
	go readLines(ctx, e.stdin, lines)
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false) // claims exactly as issued: "&" stays "&"
	code := exitOK
	for {
		var l line
		var ok bool
		select {
		case <-ctx.Done():
			return interrupted(e)
		case l, ok = <-lines:
		}
		if !ok || l.err == io.EOF {
			return code
		}
		var res streamResult
		switch {
		case errors.Is(l.err, errLineTooLong):
			res.Error = "oidcauth: line longer than " + strconv.Itoa(maxLine) + " bytes"
		case l.err != nil:
			e.errorf("reading standard input: %v", l.err)
			return exitUsage
		default:
			token := string(bytes.TrimSpace(l.text))
			if token == "" {
				continue
			}
			claims, err := auth.Validate(ctx, token)
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(e)
				}
				res.Error = err.Error()
			} else {
				res.Valid, res.Claims = true, claims.Raw
			}
		}
		if !res.Valid {
			code = exitInvalid
		}
		if err := enc.Encode(res); err != nil {
			e.errorf("writing output: %v", err)
			return exitUsage
		}
	}
}

// interrupted reports an interrupt and returns exitInterrupted.
func interrupted(e *env) int {
	e.errorf("interrupted")
	return exitInterrupted
}

// A line is one line of input without its newline, or the error that
// ended reading (io.EOF at the end), or errLineTooLong.
type line struct {
	text []byte
	err  error
}

// errLineTooLong reports a line longer than maxLine; reading goes on with
// the next line.
var errLineTooLong = errors.New("line too long")

// readLines sends the lines of r to out until an error (io.EOF included,
// which is sent too) or until ctx is done, then closes out.
func readLines(ctx context.Context, r io.Reader, out chan<- line) {
	defer close(out)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		text, err := readLine(br, maxLine)
		select {
		case out <- line{text, err}:
		case <-ctx.Done():
			return
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return
		}
	}
}

// readLine returns the next line of br without its "\n", or io.EOF at the
// end of input. A last line without "\n" is returned as a line. A line
// longer than max is consumed and reported as errLineTooLong without
// holding more than max bytes of it in memory.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	tooLong := false
	for {
		frag, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(bytes.TrimSuffix(frag, []byte("\n"))) > max {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, frag...) // copies: frag is br's buffer
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil && tooLong, err == io.EOF && tooLong:
			return nil, errLineTooLong
		case err == nil:
			return buf[:len(buf)-1], nil
		case err == io.EOF && len(buf) > 0:
			return buf, nil
		default:
			return nil, err
		}
	}
}

// checkDPoP checks the DPoP flags: none, or --dpop-proof with --htm and an
// absolute http(s) --htu, for one token. It returns the usage error, or "".
func (f *verifyFlags) checkDPoP(token string) string {
	if f.dpopProof == "" {
		if f.htm != "" || f.htu != "" {
			return "--htm and --htu need --dpop-proof"
		}
		return ""
	}
	u, err := url.Parse(f.htu)
	switch {
	case token == "-":
		return "--dpop-proof checks one TOKEN, not -"
	case strings.TrimSpace(f.dpopProof) == "":
		return "--dpop-proof is empty"
	case f.htm == "":
		return "--dpop-proof needs --htm (the request's method, e.g. GET)"
	case f.htm != strings.ToUpper(f.htm) || strings.ContainsAny(f.htm, " \t/"):
		return fmt.Sprintf("--htm %q is not an HTTP method in capitals, e.g. GET", f.htm)
	case f.htu == "":
		return "--dpop-proof needs --htu (the request's absolute URL)"
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		return fmt.Sprintf("--htu %q is not an absolute http(s) URL", f.htu)
	}
	return ""
}
