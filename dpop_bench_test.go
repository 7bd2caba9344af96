package oidcauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidctest"
)

// alwaysFresh is a ReplayCache that has seen nothing, so that one proof
// can be measured again and again; BenchmarkMemoryReplayCache measures
// the real cache.
type alwaysFresh struct{}

func (alwaysFresh) Add(context.Context, string, time.Time) (bool, error) { return true, nil }

// BenchmarkDPoP measures Authenticate of a DPoP request (ES256 token,
// ES256 proof): token validation, the proof's parsing, jwk, signature,
// htm/htu/iat/ath/jkt checks and the replay key. Compare with
// BenchmarkDPoPBaseline: the same token as Bearer plus one ES256
// signature check.
func BenchmarkDPoP(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			p := oidctest.New(b, oidctest.Options{Algorithm: "ES256"})
			a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quietLogger(),
				DPoP: &oidcauth.DPoPConfig{ReplayCache: alwaysFresh{}}})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			k := mustKey(b, alg)
			tok, _ := p.MintDPoPBound(k, map[string]any{"aud": "api", "sub": "alice"})
			pr, _ := k.Proof("GET", "http://api.test/orders", tok)
			r := httptest.NewRequest("GET", "http://api.test/orders", nil)
			r.Header.Set("Authorization", "DPoP "+tok)
			r.Header.Set("DPoP", pr)
			if _, err := a.Authenticate(r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDPoPBaseline is the budget's reference, per proof algorithm:
// Authenticate of the same kind of token as Bearer, plus one signature
// check of that algorithm (ECDSA P-256 or Ed25519) over a message of the
// proof's size. BenchmarkDPoP/<alg> minus BenchmarkDPoPBaseline/<alg> is
// what DPoP adds: budget 2 µs and 10 allocations.
func BenchmarkDPoPBaseline(b *testing.B) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			p := oidctest.New(b, oidctest.Options{Algorithm: "ES256"})
			a, err := oidcauth.New(context.Background(), oidcauth.Config{Issuer: p.Issuer(), Audiences: []string{"api"}, Logger: quietLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			k := mustKey(b, alg)
			// A token of the same size: the cnf claim, but no proof to check.
			tok, _ := p.Mint(map[string]any{"aud": "api", "sub": "alice", "cnf": map[string]any{"x": k.Thumbprint()}})
			pr, _ := k.Proof("GET", "http://api.test/orders", tok)
			msg := []byte(pr[:strings.LastIndexByte(pr, '.')])
			r := httptest.NewRequest("GET", "http://api.test/orders", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			verify := func() bool { return true }
			switch alg {
			case "ES256":
				key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				sig, _ := ecdsa.SignASN1(rand.Reader, key, dOf(msg))
				verify = func() bool { return ecdsa.VerifyASN1(&key.PublicKey, dOf(msg), sig) }
			case "EdDSA":
				pub, priv, _ := ed25519.GenerateKey(rand.Reader)
				sig := ed25519.Sign(priv, msg)
				verify = func() bool { return ed25519.Verify(pub, msg, sig) }
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
				if !verify() {
					b.Fatal("verify")
				}
			}
		})
	}
}

// dOf hashes s as a proof's signing input is hashed.
func dOf(s []byte) []byte { d := sha256.Sum256(s); return d[:] }
