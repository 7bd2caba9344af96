package oidcauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oidcauth/oidcauth/internal/jsonx"
)

// IssuersConfig configures an Issuers: several token issuers behind one
// middleware.
type IssuersConfig struct {
	// Issuers are fixed issuers, each a full Config with its own
	// audiences, algorithms and key cache. SchemelessIssuer works as for
	// an Authorizer: a token whose iss is the issuer without "https://"
	// is routed to it too; NewIssuers refuses it for an issuer that is not
	// https.
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

	// Logger receives tenant admissions and evictions, the warning that a
	// template's NewTenantsPerMinute is exhausted, and every request the
	// middleware refuses (Debug: the reason, method, path and status),
	// never tokens. It
	// is also the Logger of every issuer and template Config whose Logger
	// is nil. Default: slog.Default().
	Logger *slog.Logger

	// Now is the clock of the tenant policy (NewTenantsPerMinute,
	// FailureTTL, IdleTimeout). Each Config keeps its own Now for token
	// times. Default: time.Now.
	Now func() time.Time

	// Resource is the resource identifier of the API (RFC 8707 §2), as
	// Config.Resource. It is the Resource of every issuer and template
	// Config whose Resource is empty, so that, with the audience rule of
	// Config.Resource, tokens of every issuer must carry it in aud unless
	// that Config sets Audiences; a Config naming another Resource is
	// refused. Every challenge carries resource_metadata (RFC 9728 §5.1),
	// and ResourceMetadata describes the API. Default "": none.
	Resource string

	// ResourceName, ResourceDocumentation and ScopesSupported are as in
	// Config, for Issuers.ResourceMetadata.
	ResourceName, ResourceDocumentation string
	ScopesSupported                     []string

	// Observer is as in Config: it is also the Observer of every issuer
	// and template Config whose Observer is nil, and it sees the tokens
	// refused before an issuer is picked (malformed, or an iss that is
	// not configured). Default nil.
	Observer Observer

	// newTimer lets tests drive the sweep with a fake clock.
	newTimer func(time.Duration) timer
}

// IssuerTemplate is a family of issuers that differ only by a tenant id.
//
// A tenant takes one of MaxTenants slots only once its keys were fetched
// successfully; see "Several issuers and tenants" in the package
// documentation for the admission rule and the bound on provider requests.
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
	// Template; "{tenant}" in its JWKSURL is replaced too. SchemelessIssuer
	// also routes tokens whose iss is the issuer without "https://"; it
	// needs an https Template. A tenant's first token waits for the
	// tenant's first key fetch, which all its requests share and which
	// runs on the Issuers' own context (Close cancels it). If that fetch
	// fails, the tenant gets no slot and no background refresh, and its
	// tokens get ErrKeysUnavailable (503) for FailureTTL without another
	// fetch.
	Config Config

	// MaxTenants bounds the number of admitted tenants (each with an
	// Authorizer and its refresh goroutine). When it is reached, admitting
	// a new tenant evicts the least recently used one. Default: 1000.
	MaxTenants int

	// NewTenantsPerMinute bounds the first key fetches of tenants admitted
	// by AllowTenant: at most this many start in any 60 seconds. Beyond
	// it, tokens of tenants without keys get ErrKeysUnavailable (503) with
	// Retry-After until the window frees a fetch; admitted tenants are not
	// affected. Tenants listed in Tenants are not counted. Default: 30.
	NewTenantsPerMinute int

	// IdleTimeout evicts a tenant (closing its Authorizer) when none of its
	// tokens was seen for this long; its next token admits it again.
	// Tenants whose keys are older than their Config's MaxStaleness are
	// evicted too. Default: 24 hours.
	IdleTimeout time.Duration

	// FailureTTL is how long a failed first fetch is remembered: the
	// tenant's tokens get ErrKeysUnavailable (503) without a fetch until
	// it has passed. Default: 1 minute.
	FailureTTL time.Duration
}

// Issuers validates tokens of several issuers. The token's iss, read with a
// size-bounded strict decode before the signature is checked, only picks
// the Authorizer, which then checks everything, iss included. A token whose
// iss is not configured is rejected before any network call, so tokens
// naming arbitrary issuers cause no fetches and no cache growth.
//
// Issuers is safe for concurrent use. With templates it owns one goroutine
// that evicts idle tenants, plus one per tenant's first fetch in flight;
// Close stops them and every Authorizer.
type Issuers struct {
	fixed        map[string]*Authorizer
	families     []*tenantFamily
	maxTokenSize int
	realm        string
	errorHandler func(http.ResponseWriter, *http.Request, error)
	log          *slog.Logger
	now          func() time.Time
	newTimer     func(time.Duration) timer
	resource     resourceInfo // IssuersConfig.Resource; see metadata.go
	answers      *answerCache

	obs Observer // IssuersConfig.Observer

	ctx       context.Context // cancelled by Close; parent of first fetches
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewIssuers creates the Authorizers of the fixed issuers (fetching their
// keys, as New does) and prepares the templates; tenants' Authorizers are
// created on their first token.
func NewIssuers(ctx context.Context, cfg IssuersConfig) (*Issuers, error) {
	m := &Issuers{
		fixed:        make(map[string]*Authorizer),
		maxTokenSize: orDefault(cfg.MaxTokenSize, DefaultMaxTokenSize),
		obs:          cfg.Observer,
		realm:        orDefault(cfg.Realm, "api"),
		errorHandler: cfg.ErrorHandler,
		now:          cfg.Now,
		newTimer:     cfg.newTimer,
	}
	if cfg.Resource != "" {
		if err := checkResource(cfg.Resource, false); err != nil {
			return nil, err
		}
	}
	if cfg.ResourceDocumentation != "" {
		if err := CheckURL("ResourceDocumentation", cfg.ResourceDocumentation, true); err != nil {
			return nil, fmt.Errorf("oidcauth: %w", err)
		}
	}
	if cfg.Resource == "" && (cfg.ResourceName != "" || cfg.ResourceDocumentation != "" || cfg.ScopesSupported != nil) {
		return nil, errors.New("oidcauth: IssuersConfig.ResourceName, ResourceDocumentation and ScopesSupported need IssuersConfig.Resource")
	}
	meta := ResourceMetadata{}
	if cfg.Resource != "" {
		meta = ResourceMetadata{
			Resource:               cfg.Resource,
			ScopesSupported:        append([]string(nil), cfg.ScopesSupported...),
			BearerMethodsSupported: []string{"header"},
			ResourceName:           cfg.ResourceName,
			ResourceDocumentation:  cfg.ResourceDocumentation,
		}
		inherit := func(c *Config, what string) error {
			if c.Resource == "" {
				c.Resource = cfg.Resource
			} else if c.Resource != cfg.Resource {
				return fmt.Errorf("oidcauth: %s has Resource %q, not the IssuersConfig.Resource %q", what, c.Resource, cfg.Resource)
			}
			return nil
		}
		cfg.Issuers = append([]Config(nil), cfg.Issuers...)
		for i := range cfg.Issuers {
			if err := inherit(&cfg.Issuers[i], fmt.Sprintf("issuer %q", cfg.Issuers[i].Issuer)); err != nil {
				return nil, err
			}
			meta.AuthorizationServers = append(meta.AuthorizationServers, cfg.Issuers[i].Issuer)
		}
		cfg.Templates = append([]IssuerTemplate(nil), cfg.Templates...)
		for i := range cfg.Templates {
			t := &cfg.Templates[i]
			if err := inherit(&t.Config, fmt.Sprintf("template %q", t.Template)); err != nil {
				return nil, err
			}
			for _, id := range t.Tenants {
				meta.AuthorizationServers = append(meta.AuthorizationServers, strings.ReplaceAll(t.Template, "{tenant}", id))
			}
		}
	}
	ri, err := newResourceInfo(meta)
	if err != nil {
		return nil, err
	}
	m.resource = ri
	m.answers = newAnswerCache(m.realm, ri.url)
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.errorHandler == nil {
		m.errorHandler = func(w http.ResponseWriter, _ *http.Request, err error) { m.answers.write(w, err) }
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.newTimer == nil {
		m.newTimer = newRealTimer
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	m.log = logger
	if len(cfg.Issuers) == 0 && len(cfg.Templates) == 0 {
		m.cancel()
		return nil, errors.New("oidcauth: IssuersConfig has no issuers")
	}
	for _, t := range cfg.Templates {
		f, err := newTenantFamily(t, m.now, logger, m.ctx, &m.wg)
		if err != nil {
			m.Close()
			return nil, err
		}
		f.obs = cfg.Observer
		m.families = append(m.families, f)
	}
	for _, c := range cfg.Issuers {
		if c.Logger == nil {
			c.Logger = cfg.Logger
		}
		if c.Observer == nil {
			c.Observer = cfg.Observer
		}
		alt := ""
		if c.SchemelessIssuer {
			rest, ok := strings.CutPrefix(c.Issuer, "https://")
			if !ok {
				m.Close()
				return nil, fmt.Errorf("oidcauth: issuer %q: SchemelessIssuer needs an https issuer", c.Issuer)
			}
			alt = rest
		}
		for _, iss := range []string{c.Issuer, alt} {
			if iss != "" && m.fixed[iss] != nil {
				m.Close()
				return nil, fmt.Errorf("oidcauth: issuer %q configured twice", iss)
			}
		}
		a, err := New(ctx, c)
		if err != nil {
			m.Close()
			return nil, err
		}
		m.fixed[c.Issuer] = a
		if alt != "" {
			m.fixed[alt] = a
		}
	}
	if len(m.families) > 0 {
		m.wg.Add(1)
		go m.sweepLoop(sweepInterval(m.families))
	}
	return m, nil
}

// sweepLoop evicts idle and stale tenants and forgets expired failures,
// every interval, until Close.
func (m *Issuers) sweepLoop(interval time.Duration) {
	defer m.wg.Done()
	for {
		t := m.newTimer(interval)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		for _, f := range m.families {
			f.sweep(m.now())
		}
	}
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
	var start time.Duration
	if m.obs != nil {
		start = monotonic()
	}
	a, err := m.pick(ctx, token)
	if err != nil {
		// The picked Authorizer observes its own validations.
		if m.obs != nil {
			observe(ctx, m.obs, start, err)
		}
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

// Authenticate reads the bearer token of r and validates it.
func (m *Issuers) Authenticate(r *http.Request) (*Claims, error) {
	token, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return m.Validate(r.Context(), token)
}

// door refuses with IssuersConfig.ErrorHandler and logs to
// IssuersConfig.Logger.
func (m *Issuers) door() door { return door{onErr: m.errorHandler, log: m.log} }

// Answer returns the default answer for err (status, RFC 6750 challenge
// with the Issuers' realm, Retry-After), for custom error handlers and
// other transports.
func (m *Issuers) Answer(err error) Answer { return m.answers.answer(err) }

// Required is Authorizer.Required for several issuers.
func (m *Issuers) Required(next http.Handler) http.Handler {
	return m.door().guard(m, false, next)
}

// Maybe is Authorizer.Maybe for several issuers.
func (m *Issuers) Maybe(next http.Handler) http.Handler {
	return m.door().guard(m, true, next)
}

// Require is Authorizer.Require for several issuers.
func (m *Issuers) Require(reqs ...Requirement) func(http.Handler) http.Handler {
	return m.door().require(reqs)
}

// Authorizer returns the Authorizer of a fixed issuer, or of a tenant that
// is admitted.
func (m *Issuers) Authorizer(issuer string) (*Authorizer, bool) {
	if a := m.fixed[issuer]; a != nil {
		return a, true
	}
	for _, f := range m.families {
		if id, ok := f.tenantOf(issuer); ok {
			if t := f.lookup(id); t != nil {
				return t.a, true
			}
		}
	}
	return nil, false
}

// Close stops every Authorizer, the first fetches in flight and the sweep,
// and waits for them. It always returns nil.
func (m *Issuers) Close() error {
	m.closeOnce.Do(func() {
		for _, f := range m.families {
			f.close()
		}
		m.cancel()
		m.wg.Wait()
		for _, f := range m.families {
			f.closeTenants()
		}
		for _, a := range m.fixed {
			a.Close()
		}
	})
	return nil
}
