package oidcauth

import (
	"crypto/sha256"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
)

var (
	errNoCertificate  = invalid(ErrCertificateMismatch, "token is certificate-bound (cnf.x5t#S256) and the request has no client certificate")
	errCertMismatch   = invalid(ErrCertificateMismatch, "client certificate is not the one the token is bound to (cnf.x5t#S256)")
	errCertHeaderBad  = invalid(ErrCertificateMismatch, "client certificate header is not one URL-encoded PEM certificate")
	errCertHeaderMany = invalid(ErrCertificateMismatch, "more than one client certificate header")
)

// checkCertificate enforces RFC 8705 §3: a token with cnf.x5t#S256 needs
// the request's TLS client certificate (r.TLS.PeerCertificates[0], or
// with Config.InsecureClientCertificateHeader the proxy's header) whose
// SHA-256 is that value.
func (a *Authorizer) checkCertificate(r *http.Request, c *Claims) (*Claims, error) {
	if c.cnfX5T == "" {
		return c, nil
	}
	var der []byte
	switch {
	case r.TLS != nil && len(r.TLS.PeerCertificates) > 0:
		der = r.TLS.PeerCertificates[0].Raw
	case a.certHeader != "":
		vals := r.Header.Values(a.certHeader)
		switch len(vals) {
		case 0:
			return nil, errNoCertificate
		case 1:
		default:
			return nil, errCertHeaderMany
		}
		var ok bool
		if der, ok = certFromHeader(vals[0]); !ok {
			return nil, errCertHeaderBad
		}
	default:
		return nil, errNoCertificate
	}
	sum := sha256.Sum256(der)
	var b [43]byte
	b64.Encode(b[:], sum[:])
	if string(b[:]) != c.cnfX5T {
		return nil, errCertMismatch
	}
	return c, nil
}

// certFromHeader decodes a client certificate header: URL-encoded PEM
// (nginx $ssl_client_escaped_cert), or an Envoy x-forwarded-client-cert
// element whose Cert field is URL-encoded PEM. Exactly one CERTIFICATE
// block; its DER is returned unparsed (only its hash counts).
func certFromHeader(v string) ([]byte, bool) {
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "-----") && !strings.HasPrefix(v, "%2D") && !strings.HasPrefix(v, "%2d") {
		// Envoy XFCC: By=…;Hash=…;Cert="…";Subject=…, one element only.
		if strings.IndexByte(v, ',') >= 0 && !strings.Contains(v, `Cert="`) {
			return nil, false
		}
		i := strings.Index(v, `Cert="`)
		if i < 0 {
			return nil, false
		}
		rest := v[i+len(`Cert="`):]
		j := strings.IndexByte(rest, '"')
		if j < 0 || strings.IndexByte(rest[j+1:], ',') >= 0 {
			return nil, false
		}
		v = rest[:j]
	}
	s, err := url.PathUnescape(v)
	if err != nil {
		return nil, false
	}
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" || strings.TrimSpace(string(rest)) != "" {
		return nil, false
	}
	return block.Bytes, true
}
