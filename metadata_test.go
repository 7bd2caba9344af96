package oidcauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

func TestResourceMetadataURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		resource, want string
	}{
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource"},
		{"https://api.example.com/mcp", "https://api.example.com/.well-known/oauth-protected-resource/mcp"},
		{"https://api.example.com/a/b/", "https://api.example.com/.well-known/oauth-protected-resource/a/b"},
		{"https://api.example.com:8443/mcp", "https://api.example.com:8443/.well-known/oauth-protected-resource/mcp"},
		{"http://127.0.0.1:8090/mcp", "http://127.0.0.1:8090/.well-known/oauth-protected-resource/mcp"},
		{"http://[::1]:8090/x", "http://[::1]:8090/.well-known/oauth-protected-resource/x"},
		{"https://api.example.com/a%20b", "https://api.example.com/.well-known/oauth-protected-resource/a%20b"},
		{"https://api.example.com/t/{x}", "https://api.example.com/.well-known/oauth-protected-resource/t/%7Bx%7D"},
	}
	for _, tt := range tests {
		got, err := oidcauth.ResourceMetadataURL(tt.resource)
		if err != nil || got != tt.want {
			t.Errorf("ResourceMetadataURL(%q) = %q, %v, want %q", tt.resource, got, err, tt.want)
		}
	}
	for _, bad := range []string{
		"", "/mcp", "api.example.com/mcp", "ftp://api.example.com/", "https://", "https://u:p@api.example.com/",
		"https://api.example.com/mcp?x=1", "https://api.example.com/mcp?", "https://api.example.com/mcp#f",
		"https://api.example.com/mcp#", "mailto:a@b", "https://api.example.com/%zz",
	} {
		if got, err := oidcauth.ResourceMetadataURL(bad); err == nil || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("ResourceMetadataURL(%q) = %q, %v, want an oidcauth error", bad, got, err)
		}
	}
}

func FuzzResourceMetadataURL(f *testing.F) {
	for _, s := range []string{"https://api.example.com/mcp", "http://127.0.0.1:1/a/b/", "https://h", "https://h/?", "https://h/#", "https://[::1]/x%2Fy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, resource string) {
		got, err := oidcauth.ResourceMetadataURL(resource)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		r, _ := url.Parse(resource)
		if perr != nil || u.Scheme != r.Scheme || u.Host != r.Host || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("ResourceMetadataURL(%q) = %q: not the same origin without query and fragment (%v)", resource, got, perr)
		}
		if !strings.HasPrefix(u.EscapedPath(), "/.well-known/oauth-protected-resource") {
			t.Fatalf("ResourceMetadataURL(%q) = %q: no well-known prefix", resource, got)
		}
		rest := strings.TrimPrefix(u.EscapedPath(), "/.well-known/oauth-protected-resource")
		if rest != strings.TrimSuffix(r.EscapedPath(), "/") {
			t.Fatalf("ResourceMetadataURL(%q) = %q: path %q, want %q", resource, got, rest, strings.TrimSuffix(r.EscapedPath(), "/"))
		}
	})
}

func newResourceAuthorizer(t testing.TB, cfg oidcauth.Config) (*oidctest.Provider, *oidcauth.Authorizer) {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	cfg.Issuer = orStr(cfg.Issuer, p.Issuer())
	cfg.Now = fixedNow
	cfg.Logger = quietLogger()
	a, err := oidcauth.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return p, a
}

func get(t *testing.T, h http.Handler, method string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://127.0.0.1/.well-known/oauth-protected-resource/mcp", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestResourceMetadataDocument(t *testing.T) {
	t.Parallel()
	p, a := newResourceAuthorizer(t, oidcauth.Config{
		Resource:              "https://api.example.com/mcp",
		ScopesSupported:       []string{"files:read", "files:write"},
		ResourceName:          "Files",
		ResourceDocumentation: "https://docs.example.com/files",
	})
	want := `{"resource":"https://api.example.com/mcp","authorization_servers":["` + p.Issuer() + `"],` +
		`"scopes_supported":["files:read","files:write"],"bearer_methods_supported":["header"],` +
		`"resource_name":"Files","resource_documentation":"https://docs.example.com/files"}` + "\n"
	rec := get(t, a.ResourceMetadataHandler(), "GET")
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("GET = %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
	etag := rec.Header().Get("ETag")
	wantHdr := map[string]string{
		"Content-Type": "application/json", "Cache-Control": "public, max-age=3600",
		"Access-Control-Allow-Origin": "*", "Content-Length": strconv.Itoa(len(want)),
	}
	for k, v := range wantHdr {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("ETag = %q, want a strong quoted tag", etag)
	}
	// The document read back is ResourceMetadata; the copy is the caller's.
	m := a.ResourceMetadata()
	if m.Resource != "https://api.example.com/mcp" || !slices.Equal(m.AuthorizationServers, []string{p.Issuer()}) {
		t.Errorf("ResourceMetadata() = %+v", m)
	}
	m.ScopesSupported[0] = "changed"
	if a.ResourceMetadata().ScopesSupported[0] != "files:read" {
		t.Error("ResourceMetadata() shares its slices with the Authorizer")
	}

	head := get(t, a.ResourceMetadataHandler(), "HEAD")
	if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("ETag") != etag || head.Header().Get("Content-Length") != strconv.Itoa(len(want)) {
		t.Errorf("HEAD = %d %q etag %q", head.Code, head.Body, head.Header().Get("ETag"))
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*", `"x",` + etag + `,"y"`} {
		rec := get(t, a.ResourceMetadataHandler(), "GET", "If-None-Match", inm)
		if rec.Code != 304 || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q, want 304 without body", inm, rec.Code, rec.Body)
		}
	}
	if rec := get(t, a.ResourceMetadataHandler(), "GET", "If-None-Match", `"other"`); rec.Code != 200 {
		t.Errorf("If-None-Match other: %d, want 200", rec.Code)
	}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		rec := get(t, a.ResourceMetadataHandler(), method)
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD, OPTIONS" || rec.Body.Len() != 0 {
			t.Errorf("%s = %d Allow %q, want 405 with Allow", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
	pre := get(t, a.ResourceMetadataHandler(), "OPTIONS", "Origin", "http://localhost:6274", "Access-Control-Request-Headers", "mcp-protocol-version")
	if pre.Code != 204 || pre.Header().Get("Access-Control-Allow-Origin") != "*" || pre.Header().Get("Access-Control-Allow-Methods") != "GET, HEAD, OPTIONS" || pre.Header().Get("Access-Control-Allow-Headers") != "*" {
		t.Errorf("preflight = %d %v", pre.Code, pre.Header())
	}
}

func TestResourceMetadataForms(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	tests := []struct {
		name string
		cfg  oidcauth.Config
		want string
	}{
		{"no resource", oidcauth.Config{Audiences: []string{"api"}}, ""},
		{"no path", oidcauth.Config{Resource: "https://api.example.com"},
			`{"resource":"https://api.example.com","authorization_servers":["` + p.Issuer() + `"],"bearer_methods_supported":["header"]}` + "\n"},
		{"query tokens", oidcauth.Config{Resource: "http://127.0.0.1:8090/a/b/", InsecureAllowQueryToken: true},
			`{"resource":"http://127.0.0.1:8090/a/b/","authorization_servers":["` + p.Issuer() + `"],"bearer_methods_supported":["header","query"]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer, tt.cfg.Logger = p.Issuer(), quietLogger()
			a, err := oidcauth.New(context.Background(), tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			rec := get(t, a.ResourceMetadataHandler(), "GET")
			if tt.want == "" {
				if rec.Code != 404 {
					t.Errorf("without Resource: %d, want 404", rec.Code)
				}
				return
			}
			if rec.Code != 200 || rec.Body.String() != tt.want {
				t.Errorf("GET = %d %s, want %s", rec.Code, rec.Body, tt.want)
			}
		})
	}
	// A hand-built document: empty non-nil slices are written as [].
	m := oidcauth.ResourceMetadata{Resource: "https://r.example", BearerMethodsSupported: []string{}, DPoPBoundAccessTokensRequired: true,
		DPoPSigningAlgValuesSupported: []string{"ES256"}, TLSClientCertificateBoundAccessTokens: true, ResourcePolicyURI: "https://r.example/p", ResourceTOSURI: "https://r.example/t",
		JWKSURI: "https://r.example/jwks", ResourceSigningAlgValuesSupported: []string{"PS256"}, AuthorizationDetailsTypesSupported: []string{"payment"}}
	want := `{"resource":"https://r.example","jwks_uri":"https://r.example/jwks","bearer_methods_supported":[],"resource_signing_alg_values_supported":["PS256"],` +
		`"resource_policy_uri":"https://r.example/p","resource_tos_uri":"https://r.example/t","tls_client_certificate_bound_access_tokens":true,` +
		`"authorization_details_types_supported":["payment"],"dpop_signing_alg_values_supported":["ES256"],"dpop_bound_access_tokens_required":true}` + "\n"
	h := m.Handler()
	m.Resource = "changed later"
	if rec := get(t, h, "GET"); rec.Body.String() != want {
		t.Errorf("Handler() = %s, want %s", rec.Body, want)
	}
}

func TestIssuersResourceMetadata(t *testing.T) {
	t.Parallel()
	pa := oidctest.New(t, oidctest.Options{Now: fixedNow})
	pb := oidctest.New(t, oidctest.Options{Now: fixedNow})
	m, err := oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{
		Resource: "https://api.example.com/mcp", ScopesSupported: []string{"read"}, Logger: quietLogger(),
		Issuers: []oidcauth.Config{{Issuer: pb.Issuer(), Now: fixedNow}, {Issuer: pa.Issuer(), Now: fixedNow}},
		Templates: []oidcauth.IssuerTemplate{{Template: "https://login.example.com/{tenant}/v2.0", Tenants: []string{"t1", "t2"},
			Config: oidcauth.Config{StartWithoutKeys: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want := `{"resource":"https://api.example.com/mcp","authorization_servers":["` + pb.Issuer() + `","` + pa.Issuer() + `",` +
		`"https://login.example.com/t1/v2.0","https://login.example.com/t2/v2.0"],"scopes_supported":["read"],"bearer_methods_supported":["header"]}` + "\n"
	if rec := get(t, m.ResourceMetadataHandler(), "GET"); rec.Code != 200 || rec.Body.String() != want {
		t.Errorf("GET = %d %s, want %s", rec.Code, rec.Body, want)
	}
	// Resource is the audience of every issuer without Audiences.
	h := m.Required(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct {
		aud    string
		status int
	}{{"https://api.example.com/mcp", 200}, {"https://other.example.com/mcp", 401}} {
		tok := pa.MustMint(t, map[string]any{"sub": "u", "aud": tc.aud})
		r := httptest.NewRequest("GET", "/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.status {
			t.Errorf("aud %s: %d, want %d", tc.aud, rec.Code, tc.status)
		}
		if tc.status == 401 {
			want := `Bearer realm="api", error="invalid_token", error_description="the token is not meant for this resource", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/mcp"`
			if got := rec.Header().Get("WWW-Authenticate"); got != want {
				t.Errorf("challenge = %s, want %s", got, want)
			}
		}
	}
	// A Config naming another resource is refused.
	_, err = oidcauth.NewIssuers(context.Background(), oidcauth.IssuersConfig{Resource: "https://api.example.com/mcp",
		Issuers: []oidcauth.Config{{Issuer: pa.Issuer(), Resource: "https://other.example.com"}}})
	if err == nil || !strings.Contains(err.Error(), "not the IssuersConfig.Resource") {
		t.Errorf("conflicting Resource: %v", err)
	}
}

func TestResourceAudienceRule(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	const res = "https://api.example.com/mcp"
	tests := []struct {
		name      string
		audiences []string
		aud       any
		want      error
	}{
		{"resource is the audience", nil, res, nil},
		{"resource among several", nil, []string{"x", res}, nil},
		{"another resource", nil, "https://api.example.com/other", oidcauth.ErrInvalidAudience},
		{"resource with a trailing slash is another", nil, res + "/", oidcauth.ErrInvalidAudience},
		{"no aud", nil, nil, oidcauth.ErrInvalidAudience},
		{"Audiences decide: resource alone refused", []string{"api"}, res, oidcauth.ErrInvalidAudience},
		{"Audiences decide: listed audience", []string{"api"}, "api", nil},
		{"Audiences may list the resource", []string{"api", res}, res, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Resource: res, Audiences: tt.audiences, Now: fixedNow, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			claims := map[string]any{"sub": "u"}
			if tt.aud != nil {
				claims["aud"] = tt.aud
			}
			_, err = a.Validate(context.Background(), p.MustMint(t, claims))
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
	bad := []struct {
		cfg  oidcauth.Config
		want string
	}{
		{oidcauth.Config{Resource: "https://api.example.com/mcp?x"}, "query"},
		{oidcauth.Config{Resource: "https://api.example.com/mcp#x"}, "fragment"},
		{oidcauth.Config{Resource: "http://api.example.com/mcp"}, "https"},
		{oidcauth.Config{Resource: "/mcp"}, "absolute"},
		{oidcauth.Config{Resource: "urn:example:api"}, "absolute"},
		{oidcauth.Config{Audiences: []string{"api"}, ScopesSupported: []string{"x"}}, "need Config.Resource"},
		{oidcauth.Config{Resource: res, ResourceDocumentation: "docs"}, "ResourceDocumentation"},
		{oidcauth.Config{}, "Config.Audiences (or Config.Resource) is required"},
	}
	for _, b := range bad {
		b.cfg.Issuer = p.Issuer()
		if _, err := oidcauth.New(context.Background(), b.cfg); err == nil || !strings.Contains(err.Error(), b.want) || !strings.HasPrefix(err.Error(), "oidcauth: ") {
			t.Errorf("New(%+v) error = %v, want one naming %q", b.cfg.Resource, err, b.want)
		}
	}
	// http is accepted on loopback and with InsecureAllowHTTP.
	for _, cfg := range []oidcauth.Config{{Resource: "http://localhost:8090/mcp"}, {Resource: "http://api.internal/mcp", InsecureAllowHTTP: true}} {
		cfg.Issuer, cfg.Logger = p.Issuer(), quietLogger()
		a, err := oidcauth.New(context.Background(), cfg)
		if err != nil {
			t.Errorf("New(%s) error = %v", cfg.Resource, err)
			continue
		}
		a.Close()
	}
}

// FuzzMetadataIfNoneMatch: the If-None-Match parser of the metadata
// handler never panics, answers 304 only when the field names the ETag (or
// is "*"), and 200 otherwise.
func FuzzMetadataIfNoneMatch(f *testing.F) {
	h := oidcauth.ResourceMetadata{Resource: "https://api.example.com/mcp"}.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	etag := rec.Header().Get("ETag")
	for _, s := range []string{etag, "W/" + etag, "*", `"a", ` + etag, `"a"`, ",,", " , *", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, field string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["If-None-Match"] = []string{field}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		named := false
		for _, item := range strings.Split(field, ",") {
			item = strings.Trim(item, " \t")
			named = named || item == "*" || strings.TrimPrefix(item, "W/") == etag
		}
		if want := map[bool]int{true: 304, false: 200}[named]; rec.Code != want {
			t.Fatalf("If-None-Match %q: %d, want %d", field, rec.Code, want)
		}
	})
}

// With Config.DPoP the metadata lists the DPoP members (RFC 9728 §2).
func TestResourceMetadataDPoPMembers(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{Now: fixedNow})
	a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Resource: "https://api.example.com/mcp",
		DPoP: &oidcauth.DPoPConfig{Required: true, Algorithms: []string{"ES256", "EdDSA"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m := a.ResourceMetadata()
	if got := strings.Join(m.DPoPSigningAlgValuesSupported, " "); got != "ES256 EdDSA" || !m.DPoPBoundAccessTokensRequired || m.TLSClientCertificateBoundAccessTokens {
		t.Errorf("ResourceMetadata() = %+v, want DPoP algs ES256 EdDSA, DPoP required, no mTLS member", m)
	}
}
