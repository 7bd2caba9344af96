package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"

	"github.com/oidcauth/oidcauth/oauth"
)

// sessionKeyCmd prints a new key for oauth.Config.Keys.
var sessionKeyCmd = &command{
	name:    "session-key",
	args:    "",
	summary: "print a new random session key (for oauth.Config.Keys)",
	doc: `Session-key prints a new random key for sealing session cookies: 32
bytes (oauth.KeySize) from crypto/rand, in base64url without padding, on
one line. It is the format examples/webapp reads from --session-key and
$OIDCAUTH_SESSION_KEY:

  export OIDCAUTH_SESSION_KEY="$(oidcauth session-key)"

Decode it with base64.RawURLEncoding to get the bytes for
oauth.Config.Keys. Make one key per application and environment, keep it
secret (a secrets manager, not the repository), and give every replica of
one application the same key. To rotate, put a new key first in
Config.Keys and drop the old one once its cookies have expired.
`,
	define: func(*flag.FlagSet) runFunc { return runSessionKey },
}

// runSessionKey prints a new key.
func runSessionKey(_ context.Context, e *env, args []string) int {
	if len(args) > 0 {
		return e.usageError("takes no arguments, got %d", len(args))
	}
	if _, err := fmt.Fprintln(e.stdout, base64.RawURLEncoding.EncodeToString(oauth.GenerateKey())); err != nil {
		e.errorf("writing output: %v", err)
		return exitUsage
	}
	return exitOK
}
