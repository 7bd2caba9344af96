package oidctest

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options configures a Provider. The zero value is usable: an HTTP
// provider on a random loopback port with one RS256 key.
type Options struct {
	// Algorithm is the algorithm of the initial signing key; default
	// "RS256". See [Algorithms] for the supported values.
	Algorithm string

	// TLS serves HTTPS with a self-signed certificate (as
	// [httptest.NewTLSServer] does); use [Provider.Client] to talk to it.
	TLS bool

	// Now is the clock used for the default "iat" and "exp" claims;
	// default time.Now.
	Now func() time.Time

	// Addr is the listen address; default "127.0.0.1:0" (a random port).
	// Its host must be "localhost" or a loopback IP address: the provider
	// never listens on any other interface.
	Addr string

	// IssuerPath is an optional path appended to the issuer, e.g.
	// "/tenant1" gives the issuer "http://127.0.0.1:PORT/tenant1". A
	// missing leading slash is added and a trailing slash removed.
	IssuerPath string
}

// Provider is an in-process fake OpenID provider / OAuth authorization
// server. It serves a discovery document and a JWKS over HTTP(S) on a
// loopback address and mints signed JWTs. All methods are safe for
// concurrent use.
//
// Paths served, relative to the server root ({P} is the IssuerPath):
//
//	{P}/jwks                                     the JWKS (JWKSURL)
//	{P}/.well-known/openid-configuration         OpenID Connect Discovery 1.0
//	/.well-known/oauth-authorization-server{P}   RFC 8414 §3.1
//	{P}/.well-known/oauth-authorization-server   the "appended" form some servers use
//	{P}/authorize, {P}/token, {P}/logout         the OAuth endpoints, once a client is
//	                                             registered ([Provider.RegisterClient])
//
// All other paths are routed to handlers added with [Provider.Handle], or
// answer 404.
type Provider struct {
	srv        *httptest.Server
	mux        *http.ServeMux
	now        func() time.Time
	base       string // scheme://host:port
	issuer     string
	issuerPath string

	closed    chan struct{}
	closeOnce sync.Once

	jwksFetches      atomic.Int64
	discoveryFetches atomic.Int64

	mu             sync.RWMutex
	keys           map[string]*signingKey
	nextKid        int
	active         string
	jwks           []jwksEntry // published keys and raw JWKs, in publication order
	jwksFault      *Fault
	discoveryFault *Fault
	jwksHeader     http.Header
	discoveryExtra map[string]any
	serveOpenID    bool
	serveInserted  bool
	serveAppended  bool

	oauth oauthServer   // the OAuth endpoints; see oauth.go
	intro introspection // introspection and revocation; see introspection.go
}

// jwksEntry is one member of the published JWKS: either a managed key
// (kid set) or a raw JWK object.
type jwksEntry struct {
	kid string
	raw map[string]any
}

// Start starts a provider. It is meant for examples and programs; the
// caller must call [Provider.Close]. Tests should use [New].
func Start(opts Options) (*Provider, error) {
	alg := opts.Algorithm
	if alg == "" {
		alg = "RS256"
	}
	if _, ok := algSpecs[alg]; !ok {
		return nil, fmt.Errorf("oidctest: unsupported algorithm %q (supported: %v)", alg, Algorithms())
	}
	issuerPath, err := cleanIssuerPath(opts.IssuerPath)
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := listenLoopback(addr)
	if err != nil {
		return nil, err
	}

	p := &Provider{
		mux:           http.NewServeMux(),
		now:           opts.Now,
		issuerPath:    issuerPath,
		closed:        make(chan struct{}),
		keys:          make(map[string]*signingKey),
		serveOpenID:   true,
		serveInserted: true,
		serveAppended: true,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if _, err := p.addKey(alg, true, true); err != nil {
		ln.Close()
		return nil, err
	}
	// Set before serving (httptest builds its URL the same way).
	p.base = "http://" + ln.Addr().String()
	if opts.TLS {
		p.base = "https://" + ln.Addr().String()
	}
	p.issuer = p.base + issuerPath

	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.route))
	p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Config.ErrorLog = log.New(quietLog{os.Stderr}, "", log.LstdFlags)
	if opts.TLS {
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	return p, nil
}

// New starts a provider for a test and registers [Provider.Close] with
// t.Cleanup. It calls t.Fatal if the provider cannot be started. At most
// one Options may be given.
func New(t testing.TB, opts ...Options) *Provider {
	t.Helper()
	if len(opts) > 1 {
		t.Fatalf("oidctest.New: at most one Options, got %d", len(opts))
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// cleanIssuerPath normalizes Options.IssuerPath to "" or "/a/b".
func cleanIssuerPath(p string) (string, error) {
	if p == "" || p == "/" {
		return "", nil
	}
	if strings.ContainsAny(p, "?#%\\ \t\r\n") {
		return "", fmt.Errorf("oidctest: IssuerPath %q must be a plain URL path", p)
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = strings.TrimSuffix(p, "/")
	if path.Clean(p) != p {
		return "", fmt.Errorf("oidctest: IssuerPath %q is not a clean path", p)
	}
	return p, nil
}

// listenLoopback listens on addr, refusing anything but a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: Addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("oidctest: Addr %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("oidctest: listen: %w", err)
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("oidctest: Addr %q resolved to non-loopback %v", addr, ln.Addr())
	}
	return ln, nil
}

// quietLog drops the server's "TLS handshake error" lines, which tests
// that check that an untrusting client fails would otherwise print.
type quietLog struct{ w io.Writer }

func (q quietLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("http: TLS handshake error")) {
		return len(b), nil
	}
	return q.w.Write(b)
}

// Close stops the server. Requests held by a delayed fault are aborted
// rather than waited for, and open connections are closed. It is safe to
// call Close more than once.
func (p *Provider) Close() {
	p.closeOnce.Do(func() {
		close(p.closed)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
}

// Issuer returns the issuer identifier, e.g. "http://127.0.0.1:41234" or,
// with Options.IssuerPath, "http://127.0.0.1:41234/tenant1". It has no
// trailing slash.
func (p *Provider) Issuer() string { return p.issuer }

// JWKSURL returns the URL of the JWKS, {issuer}/jwks; it is the discovery
// document's jwks_uri.
func (p *Provider) JWKSURL() string { return p.issuer + "/jwks" }

// DiscoveryURL returns {issuer}/.well-known/openid-configuration.
func (p *Provider) DiscoveryURL() string { return p.issuer + "/.well-known/openid-configuration" }

// OAuthMetadataURL returns the RFC 8414 §3.1 metadata URL: the issuer with
// "/.well-known/oauth-authorization-server" inserted between the host and
// the issuer's path.
func (p *Provider) OAuthMetadataURL() string {
	return p.base + "/.well-known/oauth-authorization-server" + p.issuerPath
}

// AuthorizationEndpoint returns {issuer}/authorize, the discovery
// document's authorization_endpoint. Nothing is served there unless a
// client is registered ([Provider.RegisterClient]) or a handler is added
// with [Provider.Handle] (at [Provider.IssuerPath]+"/authorize").
func (p *Provider) AuthorizationEndpoint() string { return p.issuer + "/authorize" }

// TokenEndpoint returns {issuer}/token, the discovery document's
// token_endpoint. Nothing is served there unless a client is registered
// ([Provider.RegisterClient]) or a handler is added with [Provider.Handle] (at [Provider.IssuerPath]+"/token").
func (p *Provider) TokenEndpoint() string { return p.issuer + "/token" }

// IssuerPath returns the normalized Options.IssuerPath: "" or a path such
// as "/tenant1". It is the prefix to use for patterns given to
// [Provider.Handle] that should live under the issuer.
func (p *Provider) IssuerPath() string { return p.issuerPath }

// Client returns an *http.Client that trusts the provider's certificate
// when Options.TLS is set (and is a plain client otherwise). Its idle
// connections are closed by [Provider.Close].
func (p *Provider) Client() *http.Client { return p.srv.Client() }

// Handle mounts h on the provider's mux (an [http.ServeMux], so patterns
// such as "POST /token" work and conflicting patterns panic). Patterns are
// matched against the whole request path, not relative to the issuer; use
// [Provider.IssuerPath] as a prefix when needed. The provider's own paths
// (the JWKS and the enabled discovery locations) take precedence.
func (p *Provider) Handle(pattern string, h http.Handler) { p.mux.Handle(pattern, h) }

// JWKSFetches returns the number of requests received on the JWKS path,
// including faulted ones.
func (p *Provider) JWKSFetches() int64 { return p.jwksFetches.Load() }

// DiscoveryFetches returns the number of requests received on any path
// containing "/.well-known/", including faulted, disabled and unknown
// ones.
func (p *Provider) DiscoveryFetches() int64 { return p.discoveryFetches.Load() }

// SetJWKSFault makes JWKS requests misbehave as f describes, until the
// next call; nil restores normal answers. f is copied.
func (p *Provider) SetJWKSFault(f *Fault) {
	f = f.clone()
	p.mu.Lock()
	p.jwksFault = f
	p.mu.Unlock()
}

// SetDiscoveryFault makes requests to the enabled discovery locations
// (all of them) misbehave as f describes, until the next call; nil
// restores normal answers. f is copied.
func (p *Provider) SetDiscoveryFault(f *Fault) {
	f = f.clone()
	p.mu.Lock()
	p.discoveryFault = f
	p.mu.Unlock()
}

// SetJWKSHeader sets headers sent with every JWKS answer, e.g.
// Cache-Control: max-age=600 (a JWKS fault's Header takes precedence per
// key). nil clears them. h is copied.
func (p *Provider) SetJWKSHeader(h http.Header) {
	h = h.Clone()
	p.mu.Lock()
	p.jwksHeader = h
	p.mu.Unlock()
}

// SetDiscovery overrides or adds members of the discovery document. Calls
// accumulate: each merges doc into the overrides set so far. A member
// whose value is nil is removed from the document. SetDiscovery(nil)
// drops all overrides, restoring the default document. The map is copied
// (one level deep).
func (p *Provider) SetDiscovery(doc map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if doc == nil {
		p.discoveryExtra = nil
		return
	}
	if p.discoveryExtra == nil {
		p.discoveryExtra = make(map[string]any, len(doc))
	}
	maps.Copy(p.discoveryExtra, doc)
}

// SetDiscoveryPaths chooses which discovery locations are served; the
// others answer 404 (through the [Provider.Handle] mux). All three are
// served by default. The locations are:
//
//   - openid: {issuer}/.well-known/openid-configuration
//   - rfc8414Inserted: /.well-known/oauth-authorization-server{IssuerPath} (RFC 8414 §3.1)
//   - rfc8414Appended: {issuer}/.well-known/oauth-authorization-server
//
// Without an IssuerPath the two RFC 8414 forms are the same URL, which is
// then served if either flag is true. For example, SetDiscoveryPaths(false,
// true, false) checks that a client falls back to RFC 8414 metadata.
func (p *Provider) SetDiscoveryPaths(openid, rfc8414Inserted, rfc8414Appended bool) {
	p.mu.Lock()
	p.serveOpenID, p.serveInserted, p.serveAppended = openid, rfc8414Inserted, rfc8414Appended
	p.mu.Unlock()
}

// DiscoveryDocument returns the discovery document as currently served
// (defaults plus [Provider.SetDiscovery] overrides).
func (p *Provider) DiscoveryDocument() map[string]any {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.discoveryDocLocked()
}

func (p *Provider) discoveryDocLocked() map[string]any {
	algs := []string{}
	for _, e := range p.jwks {
		if e.kid != "" && !slices.Contains(algs, p.keys[e.kid].alg) {
			algs = append(algs, p.keys[e.kid].alg)
		}
	}
	doc := map[string]any{
		"issuer":                                p.issuer,
		"jwks_uri":                              p.JWKSURL(),
		"authorization_endpoint":                p.AuthorizationEndpoint(),
		"token_endpoint":                        p.TokenEndpoint(),
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": algs,
	}
	p.oauth.addDiscovery(p, doc) // only once a client is registered
	p.addIntrospectionDiscovery(doc)
	for k, v := range p.discoveryExtra {
		if v == nil {
			delete(doc, k)
		} else {
			doc[k] = v
		}
	}
	return doc
}

// JWKS returns the JSON of the JWKS as currently served: {"keys":[...]}
// with the published keys and raw JWKs in publication order.
func (p *Provider) JWKS() []byte {
	p.mu.RLock()
	keys := make([]any, 0, len(p.jwks))
	for _, e := range p.jwks {
		if e.kid != "" {
			keys = append(keys, p.keys[e.kid].publicJWK())
		} else {
			keys = append(keys, e.raw)
		}
	}
	p.mu.RUnlock()
	b, err := marshal(map[string]any{"keys": keys})
	if err != nil {
		// Only a raw JWK with unmarshalable values can get here.
		panic("oidctest: marshalling JWKS: " + err.Error())
	}
	return b
}

// route is the server's handler.
func (p *Provider) route(w http.ResponseWriter, r *http.Request) {
	rp := r.URL.Path
	if rp == p.issuerPath+"/jwks" {
		p.jwksFetches.Add(1)
		p.mu.RLock()
		f, hdr := p.jwksFault, p.jwksHeader
		p.mu.RUnlock()
		p.serve(w, r, f, answer{contentType: "application/json", header: hdr, body: p.JWKS})
		return
	}
	if isWellKnown(rp) {
		p.discoveryFetches.Add(1)
		p.mu.RLock()
		f := p.discoveryFault
		serve := p.servesDiscoveryLocked(rp)
		p.mu.RUnlock()
		if serve {
			p.serve(w, r, f, answer{contentType: "application/json", body: p.discoveryJSON})
			return
		}
	}
	if p.serveOAuth(w, r) { // only once a client is registered
		return
	}
	if p.serveIntrospection(w, r) { // only once EnableIntrospection was called
		return
	}
	p.mux.ServeHTTP(w, r)
}

// servesDiscoveryLocked reports whether rp is an enabled discovery location.
func (p *Provider) servesDiscoveryLocked(rp string) bool {
	const rfc = "/.well-known/oauth-authorization-server"
	inserted := rp == rfc+p.issuerPath
	appended := rp == p.issuerPath+rfc
	return (rp == p.issuerPath+"/.well-known/openid-configuration" && p.serveOpenID) ||
		(inserted && p.serveInserted) || (appended && p.serveAppended)
}

func (p *Provider) discoveryJSON() []byte {
	b, err := marshal(p.DiscoveryDocument())
	if err != nil {
		panic("oidctest: marshalling discovery document: " + err.Error())
	}
	return b
}

// Token describes a JWT for [Provider.MintToken].
type Token struct {
	// Claims are merged over the defaults "iss": Issuer(), "iat": now and
	// "exp": now+1h (now from Options.Now). A claim whose value is nil is
	// removed (e.g. {"exp": nil} for a token without expiry). Values of
	// type time.Time are encoded as NumericDate (Unix seconds).
	Claims map[string]any

	// Header is merged over the defaults "alg": the signing key's
	// algorithm, "kid": its key id and "typ": "JWT". A member whose value
	// is nil is removed (e.g. {"kid": nil}). Changing "alg" does not
	// change how the token is signed, which is useful for algorithm
	// confusion tests.
	Header map[string]any

	// KeyID selects the signing key; default the active key. Keys that are
	// unpublished or removed can still sign.
	KeyID string

	// RawHeader and RawPayload, when non-nil, are used verbatim as the
	// JSON of the header and payload instead of marshalling Header and
	// Claims (for duplicate members, odd number formats and the like).
	// The signature is still computed over them correctly.
	RawHeader  []byte
	RawPayload []byte

	// Signature, when non-nil, is used verbatim (before base64url
	// encoding) instead of the computed signature; an empty non-nil slice
	// gives a token ending in "." as with "alg":"none".
	Signature []byte
}

// Mint returns a compact JWS signed by the active key with claims merged
// over the defaults; it is MintToken(Token{Claims: claims}).
func (p *Provider) Mint(claims map[string]any) (string, error) {
	return p.MintToken(Token{Claims: claims})
}

// MustMint is like [Provider.Mint] but calls t.Fatal on error.
func (p *Provider) MustMint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return p.MustMintToken(t, Token{Claims: claims})
}

// MustMintToken is like [Provider.MintToken] but calls t.Fatal on error.
func (p *Provider) MustMintToken(t testing.TB, tok Token) string {
	t.Helper()
	s, err := p.MintToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// MintToken returns tok as a compact JWS (RFC 7515 §7.1): three base64url
// parts without padding, separated by dots.
func (p *Provider) MintToken(tok Token) (string, error) {
	p.mu.RLock()
	kid := tok.KeyID
	if kid == "" {
		kid = p.active
	}
	k := p.keys[kid]
	p.mu.RUnlock()
	if k == nil {
		return "", fmt.Errorf("oidctest: no key %q", kid)
	}

	header := tok.RawHeader
	if header == nil {
		h := map[string]any{"alg": k.alg, "kid": k.kid, "typ": "JWT"}
		var err error
		if header, err = marshal(merge(h, tok.Header)); err != nil {
			return "", fmt.Errorf("oidctest: marshalling header: %w", err)
		}
	}
	payload := tok.RawPayload
	if payload == nil {
		now := p.now()
		c := map[string]any{
			"iss": p.issuer,
			"iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(),
		}
		var err error
		if payload, err = marshal(merge(c, tok.Claims)); err != nil {
			return "", fmt.Errorf("oidctest: marshalling claims: %w", err)
		}
	}

	signingInput := b64(header) + "." + b64(payload)
	sig := tok.Signature
	if sig == nil {
		var err error
		if sig, err = k.sign([]byte(signingInput)); err != nil {
			return "", fmt.Errorf("oidctest: signing with %q: %w", k.kid, err)
		}
	}
	token := signingInput + "." + b64(sig)
	p.rememberJWT(token, payload)
	return token, nil
}

// merge applies over to base (nil values delete) and converts time.Time
// values to Unix seconds.
func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		if v == nil {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	for k, v := range base {
		switch t := v.(type) {
		case time.Time:
			base[k] = t.Unix()
		case *time.Time:
			if t != nil {
				base[k] = t.Unix()
			}
		}
	}
	return base
}

// marshal is json.Marshal without HTML escaping (so "&" stays "&").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ActiveKeyID returns the id of the key that signs tokens by default.
func (p *Provider) ActiveKeyID() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.active
}

// AddKey generates a key for alg and publishes it. It does not change the
// active key. Key ids are "k1", "k2", ... in order of creation.
func (p *Provider) AddKey(alg string) (kid string, err error) { return p.addKey(alg, true, false) }

// AddUnpublishedKey generates a key for alg without publishing it, e.g. to
// test a rotation where a new key signs before it appears in the JWKS.
func (p *Provider) AddUnpublishedKey(alg string) (kid string, err error) {
	return p.addKey(alg, false, false)
}

// Rotate generates a key for alg, publishes it and makes it active. The
// previously active key stays published (overlap); remove it with
// [Provider.RemoveKey].
func (p *Provider) Rotate(alg string) (kid string, err error) { return p.addKey(alg, true, true) }

func (p *Provider) addKey(alg string, publish, activate bool) (string, error) {
	signer, spec, err := generateKey(alg) // slow for RSA: outside the lock
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextKid++
	k := &signingKey{kid: "k" + strconv.Itoa(p.nextKid), alg: alg, spec: spec, signer: signer}
	p.keys[k.kid] = k
	if publish {
		p.jwks = append(p.jwks, jwksEntry{kid: k.kid})
	}
	if activate {
		p.active = k.kid
	}
	return k.kid, nil
}

// errNoKey is returned for unknown key ids.
var errNoKey = errors.New("oidctest: no such key")

// PublishKey adds the key kid to the JWKS (at the end). Publishing a
// published key does nothing.
func (p *Provider) PublishKey(kid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys[kid] == nil {
		return fmt.Errorf("%w: %q", errNoKey, kid)
	}
	if !p.publishedLocked(kid) {
		p.jwks = append(p.jwks, jwksEntry{kid: kid})
	}
	return nil
}

// RemoveKey removes the key kid from the JWKS. The key still exists and
// can still sign (with Token.KeyID), and may be published again. Removing
// an unpublished key does nothing. The active key may be removed; it then
// goes on signing by default.
func (p *Provider) RemoveKey(kid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys[kid] == nil {
		return fmt.Errorf("%w: %q", errNoKey, kid)
	}
	p.jwks = slices.DeleteFunc(p.jwks, func(e jwksEntry) bool { return e.kid == kid })
	return nil
}

// SetActiveKey makes kid the key that signs tokens by default. It does not
// publish it.
func (p *Provider) SetActiveKey(kid string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys[kid] == nil {
		return fmt.Errorf("%w: %q", errNoKey, kid)
	}
	p.active = kid
	return nil
}

// PublishedKeyIDs returns the ids of the published keys in JWKS order. Raw
// JWKs added with [Provider.AddRawJWK] are not included.
func (p *Provider) PublishedKeyIDs() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ids := []string{}
	for _, e := range p.jwks {
		if e.kid != "" {
			ids = append(ids, e.kid)
		}
	}
	return ids
}

func (p *Provider) publishedLocked(kid string) bool {
	return slices.ContainsFunc(p.jwks, func(e jwksEntry) bool { return e.kid == kid })
}

// AddRawJWK appends jwk to the JWKS as it is, for hostile JWKS tests
// (unknown kty, "use":"enc", short RSA moduli, points off the curve,
// duplicate kids...). The map is copied one level deep; its values must be
// JSON-marshalable. Raw JWKs stay until [Provider.RemoveRawJWKs].
func (p *Provider) AddRawJWK(jwk map[string]any) {
	c := maps.Clone(jwk)
	if c == nil {
		c = map[string]any{}
	}
	p.mu.Lock()
	p.jwks = append(p.jwks, jwksEntry{raw: c})
	p.mu.Unlock()
}

// RemoveRawJWKs removes all JWKs added with [Provider.AddRawJWK].
func (p *Provider) RemoveRawJWKs() {
	p.mu.Lock()
	p.jwks = slices.DeleteFunc(p.jwks, func(e jwksEntry) bool { return e.kid == "" })
	p.mu.Unlock()
}

// KeyAlgorithm returns the algorithm of key kid, or "" if there is no such
// key.
func (p *Provider) KeyAlgorithm(kid string) string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if k := p.keys[kid]; k != nil {
		return k.alg
	}
	return ""
}

// PublicKey returns the public key of kid (*rsa.PublicKey,
// *ecdsa.PublicKey or ed25519.PublicKey), or nil if there is no such key.
func (p *Provider) PublicKey(kid string) crypto.PublicKey {
	if s := p.PrivateKey(kid); s != nil {
		return s.Public()
	}
	return nil
}

// PrivateKey returns the private key of kid (*rsa.PrivateKey,
// *ecdsa.PrivateKey or ed25519.PrivateKey), or nil if there is no such
// key. Note that crypto.Signer produces ASN.1 ECDSA signatures, not the
// JWS r||s form.
func (p *Provider) PrivateKey(kid string) crypto.Signer {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if k := p.keys[kid]; k != nil {
		return k.signer
	}
	return nil
}
