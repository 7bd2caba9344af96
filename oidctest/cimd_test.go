package oidctest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// docServer serves client metadata documents: the handler gets the
// document's own URL.
func docServer(t *testing.T, h func(w http.ResponseWriter, r *http.Request, self string)) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, r, srv.URL+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClientMetadataDocuments(t *testing.T) {
	t.Parallel()
	const redirect = "http://127.0.0.1:33418/callback"
	good := func(self string) string {
		return `{"client_id":"` + self + `","client_name":"demo","redirect_uris":["` + redirect + `"],"token_endpoint_auth_method":"none"}`
	}
	var hits atomic.Int64
	docs := docServer(t, func(w http.ResponseWriter, r *http.Request, self string) {
		hits.Add(1)
		ct, body := "application/json", good(self)
		switch r.URL.Path {
		case "/ok", "/ok/nested":
		case "/vendor-json":
			ct = "application/vnd.example+json"
		case "/text":
			ct = "text/plain"
		case "/404":
			http.NotFound(w, r)
			return
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
			return
		case "/other-id":
			body = good("https://elsewhere.example/client")
		case "/secret":
			body = strings.Replace(good(self), `"client_name"`, `"client_secret":"x","client_name"`, 1)
		case "/basic":
			body = strings.Replace(good(self), `"none"`, `"client_secret_basic"`, 1)
		case "/no-redirects":
			body = `{"client_id":"` + self + `"}`
		case "/bad-redirect":
			body = strings.Replace(good(self), redirect, "http://app.example/cb", 1)
		case "/implicit":
			body = strings.Replace(good(self), `"token_endpoint_auth_method"`, `"grant_types":["implicit"],"token_endpoint_auth_method"`, 1)
		case "/array":
			body = `[` + good(self) + `]`
		case "/huge":
			body = strings.Replace(good(self), "demo", strings.Repeat("d", 2<<10), 1)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("Content-Type", ct)
		w.Write([]byte(body))
	})
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
	p.EnableClientMetadataDocuments(oidctest.ClientMetadataSettings{AllowLoopbackHTTP: true, MaxDocumentSize: 1 << 10, FetchTimeout: 100 * time.Millisecond})

	tests := []struct {
		name, clientID, redirect string
		ok                       bool
		fetched                  bool
	}{
		{"valid document", docs.URL + "/ok", redirect, true, true},
		{"nested path", docs.URL + "/ok/nested", redirect, true, true},
		{"loopback redirect, other port", docs.URL + "/ok", "http://127.0.0.1:5/callback", true, true},
		{"+json content type", docs.URL + "/vendor-json", redirect, true, true},
		{"redirect_uri not listed", docs.URL + "/ok", "http://127.0.0.1:33418/other", false, true},
		{"text/plain", docs.URL + "/text", redirect, false, true},
		{"404", docs.URL + "/404", redirect, false, true},
		{"redirect not followed", docs.URL + "/redirect", redirect, false, true},
		{"client_id is another URL", docs.URL + "/other-id", redirect, false, true},
		{"document with a secret", docs.URL + "/secret", redirect, false, true},
		{"client_secret_basic", docs.URL + "/basic", redirect, false, true},
		{"no redirect_uris", docs.URL + "/no-redirects", redirect, false, true},
		{"http non-loopback redirect URI", docs.URL + "/bad-redirect", redirect, false, true},
		{"implicit grant", docs.URL + "/implicit", redirect, false, true},
		{"array", docs.URL + "/array", redirect, false, true},
		{"over MaxDocumentSize", docs.URL + "/huge", redirect, false, true},
		{"over FetchTimeout", docs.URL + "/slow", redirect, false, true},
		{"no path", docs.URL, redirect, false, false},
		{"dot segment", docs.URL + "/a/../ok", redirect, false, false},
		{"fragment", docs.URL + "/ok#f", redirect, false, false},
		{"user info", strings.Replace(docs.URL, "http://", "http://u:p@", 1) + "/ok", redirect, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			q := url.Values{"client_id": {tt.clientID}, "redirect_uri": {tt.redirect}, "response_type": {"code"}, "state": {"s"},
				"code_challenge": {challenge(testVerifier)}, "code_challenge_method": {"S256"}, "resource": {"http://127.0.0.1:8090/mcp"}}
			st, back, page := mcpAuthorize(t, p, q)
			if ok := st == http.StatusFound && back.Get("code") != ""; ok != tt.ok {
				t.Fatalf("authorize: %d %v %s, want ok=%v", st, back, page, tt.ok)
			}
			if fetched := hits.Load() > before; fetched != tt.fetched {
				t.Errorf("document fetched = %v, want %v", fetched, tt.fetched)
			}
			if !tt.ok {
				return
			}
			// A public client: the verifier, no secret.
			form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")}, "redirect_uri": {tt.redirect},
				"code_verifier": {testVerifier}, "client_id": {tt.clientID}}
			tr := token(t, p, form)
			if tr.status != 200 {
				t.Fatalf("token: %d %v", tr.status, tr.body)
			}
			if at := claimsOf(t, tr.body["access_token"]); at["client_id"] != tt.clientID || at["aud"] != "http://127.0.0.1:8090/mcp" {
				t.Errorf("claims %v", at)
			}
		})
	}
	if n := p.OAuthStats().MetadataFetches; n < 17 {
		t.Errorf("MetadataFetches = %d", n)
	}
}

func TestClientMetadataHTTPNeedsOption(t *testing.T) {
	t.Parallel()
	docs := docServer(t, func(w http.ResponseWriter, r *http.Request, self string) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"client_id":"` + self + `","redirect_uris":["http://127.0.0.1:1/cb"]}`))
	})
	p := oidctest.New(t, oidctest.Options{Algorithm: "ES256"})
	p.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
	p.EnableClientMetadataDocuments(oidctest.ClientMetadataSettings{})
	q := url.Values{"client_id": {docs.URL + "/c"}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "response_type": {"code"},
		"code_challenge": {challenge(testVerifier)}, "code_challenge_method": {"S256"}}
	if st, _, _ := mcpAuthorize(t, p, q); st != http.StatusBadRequest {
		t.Errorf("http client_id without AllowLoopbackHTTP: %d, want 400", st)
	}
	if n := p.OAuthStats().MetadataFetches; n != 0 {
		t.Errorf("fetched %d documents", n)
	}
}

// TestClientIDURLRuleMatchesLibrary: oidctest cannot import oidcauth (the root
// package's tests import oidctest), so it has its own URL rule; every URL it
// accepts is one oidcauth.CheckURL accepts too, and it is stricter where the
// draft says so (a path, no dot segments, http only with the option).
func TestClientIDURLRuleMatchesLibrary(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"https://app.example/client.json", "https://app.example:8443/c", "https://app.example/c?x=1",
		"http://127.0.0.1:9/c", "http://[::1]:9/c", "http://localhost/c", "http://app.example/c",
		"https://app.example", "https://app.example/", "https://app.example/a/../c", "https://app.example/./c",
		"https://u@app.example/c", "https://app.example/c#f", "ftp://app.example/c", "/c", "app.example/c", "https://",
		"https://app.example/c%20d", "HTTPS://app.example/c",
	} {
		for _, allowHTTP := range []bool{false, true} {
			ours := oidctest.CheckClientIDURL(raw, allowHTTP) == nil
			lib := oidcauth.CheckURL("client_id", raw, false) == nil
			if ours && !lib {
				t.Errorf("%q (allowHTTP=%v): oidctest accepts, oidcauth.CheckURL refuses", raw, allowHTTP)
			}
			if !allowHTTP && strings.HasPrefix(raw, "http://") && ours {
				t.Errorf("%q accepted without AllowLoopbackHTTP", raw)
			}
		}
	}
}
