package oidctest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func postForm(t *testing.T, endpoint string, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %q is not JSON: %v", b, err)
	}
	return resp.StatusCode, m
}

func TestIntrospectionEndpoint(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	p := New(t, Options{Now: clock})
	if _, ok := p.DiscoveryDocument()["introspection_endpoint"]; ok {
		t.Fatal("introspection_endpoint advertised before EnableIntrospection")
	}
	if tok := p.MintOpaque(nil); tok != "" {
		t.Fatal("MintOpaque before EnableIntrospection returned a token")
	}
	p.EnableIntrospection("api", "s3cr&t")
	doc := p.DiscoveryDocument()
	if doc["introspection_endpoint"] != p.IntrospectionEndpoint() || doc["revocation_endpoint"] != p.RevocationEndpoint() {
		t.Fatalf("discovery = %v, want the introspection and revocation endpoints", doc)
	}
	tok := p.MustMintOpaque(t, map[string]any{"sub": "alice", "aud": "api", "scope": "read"})
	jwt := p.MustMint(t, map[string]any{"sub": "bob"})
	expired := p.MustMintOpaque(t, map[string]any{"exp": now.Add(-time.Second)})
	form := func(tok string) url.Values { return url.Values{"token": {tok}, "token_type_hint": {"access_token"}} }

	tests := []struct {
		name       string
		form       url.Values
		id, secret string
		wantStatus int
		wantActive any
	}{
		{"opaque basic", form(tok), "api", "s3cr&t", 200, true},
		{"opaque post", url.Values{"token": {tok}, "client_id": {"api"}, "client_secret": {"s3cr&t"}}, "", "", 200, true},
		{"jwt minted after enabling", form(jwt), "api", "s3cr&t", 200, true},
		{"unknown token", form("nope"), "api", "s3cr&t", 200, false},
		{"expired", form(expired), "api", "s3cr&t", 200, false},
		{"wrong secret", form(tok), "api", "wrong", 401, nil},
		{"no credentials", form(tok), "", "", 401, nil},
		{"no token", url.Values{}, "api", "s3cr&t", 400, nil},
		{"both methods", url.Values{"token": {tok}, "client_secret": {"s3cr&t"}}, "api", "s3cr&t", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := postForm(t, p.IntrospectionEndpoint(), tt.form, tt.id, tt.secret)
			if status != tt.wantStatus || m["active"] != tt.wantActive {
				t.Fatalf("status %d, answer %v; want %d, active %v", status, m, tt.wantStatus, tt.wantActive)
			}
		})
	}
	_, m := postForm(t, p.IntrospectionEndpoint(), form(tok), "api", "s3cr&t")
	if m["sub"] != "alice" || m["scope"] != "read" || m["iss"] != p.Issuer() || m["exp"] != float64(now.Add(time.Hour).Unix()) {
		t.Fatalf("answer %v lacks the token's claims", m)
	}
	if got := p.IntrospectionCalls(); got != int64(len(tests)+1) {
		t.Fatalf("IntrospectionCalls() = %d, want %d", got, len(tests)+1)
	}

	// Revocation through the endpoint and through Revoke.
	if status, _ := postForm(t, p.RevocationEndpoint(), url.Values{"token": {tok}}, "api", "s3cr&t"); status != 200 {
		t.Fatalf("revocation status %d, want 200", status)
	}
	p.Revoke(jwt)
	for _, tk := range []string{tok, jwt} {
		if _, m := postForm(t, p.IntrospectionEndpoint(), form(tk), "api", "s3cr&t"); m["active"] != false {
			t.Fatalf("revoked token: answer %v, want active false", m)
		}
	}
	if p.RevocationCalls() != 1 {
		t.Fatalf("RevocationCalls() = %d, want 1", p.RevocationCalls())
	}

	// Faults: status over the normal body, and a replaced body.
	other := p.MustMintOpaque(t, nil)
	p.SetIntrospectionFault(&Fault{Status: 503})
	if status, m := postForm(t, p.IntrospectionEndpoint(), form(other), "api", "s3cr&t"); status != 503 || m["active"] != true {
		t.Fatalf("fault 503: status %d answer %v", status, m)
	}
	p.SetIntrospectionFault(&Fault{Body: []byte(`{"active":"true"}`)})
	if _, m := postForm(t, p.IntrospectionEndpoint(), form(other), "api", "s3cr&t"); m["active"] != "true" {
		t.Fatalf("fault body: answer %v", m)
	}
}
