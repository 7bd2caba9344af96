package oidcauth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The URL and redirect rules of every request the library makes to a
// provider, exported so that package oauth, the command line tool and
// applications apply the same ones.

// CheckURL reports whether raw is acceptable as the URL of a provider's
// endpoint (issuer, metadata, JWKS, token endpoint, ...): an absolute URL
// without user information or fragment, using https, or http only for a
// loopback host (127.0.0.0/8, ::1, localhost) or when insecureHTTP is set.
// what names the URL in the error (e.g. "issuer", "jwks_uri"); the error
// has no "oidcauth:" prefix, so that callers can wrap it.
func CheckURL(what, raw string, insecureHTTP bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s %q is not a URL: %w", what, raw, err)
	}
	if u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s %q is not an absolute URL", what, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%s %q must not contain user info", what, u.Redacted())
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%s %q must not contain a fragment", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecureHTTP || IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s %q must use https (http is allowed only for loopback hosts or with InsecureAllowHTTP)", what, raw)
	}
	return fmt.Errorf("%s %q must use https", what, raw)
}

func checkURL(what, raw string, insecureHTTP bool) error { return CheckURL(what, raw, insecureHTTP) }

// IsLoopbackHost reports whether host (without port or brackets) is
// "localhost" or a loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// maxRedirects is the most redirects a provider request follows.
const maxRedirects = 5

// RestrictRedirects returns a shallow copy of c (http.DefaultClient when c
// is nil) that follows at most 5 redirects, none to another host and none
// from https to http; c's own CheckRedirect, if any, is asked after these
// rules. The copy shares c's Transport and so its connection pool. Every
// discovery and JWKS request of an Authorizer goes through such a client.
//
// Requests that carry credentials in their body (a token request, RFC 6749
// §2.3.1, §3.2) should follow no redirect at all: see NoRedirects.
func RestrictRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	user := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if req.URL.Host != via[0].URL.Host || (via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("redirect to another host or scheme refused (%s)", req.URL.Redacted())
		}
		if user != nil {
			return user(req, via)
		}
		return nil
	}
	return &cc
}

// ErrRedirectRefused is returned (wrapped in a *url.Error) by a client made
// with NoRedirects when the server answers with a redirect.
var ErrRedirectRefused = errors.New("oidcauth: redirect refused: this request follows no redirect")

// NoRedirects returns a shallow copy of c (http.DefaultClient when c is nil)
// that follows no redirect: a 3xx answer fails the request with
// ErrRedirectRefused, so that a request carrying a client secret, an
// authorization code or a PKCE verifier is never replayed to another URL.
func NoRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return ErrRedirectRefused }
	return &cc
}
