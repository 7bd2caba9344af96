package oidcauth

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/oidcauth/oidcauth/oidctest"
)

// TestDPoPIntrospectedBinding: an introspection answer's cnf binds the
// opaque token like a JWT's (RFC 9449 §6.2, RFC 8705 §3.2).
func TestDPoPIntrospectedBinding(t *testing.T) {
	s := newIntroSetup(t, IntrospectionConfig{})
	k, err := oidctest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.opaque(t, map[string]any{"cnf": map[string]any{"jkt": k.Thumbprint()}})
	ctx := context.Background()
	if _, err := s.a.Validate(ctx, tok); !errors.Is(err, ErrDPoPRequired) {
		t.Fatalf("Validate(bound opaque) = %v, want ErrDPoPRequired", err)
	}
	r := httptest.NewRequest("GET", "http://api.test/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := s.a.Authenticate(r); !errors.Is(err, ErrDPoPRequired) {
		t.Fatalf("as Bearer: %v, want ErrDPoPRequired", err)
	}
	proof, _ := k.Proof("GET", "http://api.test/x", tok, oidctest.WithIssuedAt(s.clock.Now()))
	r.Header.Set("Authorization", "DPoP "+tok)
	r.Header.Set("DPoP", proof)
	if c, err := s.a.Authenticate(r); err != nil || c.Subject != "alice" {
		t.Fatalf("with proof: %v", err)
	}
	x5t := s.opaque(t, map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}})
	if _, err := s.a.Validate(ctx, x5t); !errors.Is(err, ErrCertificateMismatch) {
		t.Fatalf("Validate(certificate-bound opaque) = %v", err)
	}
	badCnf := s.opaque(t, map[string]any{"cnf": map[string]any{"jkt": 7}})
	if _, err := s.a.Validate(ctx, badCnf); !errors.Is(err, ErrInvalidClaims) {
		t.Fatalf("Validate(cnf.jkt a number) = %v", err)
	}
}
