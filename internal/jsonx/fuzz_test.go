package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSeeds are documents covering the tricky cases: escapes in names,
// surrogates, invalid UTF-8, duplicates, depth, large objects and number
// edge cases.
var fuzzSeeds = []string{
	`{}`,
	`[]`,
	` {"a" : 1 } `,
	string(claimsJSON),
	`{"a":1,"a":2}`,
	`{"a":1,"\u0061":2}`,
	`{"iss":1,"ISS":2}`,
	`{"\u0000":1,"":2}`,
	`{"\ud83d\ude00":1,"😀":2}`,
	`{"a":{"b":[{"c":1,"c":2}]}}`,
	`{"a":"\ud800"}`,
	`{"a":"\udc00\ud800"}`,
	`{"a":"\ud83d\u0041"}`,
	"{\"a\":\"\xff\"}",
	"{\"a\":\"\xc0\xaf\"}",
	"{\"a\":\"\xed\xa0\x80\"}",
	"{\"\xef\xbf\xbd\":1,\"\\ufffd\":2}",
	"{\"a\":\"\x1f\"}",
	"\xef\xbb\xbf{}",
	`{"a":01}`,
	`{"a":-0.0e-0}`,
	`{"a":1.}`,
	`{"a":[1,]}`,
	`{"a":1,}`,
	`{"a":tru}`,
	`{"a":"\\\"\/\b\f\n\r\t"}`,
	`{"k00":0,"k01":1,"k02":2,"k03":3,"k04":4,"k05":5,"k06":6,"k07":7,"k08":8,"k09":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k\u00301":17}`,
	`{"aaaaaaaa1":1,"aaaaaaaa2":2,"aaaaaaa\u00611":3}`,
	nest("[", "", "]", MaxDepth),
	nest("[", "", "]", MaxDepth+1),
	nest(`{"a":`, "1", "}", MaxDepth),
	`"a"`,
	`1e400`,
}

func FuzzMembers(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, tt := range validateTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		type got struct {
			name string
			kind Kind
			raw  []byte
		}
		var members []got
		err := Members(data, func(name []byte, kind Kind, raw []byte) error {
			members = append(members, got{string(name), kind, raw})
			if kind != KindOf(raw) {
				t.Errorf("Members(%q) kind %v for raw %q, KindOf says %v", data, kind, raw, KindOf(raw))
			}
			if err := Validate(raw); err != nil {
				t.Errorf("Members(%q) raw value %q does not validate: %v", data, raw, err)
			}
			if kind == KindArray {
				if err := Elements(raw, func(k Kind, v []byte) error {
					if k != KindOf(v) || Validate(v) != nil {
						t.Errorf("Elements(%q) bad element %q (kind %v)", raw, v, k)
					}
					return nil
				}); err != nil {
					t.Errorf("Elements(%q) error = %v on an array Members accepted", raw, err)
				}
			} else if err := Elements(raw, nil); !errors.Is(err, ErrNotArray) {
				t.Errorf("Elements(%q) error = %v, want %v", raw, err, ErrNotArray)
			}
			return nil
		})
		if !bytes.Equal(data, orig) {
			t.Fatalf("Members modified its input")
		}
		vErr := Validate(data)

		if err != nil {
			if members != nil {
				t.Fatalf("Members(%q) called fn and then failed with %v", data, err)
			}
			if strings.Contains(err.Error(), "jsonx") {
				t.Fatalf("Members(%q) error %q names the internal package", data, err)
			}
			if errors.Is(err, ErrNotObject) {
				if vErr != nil {
					t.Fatalf("Members(%q) = %v but Validate = %v", data, err, vErr)
				}
			} else if !errors.Is(vErr, errors.Unwrap(err)) {
				t.Fatalf("Members(%q) = %v but Validate = %v", data, err, vErr)
			}
		}
		if vErr == nil && !json.Valid(data) {
			t.Fatalf("Validate(%q) = nil, but json.Valid rejects it", data)
		}
		if ref, comparable := refValid(data); comparable && ref != (vErr == nil) {
			t.Fatalf("Validate(%q) error = %v, reference valid = %v", data, vErr, ref)
		}
		if err != nil {
			return
		}

		// Members accepted: encoding/json must agree on every name and
		// value, with nothing lost to duplicates.
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("json.Unmarshal(%q) error = %v, but Members accepted it", data, err)
		}
		if len(m) != len(members) {
			t.Fatalf("Members(%q) reported %d members, encoding/json decodes %d", data, len(members), len(m))
		}
		for _, mb := range members {
			raw, ok := m[mb.name]
			if !ok {
				t.Fatalf("Members(%q) reported name %q, encoding/json has no such key", data, mb.name)
			}
			if !bytes.Equal(raw, mb.raw) {
				t.Fatalf("Members(%q) raw for %q = %q, encoding/json has %q", data, mb.name, mb.raw, raw)
			}
		}
	})
}

func FuzzString(f *testing.F) {
	for _, s := range []string{
		`""`, `"abc"`, `"\u0000"`, `"a\u0000b"`, `"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\udbff\udfff"`,
		`"\ud800"`, `"\udc00"`, `"\ud800\u0041"`, `"\ud800\ud800"`, `"\ud800\\"`, `"\"\\\/\b\f\n\r\t"`,
		`"\x"`, `"\u12"`, `"\u12g4"`, `"abc`, `"a"b`, `"a" `, `'a'`, "\"\t\"", "\"\x7f\"", "\"\xff\"",
		"\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\xef\xbf\xbd\"",
		`"\ufffd"`, `"é😀中"`, `"\u00e9\u00C9"`, `"` + strings.Repeat(`\\`, 9) + `"`, `1`, ``, `"`,
		`"https:\/\/accounts.example.com"`, `"0123456789abcdef\"0123456789"`,
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(`"RS256"`), "RS256")
	f.Add([]byte(`"R\u0053256"`), "RS256")
	f.Add([]byte(`"\ud83d"`), "\ufffd")
	f.Add([]byte("\"\xff\""), "\xff")
	f.Fuzz(func(t *testing.T, raw []byte, s string) {
		got, err := String(raw)
		u, uerr := Unquote([]byte("x"), raw)
		eq := EqualString(raw, s)
		if (err == nil) != (uerr == nil) {
			t.Fatalf("String(%q) error = %v but Unquote error = %v", raw, err, uerr)
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrType) {
				t.Fatalf("String(%q) error = %v, want %v or %v", raw, err, ErrSyntax, ErrType)
			}
			if errors.Is(err, ErrType) != (KindOf(raw) != KindString) {
				t.Fatalf("String(%q) error = %v for kind %v", raw, err, KindOf(raw))
			}
			if eq {
				t.Fatalf("EqualString(%q, %q) = true for an invalid token", raw, s)
			}
			if string(u) != "x" {
				t.Fatalf("Unquote(%q) = %q on error, want dst unchanged", raw, u)
			}
			// Anything String rejects that encoding/json accepts as a
			// string must be invalid UTF-8 or a lone surrogate escape.
			var std string
			if KindOf(raw) == KindString && json.Unmarshal(raw, &std) == nil && utf8.Valid(raw) &&
				!bytes.ContainsAny(raw, " \t\r\n") && !strings.ContainsRune(std, utf8.RuneError) {
				t.Fatalf("String(%q) error = %v, but encoding/json decodes %q", raw, err, std)
			}
			return
		}
		if string(u) != "x"+got {
			t.Fatalf("Unquote(%q) = %q, String = %q", raw, u, got)
		}
		if eq != (got == s) {
			t.Fatalf("EqualString(%q, %q) = %v, String = %q", raw, s, eq, got)
		}
		if err := Validate(raw); err != nil {
			t.Fatalf("Validate(%q) error = %v, but String accepted it", raw, err)
		}
		checkStringAgainstStd(t, raw, got)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q) = %q is not valid UTF-8", raw, got)
		}
	})
}
