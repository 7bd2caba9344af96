package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// DPoP (RFC 9449) against a real provider and a real client: oidc-provider
// binds the tokens of dpop-client to the key of the proof on its token
// request (provider/server.js), and panva's oauth4webapi
// (dpopclient/client.js) gets such a token and makes the proofs.
const (
	dpopResource = resourcePrefix + "dpop"
	dpopClient   = "dpop-client"
)

// dpopRun is what dpopclient/client.js prints.
type dpopRun struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	Call        struct {
		Status          int     `json:"status"`
		Body            string  `json:"body"`
		WWWAuthenticate *string `json:"www_authenticate"`
		Error           string  `json:"error"`
	} `json:"call"`
	Proofs map[string]string `json:"proofs"`
}

// runDPoPClient runs dpopclient/client.js: a DPoP-bound token from p for
// dpopResource, one call to api's /api/me, and proofs for api.
func runDPoPClient(t *testing.T, node string, p *provider, api string) *dpopRun {
	t.Helper()
	if _, err := os.Stat(filepath.Join("dpopclient", "node_modules", "oauth4webapi", "package.json")); err != nil {
		t.Fatalf("OIDCAUTH_INTEROP is set but oauth4webapi is not installed; run `npm ci` in interop/dpopclient: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js", "--issuer", p.Issuer, "--resource", dpopResource, "--api", api)
	cmd.Dir = "dpopclient"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.js: %v\n%s", err, stderr.String())
	}
	var run dpopRun
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatalf("client.js printed %q: %v", out, err)
	}
	return &run
}

// startExampleAPI builds and starts examples/api with args on a free
// loopback port and returns its base URL; it is stopped when the test ends.
func startExampleAPI(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "api")
	build := exec.Command("go", "build", "-o", bin, "../examples/api")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build examples/api: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill() //nolint:errcheck // it may have exited already
		cmd.Wait()         //nolint:errcheck // killed
		if t.Failed() {
			t.Logf("examples/api %v output:\n%s", args, logs.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "listening on "); ok {
				line <- rest
			}
		}
		io.Copy(io.Discard, stdout) //nolint:errcheck // drain
	}()
	select {
	case base := <-line:
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("examples/api did not listen within 30s:\n%s", logs.String())
	}
	return ""
}

// segment decodes part i of a compact JWS.
func segment(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%d parts in a JWS, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("part %d: %v", i, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("part %d: %v", i, err)
	}
	return m
}

// proofKey returns the proof's public jwk, after checking the proof's
// signature with it, and its RFC 7638 thumbprint.
func proofKey(t *testing.T, proof string) (jwk.Key, string) {
	t.Helper()
	raw, err := json.Marshal(segment(t, proof, 0)["jwk"])
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		t.Fatalf("the proof's jwk: %v", err)
	}
	var pub ecdsa.PublicKey
	if err := jwk.Export(key, &pub); err != nil {
		t.Fatalf("the proof's jwk is not an EC public key: %v", err)
	}
	// ES256 (RFC 7518 §3.4): SHA-256 over "header.payload", r||s.
	i := strings.LastIndexByte(proof, '.')
	sig, err := base64.RawURLEncoding.DecodeString(proof[i+1:])
	digest := sha256.Sum256([]byte(proof[:i]))
	if err != nil || len(sig) != 64 ||
		!ecdsa.Verify(&pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatalf("the proof's signature does not verify with its own jwk (%v)", err)
	}
	tp, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return key, base64.RawURLEncoding.EncodeToString(tp)
}

// TestDPoPClientTokens checks what the interop suite feeds to the API: a
// token oidc-provider bound to oauth4webapi's key (cnf.jkt = the RFC 7638
// thumbprint of the proofs' jwk), and proofs as RFC 9449 §4.2 shapes them.
func TestDPoPClientTokens(t *testing.T) {
	node := requireInterop(t)
	p := startProvider(t, providerOptions{})
	// Nothing listens at this API: only the proofs are looked at.
	run := runDPoPClient(t, node, p, "http://127.0.0.1:9/")

	if !strings.EqualFold(run.TokenType, "DPoP") {
		t.Errorf("token_type %q, want DPoP (RFC 9449 §5)", run.TokenType)
	}
	h, claims := segment(t, run.AccessToken, 0), segment(t, run.AccessToken, 1)
	if h["typ"] != "at+jwt" || h["alg"] != "ES256" || claims["aud"] != dpopResource || claims["client_id"] != dpopClient {
		t.Errorf("access token header %v claims %v", h, claims)
	}
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)

	sum := sha256.Sum256([]byte(run.AccessToken))
	ath := base64.RawURLEncoding.EncodeToString(sum[:])
	want := map[string]struct{ htm, htu string }{
		"me":        {"GET", "http://127.0.0.1:9/api/me"},
		"me_again":  {"GET", "http://127.0.0.1:9/api/me"},
		"feed":      {"GET", "http://127.0.0.1:9/api/feed"},
		"post_me":   {"POST", "http://127.0.0.1:9/api/me"},
		"other_key": {"GET", "http://127.0.0.1:9/api/me"},
	}
	jtis := map[string]string{}
	for name, w := range want {
		proof := run.Proofs[name]
		if proof == "" {
			t.Errorf("no proof %q", name)
			continue
		}
		ph, pc := segment(t, proof, 0), segment(t, proof, 1)
		if ph["typ"] != "dpop+jwt" || ph["alg"] != "ES256" {
			t.Errorf("%s: header %v, want typ dpop+jwt, alg ES256", name, ph)
		}
		if k, _ := ph["jwk"].(map[string]any); k["d"] != nil {
			t.Errorf("%s: the proof's jwk carries the private key", name)
		}
		if pc["htm"] != w.htm || pc["htu"] != w.htu || pc["ath"] != ath {
			t.Errorf("%s: htm %v htu %v ath %v; want %s %s %s", name, pc["htm"], pc["htu"], pc["ath"], w.htm, w.htu, ath)
		}
		iat, _ := pc["iat"].(float64)
		if d := time.Since(time.Unix(int64(iat), 0)); d < -5*time.Second || d > time.Minute {
			t.Errorf("%s: iat %v is %v from now", name, iat, d)
		}
		jti, _ := pc["jti"].(string)
		if prev, dup := jtis[jti]; jti == "" || dup {
			t.Errorf("%s: jti %q empty or the same as %s's", name, jti, prev)
		}
		jtis[jti] = name
		_, tp := proofKey(t, proof)
		if bound := tp == jkt; bound != (name != "other_key") {
			t.Errorf("%s: thumbprint %s, token's cnf.jkt %s", name, tp, jkt)
		}
	}
}

// TestDPoPExamplesAPI calls examples/api, started with --issuer pointing at
// oidc-provider, with oauth4webapi's token and proofs, with and without
// --dpop-required (RFC 9449 §7): exact statuses and WWW-Authenticate.
func TestDPoPExamplesAPI(t *testing.T) {
	node := requireInterop(t)
	p := startProvider(t, providerOptions{})
	unbound := p.MustClientCredentials(t, dpopResource) // api-client: a bearer token for the same API
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("dpop-required=%v", required), func(t *testing.T) {
			args := []string{"--issuer", p.Issuer, "--audience", dpopResource, "--type", "at+jwt"}
			if required {
				args = append(args, "--dpop-required")
			}
			api := startExampleAPI(t, args...)
			run := runDPoPClient(t, node, p, api)
			if run.Call.Status != http.StatusOK {
				t.Fatalf("oauth4webapi's own call: %+v", run.Call)
			}
			_, jkt := proofKey(t, run.Proofs["me"])
			tok := run.AccessToken

			// The exact answers (RFC 9449 §7.1, RFC 6750 §3): the DPoP
			// challenge carries the error and the allowed algorithms; the
			// Bearer one, plain, comes first unless DPoP is required.
			const realm = `realm="` + dpopResource + `"`
			const algs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
			const badProof = `DPoP ` + realm + `, error="invalid_dpop_proof", error_description="the DPoP proof is invalid", ` + algs
			const asBearer = `DPoP ` + realm + `, error="invalid_token", error_description="a DPoP-bound token with a DPoP proof is required", ` + algs
			with := func(dpop string) string {
				if required {
					return dpop
				}
				return `Bearer ` + realm + `, ` + dpop
			}
			tests := []struct {
				name       string
				method     string
				auth       string
				proof      string
				wantStatus int
				wantWWW    string
			}{
				{"fresh proof", "GET", "DPoP " + tok, run.Proofs["me"], 200, ""},
				{"replayed proof", "GET", "DPoP " + tok, run.Proofs["me"], 401, with(badProof)},
				{"second fresh proof", "GET", "DPoP " + tok, run.Proofs["me_again"], 200, ""},
				{"re-targeted proof (htu /api/feed)", "GET", "DPoP " + tok, run.Proofs["feed"], 401, with(badProof)},
				{"re-targeted proof (htm POST)", "GET", "DPoP " + tok, run.Proofs["post_me"], 401, with(badProof)},
				{"re-signed proof (other key)", "GET", "DPoP " + tok, run.Proofs["other_key"], 401, with(badProof)},
				{"bound token as Bearer", "GET", "Bearer " + tok, "", 401, with(asBearer)},
				{"bound token without proof", "GET", "DPoP " + tok, "", 401, with(badProof)},
				{"unbound bearer token", "GET", "Bearer " + unbound, "", map[bool]int{false: 200, true: 401}[required],
					map[bool]string{false: "", true: asBearer}[required]},
			}
			for _, tt := range tests {
				req, _ := http.NewRequestWithContext(t.Context(), tt.method, api+"/api/me", nil)
				req.Header.Set("Authorization", tt.auth)
				if tt.proof != "" {
					req.Header.Set("DPoP", tt.proof)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				www := res.Header.Values("WWW-Authenticate")
				if res.StatusCode != tt.wantStatus {
					t.Errorf("%s: %d %q %q, want %d", tt.name, res.StatusCode, www, body, tt.wantStatus)
					continue
				}
				if res.StatusCode == 200 {
					var claims map[string]any
					json.Unmarshal(body, &claims) //nolint:errcheck // checked below
					cnf, _ := claims["cnf"].(map[string]any)
					if strings.HasPrefix(tt.auth, "DPoP") && cnf["jkt"] != jkt {
						t.Errorf("%s: /api/me answered %s, want the claims as issued with cnf.jkt %s", tt.name, body, jkt)
					}
					continue
				}
				if joined := strings.Join(www, ", "); joined != tt.wantWWW {
					t.Errorf("%s: WWW-Authenticate\n%s\nwant\n%s", tt.name, joined, tt.wantWWW)
				}
			}
		})
	}
}
