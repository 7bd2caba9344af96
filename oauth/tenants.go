package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Multi-tenant providers (Entra ID's common and organizations endpoints):
// Config.Issuer is where the metadata is discovered, e.g.
// "https://login.microsoftonline.com/organizations/v2.0", and the
// metadata's issuer is a template ("https://login.microsoftonline.com/{tenantid}/v2.0").
// With Config.IssuerTemplate ("{tenant}" where the tenant id goes) and
// Config.Tenants (the allow-list), the Flow then accepts:
//
//	metadata issuer      Config.Issuer, or the template with the provider's
//	                     placeholder ({tenantid} or {tenant})
//	ID token iss         the template with a tenant id from Config.Tenants
//	                     (ids of letters, digits, '-', '_', '.'; at most 128)
//	ID token tid         when present, the same tenant id
//	session (every use)  iss Config.Issuer or an allowed tenant's issuer
//	refresh              the same iss as at login (§12.2)
//
// The allow-list is required: a template alone would let any tenant of the
// provider sign in (any organization with an Entra directory).

const maxTenantLen = 128

// tenantMatcher matches issuers of an IssuerTemplate.
type tenantMatcher struct {
	prefix, suffix string
	allowed        []string
}

func newTenantMatcher(cfg Config) (*tenantMatcher, error) {
	if cfg.IssuerTemplate == "" {
		if len(cfg.Tenants) > 0 {
			return nil, errors.New("oauth: Config.Tenants needs Config.IssuerTemplate")
		}
		return nil, nil
	}
	prefix, suffix, ok := strings.Cut(cfg.IssuerTemplate, "{tenant}")
	if !ok || strings.Contains(suffix, "{tenant}") {
		return nil, errors.New(`oauth: Config.IssuerTemplate must contain "{tenant}" once`)
	}
	if _, err := checkURL("Config.IssuerTemplate", prefix+"t"+suffix); err != nil {
		return nil, err
	}
	if len(cfg.Tenants) == 0 {
		return nil, errors.New("oauth: Config.IssuerTemplate needs Config.Tenants, the allow-list of tenant ids (without it any tenant of the provider could sign in)")
	}
	for _, t := range cfg.Tenants {
		if !validTenant(t) {
			return nil, fmt.Errorf("oauth: Config.Tenants: %q is not a tenant id (letters, digits, '-', '_', '.'; at most %d)", t, maxTenantLen)
		}
	}
	return &tenantMatcher{prefix: prefix, suffix: suffix, allowed: slices.Clone(cfg.Tenants)}, nil
}

func validTenant(t string) bool {
	if t == "" || len(t) > maxTenantLen {
		return false
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// tenant returns the allowed tenant id of iss, if iss is a tenant issuer.
func (m *tenantMatcher) tenant(iss string) (string, bool) {
	if m == nil || !strings.HasPrefix(iss, m.prefix) || !strings.HasSuffix(iss, m.suffix) || len(iss) < len(m.prefix)+len(m.suffix) {
		return "", false
	}
	t := iss[len(m.prefix) : len(iss)-len(m.suffix)]
	if !validTenant(t) || !slices.Contains(m.allowed, t) {
		return "", false
	}
	return t, true
}

// templateIssuer reports whether a metadata issuer is the template in the
// provider's spelling ({tenantid} as Entra writes it, or {tenant}).
func (m *tenantMatcher) templateIssuer(iss string) bool {
	return m != nil && (iss == m.prefix+"{tenantid}"+m.suffix || iss == m.prefix+"{tenant}"+m.suffix)
}

// issuerOK reports whether iss is the Flow's issuer or an allowed tenant's.
func (f *Flow) issuerOK(iss string) bool {
	if iss == f.issuer {
		return true
	}
	_, ok := f.tenants.tenant(iss)
	return ok
}

// checkTenant checks a verified ID token's iss (go-oidc's own check is off
// with a template) and its tid claim against the template.
func (f *Flow) checkTenant(iss string, rawClaims []byte) error {
	if iss == f.issuer {
		return nil
	}
	t, ok := f.tenants.tenant(iss)
	if !ok {
		return fail(ErrInvalidIDToken, "iss is neither the issuer nor an allowed tenant's (Config.IssuerTemplate, Config.Tenants)")
	}
	var c struct {
		Tid *string `json:"tid"`
	}
	if err := json.Unmarshal(rawClaims, &c); err != nil {
		return fail(ErrInvalidIDToken, "claims do not parse")
	}
	if c.Tid != nil && *c.Tid != t {
		return fail(ErrInvalidIDToken, "tid is not the tenant of iss")
	}
	return nil
}
