// Command oidcauth works with OpenID Connect and OAuth 2.0 access tokens
// from the command line, using the same checks as the oidcauth library.
//
// Usage:
//
//	oidcauth <command> [flags] [arguments]
//	oidcauth help [command]
//
// Commands:
//
//	verify    validate an access token and print its claims
//
// Run "oidcauth help verify" or "oidcauth verify --help" for a command's
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
// # Exit status
//
//	0    every token is valid (help, when asked for, also exits 0)
//	1    a token is invalid; the reason is on standard error (or, with "-",
//	     in the token's output line)
//	2    usage or set-up error: bad flags or arguments, discovery or JWKS
//	     fetch failed, standard input unreadable
//	130  interrupted (SIGINT or SIGTERM) before all tokens were checked
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
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
	args    string // synopsis of the positional arguments: "TOKEN | -"
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

// env is what a running command may use: the standard streams, and its
// own flag set for usage messages.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cmd            *command
	fs             *flag.FlagSet
}

// commands lists the subcommands in the order "oidcauth help" shows them.
var commands = []*command{
	verifyCmd,
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
		e := newEnv(c, stdin, stdout, stderr)
		c.define(e.fs)
		e.usage(stdout)
		return exitOK
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "oidcauth: unknown command %q\nRun 'oidcauth help' for usage.\n", args[0])
		return exitUsage
	}
	e := newEnv(c, stdin, stdout, stderr)
	exec := c.define(e.fs)
	if err := e.fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.usage(stdout)
			return exitOK
		}
		return e.usageError("%v", err)
	}
	return exec(ctx, e, e.fs.Args())
}

// newEnv returns the environment of command c, with a fresh flag set
// whose own messages are silenced: run and usageError print them.
func newEnv(c *command, stdin io.Reader, stdout, stderr io.Writer) *env {
	fs := flag.NewFlagSet("oidcauth "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &env{stdin: stdin, stdout: stdout, stderr: stderr, cmd: c, fs: fs}
}

// usageError prints "oidcauth NAME: message" and the command's usage on
// standard error and returns exitUsage.
func (e *env) usageError(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "oidcauth %s: %s\n\n", e.cmd.name, fmt.Sprintf(format, a...))
	e.usage(e.stderr)
	return exitUsage
}

// usage prints the command's synopsis, description and flags to w.
// Flags are shown with two dashes, as the documentation writes them.
func (e *env) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: oidcauth %s [flags] %s\n\n%s", e.cmd.name, e.cmd.args, e.cmd.doc)
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
