package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// discoverCmd shows an issuer's metadata and keys as oidcauth sees them.
var discoverCmd = &command{
	name:    "discover",
	args:    "ISSUER",
	summary: "fetch an issuer's metadata and keys, and warn about problems",
	doc: `Discover fetches the metadata of ISSUER from the locations oidcauth tries,
in its order: ISSUER/.well-known/openid-configuration (OpenID Connect
Discovery), then the RFC 8414 location with
/.well-known/oauth-authorization-server inserted before the issuer's
path, then the same appended to it. It prints the metadata, the keys of
its jwks_uri (see "oidcauth help jwks"), and warnings:

  - http endpoints on hosts that are not loopback;
  - "none" or HMAC (HS256...) in id_token_signing_alg_values_supported,
    and algorithms oidcauth does not accept;
  - a metadata issuer that is not ISSUER exactly (trailing slash
    included), or no jwks_uri;
  - keys oidcauth skips, and why.

It then loads the keys with the library, as verify would, and says
whether oidcauth can validate tokens from ISSUER. It exits 0 when it can
(warnings or not), 1 when it cannot, and 2 on a usage error.
`,
	define: defineDiscover,
}

// discoverFlags holds the flags of one run of discover.
type discoverFlags struct {
	insecureHTTP bool
}

// defineDiscover declares the flags of discover on fs.
func defineDiscover(fs *flag.FlagSet) runFunc {
	f := &discoverFlags{}
	fs.BoolVar(&f.insecureHTTP, "insecure-allow-http", false, "fetch from http URLs on hosts that are not loopback")
	return f.run
}

// run discovers the issuer and prints the report.
func (f *discoverFlags) run(ctx context.Context, e *env, args []string) int {
	if len(args) != 1 {
		return e.usageError("want one ISSUER, got %d arguments", len(args))
	}
	issuer := args[0]
	if err := checkFetchURL("issuer", issuer, f.insecureHTTP); err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	w := e.stdout
	md, err := fetchMetadata(ctx, e.client, issuer)
	if ctx.Err() != nil {
		return interrupted(e)
	}
	fmt.Fprintf(w, "Issuer:   %s\n", issuer)
	if err != nil {
		fmt.Fprint(w, "Metadata: not found\n")
		writeFailed(w, md.failed)
		e.errorf("no metadata for %s at any of the %d locations oidcauth tries", issuer, len(md.failed))
		return exitInvalid
	}
	fmt.Fprintf(w, "Metadata: %s\n", md.url)
	writeFailed(w, md.failed)
	fmt.Fprintln(w)
	writeMetadata(w, md.members)

	warnings := metadataWarnings(issuer, md)
	var rows []keyRow
	var keysErr error
	if md.jwksURI != "" {
		fmt.Fprintf(w, "\nKeys: %s\n", md.jwksURI)
		rows, keysErr = fetchJWKS(ctx, e, md.jwksURI, f.insecureHTTP)
		if ctx.Err() != nil {
			return interrupted(e)
		}
	}
	lib, libErr := loadKeys(ctx, e, issuer, "", f.insecureHTTP)
	if ctx.Err() != nil {
		return interrupted(e)
	}
	if keysErr == nil && libErr == nil {
		warnings = append(warnings, compareLoaded(rows, lib)...)
	}
	switch {
	case md.jwksURI == "":
	case keysErr != nil:
		fmt.Fprintf(w, "  not readable: %v\n", keysErr)
	case len(rows) == 0:
		fmt.Fprint(w, "  none: the JWKS has an empty \"keys\" array\n")
	default:
		writeKeyTable(w, "  ", rows)
	}
	for _, r := range rows {
		if !r.usable() {
			warnings = append(warnings, fmt.Sprintf("oidcauth skips key %s (keys[%d]): %s", kidText(r.kid), r.index, r.reason))
		}
	}

	if len(warnings) == 0 {
		fmt.Fprint(w, "\nWarnings: none\n")
	} else {
		fmt.Fprint(w, "\nWarnings:\n")
		for _, s := range warnings {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	if libErr != nil {
		fmt.Fprint(w, "\nResult: oidcauth cannot validate tokens from this issuer.\n")
		e.errorf("%s", strings.ReplaceAll(libErr.Error(), "\n", "\n  "))
		return exitInvalid
	}
	kids := make([]string, 0, len(lib))
	for _, k := range lib {
		kids = append(kids, kidText(k.KeyID))
	}
	fmt.Fprintf(w, "\nResult: oidcauth can validate tokens from this issuer, with %s: %s.\n", plural(len(lib), "key", "keys"), strings.Join(kids, ", "))
	return exitOK
}

// fetchJWKS fetches and describes the JWKS at u.
func fetchJWKS(ctx context.Context, e *env, u string, insecureHTTP bool) ([]keyRow, error) {
	if err := checkFetchURL("jwks_uri", u, insecureHTTP); err != nil {
		return nil, err
	}
	body, err := get(ctx, e.client, u)
	if err != nil {
		return nil, err
	}
	return describeJWKS(body)
}

// writeFailed lists the metadata locations that gave nothing usable.
func writeFailed(w io.Writer, failed []failedAttempt) {
	for _, a := range failed {
		fmt.Fprintf(w, "  (not at %s: %v)\n", a.url, a.err)
	}
}

// writeMetadata prints the metadata members, issuer and jwks_uri first and
// the others by name: strings as they are, arrays of strings separated by
// spaces, other values as compact JSON.
func writeMetadata(w io.Writer, ms []member) {
	ms = slices.Clone(ms)
	rank := func(name string) int {
		switch name {
		case "issuer":
			return 0
		case "jwks_uri":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		if ra, rb := rank(a.name), rank(b.name); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.name, b.name)
	})
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	for _, m := range ms {
		fmt.Fprintf(tw, "  %s\t%s\n", printable(m.name), memberText(m))
	}
	tw.Flush()
}

// memberText returns the value of m for display.
func memberText(m member) string {
	switch m.kind {
	case jsonx.KindString:
		s, _ := jsonx.String(m.raw)
		if s == "" {
			return `""`
		}
		return printable(s)
	case jsonx.KindArray:
		if ss, ok := stringArray(m.raw); ok && len(ss) > 0 {
			for i, s := range ss {
				ss[i] = printable(s)
			}
			return strings.Join(ss, " ")
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, m.raw) != nil {
		return string(m.raw)
	}
	return buf.String()
}

// printable returns s, quoted when it holds a character that is not
// printable or would confuse the layout.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !strconv.IsPrint(r) || r == '\t' }) {
		return strconv.Quote(s)
	}
	return s
}

// stringArray returns the elements of the JSON array raw if all are
// strings.
func stringArray(raw []byte) ([]string, bool) {
	ss := []string{}
	err := jsonx.Elements(raw, func(kind jsonx.Kind, v []byte) error {
		s, err := jsonx.String(v)
		ss = append(ss, s)
		return err
	})
	return ss, err == nil
}

// metadataWarnings lists the problems of the metadata of issuer.
func metadataWarnings(issuer string, md *metadata) []string {
	var ws []string
	switch _, hasIssuer := lookupMember(md.members, "issuer"); {
	case !hasIssuer:
		ws = append(ws, `the metadata has no "issuer": oidcauth rejects it`)
	case md.issuer == "":
		ws = append(ws, `the metadata's "issuer" is not a non-empty string: oidcauth rejects it`)
	case md.issuer == issuer:
	case strings.TrimSuffix(md.issuer, "/") == strings.TrimSuffix(issuer, "/"):
		ws = append(ws, fmt.Sprintf("the metadata's issuer %q differs from %q by a trailing slash: oidcauth compares issuers byte for byte, and tokens carry the metadata's form, so use %q", md.issuer, issuer, md.issuer))
	default:
		ws = append(ws, fmt.Sprintf("the metadata's issuer %q is not %q: oidcauth requires them to be identical (OpenID Connect Discovery §4.3, RFC 8414 §3.3)", md.issuer, issuer))
	}
	if md.jwksURI == "" {
		ws = append(ws, `the metadata has no "jwks_uri" string: oidcauth cannot find the keys`)
	}

	if isPlainHTTP(issuer) {
		ws = append(ws, fmt.Sprintf("the issuer %q uses http: anyone on the network path can change its metadata and keys", issuer))
	}
	for _, m := range md.members {
		if m.kind != jsonx.KindString || !(m.name == "jwks_uri" || strings.HasSuffix(m.name, "_endpoint")) {
			continue
		}
		u := stringMember(md.members, m.name)
		if !isPlainHTTP(u) {
			continue
		}
		why := "tokens and credentials sent to it cross the network in the clear"
		if m.name == "jwks_uri" {
			why = "anyone on the network path can replace the keys"
		}
		ws = append(ws, fmt.Sprintf("%s %q uses http: %s", m.name, u, why))
	}

	const algsMember = "id_token_signing_alg_values_supported"
	if m, ok := lookupMember(md.members, algsMember); ok {
		algs, isStrings := stringArray(m.raw)
		if m.kind != jsonx.KindArray || !isStrings {
			ws = append(ws, algsMember+" is not an array of strings")
		}
		for _, a := range algs {
			switch {
			case a == "none":
				ws = append(ws, algsMember+` lists "none": the provider may issue unsigned tokens (oidcauth never accepts them)`)
			case strings.HasPrefix(strings.ToUpper(a), "HS"):
				ws = append(ws, fmt.Sprintf("%s lists %q: tokens signed with a shared secret, which oidcauth never accepts from a provider", algsMember, a))
			case !slices.Contains(oidcauth.DefaultAlgorithms, a):
				ws = append(ws, fmt.Sprintf("%s lists %q, which oidcauth does not accept (it accepts %s)", algsMember, a, strings.Join(oidcauth.DefaultAlgorithms, ", ")))
			}
		}
	}
	return ws
}

// plural returns "1 key" or "2 keys".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
