package oidcauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// allocSlack is how many allocations a cold Validate may make beyond the
// signature check of the crypto packages alone (issue 17: at most the
// floor plus 6). Today it makes 4: the one buffer (claims, header, token
// copy, signature scratch), the Claims, the shared string of sub, jti,
// client_id and scope, and the Scopes slice.
const allocSlack = 6

// TestValidateAllocBudget measures, per algorithm, the allocations of the
// bare signature check (the floor) and of a cold Validate of a typical
// RFC 9068 token, and fails when Validate exceeds the floor plus
// allocSlack.
func TestValidateAllocBudget(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			p := oidctest.New(t, oidctest.Options{Algorithm: alg, Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
			a := staticAuthorizer(t, p)
			a.tokenType = "at+jwt"
			tok := p.MustMintToken(t, oidctest.Token{
				Header: map[string]any{"typ": "at+jwt"},
				Claims: map[string]any{"sub": "alice", "aud": "api", "client_id": "c1", "jti": "j1", "scope": "read write"},
			})
			ctx := context.Background()
			if _, err := a.Validate(ctx, tok); err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			key := a.keys.current(a.now()).keys[0]
			parts := strings.Split(tok, ".")
			msg := []byte(parts[0] + "." + parts[1])
			sig, err := b64.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256(msg)
			var check func() bool
			switch alg {
			case "RS256":
				check = func() bool { return rsa.VerifyPKCS1v15(key.rsa, crypto.SHA256, d[:], sig) == nil }
			case "ES256":
				var der [derMax]byte
				enc := appendDERInt(appendDERInt(der[:2], sig[:32]), sig[32:])
				enc[0], enc[1] = 0x30, byte(len(enc)-2)
				check = func() bool { return ecdsa.VerifyASN1(key.ec, d[:], enc) }
			case "EdDSA":
				check = func() bool { return ed25519.Verify(key.ed, msg, sig) }
			}
			if !check() {
				t.Fatal("bare signature check fails")
			}
			floor := testing.AllocsPerRun(50, func() { check() })
			got := testing.AllocsPerRun(50, func() { a.Validate(ctx, tok) })
			t.Logf("%s: Validate %v allocs, bare signature check %v", alg, got, floor)
			if got > floor+allocSlack {
				t.Errorf("Validate allocates %v times, want at most %v (signature check %v + %d)", got, floor+allocSlack, floor, allocSlack)
			}
		})
	}
}

// TestValidateSharedBuffer checks what the allocation cuts share: the
// string claims decode right whether escaped or not, Raw cannot be grown
// into the rest of the buffer, and the shared single-audience slice cannot
// be grown into another Claims.
func TestValidateSharedBuffer(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{Algorithm: "EdDSA", Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	a := staticAuthorizer(t, p)
	// encoding/json escapes <, > and & as \u003c, \u003e and \u0026.
	tok := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{
		"sub": "a<b", "aud": "api", "client_id": "c&1", "jti": "", "scope": "read\twrite>x",
	}})
	plain := p.MustMintToken(t, oidctest.Token{Claims: map[string]any{"sub": "bob", "aud": "api"}})
	c, err := a.Validate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	c2, err := a.Validate(context.Background(), plain)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if c.Subject != "a<b" || c.ClientID != "c&1" || c.ID != "" || strings.Join(c.Scopes, "|") != "read|write>x" {
		t.Errorf("claims = sub %q client_id %q jti %q scopes %q, want \"a<b\" \"c&1\" \"\" [read write>x]", c.Subject, c.ClientID, c.ID, c.Scopes)
	}
	if c2.Subject != "bob" || c2.ClientID != "" || c2.Scopes != nil {
		t.Errorf("claims = sub %q client_id %q scopes %q, want \"bob\" \"\" nil", c2.Subject, c2.ClientID, c2.Scopes)
	}
	if cap(c.Raw) != len(c.Raw) {
		t.Errorf("cap(Raw) = %d, want len(Raw) = %d", cap(c.Raw), len(c.Raw))
	}
	if len(c.Audience) != 1 || cap(c.Audience) != 1 || c.Audience[0] != "api" {
		t.Fatalf("Audience = %q (cap %d), want [api] with capacity 1", c.Audience, cap(c.Audience))
	}
	_ = append(c.Audience, "other")
	if len(a.audiences) != 1 || a.audiences[0] != "api" || c2.Audience[0] != "api" {
		t.Errorf("appending to one Claims' Audience changed the Authorizer's or another's: %q %q", a.audiences, c2.Audience)
	}
}
