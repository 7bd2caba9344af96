package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// IssuersConfig configures an Issuers: several token issuers behind one
// middleware.
type IssuersConfig struct {
	// Issuers are fixed issuers, each a full Config with its own
	// audiences, algorithms and key cache.
	Issuers []Config

	// Templates are multi-tenant issuer families, such as Entra ID's
	// "https://login.microsoftonline.com/{tenant}/v2.0".
	Templates []IssuerTemplate

	// MaxTokenSize bounds the token decoded to read its iss before
	// dispatch. Default: 16 KiB.
	MaxTokenSize int

	// Realm and ErrorHandler are as in Config. Realm defaults to "api".
	Realm        string
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// IssuerTemplate is a family of issuers that differ only by a tenant id.
type IssuerTemplate struct {
	// Template is the issuer with "{tenant}" where the tenant id goes.
	Template string

	// Tenants is the allow-list of tenant ids.
	Tenants []string

	// AllowTenant, when set, decides about tenant ids not in Tenants, for
	// example by looking them up in the application's customer table. It
	// runs before any network call, with the request's context, and must be
	// fast. Tenant ids are at most 128 characters of letters, digits, '-',
	// '_' and '.', whatever it says.
	AllowTenant func(ctx context.Context, tenant string) bool

	// Config is the template of each tenant's Config. Its Issuer is set from
	// Template; "{tenant}" in its JWKSURL is replaced too. A tenant's
	// Authorizer is made on its first token, whose request waits for the
	// first key fetch; if that fails, the tenant's tokens get
	// ErrKeysUnavailable (503) while it retries in the background.
	Config Config

	// MaxTenants bounds the number of tenants with an Authorizer. Tokens of
	// further tenants get ErrKeysUnavailable (503). Default: 1000.
	MaxTenants int
}

// Issuers validates tokens of several issuers. The token's iss, read with a
// size-bounded strict decode before the signature is checked, only picks
// the Authorizer, which then checks everything, iss included. A token whose
// iss is not configured is rejected before any network call, so tokens
// naming arbitrary issuers cause no fetches and no cache growth.
//
// Issuers is safe for concurrent use; Close stops every Authorizer.
type Issuers struct {
	fixed        map[string]*Authorizer
	families     []*tenantFamily
	maxTokenSize int
	realm        string
	errorHandler func(http.ResponseWriter, *http.Request, error)
}

type tenantFamily struct {
	tmpl           IssuerTemplate
	prefix, suffix string
	allowed        map[string]bool
	max            int

	mu      sync.Mutex
	tenants map[string]*Authorizer
	closed  bool
}

// NewIssuers creates the Authorizers of the fixed issuers (fetching their
// keys, as New does) and prepares the templates; tenants' Authorizers are
// created on their first token.
func NewIssuers(ctx context.Context, cfg IssuersConfig) (*Issuers, error) {
	m := &Issuers{
		fixed:        make(map[string]*Authorizer),
		maxTokenSize: orDefault(cfg.MaxTokenSize, DefaultMaxTokenSize),
		realm:        orDefault(cfg.Realm, "api"),
		errorHandler: cfg.ErrorHandler,
	}
	if m.errorHandler == nil {
		m.errorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { writeError(w, m.realm, err) }
	}
	if len(cfg.Issuers) == 0 && len(cfg.Templates) == 0 {
		return nil, errors.New("oidcauth: IssuersConfig has no issuers")
	}
	for _, t := range cfg.Templates {
		before, after, ok := strings.Cut(t.Template, "{tenant}")
		if !ok || strings.Contains(after, "{tenant}") {
			return nil, fmt.Errorf("oidcauth: issuer template %q must contain {tenant} once", t.Template)
		}
		if t.Config.Issuer != "" {
			return nil, fmt.Errorf("oidcauth: template %q: Config.Issuer is set from the template; leave it empty", t.Template)
		}
		// Check the template's Config now, with a placeholder tenant.
		probe := t.Config
		probe.Issuer = before + "1" + after
		probe.JWKSURL = strings.ReplaceAll(probe.JWKSURL, "{tenant}", "1")
		if _, err := newAuthorizer(probe); err != nil {
			return nil, fmt.Errorf("oidcauth: template %q: %w", t.Template, err)
		}
		f := &tenantFamily{tmpl: t, prefix: before, suffix: after, allowed: make(map[string]bool),
			max: orDefault(t.MaxTenants, 1000), tenants: make(map[string]*Authorizer)}
		for _, id := range t.Tenants {
			if !validTenant(id) {
				m.Close()
				return nil, fmt.Errorf("oidcauth: template %q: invalid tenant id %q", t.Template, id)
			}
			f.allowed[id] = true
		}
		m.families = append(m.families, f)
	}
	for _, c := range cfg.Issuers {
		if m.fixed[c.Issuer] != nil {
			m.Close()
			return nil, fmt.Errorf("oidcauth: issuer %q configured twice", c.Issuer)
		}
		a, err := New(ctx, c)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.fixed[c.Issuer] = a
	}
	return m, nil
}

func validTenant(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !b64url[c] && c != '.' {
			return false
		}
	}
	return id != "." && id != ".."
}

// Validate validates a token of any configured issuer.
func (m *Issuers) Validate(ctx context.Context, token string) (*Claims, error) {
	a, err := m.pick(ctx, token)
	if err != nil {
		return nil, err
	}
	return a.Validate(ctx, token)
}

// pick reads the token's iss (unverified, only to choose) and returns the
// Authorizer of that issuer.
func (m *Issuers) pick(ctx context.Context, token string) (*Authorizer, error) {
	if len(token) > m.maxTokenSize {
		return nil, errTooLarge
	}
	h1, h2, ok := splitToken(token)
	if !ok {
		return nil, errParts
	}
	payload, err := b64.AppendDecode(make([]byte, 0, b64.DecodedLen(h2-h1-1)), []byte(token[h1+1:h2]))
	if err != nil {
		return nil, errBase64Claims
	}
	var iss []byte
	err = jsonx.Members(payload, func(name []byte, kind jsonx.Kind, raw []byte) error {
		if string(name) == "iss" && kind == jsonx.KindString {
			iss = raw
		}
		return nil
	})
	if err != nil {
		return nil, invalid(ErrInvalidClaims, "claims are not strict JSON: "+err.Error())
	}
	if iss == nil {
		return nil, invalid(ErrInvalidIssuer, "token has no string iss")
	}
	s, err := jsonx.String(iss)
	if err != nil {
		return nil, invalid(ErrInvalidClaims, "iss is not a valid string")
	}
	if a := m.fixed[s]; a != nil {
		return a, nil
	}
	for _, f := range m.families {
		if a, err := f.authorizer(ctx, s); a != nil || err != nil {
			return a, err
		}
	}
	return nil, invalid(ErrInvalidIssuer, fmt.Sprintf("iss %s is not a configured issuer", quote(s)))
}

// authorizer returns the Authorizer for iss if iss belongs to the family
// and its tenant is allowed; nil, nil if iss is not of this family.
func (f *tenantFamily) authorizer(ctx context.Context, iss string) (*Authorizer, error) {
	if len(iss) < len(f.prefix)+len(f.suffix) || !strings.HasPrefix(iss, f.prefix) || !strings.HasSuffix(iss, f.suffix) {
		return nil, nil
	}
	tenant := iss[len(f.prefix) : len(iss)-len(f.suffix)]
	if !validTenant(tenant) {
		return nil, nil
	}
	f.mu.Lock()
	a := f.tenants[tenant]
	f.mu.Unlock()
	if a != nil {
		if a.keys.set.Load() == nil {
			// The tenant's first fetch may be in flight: wait for it
			// rather than answer 503, but never start one.
			a.keys.joinInFlight(ctx)
		}
		return a, nil
	}
	if !f.allowed[tenant] && (f.tmpl.AllowTenant == nil || !f.tmpl.AllowTenant(ctx, tenant)) {
		return nil, invalid(ErrInvalidIssuer, fmt.Sprintf("tenant %s is not allowed", quote(tenant)))
	}
	a, err := f.create(tenant, iss)
	if err != nil {
		return nil, err
	}
	// The first fetch is shared with the background loop; f.mu is not
	// held, so a slow provider delays only requests of its own tenant.
	a.keys.refresh(ctx) //nolint:errcheck // Validate reports missing keys
	return a, nil
}

// create makes and starts the Authorizer of an allowed tenant.
func (f *tenantFamily) create(tenant, iss string) (*Authorizer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a := f.tenants[tenant]; a != nil {
		return a, nil
	}
	if f.closed {
		return nil, &ValidationError{Err: ErrKeysUnavailable, Reason: "closed", RetryAfter: maxBackoff}
	}
	if len(f.tenants) >= f.max {
		return nil, &ValidationError{Err: ErrKeysUnavailable, Reason: fmt.Sprintf("more than MaxTenants (%d) tenants", f.max), RetryAfter: maxBackoff}
	}
	cfg := f.tmpl.Config
	cfg.Issuer = iss
	cfg.JWKSURL = strings.ReplaceAll(cfg.JWKSURL, "{tenant}", tenant)
	a, err := newAuthorizer(cfg)
	if err != nil {
		return nil, err
	}
	a.keys.start()
	f.tenants[tenant] = a
	return a, nil
}

// Authenticate reads the bearer token of r and validates it.
func (m *Issuers) Authenticate(r *http.Request) (*Claims, error) {
	token, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return m.Validate(r.Context(), token)
}

// Required is Authorizer.Required for several issuers.
func (m *Issuers) Required(next http.Handler) http.Handler {
	return guard(m, m.errorHandler, false, next)
}

// Maybe is Authorizer.Maybe for several issuers.
func (m *Issuers) Maybe(next http.Handler) http.Handler {
	return guard(m, m.errorHandler, true, next)
}

// Require is Authorizer.Require for several issuers.
func (m *Issuers) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return requireWith(m.errorHandler, reqs)
}

// Authorizer returns the Authorizer of a fixed issuer, or of a tenant that
// has one already.
func (m *Issuers) Authorizer(issuer string) (*Authorizer, bool) {
	if a := m.fixed[issuer]; a != nil {
		return a, true
	}
	for _, f := range m.families {
		f.mu.Lock()
		for _, a := range f.tenants {
			if a.issuer == issuer {
				f.mu.Unlock()
				return a, true
			}
		}
		f.mu.Unlock()
	}
	return nil, false
}

// Close stops every Authorizer. It always returns nil.
func (m *Issuers) Close() error {
	for _, a := range m.fixed {
		a.Close()
	}
	for _, f := range m.families {
		f.mu.Lock()
		f.closed = true
		tenants := f.tenants
		f.mu.Unlock()
		for _, a := range tenants {
			a.Close()
		}
	}
	return nil
}
