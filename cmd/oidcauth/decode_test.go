package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decodeNow is the fixed clock of the decode tests.
var decodeNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns decodeNow moved by d, as a NumericDate.
func at(d time.Duration) string { return strconv.FormatInt(decodeNow.Add(d).Unix(), 10) }

// jwt assembles a compact JWS from raw parts; decode never checks the
// signature, so sig can be anything.
func jwt(header, claims string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString(sig)
}

var (
	sig256 = bytes.Repeat([]byte{7}, 256)
	// accessToken is a typical RFC 9068 access token.
	accessToken = jwt(`{"alg":"RS256","kid":"k1","typ":"at+jwt"}`,
		`{"iss":"https://issuer.example/","sub":"alice","aud":["api","https://other.example"],`+
			`"client_id":"cli","scope":"read write","iat":`+at(-time.Minute)+`,"nbf":`+at(-time.Minute)+`,"exp":`+at(59*time.Minute)+`,`+
			`"jti":"abc","name":"Zoë & <co>","nested":{"a":[1,2.5e3,null,true]}}`, sig256)
)

func TestDecodeGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		token string
	}{
		{"access-token", accessToken},
		{"times", jwt(`{"alg":"ES256","kid":"k2"}`,
			`{"sub":"bob","iat":`+at(5*time.Minute)+`.25,"nbf":`+at(52*time.Hour+10*time.Minute)+`,"exp":`+at(-3*time.Hour)+`}`,
			make([]byte, 64))},
		{"bad-times", jwt(`{"alg":"RS256"}`, `{"sub":"bob","exp":"1767225600","iat":-1,"nbf":1e300}`, sig256)},
		{"duplicate-claims", jwt(`{"alg":"RS256"}`, `{"sub":"alice","aud":"api","sub":"admin","exp":`+at(time.Hour)+`}`, sig256)},
		{"binary-claims", jwt(`{"alg":"RS256"}`, "\x00\xffnot json\n", sig256)},
		{"claims-not-object", jwt(`{"alg":"RS256"}`, `["a","b"]`, sig256)},
		{"alg-none", jwt(`{"alg":"none"}`, `{"sub":"alice","exp":`+at(time.Hour)+`}`, nil)},
		{"hmac-crit", jwt(`{"alg":"HS256","crit":["exp"]}`, `{"sub":"alice"}`, make([]byte, 32))},
		{"padded-header", base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256"}x`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice","exp":`+at(time.Hour)+`}`)) + ".c2ln"},
		{"jwe", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"e1"}`)) + ".a.b.c.d"},
		{"opaque", "2YotnFZFEjr1zCsicMWpAA"},
		{"large", jwt(`{"alg":"RS256"}`, `{"sub":"alice","exp":`+at(time.Hour)+`,"pad":"`+strings.Repeat("x", 12<<10)+`"}`, sig256)},
		{"four-parts", "a.b.c.d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runAt(t.Context(), decodeNow, "", "decode", tt.token)
			checkGolden(t, "decode-"+tt.name, got.String())
		})
	}
}

// TestDecodeStdin checks that "-" reads one token, ignoring surrounding
// space and a "Bearer " prefix, and that the output is that of the
// argument form.
func TestDecodeStdin(t *testing.T) {
	t.Parallel()
	want := runAt(t.Context(), decodeNow, "", "decode", accessToken)
	for _, in := range []string{accessToken, accessToken + "\n", "  Bearer " + accessToken + "\r\n", "bearer " + accessToken} {
		got := runAt(t.Context(), decodeNow, in, "decode", "-")
		if got != want {
			t.Errorf("decode - with %.20q... = %v, want %v", in, got, want)
		}
	}
	if got := runAt(t.Context(), decodeNow, "", "decode", "Bearer "+accessToken); got != want {
		t.Errorf("decode \"Bearer TOKEN\" = %v, want %v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	hdr, claims := b64(`{"alg":"RS256"}`), b64(`{"sub":"a","exp":1}`)
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStderr string // prefix
	}{
		{"no token", []string{}, "", 2, "oidcauth decode: missing TOKEN (or - to read it from standard input)\n\nusage: oidcauth decode TOKEN | -\n"},
		{"two tokens", []string{"a.b.c", "d.e.f"}, "", 2, "oidcauth decode: want one TOKEN, got 2 arguments\n"},
		{"empty", []string{" "}, "", 2, "oidcauth decode: TOKEN is empty\n"},
		{"empty stdin", []string{"-"}, "\n", 2, "oidcauth decode: TOKEN is empty\n"},
		{"unknown flag", []string{"--json", "x"}, "", 2, "oidcauth decode: flag provided but not defined: -json\n"},
		{"stdin too long", []string{"-"}, strings.Repeat("a", maxLine+1), 1, "oidcauth decode: standard input is longer than 1048576 bytes\n"},
		{"standard base64", []string{hdr + "." + claims + "+." + "c2ln"}, "", 1,
			"oidcauth decode: claims: '+' at offset 26 is standard base64: JWTs use base64url, with '-' and '_' (RFC 7515 §2)\n"},
		{"inner whitespace", []string{hdr + ". " + claims + ".c2ln"}, "", 1, "oidcauth decode: claims: whitespace at offset 0\n"},
		{"non-ASCII", []string{hdr + "." + claims + ".sig\u00e9"}, "", 1, `oidcauth decode: signature: "\xc3" at offset 3 is not a base64url character` + "\n"},
		{"impossible length", []string{hdr + "." + claims + ".abcde"}, "", 1, "oidcauth decode: signature: not base64url: 5 characters is an impossible length\n"},
		{"non-canonical", []string{hdr + "." + claims + ".ab"}, "", 1, "oidcauth decode: signature: not strict base64url: the last character has unused bits set\n"},
		{"empty header", []string{"." + claims + ".c2ln"}, "", 1, "oidcauth decode: header: empty\n"},
		{"header not JSON", []string{b64("alg: RS256") + "." + claims + ".c2ln"}, "", 1, "oidcauth decode: header: not strict JSON: syntax error at offset 0: "},
		{"invalid UTF-8", []string{hdr + "." + b64("{\"sub\":\"\xff\"}") + ".c2ln"}, "", 1, "oidcauth decode: claims: not strict JSON: syntax error at offset 8: "},
		{"header a string", []string{b64(`"RS256"`) + "." + claims + ".c2ln"}, "", 1, "oidcauth decode: header: a string, not a JSON object\n"},
		{"valid", []string{hdr + "." + claims + ".c2ln"}, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runAt(t.Context(), decodeNow, tt.stdin, append([]string{"decode"}, tt.args...)...)
			if got.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr: %s)", got.code, tt.wantCode, got.stderr)
			}
			if !strings.HasPrefix(got.stderr, tt.wantStderr) || (tt.wantStderr == "" && got.stderr != "") {
				t.Errorf("stderr = %q, want prefix %q", got.stderr, tt.wantStderr)
			}
			if tt.wantCode != 2 && got.stdout != "" && !strings.HasPrefix(got.stdout, "NOT VERIFIED") {
				t.Errorf("stdout does not start with NOT VERIFIED:\n%s", got.stdout)
			}
		})
	}
}

func TestRelative(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "now"},
		{999 * time.Millisecond, "now"},
		{-999 * time.Millisecond, "now"},
		{42 * time.Second, "in 42s"},
		{-42 * time.Second, "42s ago"},
		{59*time.Minute + 59*time.Second, "in 59m"},
		{time.Hour, "in 1h"},
		{-3 * time.Hour, "3h ago"},
		{3*time.Hour + 12*time.Minute + 5*time.Second, "in 3h12m"},
		{24 * time.Hour, "in 1d"},
		{-(52*time.Hour + 10*time.Minute), "2d4h ago"},
		{400 * 24 * time.Hour, "in 400d"},
	}
	for _, tt := range tests {
		if got := relative(tt.d); got != tt.want {
			t.Errorf("relative(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// FuzzDecode checks that decode never panics, and that it reports an
// error whenever a part is not strict.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		accessToken, "a.b.c", "..", "a..", ".b.", "....", "e30.e30.", "e30.e30.e30",
		jwt(`{"alg":"none"}`, `{"exp":"x","iat":1e999,"nbf":-0}`, nil),
		jwt(`{"alg":"RS256"}`, `{"exp":1.5e9,"a":{"a":{"a":[[[[]]]]}}}`, []byte{1}),
		jwt(`[`, "\xff", nil), "eyJ=.e30.e30", "e30.e30.e30=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		d := decodeToken(token)
		d.write(io.Discard, decodeNow)
		if strings.Count(token, ".") != 2 && len(d.errs) == 0 {
			t.Errorf("decodeToken(%q) reported no error for %d parts", token, strings.Count(token, ".")+1)
		}
		if len(d.errs) == 0 && (!d.header.object || !d.claims.object) {
			t.Errorf("decodeToken(%q) reported no error but a part is not a JSON object", token)
		}
	})
}
