package main

import (
	"strings"
	"testing"
	"time"

	"github.com/oidcauth/oidcauth/oidctest"
)

// TestVerifyDPoP checks verify --dpop-proof: exit 0 and the claims for a
// bound token with its proof for --htm/--htu, 1 for a proof that does not
// fit (other request, other key, other token, too old) or an unbound
// token, 2 for bad flags; and that a bound token is
// refused without --dpop-proof. (A replay cannot happen across runs: each
// run has its own replay cache.)
func TestVerifyDPoP(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t)
	key, err := oidctest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := oidctest.NewDPoPKey("ES256")
	bound, err := p.MintDPoPBound(key, map[string]any{"sub": "alice", "aud": "api"})
	if err != nil {
		t.Fatal(err)
	}
	unbound := p.MustMint(t, map[string]any{"sub": "alice", "aud": "api"})
	const htu = "https://api.example.com/me"
	proof := func(k *oidctest.DPoPKey, method, url, tok string, opts ...oidctest.ProofOption) string {
		t.Helper()
		s, err := k.Proof(method, url, tok, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := []string{"verify", "--issuer", p.Issuer(), "--audience", "api"}
	const usage = "\n\nusage: oidcauth verify [flags] TOKEN | -\n"
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string // prefix
	}{
		{"proof for the request", []string{"--dpop-proof", proof(key, "GET", htu, bound), "--htm", "GET", "--htu", htu, bound},
			0, payload(t, bound) + "\n", ""},
		{"htu with a query (ignored)", []string{"--dpop-proof", proof(key, "GET", htu, bound), "--htm", "GET", "--htu", htu + "?x=1", bound},
			0, payload(t, bound) + "\n", ""},
		{"other method", []string{"--dpop-proof", proof(key, "POST", htu, bound), "--htm", "GET", "--htu", htu, bound},
			1, "", "oidcauth verify: invalid token: invalid DPoP proof: DPoP proof htm is not the request method\n"},
		{"other URL", []string{"--dpop-proof", proof(key, "GET", htu+"/x", bound), "--htm", "GET", "--htu", htu, bound},
			1, "", "oidcauth verify: invalid token: invalid DPoP proof: DPoP proof htu is not the request URL\n"},
		{"other key", []string{"--dpop-proof", proof(other, "GET", htu, bound), "--htm", "GET", "--htu", htu, bound},
			1, "", "oidcauth verify: invalid token: invalid DPoP proof: DPoP proof key is not the key the token is bound to (cnf.jkt)\n"},
		{"proof for another token", []string{"--dpop-proof", proof(key, "GET", htu, unbound), "--htm", "GET", "--htu", htu, bound},
			1, "", "oidcauth verify: invalid token: invalid DPoP proof: DPoP proof ath is not the hash of the access token\n"},
		{"old proof", []string{"--dpop-proof", proof(key, "GET", htu, bound, oidctest.WithIssuedAt(time.Now().Add(-5*time.Minute))), "--htm", "GET", "--htu", htu, bound},
			1, "", "oidcauth verify: invalid token: invalid DPoP proof: DPoP proof iat is older than the proof window\n"},
		{"unbound token with a proof", []string{"--dpop-proof", proof(key, "GET", htu, unbound), "--htm", "GET", "--htu", htu, unbound},
			1, "", "oidcauth verify: invalid token: DPoP-bound token and proof required: DPoP scheme with a token that is not DPoP-bound (no cnf.jkt)\n"},
		{"bound token without proof", []string{bound}, 1, "",
			"oidcauth verify: invalid token: DPoP-bound token and proof required: token is DPoP-bound (cnf.jkt): use ValidateDPoP or the middleware, which check the proof\n"},
		{"no htm", []string{"--dpop-proof", "x.y.z", "--htu", htu, bound}, 2, "", "oidcauth verify: --dpop-proof needs --htm (the request's method, e.g. GET)" + usage},
		{"lower-case htm", []string{"--dpop-proof", "x.y.z", "--htm", "get", "--htu", htu, bound}, 2, "", `oidcauth verify: --htm "get" is not an HTTP method in capitals, e.g. GET` + usage},
		{"no htu", []string{"--dpop-proof", "x.y.z", "--htm", "GET", bound}, 2, "", "oidcauth verify: --dpop-proof needs --htu (the request's absolute URL)" + usage},
		{"relative htu", []string{"--dpop-proof", "x.y.z", "--htm", "GET", "--htu", "/me", bound}, 2, "", `oidcauth verify: --htu "/me" is not an absolute http(s) URL` + usage},
		{"htm without proof", []string{"--htm", "GET", bound}, 2, "", "oidcauth verify: --htm and --htu need --dpop-proof" + usage},
		{"blank proof", []string{"--dpop-proof", " ", "--htm", "GET", "--htu", htu, bound}, 2, "", "oidcauth verify: --dpop-proof is empty" + usage},
		{"stream", []string{"--dpop-proof", "x.y.z", "--htm", "GET", "--htu", htu, "-"}, 2, "", "oidcauth verify: --dpop-proof checks one TOKEN, not -" + usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t, "", append(append([]string{}, base...), tt.args...)...)
			if got.code != tt.wantCode || got.stdout != tt.wantStdout || !strings.HasPrefix(got.stderr, tt.wantStderr) {
				t.Errorf("verify = %d, stdout %q, stderr %q\nwant %d, stdout %q, stderr prefix %q", got.code, got.stdout, got.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if strings.Contains(got.stderr, "eyJ") {
				t.Errorf("stderr %q quotes a token or a proof", got.stderr)
			}
		})
	}
}
