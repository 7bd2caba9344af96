package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// dpopCurl is the DPoP curl command printed with the embedded provider.
type dpopCurl struct{ token, proof, base string }

// nextDPoPCurl reads the DPoP curl command, the last line printed with the
// embedded provider.
func nextDPoPCurl(t *testing.T, s *server) dpopCurl {
	t.Helper()
	line := nextLine(t, s.lines)
	m := dpopCurlRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("line %q, want the DPoP curl command", line)
	}
	if m[3] != s.base {
		t.Errorf("DPoP curl calls %s, want %s", m[3], s.base)
	}
	return dpopCurl{m[1], m[2], m[3]}
}

// doDPoP sends method url with Authorization auth and, unless empty, the
// DPoP header proof.
func doDPoP(t *testing.T, method, url, auth, proof string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return response{resp.StatusCode, resp.Header, b.String()}
}

// TestDPoPEmbedded runs the printed DPoP curl command, with and without
// --dpop-required (RFC 9449 §7): the proof is good once, the bound token
// never as Bearer, and /api/me answers the claims as issued, cnf included.
func TestDPoPEmbedded(t *testing.T) {
	t.Parallel()
	for _, required := range []bool{false, true} {
		name := map[bool]string{false: "default", true: "dpop-required"}[required]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			args := []string{"--addr", "127.0.0.1:0"}
			if required {
				args = append(args, "--dpop-required")
			}
			s := startAPI(t, args...)
			var bearer string
			if !required {
				m := curlRE.FindStringSubmatch(nextLine(t, s.lines))
				if m == nil {
					t.Fatal("no Bearer curl command")
				}
				bearer = m[1]
			}
			c := nextDPoPCurl(t, s)
			me := s.base + "/api/me"

			got := doDPoP(t, "GET", me, "DPoP "+c.token, c.proof)
			if got.status != 200 || got.body != payload(t, c.token) {
				t.Fatalf("the printed DPoP command: %d %s, want 200 and the token's claims", got.status, got.body)
			}
			var claims struct {
				Cnf struct {
					JKT string `json:"jkt"`
				} `json:"cnf"`
			}
			if err := json.Unmarshal([]byte(got.body), &claims); err != nil || claims.Cnf.JKT == "" {
				t.Errorf("/api/me = %s, want cnf.jkt visible", got.body)
			}

			// The exact answers: the DPoP challenge (RFC 9449 §7.1) carries
			// the error; the Bearer one stays plain, and is left out with
			// --dpop-required. A request without any token gets the Bearer
			// challenge alone unless DPoP is required.
			const algs = `algs="RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519"`
			const badProof = `DPoP realm="api", error="invalid_dpop_proof", error_description="the DPoP proof is invalid", ` + algs
			const asBearer = `DPoP realm="api", error="invalid_token", error_description="a DPoP-bound token with a DPoP proof is required", ` + algs
			with := func(dpop string) string {
				if required {
					return dpop
				}
				return `Bearer realm="api", ` + dpop
			}
			noToken := `Bearer realm="api"`
			if required {
				noToken = `DPoP realm="api", ` + algs
			}
			type call struct {
				name, auth, proof string
				wantStatus        int
				wantWWW           string
			}
			tests := []call{
				{"replayed proof", "DPoP " + c.token, c.proof, 401, with(badProof)},
				{"bound token as Bearer", "Bearer " + c.token, "", 401, with(asBearer)},
				{"bound token without proof", "DPoP " + c.token, "", 401, with(badProof)},
				{"no token", "", "", 401, noToken},
			}
			if !required {
				tests = append(tests, call{"unbound Bearer token", "Bearer " + bearer, "", 200, ""})
			}
			for _, tt := range tests {
				got := doDPoP(t, "GET", me, tt.auth, tt.proof)
				www := strings.Join(got.header.Values("WWW-Authenticate"), ", ")
				if got.status != tt.wantStatus || www != tt.wantWWW {
					t.Errorf("%s: %d %s\nWWW-Authenticate %s\nwant %d %s", tt.name, got.status, got.body, www, tt.wantStatus, tt.wantWWW)
				}
			}
			if rest := s.stop(); len(rest) != 0 {
				t.Errorf("more lines on stdout: %q", rest)
			}
		})
	}
}
