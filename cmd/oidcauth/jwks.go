package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
)

// jwksCmd lists the keys of a JWKS and says which ones oidcauth uses.
var jwksCmd = &command{
	name:    "jwks",
	args:    "URL | ISSUER",
	summary: "list the keys of a JWKS or an issuer, and which ones oidcauth uses",
	doc: `Jwks fetches a JSON Web Key Set and lists its keys, one per line:

  KID   the key id
  KTY   the key type: RSA, EC, OKP...
  ALG   the algorithm the key is pinned to, if any
  USE   sig, enc, or - when absent
  SIZE  the RSA modulus in bits, or the curve
  USED BY OIDCAUTH
        yes, with the algorithms verify accepts with the key, or no and
        why not: an encryption key, an RSA modulus under 2048 bits, a
        private key, a duplicate kid...

When URL does not answer with a JWKS (a JSON object with "keys"), it is
taken as an issuer and its jwks_uri is discovered as "oidcauth discover"
does. The keys are then loaded with the library, as verify would, to
confirm the verdicts. Jwks exits 0 when oidcauth can use at least one
key, 1 when it can use none or the JWKS cannot be fetched, and 2 on a
usage error.
`,
	define: defineJWKS,
}

// jwksFlags holds the flags of one run of jwks.
type jwksFlags struct {
	insecureHTTP bool
}

// defineJWKS declares the flags of jwks on fs.
func defineJWKS(fs *flag.FlagSet) runFunc {
	f := &jwksFlags{}
	fs.BoolVar(&f.insecureHTTP, "insecure-allow-http", false, "fetch from http URLs on hosts that are not loopback")
	return f.run
}

// run lists the keys of the JWKS at args[0], or of the issuer args[0].
func (f *jwksFlags) run(ctx context.Context, e *env, args []string) int {
	if len(args) != 1 {
		return e.usageError("want one URL or ISSUER, got %d arguments", len(args))
	}
	arg := args[0]
	if err := checkFetchURL("URL", arg, f.insecureHTTP); err != nil {
		e.errorf("%v", err)
		return exitUsage
	}

	// A JWKS itself?
	jwksURL, issuer := arg, ""
	body, err := get(ctx, e.client, arg)
	if ctx.Err() != nil {
		return interrupted(e)
	}
	var rows []keyRow
	if err == nil {
		rows, err = describeJWKS(body)
	}
	if err != nil {
		// No: an issuer, then.
		notJWKS := err
		md, mdErr := fetchMetadata(ctx, e.client, arg)
		if ctx.Err() != nil {
			return interrupted(e)
		}
		if mdErr != nil || md.jwksURI == "" {
			why := `its metadata has no "jwks_uri"`
			if mdErr != nil {
				why = "no metadata at " + md.failed[0].url + ": " + md.failed[0].err.Error()
			}
			e.errorf("%s is neither a JWKS (%v) nor an issuer (%s)", arg, notJWKS, why)
			return exitInvalid
		}
		jwksURL, issuer = md.jwksURI, arg
		rows, err = fetchJWKS(ctx, e, jwksURL, f.insecureHTTP)
		if ctx.Err() != nil {
			return interrupted(e)
		}
		if err != nil {
			e.errorf("%s (jwks_uri of %s): %v", jwksURL, issuer, err)
			return exitInvalid
		}
	}

	// The library needs an issuer; with JWKSURL set it never fetches it.
	libIssuer := issuer
	if libIssuer == "" {
		u, _ := url.Parse(jwksURL) // checked by checkFetchURL
		libIssuer = u.Scheme + "://" + u.Host
	}
	lib, libErr := loadKeys(ctx, e, libIssuer, jwksURL, f.insecureHTTP)
	if ctx.Err() != nil {
		return interrupted(e)
	}
	var notes []string
	if libErr == nil {
		notes = compareLoaded(rows, lib)
	}

	w := e.stdout
	if issuer != "" {
		fmt.Fprintf(w, "JWKS: %s (jwks_uri of %s)\n\n", jwksURL, issuer)
	} else {
		fmt.Fprintf(w, "JWKS: %s\n\n", jwksURL)
	}
	if len(rows) == 0 {
		fmt.Fprint(w, "No keys: the \"keys\" array is empty.\n")
	} else {
		writeKeyTable(w, "", rows)
	}
	if len(notes) > 0 {
		fmt.Fprint(w, "\nNotes:\n")
		for _, n := range notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	usable := usableKIDs(rows)
	switch {
	case len(rows) == 0:
		e.errorf("the JWKS has no keys")
		return exitInvalid
	case len(usable) == 0:
		e.errorf("oidcauth can use none of the %s", plural(len(rows), "key", "keys"))
		return exitInvalid
	case libErr != nil:
		e.errorf("loading the keys with the library: %v", libErr)
		return exitInvalid
	}
	return exitOK
}
