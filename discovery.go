package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// Metadata is the part of the provider's metadata the Authorizer uses
// (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).
type Metadata struct {
	Issuer  string // must equal Config.Issuer exactly
	JWKSURL string // jwks_uri
	// SourceURL is the metadata URL that answered.
	SourceURL string
	// Raw is the metadata document as served.
	Raw []byte
}

// DiscoveryURLs returns the metadata URLs New tries for issuer, in order,
// until one answers with a document naming exactly this issuer:
//
//  1. {issuer}/.well-known/openid-configuration (OpenID Connect Discovery §4)
//  2. https://host/.well-known/oauth-authorization-server{path} (RFC 8414 §3.1)
//  3. {issuer}/.well-known/oauth-authorization-server (served instead of 2
//     by some providers, e.g. Okta custom authorization servers)
//
// When the issuer has no path, 2 and 3 are the same URL and it is tried once.
func DiscoveryURLs(issuer string) ([]string, error) { return discoveryURLs(issuer) }

func discoveryURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(issuer, "/")
	const wk = "/.well-known/oauth-authorization-server"
	rfc := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: wk + strings.TrimSuffix(u.Path, "/")}
	if u.RawPath != "" {
		rfc.RawPath = wk + strings.TrimSuffix(u.RawPath, "/")
	}
	urls := []string{base + "/.well-known/openid-configuration", rfc.String()}
	if appended := base + wk; appended != urls[1] {
		urls = append(urls, appended)
	}
	return urls, nil
}

// discover fetches the provider's metadata, trying each location of
// discoveryURLs until one answers with a document whose issuer is exactly
// the configured issuer.
func (f *fetcher) discover(ctx context.Context, issuer string) (*Metadata, error) {
	urls, err := discoveryURLs(issuer)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, u := range urls {
		body, _, err := f.get(ctx, u)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		md, err := parseMetadata(body, issuer, f.insecureHTTP)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
			continue
		}
		md.SourceURL = u
		return md, nil
	}
	// The most telling cause first: a metadata document naming another
	// issuer (a wrong Issuer setting, often a missing or extra slash), then
	// any other failure, and last the 404s of locations the provider does
	// not serve, which every provider has.
	slices.SortStableFunc(errs, func(a, b error) int { return discoveryRank(a) - discoveryRank(b) })
	return nil, fmt.Errorf("discovery failed: %w", errors.Join(errs...))
}

func discoveryRank(err error) int {
	var mm *issuerMismatchError
	var se *statusError
	switch {
	case errors.As(err, &mm):
		return 0
	case errors.As(err, &se) && se.code == http.StatusNotFound:
		return 2
	}
	return 1
}

// issuerMismatchError: the metadata names another issuer than the
// configured one.
type issuerMismatchError struct{ got, want string }

func (e *issuerMismatchError) Error() string {
	return fmt.Sprintf("metadata issuer %q does not equal the configured issuer %q", e.got, e.want)
}

// parseMetadata checks a metadata document: strict JSON, issuer exactly
// equal to the configured one (OpenID Connect Discovery §4.3, RFC 8414
// §3.3: this defeats a provider impersonating another), and a jwks_uri that
// is an absolute https URL (or http on a loopback host).
func parseMetadata(body []byte, issuer string, insecureHTTP bool) (*Metadata, error) {
	md := &Metadata{Raw: body}
	var issuerSeen bool
	err := jsonx.Members(body, func(name []byte, kind jsonx.Kind, raw []byte) error {
		var err error
		switch string(name) {
		case "issuer":
			issuerSeen = true
			md.Issuer, err = jsonx.String(raw)
		case "jwks_uri":
			md.JWKSURL, err = jsonx.String(raw)
		}
		if err != nil {
			return fmt.Errorf("member %q must be a string", name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("invalid metadata: %w", err)
	}
	if !issuerSeen {
		return nil, errors.New(`metadata has no "issuer"`)
	}
	if md.Issuer != issuer {
		return nil, &issuerMismatchError{got: md.Issuer, want: issuer}
	}
	if md.JWKSURL == "" {
		return nil, errors.New(`metadata has no "jwks_uri"`)
	}
	if err := checkURL("jwks_uri", md.JWKSURL, insecureHTTP); err != nil {
		return nil, err
	}
	return md, nil
}
