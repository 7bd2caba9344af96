package oidcauth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth"
)

func TestRedirectPolicies(t *testing.T) {
	t.Parallel()
	var otherHits int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits++ }))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusTemporaryRedirect) })
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	restricted := oidcauth.RestrictRedirects(nil)
	if resp, err := restricted.Get(srv.URL + "/same"); err != nil || resp.StatusCode != 200 {
		t.Errorf("RestrictRedirects: same-host redirect: %v", err)
	}
	if _, err := restricted.Get(srv.URL + "/other"); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Errorf("RestrictRedirects: cross-host redirect error = %v, want a refusal", err)
	}
	none := oidcauth.NoRedirects(nil)
	if _, err := none.Get(srv.URL + "/same"); !errors.Is(err, oidcauth.ErrRedirectRefused) {
		t.Errorf("NoRedirects: same-host redirect error = %v, want ErrRedirectRefused", err)
	}
	if _, err := none.Post(srv.URL+"/other", "application/x-www-form-urlencoded", strings.NewReader("code=secret")); !errors.Is(err, oidcauth.ErrRedirectRefused) {
		t.Errorf("NoRedirects: cross-host redirect error = %v, want ErrRedirectRefused", err)
	}
	if otherHits != 0 {
		t.Errorf("the other host received %d requests, want 0", otherHits)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://idp.example.com/", false, true},
		{"http://127.0.0.1:8080/", false, true},
		{"http://[::1]/", false, true},
		{"http://localhost/x", false, true},
		{"http://idp.example.com/", false, false},
		{"http://idp.example.com/", true, true},
		{"https://user@idp.example.com/", false, false},
		{"https://idp.example.com/#f", false, false},
		{"/relative", false, false},
		{"ftp://idp.example.com/", true, false},
		{"http://127.1.2.3", false, true},
		{"http://LOCALHOST", false, true},
		{"http://localhost.evil.example", false, false},
		{"http://127.0.0.1.nip.io", false, false},
		{"https://user:pw@idp.example", false, false},
		{"idp.example", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		err := oidcauth.CheckURL("issuer", tt.url, tt.insecure)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q, insecure=%v) = %v, want ok=%v", tt.url, tt.insecure, err, tt.ok)
		}
		if err != nil && strings.Contains(tt.url, ":pw@") && strings.Contains(err.Error(), "pw") {
			t.Errorf("CheckURL(%q) error %q echoes the password", tt.url, err)
		}
	}
}
