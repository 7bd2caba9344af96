// Command oidcauth works with OpenID Connect and OAuth 2.0 access tokens
// from the command line, using the same checks as the oidcauth library.
//
// Install it with
//
//	go install github.com/oidcauth/oidcauth/cmd/oidcauth@latest
//
// Usage:
//
//	oidcauth <command> [flags] [arguments]
//	oidcauth help [command]
//
// Commands:
//
//	verify       validate an access token and print its claims
//	introspect   ask the provider whether a token is active (RFC 7662 introspection)
//	decode       show a token's header and claims, NOT VERIFIED
//	discover     fetch an issuer's metadata and keys, and warn about problems
//	jwks         list the keys of a JWKS or of an issuer, and which ones oidcauth uses
//	dev-issuer   run a local issuer for development (loopback only)
//	mint         get a token from a running dev-issuer
//	session-key  print a new random session key (for oauth.Config.Keys)
//
// Run "oidcauth help COMMAND" or "oidcauth COMMAND --help" for a command's
// flags. Flags go before the arguments; "--flag" and "-flag" are the same.
//
// # verify
//
//	oidcauth verify --issuer URL --audience AUD [flags] TOKEN
//	oidcauth verify --issuer URL --audience AUD [flags] -
//
// verify fetches the issuer's metadata and keys, validates TOKEN as an
// access token for AUD, and prints its claims set as issued (every member
// with its original name) as one line of JSON. With "-" it reads tokens
// from standard input, one per line (blank lines are skipped), and prints
// one JSON object per token, in order:
//
//	{"valid":true,"claims":{...}}
//	{"valid":false,"error":"oidcauth: token expired: exp 2025-01-02T03:04:05Z is past"}
//
// The token itself is never printed, neither on standard output nor in an
// error message.
//
// --leeway 0 means no leeway at all, unlike Config.Leeway, where 0 means
// the 30 s default (and a negative value none); without --leeway, verify
// uses the library's default. --aud and --typ are older spellings of
// --audience and --type, as in mint.
//
// # introspect
//
//	oidcauth introspect --issuer URL --client-id ID --client-secret S [flags] TOKEN
//	oidcauth introspect --issuer URL --client-id ID --client-secret S [flags] -
//
// introspect sends TOKEN, opaque or JWT, to the issuer's introspection
// endpoint (RFC 7662 §2; --introspection-url overrides the discovered
// one) with client_secret_basic (or --auth-method client_secret_post),
// checks the answer as the library does and prints the response as one
// line of JSON. It exits 0 when the token is active, 1 when it is not
// (inactive, revoked, expired, another --audience), and 2 on a set-up
// error, including an endpoint that is unreachable, answers 5xx or refuses
// the client's credentials. The secret may come from
// $OIDCAUTH_CLIENT_SECRET instead of --client-secret; neither it nor the
// token is ever printed. Nothing is cached. With "-" tokens are read
// from standard input and printed as verify prints them.
//
// # decode
//
//	oidcauth decode TOKEN
//	oidcauth decode -
//
// decode prints the header and claims of a compact JWS as indented JSON,
// under a NOT VERIFIED banner, with exp, iat and nbf also shown as UTC
// times and durations relative to now. Nothing is fetched and nothing is
// checked: use verify for that. It exits 1, after showing what it could,
// when the token is malformed.
//
// # discover
//
//	oidcauth discover ISSUER
//
// discover fetches the issuer's metadata (OpenID Connect Discovery, then
// the two RFC 8414 locations), loads its keys the way the library does,
// and prints the metadata, the keys, and warnings: http endpoints,
// "none" or HMAC algorithms, algorithms oidcauth does not accept, an
// issuer that does not match, keys oidcauth skips and why.
//
// # jwks
//
//	oidcauth jwks URL
//	oidcauth jwks ISSUER
//
// jwks lists the keys of a JWKS (kid, kty, alg, use, size) and whether
// oidcauth uses each one, and why not. An argument that does not serve a
// JWKS is taken as an issuer, whose jwks_uri is discovered.
//
// # dev-issuer and mint
//
//	oidcauth dev-issuer [--addr 127.0.0.1:9400] [--alg RS256]
//	oidcauth mint --issuer http://127.0.0.1:9400 --sub alice --audience api --scope "read write"
//
// dev-issuer runs a throwaway OpenID provider on a loopback address until
// interrupted, with a development-only endpoint, POST /dev/mint, that signs
// whatever claims it is sent. mint calls that endpoint and prints the
// token. Both refuse anything but loopback addresses. Never use them in
// production.
//
// # session-key
//
//	oidcauth session-key
//
// session-key prints a new random 32-byte key for oauth.Config.Keys in
// base64url without padding, the format examples/webapp reads from
// --session-key and $OIDCAUTH_SESSION_KEY:
//
//	export OIDCAUTH_SESSION_KEY="$(oidcauth session-key)"
//
// # Exit status
//
//	0    success: every token is valid, the issuer or key set is usable
//	     (help, when asked for, also exits 0)
//	1    a token is invalid or malformed, the issuer or key set cannot
//	     be used, or mint got no token; the reason is on standard error
//	     (verify with "-": in the token's output line)
//	2    usage or set-up error: bad flags or arguments (an http URL on a
//	     host that is not loopback is refused before anything is
//	     fetched); for verify also a failed discovery or JWKS fetch, or
//	     unreadable standard input; for dev-issuer an address it cannot
//	     listen on
//	130  interrupted (SIGINT or SIGTERM) before the work was done; except
//	     dev-issuer, which runs until interrupted and then exits 0
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Exit statuses of the oidcauth command.
const (
	exitOK          = 0   // success; every token valid
	exitInvalid     = 1   // at least one token is invalid
	exitUsage       = 2   // usage or set-up error
	exitInterrupted = 130 // stopped by SIGINT or SIGTERM (128 + SIGINT)
)

// A command is one subcommand of oidcauth. To add one, write its command
// value in its own file and list it in [commands].
type command struct {
	name    string // as typed: "verify"
	args    string // synopsis of the positional arguments: "TOKEN | -"; may be empty
	summary string // one line for "oidcauth help"
	doc     string // paragraphs for "oidcauth help NAME", ending in a newline

	// define declares the command's flags on fs and returns the function
	// that runs the command once fs has been parsed. It is called once
	// per run, so flag values never leak from one run to the next.
	define func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments and returns the
// exit status.
type runFunc func(ctx context.Context, env *env, args []string) int

// env is what a running command may use: the standard streams, the
// clock, the HTTP client, and its own flag set for usage messages.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time // the current time; tests fix it
	client         *http.Client     // for discovery, JWKS and mint requests
	cmd            *command
	fs             *flag.FlagSet
}

// commands lists the subcommands in the order "oidcauth help" shows them.
var commands = []*command{
	verifyCmd,
	introspectCmd,
	decodeCmd,
	discoverCmd,
	jwksCmd,
	devIssuerCmd,
	mintCmd,
	sessionKeyCmd,
}

// lookup returns the command called name, or nil.
func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// main runs the command line, cancelled by SIGINT or SIGTERM, and exits
// with run's status.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the oidcauth command line args (without the program name) and
// returns the exit status. Cancelling ctx interrupts it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, args, env{stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, client: newHTTPClient()})
}

// runWith is run with the streams, clock and HTTP client of base.
func runWith(ctx context.Context, args []string, base env) int {
	stdout, stderr := base.stdout, base.stderr
	if len(args) == 0 {
		mainUsage(stderr)
		return exitUsage
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if name != "help" || len(args) == 1 {
			mainUsage(stdout)
			return exitOK
		}
		if len(args) > 2 {
			fmt.Fprintln(stderr, "usage: oidcauth help [command]")
			return exitUsage
		}
		c := lookup(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "oidcauth help: unknown command %q\nRun 'oidcauth help' for usage.\n", args[1])
			return exitUsage
		}
		e := newEnv(c, base)
		c.define(e.fs)
		e.usage(stdout)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "oidcauth: unknown command %q\nRun 'oidcauth help' for usage.\n", args[0])
		return exitUsage
	}
	e := newEnv(c, base)
	exec := c.define(e.fs)
	if err := e.fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage(stdout)
			return exitOK
		}
		return e.usageError("%v", flagError(err))
	}
	return exec(ctx, e, e.fs.Args())
}

// flagError is err of the flag package, except that it never repeats an
// argument that may be a token: an opaque token can start with "-" (1 in
// 64 base64url tokens do), and the flag package would echo it as an
// undefined flag. Such an argument is named only by what to do about it.
func flagError(err error) error {
	const undefined = "flag provided but not defined: "
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, undefined)
	if !ok || looksLikeFlagName(strings.TrimLeft(name, "-")) {
		return err
	}
	return errors.New("an argument starts with \"-\" but is not a flag; put -- before a TOKEN that starts with \"-\"")
}

// looksLikeFlagName reports whether s could be a mistyped flag name (short,
// lower-case letters, digits and dashes) rather than a token.
func looksLikeFlagName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// newEnv returns the environment of command c: base with a fresh flag set
// whose own messages are silenced (run and usageError print them).
func newEnv(c *command, base env) *env {
	fs := flag.NewFlagSet("oidcauth "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	e := base
	e.cmd, e.fs = c, fs
	if e.now == nil {
		e.now = time.Now
	}
	if e.client == nil {
		e.client = newHTTPClient()
	}
	return &e
}

// errorf prints "oidcauth NAME: message" on standard error, NAME being
// the command's. The library's own "oidcauth: " prefix is dropped from
// the message, wherever an error quoted in it starts, so that the prefix
// appears once: "oidcauth verify: invalid token: token expired: ...".
func (e *env) errorf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "oidcauth %s: %s\n", e.cmd.name, dropPrefix(fmt.Sprintf(format, a...)))
}

// dropPrefix removes the library's "oidcauth: " prefix from msg and from
// every error quoted in it after a colon.
func dropPrefix(msg string) string {
	const p = "oidcauth: "
	for strings.HasPrefix(msg, p) {
		msg = msg[len(p):]
	}
	for strings.Contains(msg, ": "+p) {
		msg = strings.ReplaceAll(msg, ": "+p, ": ")
	}
	return msg
}

// usageError prints "oidcauth NAME: message" and the command's usage on
// standard error and returns exitUsage.
func (e *env) usageError(format string, a ...any) int {
	e.errorf(format, a...)
	fmt.Fprintln(e.stderr)
	e.usage(e.stderr)
	return exitUsage
}

// usage prints the command's synopsis, description and flags to w.
// Flags are shown with two dashes, as the documentation writes them.
func (e *env) usage(w io.Writer) {
	synopsis := "oidcauth " + e.cmd.name
	if e.hasFlags() {
		synopsis += " [flags]"
	}
	if e.cmd.args != "" {
		synopsis += " " + e.cmd.args
	}
	fmt.Fprintf(w, "usage: %s\n\n%s", synopsis, e.cmd.doc)
	if !e.hasFlags() {
		return
	}
	fmt.Fprint(w, "\nFlags:\n")
	var buf bytes.Buffer
	e.fs.SetOutput(&buf)
	e.fs.PrintDefaults()
	e.fs.SetOutput(io.Discard)
	for line := range strings.Lines(buf.String()) {
		if strings.HasPrefix(line, "  -") {
			line = "  --" + line[len("  -"):]
		}
		io.WriteString(w, line)
	}
}

// hasFlags reports whether any flag is declared on the command's flag set.
func (e *env) hasFlags() bool {
	n := 0
	e.fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// mainUsage prints the program's usage and its list of commands to w.
func mainUsage(w io.Writer) {
	fmt.Fprint(w, `oidcauth works with OpenID Connect and OAuth 2.0 access tokens.

usage: oidcauth <command> [flags] [arguments]

Commands:
`)
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Run 'oidcauth help <command>' or 'oidcauth <command> --help' for details.
`)
}

// alias declares old as another name of the flag name already declared
// on fs: both set the same value, and the help lists both. Every command
// spells a flag the same way (--audience, --type); the short spellings
// that mint used to take (--aud, --typ) stay as aliases.
func alias(fs *flag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("alias of undeclared flag --" + name) // a programming error
	}
	kind, _ := flag.UnquoteUsage(f)
	fs.Var(f.Value, old, "older spelling of --"+name+", setting the same `"+kind+"`")
}

// listFlag is a [flag.Value] that collects a list from repeated flags and
// comma-separated values: --audience a --audience b,c gives [a b c].
type listFlag []string

// String returns the list joined by commas.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set appends the comma-separated elements of v; empty elements are an
// error.
func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return errors.New("empty element in list")
		}
		*l = append(*l, s)
	}
	return nil
}
