package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
)

// introspectCmd asks a provider whether tokens are active (RFC 7662); see
// the package documentation.
var introspectCmd = &command{
	name:    "introspect",
	args:    "TOKEN | -",
	summary: "ask the provider whether a token is active (RFC 7662 introspection)",
	doc: `Introspect sends TOKEN (opaque or JWT) to the provider's introspection
endpoint (RFC 7662 §2), authenticated as the client --client-id, checks
the answer as the library does (active, iss, aud when --audience is given,
exp, nbf, iat) and prints the introspection response, every member as the
provider sent it, as one line of JSON. A JWT is first validated locally
with the issuer's keys, then introspected. Nothing is cached.

It exits 0 when the token is active and acceptable, 1 with the reason on
standard error when it is not (inactive, revoked, expired, another
audience), and 2 on a usage or set-up error, including an endpoint that
cannot be reached, answers 5xx or refuses the client's credentials.

The client secret is read from --client-secret or, when that is not
given, from $OIDCAUTH_CLIENT_SECRET (which keeps it out of the process
list). Neither the secret nor the token is ever printed.

With - in place of TOKEN, tokens are read from standard input, one per
line, as in verify, and each gives one line of output, in order:

  {"valid":true,"claims":{...the introspection response...}}
  {"valid":false,"error":"..."}

The exit status is then 0 if every token was active and 1 otherwise.

Without --audience the answer's aud is not checked: introspect then shows
what the provider says about any token. With --audience an answer must
name one of them; an answer without aud is refused unless
--skip-audience-check-when-absent.
`,
	define: defineIntrospect,
}

// secretEnv is the environment variable introspect reads the client
// secret from when --client-secret is not given.
const secretEnv = "OIDCAUTH_CLIENT_SECRET"

// introspectFlags holds the flags of one run of introspect.
type introspectFlags struct {
	issuer       string
	audiences    listFlag
	clientID     string
	clientSecret string
	authMethod   string
	endpoint     string
	skipAbsent   bool
	leeway       time.Duration
	insecureHTTP bool
	verbose      bool
}

// defineIntrospect declares the flags of introspect on fs.
func defineIntrospect(fs *flag.FlagSet) runFunc {
	f := &introspectFlags{}
	fs.StringVar(&f.issuer, "issuer", "", "the provider's issuer `URL` (required)")
	fs.StringVar(&f.clientID, "client-id", "", "this API's client `ID` at the provider (required)")
	fs.StringVar(&f.clientSecret, "client-secret", "", "the client's `secret` (default $"+secretEnv+")")
	fs.StringVar(&f.authMethod, "auth-method", oidcauth.ClientSecretBasic, "client authentication `method`: "+oidcauth.ClientSecretBasic+" or "+oidcauth.ClientSecretPost)
	fs.StringVar(&f.endpoint, "introspection-url", "", "the introspection endpoint `URL` (default: the issuer's introspection_endpoint)")
	fs.Var(&f.audiences, "audience", "an `audience` the answer's aud must name; repeat it or separate with commas (default: aud not checked)")
	fs.BoolVar(&f.skipAbsent, "skip-audience-check-when-absent", false, "with --audience, accept an answer that has no aud")
	fs.DurationVar(&f.leeway, "leeway", oidcauth.DefaultLeeway, "clock skew tolerated for exp, nbf and iat; --leeway 0 means NO leeway")
	fs.BoolVar(&f.insecureHTTP, "insecure-allow-http", false, "allow http URLs for a non-loopback issuer or endpoint")
	fs.BoolVar(&f.verbose, "verbose", false, "log discovery, key fetches and introspection failures to standard error")
	return f.run
}

// run checks the arguments, builds an Authorizer that introspects every
// token without a cache, and introspects the token, or the tokens on
// standard input.
func (f *introspectFlags) run(ctx context.Context, e *env, args []string) int {
	if f.clientSecret == "" {
		f.clientSecret = os.Getenv(secretEnv)
	}
	switch {
	case len(args) > 1:
		return e.usageError("%s", tooManyTokens(args))
	case f.issuer == "":
		return e.usageError("--issuer is required")
	case f.clientID == "":
		return e.usageError("--client-id is required")
	case f.clientSecret == "":
		return e.usageError("--client-secret (or $%s) is required", secretEnv)
	case f.skipAbsent && len(f.audiences) == 0:
		return e.usageError("--skip-audience-check-when-absent needs --audience")
	case len(args) == 0:
		return e.usageError("missing TOKEN (or - to read tokens from standard input)")
	case f.leeway < 0:
		return e.usageError("--leeway must not be negative")
	}
	token := strings.TrimSpace(args[0])
	if token == "" {
		return e.usageError("TOKEN is empty")
	}
	leeway, logger := configLeeway(f.leeway), e.logger(f.verbose)
	auth, err := oidcauth.New(ctx, oidcauth.Config{
		Issuer:            f.issuer,
		Audiences:         f.audiences,
		SkipAudienceCheck: len(f.audiences) == 0,
		Leeway:            leeway,
		InsecureAllowHTTP: f.insecureHTTP,
		Logger:            logger,
		Introspection: &oidcauth.IntrospectionConfig{
			Endpoint:                    f.endpoint,
			ClientID:                    f.clientID,
			ClientSecret:                f.clientSecret,
			AuthMethod:                  f.authMethod,
			All:                         true,
			CacheTTL:                    -1, // every run asks the provider
			SkipAudienceCheckWhenAbsent: f.skipAbsent,
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(e)
		}
		e.errorf("%v", redact(err.Error(), f.clientSecret))
		return exitUsage
	}
	defer auth.Close()

	if token == "-" {
		return verifyStream(ctx, e, auth)
	}
	claims, err := auth.Validate(ctx, token)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(e)
		}
		msg := redact(err.Error(), f.clientSecret)
		if errors.Is(err, oidcauth.ErrIntrospectionFailed) || errors.Is(err, oidcauth.ErrKeysUnavailable) {
			e.errorf("%s", msg)
			return exitUsage
		}
		e.errorf("token refused: %s", msg)
		return exitInvalid
	}
	return e.printClaims(claims)
}

// redact replaces secret in msg, in case an error ever quotes it.
func redact(msg, secret string) string {
	if len(secret) < 4 {
		return msg // too short to search for without mangling the message
	}
	return strings.ReplaceAll(msg, secret, "[client secret]")
}
