package oidcauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DPoPConfig configures DPoP, sender-constrained tokens bound to a key
// the client proves it holds (RFC 9449). The zero value and a nil
// Config.DPoP mean: the DPoP scheme is accepted with these defaults, and
// so are unbound Bearer tokens; a token bound to a DPoP key (cnf.jkt) is
// never accepted without a valid proof.
type DPoPConfig struct {
	// Required refuses every request that is not a DPoP-bound token with a
	// valid proof (ErrDPoPRequired): unbound tokens and the Bearer scheme
	// are refused, and the 401 answers carry only the DPoP challenge.
	// Default false: unbound Bearer tokens keep working.
	Required bool

	// Algorithms is the allow-list of JWS algorithms for proofs. Only
	// asymmetric algorithms are allowed. Default: the asymmetric
	// algorithms of Config.Algorithms (DefaultAlgorithms).
	Algorithms []string

	// ReplayCache records the jti of every accepted proof for the proof
	// window (RFC 9449 §11.1). Default: a MemoryReplayCache of
	// DefaultReplayCacheSize entries, private to this Authorizer. A fleet
	// of servers shares one (redisstore.NewReplayCache).
	ReplayCache ReplayCache

	// ProofWindow is how far a proof's iat may be from now, either way
	// (RFC 9449 §11.1): Default DefaultDPoPProofWindow (60 s). Config.Leeway
	// is not added. A proof's jti is remembered until iat+ProofWindow.
	ProofWindow time.Duration

	// NonceSecret, when set (at least 32 bytes), turns on server nonces
	// (RFC 9449 §8): a proof must carry a nonce, else the answer is 401
	// error="use_dpop_nonce" with a DPoP-Nonce header. Nonces are
	// stateless: an HMAC of the current period under this secret, so
	// servers sharing the secret share nonces. The current and the
	// previous period's nonce are accepted.
	NonceSecret []byte

	// NonceRotation is the length of a nonce period. Default
	// DefaultDPoPNonceRotation (5 minutes).
	NonceRotation time.Duration

	// ExternalURL is the scheme, host and path prefix under which clients
	// reach this server, e.g. "https://api.example.com/v1", when a proxy in
	// front changes them: a proof's htu must then be ExternalURL followed
	// by the request's path. Default "": the scheme comes from r.TLS (https
	// when set, else http) and the host from r.Host.
	ExternalURL string

	// TrustForwarded takes the scheme and host for htu from the first
	// X-Forwarded-Proto and X-Forwarded-Host values when present. Set it
	// only behind a proxy that always overwrites them. Ignored with
	// ExternalURL. Default false.
	TrustForwarded bool
}

// Defaults of DPoPConfig.
const (
	DefaultDPoPProofWindow   = 60 * time.Second
	DefaultDPoPNonceRotation = 5 * time.Minute
	// maxProofSize bounds a DPoP header: a proof with an RSA 4096 key is
	// about 1.5 KiB.
	maxProofSize = 8 << 10
)

// dpopVerifier is the checked DPoPConfig.
type dpopVerifier struct {
	required  bool
	advertise bool // Config.DPoP set: 401 answers carry the DPoP challenge
	allowed   algSet
	algs      string // space-delimited, for the challenge
	replay    ReplayCache
	window    time.Duration
	nonceKey  []byte
	rotation  int64 // seconds
	extScheme string
	extHost   string
	extPath   string // without trailing slash
	forwarded bool
	now       func() time.Time
	obs       Observer // Config.Observer: told of replays
}

func newDPoPVerifier(cfg *DPoPConfig, tokenAlgs algSet, now func() time.Time) (*dpopVerifier, error) {
	d := &dpopVerifier{advertise: cfg != nil}
	if cfg == nil {
		cfg = &DPoPConfig{}
	}
	*d = dpopVerifier{
		advertise: d.advertise,
		required:  cfg.Required,
		replay:    cfg.ReplayCache,
		window:    orDefault(cfg.ProofWindow, DefaultDPoPProofWindow),
		forwarded: cfg.TrustForwarded,
		now:       now,
	}
	if d.window < 0 {
		return nil, errors.New("oidcauth: DPoP ProofWindow is negative")
	}
	if len(cfg.Algorithms) == 0 {
		d.allowed = tokenAlgs &^ hmacAlgs
		if d.allowed == 0 {
			// An HMAC-only Authorizer: proofs are still signed by the
			// client's asymmetric key.
			d.allowed = rsaAlgs | p256Algs | p384Algs | p521Algs | ed25519Al
		}
	}
	for _, name := range cfg.Algorithms {
		alg := parseAlg([]byte(name))
		if alg == algUnknown || hmacAlgs.has(alg) {
			return nil, fmt.Errorf("oidcauth: DPoP algorithm %q is not an asymmetric JWS algorithm", name)
		}
		d.allowed.add(alg)
	}
	if d.allowed == 0 {
		return nil, errors.New("oidcauth: no asymmetric algorithm allowed for DPoP proofs")
	}
	d.algs = strings.ReplaceAll(d.allowed.String(), ",", " ")
	if d.replay == nil {
		d.replay = NewMemoryReplayCache(DefaultReplayCacheSize)
	}
	if cfg.NonceSecret != nil {
		if len(cfg.NonceSecret) < 32 {
			return nil, errors.New("oidcauth: DPoP NonceSecret is shorter than 32 bytes")
		}
		d.nonceKey = append([]byte(nil), cfg.NonceSecret...)
		rot := orDefault(cfg.NonceRotation, DefaultDPoPNonceRotation)
		if rot < time.Second {
			return nil, errors.New("oidcauth: DPoP NonceRotation is under a second")
		}
		d.rotation = int64(rot / time.Second)
	}
	if cfg.ExternalURL != "" {
		u, err := url.Parse(cfg.ExternalURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			return nil, fmt.Errorf("oidcauth: DPoP ExternalURL %q is not an absolute http(s) URL without query", cfg.ExternalURL)
		}
		d.extScheme = u.Scheme
		d.extHost = strings.ToLower(stripDefaultPort(u.Host, u.Scheme))
		d.extPath = strings.TrimSuffix(u.EscapedPath(), "/")
	}
	return d, nil
}

// nonce returns the nonce of period p: 16 bytes of HMAC-SHA256, base64url.
func (d *dpopVerifier) nonce(p int64) string {
	m := hmac.New(sha256.New, d.nonceKey)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p))
	m.Write([]byte("oidcauth DPoP nonce\x00"))
	m.Write(b[:])
	return b64.EncodeToString(m.Sum(nil)[:16])
}

func (d *dpopVerifier) period(now time.Time) int64 { return now.Unix() / d.rotation }

// nonceOK reports whether n is the nonce of the current or the previous
// period.
func (d *dpopVerifier) nonceOK(n []byte, now time.Time) bool {
	p := d.period(now)
	return hmac.Equal(n, []byte(d.nonce(p))) || hmac.Equal(n, []byte(d.nonce(p-1)))
}

// DPoPNonce returns the current server nonce for DPoP proofs (RFC 9449
// §8), or "" when DPoPConfig.NonceSecret is not set. A handler may send it
// in a DPoP-Nonce header on any response, so that clients renew it before
// it expires; 401 use_dpop_nonce answers carry it already.
func (a *Authorizer) DPoPNonce() string {
	if a.dpop.nonceKey == nil {
		return ""
	}
	return a.dpop.nonce(a.dpop.period(a.now()))
}

// DPoPAlgorithms returns the algorithms accepted for DPoP proofs, as sent
// in the algs attribute of the DPoP challenge and in the protected
// resource metadata (dpop_signing_alg_values_supported).
func (a *Authorizer) DPoPAlgorithms() []string { return strings.Fields(a.dpop.algs) }

// dpopSchemeError marks an error of a request that used the DPoP scheme
// (or sent a proof): its challenge carries the error attribute.
type dpopSchemeError struct{ err error }

func (e *dpopSchemeError) Error() string { return e.err.Error() }
func (e *dpopSchemeError) Unwrap() error { return e.err }

func onDPoP(err error) error {
	if err == nil {
		return nil
	}
	return &dpopSchemeError{err}
}

var (
	errProofNoToken    = invalid(ErrInvalidDPoPProof, "DPoP proof without an access token")
	errTwoProofs       = invalid(ErrInvalidDPoPProof, "more than one DPoP header (RFC 9449 §4.3 step 1)")
	errNoProof         = invalid(ErrInvalidDPoPProof, "DPoP scheme without a DPoP proof")
	errProofWithBearer = invalid(ErrInvalidDPoPProof, "DPoP proof sent with the Bearer scheme (RFC 9449 §7.1: a bound token uses the DPoP scheme)")
	errBearerRefused   = invalid(ErrDPoPRequired, "Bearer token refused: DPoPConfig.Required")
	errBoundAsBearer   = invalid(ErrDPoPRequired, "token is DPoP-bound (cnf.jkt) but was sent without a proof (RFC 9449 §7.2)")
	errBoundNoRequest  = invalid(ErrDPoPRequired, "token is DPoP-bound (cnf.jkt): use ValidateDPoP or the middleware, which check the proof")
	errNotBound        = invalid(ErrDPoPRequired, "DPoP scheme with a token that is not DPoP-bound (no cnf.jkt)")
	errDPoPScheme      = invalid(ErrInvalidRequest, "DPoP scheme without a token or with characters outside b64token")
)

// authenticate is Authenticate: the credential of r (Bearer or DPoP
// scheme, RFC 9449 §7.1), the token, then the downgrade rules of RFC 9449
// §7.2 and the certificate binding of RFC 8705 §3.
func (a *Authorizer) authenticate(r *http.Request) (*Claims, error) {
	proofs := r.Header.Values("DPoP")
	isDPoP, token, err := a.credential(r)
	if err != nil {
		if errors.Is(err, ErrNoToken) && len(proofs) > 0 {
			return nil, onDPoP(errProofNoToken)
		}
		if isDPoP {
			return nil, onDPoP(err)
		}
		return nil, err
	}
	if len(proofs) > 1 {
		return nil, onDPoP(errTwoProofs)
	}
	ctx := r.Context()
	if !isDPoP {
		if len(proofs) == 1 {
			return nil, onDPoP(errProofWithBearer)
		}
		if a.dpop.required {
			return nil, errBearerRefused
		}
		c, err := a.validate(ctx, token)
		if err != nil {
			return nil, err
		}
		if c.cnfJKT != "" {
			return nil, errBoundAsBearer
		}
		return a.checkCertificate(r, c)
	}
	if len(proofs) == 0 {
		return nil, onDPoP(errNoProof)
	}
	c, err := a.validate(ctx, token)
	if err != nil {
		return nil, onDPoP(err)
	}
	if c.cnfJKT == "" {
		return nil, onDPoP(errNotBound)
	}
	if err := a.dpop.check(ctx, proofs[0], r.Method, a.dpop.requestURL(r), token, c.cnfJKT); err != nil {
		return nil, onDPoP(err)
	}
	c, err = a.checkCertificate(r, c)
	return c, onDPoP(err)
}

// ValidateDPoP validates a DPoP-bound access token with its proof, for
// callers that have no *http.Request (other transports, the CLI):
// method is the request's method and htu its absolute URL (query and
// fragment are ignored). The token must carry cnf.jkt; a
// certificate-bound token (cnf.x5t#S256) is refused, as there is no
// certificate to check.
func (a *Authorizer) ValidateDPoP(ctx context.Context, token, proof, method, htu string) (*Claims, error) {
	c, err := a.validate(ctx, token)
	if err != nil {
		return nil, err
	}
	if c.cnfJKT == "" {
		return nil, errNotBound
	}
	if c.cnfX5T != "" {
		return nil, errNoCertificate
	}
	u, err := url.Parse(htu)
	if err != nil || u.Host == "" {
		return nil, invalid(ErrInvalidRequest, "htu is not an absolute URL")
	}
	want := reqURL{scheme: u.Scheme, host: u.Host, path: u.EscapedPath()}
	if err := a.dpop.check(ctx, proof, method, want, token, c.cnfJKT); err != nil {
		return nil, err
	}
	return c, nil
}

// credential reads the Authorization header: the DPoP scheme
// (RFC 9449 §7.1) or, as bearerToken does, the Bearer scheme.
func (a *Authorizer) credential(r *http.Request) (isDPoP bool, token string, err error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 1 && len(vals[0]) >= 4 && strings.EqualFold(vals[0][:4], "dpop") &&
		(len(vals[0]) == 4 || vals[0][4] == ' ') {
		if a.queryToken && r.URL.Query().Has("access_token") {
			return true, "", errTwoPlaces
		}
		tok := strings.TrimLeft(vals[0][4:], " ")
		if tok == "" || !isB64Token(tok) {
			return true, "", errDPoPScheme
		}
		return true, tok, nil
	}
	token, err = a.bearerToken(r)
	return false, token, err
}

// reqURL is the target URI a proof's htu must match (RFC 9449 §4.3 step 9).
type reqURL struct{ scheme, host, path string }

// requestURL is the URL of r as the client saw it: see
// DPoPConfig.ExternalURL and TrustForwarded.
func (d *dpopVerifier) requestURL(r *http.Request) reqURL {
	path := r.URL.EscapedPath()
	if d.extHost != "" {
		return reqURL{scheme: d.extScheme, host: d.extHost, path: d.extPath + path}
	}
	u := reqURL{scheme: "http", host: r.Host, path: path}
	if r.TLS != nil {
		u.scheme = "https"
	}
	if d.forwarded {
		if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p != "" {
			u.scheme = p
		}
		if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
			u.host = h
		}
	}
	return u
}

func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// stripDefaultPort drops :443 for https and :80 for http, and an empty
// port (RFC 3986 §6.2.3).
func stripDefaultPort(host, scheme string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return host
	}
	port := host[i+1:]
	if port == "" || (port == "443" && strings.EqualFold(scheme, "https")) || (port == "80" && strings.EqualFold(scheme, "http")) {
		return host[:i]
	}
	return host
}

// htuMatches compares a proof's htu with the request URL after the
// syntax- and scheme-based normalisation of RFC 3986 §6.2.2–6.2.3 that
// RFC 9449 §4.3 step 9 asks for: scheme and host case-insensitive, the
// default port dropped, an empty path is "/", percent-encodings compared
// case-insensitively with unreserved characters decoded; query and
// fragment of htu ignored. No userinfo.
func htuMatches(htu string, want reqURL) bool {
	scheme, rest, ok := strings.Cut(htu, "://")
	if !ok || !strings.EqualFold(scheme, want.scheme) {
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if host == "" || strings.IndexByte(host, '@') >= 0 {
		return false
	}
	if !strings.EqualFold(stripDefaultPort(host, scheme), stripDefaultPort(want.host, want.scheme)) {
		return false
	}
	path := rest[end:]
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	wp := want.path
	if path == "" {
		path = "/"
	}
	if wp == "" {
		wp = "/"
	}
	return path == wp || normPath(path) == normPath(wp)
}

// normPath upper-cases the hex digits of percent-encodings and decodes
// those of unreserved characters (RFC 3986 §6.2.2.1–6.2.2.2).
func normPath(p string) string {
	if strings.IndexByte(p, '%') < 0 {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && ishex(p[i+1]) && ishex(p[i+2]) {
			c := unhex(p[i+1])<<4 | unhex(p[i+2])
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				b.WriteByte(c)
			} else {
				b.WriteString(strings.ToUpper(p[i : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// dpopAnswer adds the DPoP challenge (RFC 9449 §7.1) to ans: beside the
// Bearer challenge, or alone when DPoP is required. With Config.DPoP nil
// it is added only to answers about DPoP (the request used the DPoP
// scheme or sent a proof, or the token is DPoP-bound), so that the answers
// of an Authorizer configured before DPoP existed do not change. The error attribute
// goes on the DPoP challenge when the request used the DPoP scheme or the
// error is about DPoP.
func (a *Authorizer) dpopAnswer(ans *Answer, err error) {
	if len(ans.Challenges) == 0 || ans.Status == http.StatusForbidden {
		return
	}
	d := a.dpop
	dpopErr := isDPoPError(err)
	if !d.advertise && !dpopErr {
		return
	}
	bearer := ans.Challenges[0]
	dc := Challenge{Scheme: "DPoP", Realm: bearer.Realm, ResourceMetadata: bearer.ResourceMetadata, Algs: d.algs}
	if dpopErr || d.required {
		dc.Error, dc.ErrorDescription = bearer.Error, bearer.ErrorDescription
		bearer.Error, bearer.ErrorDescription = "", ""
	}
	if d.required {
		ans.Challenges = []Challenge{dc}
	} else {
		ans.Challenges = []Challenge{bearer, dc}
	}
	if errors.Is(err, ErrUseDPoPNonce) && d.nonceKey != nil {
		ans.DPoPNonce = d.nonce(d.period(a.now()))
	}
}
