package oidcauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// FuzzDPoPProof feeds arbitrary proofs to the DPoP checker: it must never
// panic, must answer a sentinel of the package, and must accept only a
// proof made with the bound key (whose signature the fuzzer cannot forge).
//
//	go test -run '^$' -fuzz '^FuzzDPoPProof$' -fuzztime 10m -parallel 1 .
func FuzzDPoPProof(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	d, err := newDPoPVerifier(&DPoPConfig{ReplayCache: nopReplay{}}, rsaAlgs|p256Algs|p384Algs|p521Algs|ed25519Al, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	const token = "header.payload.signature"
	const url = "https://api.example/orders"
	want := reqURL{scheme: "https", host: "api.example", path: "/orders"}
	bound, err := oidctest.NewDPoPKey("ES256")
	if err != nil {
		f.Fatal(err)
	}
	jkt := bound.Thumbprint()
	for _, alg := range oidctest.Algorithms() {
		k, err := oidctest.NewDPoPKey(alg)
		if err != nil {
			f.Fatal(err)
		}
		p, err := k.Proof("GET", url, token, oidctest.WithIssuedAt(now))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
		// The same proof under the bound key's thumbprint passes.
		if err := d.check(context.Background(), p, "GET", want, token, k.Thumbprint()); err != nil {
			f.Fatalf("%s proof refused: %v", alg, err)
		}
	}
	good, _ := bound.Proof("GET", url, token, oidctest.WithIssuedAt(now))
	f.Add(good)
	f.Add(good + "x")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("e30.e30.")
	f.Add("")
	f.Fuzz(func(t *testing.T, proof string) {
		err := d.check(context.Background(), proof, "GET", want, token, jkt)
		if err == nil {
			// Only the seed made with the bound key, or a re-encoding of
			// its header and claims with the same signature input, passes.
			if proof != good && sha256.Sum256([]byte(proof)) != sha256.Sum256([]byte(good)) {
				h := strings.SplitN(proof, ".", 3)
				g := strings.SplitN(good, ".", 3)
				if len(h) != 3 || h[0]+h[1] != g[0]+g[1] {
					t.Fatalf("accepted a proof not made by the bound key: %q", proof)
				}
			}
			return
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || !(errors.Is(err, ErrInvalidDPoPProof) || errors.Is(err, ErrUseDPoPNonce)) {
			t.Fatalf("error %v is not an ErrInvalidDPoPProof ValidationError", err)
		}
	})
}

// nopReplay is a ReplayCache that has seen nothing, ever.
type nopReplay struct{}

func (nopReplay) Add(context.Context, string, time.Time) (bool, error) { return true, nil }

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
