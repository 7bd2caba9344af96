package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// HTTP plumbing shared by discover, jwks and mint: bounded requests,
// fetching metadata from the locations the library tries, and the URL
// rules it applies.

// Bounds of one request made by the command, as in the library.
const (
	fetchTimeout = 10 * time.Second
	maxBody      = oidcauth.DefaultMaxResponseSize
)

// newHTTPClient returns the client the commands use: the library's
// redirect policy (oidcauth.RestrictRedirects), which follows at most 5
// redirects, only within the same host, and never from https to http.
func newHTTPClient() *http.Client {
	return oidcauth.RestrictRedirects(&http.Client{})
}

// get fetches rawURL and returns the body of a 200 answer of at most
// maxBody bytes. Its errors do not repeat the URL.
func get(ctx context.Context, c *http.Client, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, unwrapURLError(err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return body, nil
}

// unwrapURLError drops the "Get URL:" prefix of a *url.Error, which the
// caller prints with the URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

// A member is one top-level member of a JSON object, in document order.
type member struct {
	name string
	kind jsonx.Kind
	raw  []byte
}

// members returns the top-level members of the strict JSON object doc.
func members(doc []byte) ([]member, error) {
	var ms []member
	err := jsonx.Members(doc, func(name []byte, kind jsonx.Kind, raw []byte) error {
		ms = append(ms, member{string(name), kind, raw})
		return nil
	})
	return ms, err
}

// lookupMember returns the member called name.
func lookupMember(ms []member, name string) (member, bool) {
	for _, m := range ms {
		if m.name == name {
			return m, true
		}
	}
	return member{}, false
}

// stringMember returns the string value of member name, or "" when it is
// absent or not a string.
func stringMember(ms []member, name string) string {
	m, ok := lookupMember(ms, name)
	if !ok || m.kind != jsonx.KindString {
		return ""
	}
	s, _ := jsonx.String(m.raw)
	return s
}

// A failedAttempt is a metadata location that gave nothing usable.
type failedAttempt struct {
	url string
	err error
}

// metadata is an issuer's metadata document as fetched by the command.
type metadata struct {
	url     string   // the location that answered
	raw     []byte   // the document as served
	members []member // its top-level members, in document order
	issuer  string   // its "issuer", if a string
	jwksURI string   // its "jwks_uri", if a string
	// failed lists the locations tried before url, or all of them when
	// fetchMetadata fails.
	failed []failedAttempt
}

// fetchMetadata fetches the issuer's metadata from the locations the
// library tries (oidcauth.DiscoveryURLs), in its order. Like the library,
// it prefers the first document whose issuer is exactly the given one;
// failing that it returns the first JSON object served, so that the
// caller can show what is wrong with it.
func fetchMetadata(ctx context.Context, c *http.Client, issuer string) (*metadata, error) {
	urls, err := oidcauth.DiscoveryURLs(issuer)
	if err != nil {
		return nil, err
	}
	var first *metadata
	var failed []failedAttempt
	for _, u := range urls {
		body, err := get(ctx, c, u)
		if err != nil {
			failed = append(failed, failedAttempt{u, err})
			if ctx.Err() != nil {
				break
			}
			continue
		}
		ms, err := members(body)
		if err != nil {
			failed = append(failed, failedAttempt{u, fmt.Errorf("not a strict JSON object: %s", jsonErrText(err))})
			continue
		}
		md := &metadata{url: u, raw: body, members: ms, issuer: stringMember(ms, "issuer"), jwksURI: stringMember(ms, "jwks_uri")}
		md.failed = append([]failedAttempt(nil), failed...)
		if md.issuer == issuer {
			return md, nil
		}
		failed = append(failed, failedAttempt{u, fmt.Errorf("issuer %q is not %q", md.issuer, issuer)})
		if first == nil {
			first = md
		}
	}
	if first != nil {
		return first, nil
	}
	return &metadata{failed: failed}, errors.New("no metadata found")
}

// jsonErrText returns the message of a jsonx error without its "jsonx: "
// prefix.
func jsonErrText(err error) string {
	return strings.TrimPrefix(err.Error(), "jsonx: ")
}

// checkFetchURL applies the library's rule for issuer and JWKS URLs
// (oidcauth.CheckURL): an absolute https URL without user info or
// fragment, or http for a loopback host or with insecureHTTP. It is
// checked before anything is fetched, so that nothing is sent over http
// to another host unless asked for. An http URL on another host gets the
// command's own message, which names the flag that allows it.
func checkFetchURL(what, raw string, insecureHTTP bool) error {
	err := oidcauth.CheckURL(what, raw, insecureHTTP)
	if err != nil && !insecureHTTP && isPlainHTTP(raw) {
		return fmt.Errorf("%s %q uses http on a host that is not loopback: oidcauth refuses it, since anyone on the network path can change what it serves (use https, or --insecure-allow-http to look anyway)", what, raw)
	}
	return err
}

// isPlainHTTP reports whether raw is an http URL on a host that is not
// loopback.
func isPlainHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, "http") && !oidcauth.IsLoopbackHost(u.Hostname())
}
