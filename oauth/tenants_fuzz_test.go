package oauth

import (
	"slices"
	"testing"
)

// FuzzTenantIssuer: an issuer is taken for a tenant's only when it is
// exactly the template with an allowed tenant id in it.
func FuzzTenantIssuer(f *testing.F) {
	m, err := newTenantMatcher(Config{IssuerTemplate: "https://login.example.com/{tenant}/v2.0", Tenants: []string{"t1", "org-2.x"}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"https://login.example.com/t1/v2.0", "https://login.example.com/t1/x/v2.0",
		"https://login.example.com//v2.0", "https://login.example.com/t1/v2.0/", "https://login.example.com/v2.0",
		"https://login.example.com/{tenantid}/v2.0", "https://login.example.com/org-2.x/v2.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, iss string) {
		tenant, ok := m.tenant(iss)
		if !ok {
			return
		}
		if !slices.Contains(m.allowed, tenant) || m.prefix+tenant+m.suffix != iss {
			t.Fatalf("accepted %q as tenant %q", iss, tenant)
		}
	})
}
