package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// claimsJSON is a typical OIDC ID token payload (~300 bytes, 11 members,
// one nested array).
var claimsJSON = []byte(`{"iss":"https://accounts.example.com","sub":"248289761001","aud":["s6BhdRkqt3","https://api.example.com"],"exp":1735689600,"iat":1735686000,"nbf":1735686000,"auth_time":1735685990,"jti":"b8f4a2c6-7f3e-4d21-9a0b-5c1e2d3f4a5b","azp":"s6BhdRkqt3","nonce":"n-0S6_WzA2Mj","email_verified":true}`)

// jwksJSON is a JWK set with three RSA keys with 2048-bit moduli.
var jwksJSON = func() []byte {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("{\n  \"keys\": [\n")
	for i := range 3 {
		n := make([]byte, 342) // base64url of 256 bytes
		for j := range n {
			n[j] = b64[r.IntN(len(b64))]
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {"kty":"RSA","use":"sig","alg":"RS256","kid":"key-%d-2025","key_ops":["verify"],"n":"%s","e":"AQAB"}`, i, n)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}()

func TestKindString(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		want string
	}{
		{"invalid", KindInvalid, "invalid"},
		{"string", KindString, "string"},
		{"number", KindNumber, "number"},
		{"object", KindObject, "object"},
		{"array", KindArray, "array"},
		{"true", KindTrue, "true"},
		{"false", KindFalse, "false"},
		{"null", KindNull, "null"},
		{"unknown", Kind(200), "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.kind.String(); got != tt.want {
				t.Errorf("Kind(%d).String() = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Kind
	}{
		{"empty", "", KindInvalid},
		{"string", `"x"`, KindString},
		{"number", "12", KindNumber},
		{"negative", "-1", KindNumber},
		{"zero", "0", KindNumber},
		{"object", "{}", KindObject},
		{"array", "[]", KindArray},
		{"true", "true", KindTrue},
		{"false", "false", KindFalse},
		{"null", "null", KindNull},
		{"leading space", ` "x"`, KindInvalid},
		{"plus", "+1", KindInvalid},
		{"dot", ".5", KindInvalid},
		{"garbage", "x", KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf([]byte(tt.raw)); got != tt.want {
				t.Errorf("KindOf(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}

// nest returns depth levels of open, then inner, then depth levels of close.
func nest(open, inner, close string, depth int) string {
	return strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
}

var validateTests = []struct {
	name string
	in   string
	want error
}{
	// Valid documents.
	{"empty object", `{}`, nil},
	{"empty array", `[]`, nil},
	{"string", `"abc"`, nil},
	{"empty string", `""`, nil},
	{"zero", `0`, nil},
	{"negative zero", `-0`, nil},
	{"integer", `1234567890`, nil},
	{"fraction", `-12.5e+10`, nil},
	{"exponent", `1E-7`, nil},
	{"zero fraction", `0.0`, nil},
	{"zero exponent", `0e0`, nil},
	{"true", `true`, nil},
	{"false", `false`, nil},
	{"null", `null`, nil},
	{"surrounding whitespace", " \t\r\n{\"a\" : [ 1 , 2 ] }\n\t ", nil},
	{"claims", string(claimsJSON), nil},
	{"nested", `{"a":{"b":{"c":[1,{"d":null}]}},"e":[[],{}]}`, nil},
	{"same name in sibling objects", `[{"a":1},{"a":2}]`, nil},
	{"same name at different depths", `{"a":{"a":{"a":1}}}`, nil},
	{"names differing in case", `{"iss":"a","ISS":"b","Iss":"c"}`, nil},
	{"escapes", `"\"\\\/\b\f\n\r\t\u0000\u00e9\uD83D\uDE00"`, nil},
	{"escaped nul name", `{"\u0000":1,"":2}`, nil},
	{"utf8", `{"ключ":"値 😀 \u2028"}`, nil},
	{"max depth arrays", nest("[", "", "]", MaxDepth), nil},
	{"max depth objects", nest(`{"a":`, "1", "}", MaxDepth), nil},
	{"DEL is not a control character", "\"\x7f\"", nil},
	{"literal U+FFFD", "\"\xef\xbf\xbd\"", nil},
	{"max code point", "\"\xf4\x8f\xbf\xbf\"", nil},
	{"large exponent is valid syntax", `1e400`, nil},

	// Grammar violations.
	{"empty input", ``, ErrSyntax},
	{"only whitespace", " \n\t", ErrSyntax},
	{"leading zero", `01`, ErrSyntax},
	{"negative leading zero", `-01`, ErrSyntax},
	{"plus sign", `+1`, ErrSyntax},
	{"leading dot", `.5`, ErrSyntax},
	{"trailing dot", `1.`, ErrSyntax},
	{"dot exponent", `1.e5`, ErrSyntax},
	{"empty exponent", `1e`, ErrSyntax},
	{"signed empty exponent", `1e+`, ErrSyntax},
	{"lone minus", `-`, ErrSyntax},
	{"hex", `0x10`, ErrSyntax},
	{"NaN", `NaN`, ErrSyntax},
	{"Infinity", `Infinity`, ErrSyntax},
	{"negative Infinity", `-Infinity`, ErrSyntax},
	{"trailing comma array", `[1,]`, ErrSyntax},
	{"trailing comma object", `{"a":1,}`, ErrSyntax},
	{"leading comma", `[,1]`, ErrSyntax},
	{"double comma", `[1,,2]`, ErrSyntax},
	{"missing comma", `[1 2]`, ErrSyntax},
	{"missing colon", `{"a" 1}`, ErrSyntax},
	{"missing value", `{"a":}`, ErrSyntax},
	{"unquoted name", `{a:1}`, ErrSyntax},
	{"number name", `{1:1}`, ErrSyntax},
	{"single quotes", `{'a':1}`, ErrSyntax},
	{"single quoted string", `'a'`, ErrSyntax},
	{"line comment", "{\"a\":1 // c\n}", ErrSyntax},
	{"block comment", `{"a":/* c */1}`, ErrSyntax},
	{"hash comment", "# c\n{}", ErrSyntax},
	{"True", `True`, ErrSyntax},
	{"nul literal", `nul`, ErrSyntax},
	{"truex", `truex`, ErrSyntax},
	{"two values", `{} {}`, ErrSyntax},
	{"trailing garbage", `{"a":1}x`, ErrSyntax},
	{"trailing nul", "{}\x00", ErrSyntax},
	{"unclosed object", `{"a":1`, ErrSyntax},
	{"unclosed array", `[1,2`, ErrSyntax},
	{"unclosed string", `"abc`, ErrSyntax},
	{"mismatched brackets", `[1}`, ErrSyntax},
	{"extra close", `[1]]`, ErrSyntax},
	{"byte order mark", "\xef\xbb\xbf{}", ErrSyntax},
	{"form feed whitespace", "\f{}", ErrSyntax},
	{"vertical tab whitespace", "{}\v", ErrSyntax},
	{"NBSP whitespace", "\xc2\xa0{}", ErrSyntax},

	// Strings.
	{"raw tab in string", "\"a\tb\"", ErrSyntax},
	{"raw newline in string", "\"a\nb\"", ErrSyntax},
	{"raw nul in string", "\"a\x00b\"", ErrSyntax},
	{"raw 0x1f in string", "\"\x1f\"", ErrSyntax},
	{"control char in name", "{\"a\x01\":1}", ErrSyntax},
	{"invalid escape", `"\x41"`, ErrSyntax},
	{"escaped single quote", `"\'"`, ErrSyntax},
	{"uppercase U escape", `"\U0041"`, ErrSyntax},
	{"short unicode escape", `"\u041"`, ErrSyntax},
	{"non-hex unicode escape", `"\u00g1"`, ErrSyntax},
	{"backslash at end", `"\`, ErrSyntax},
	{"lone high surrogate", `"\ud800"`, ErrSyntax},
	{"lone low surrogate", `"\udc00"`, ErrSyntax},
	{"high surrogate then text", `"\ud83dx"`, ErrSyntax},
	{"high surrogate then non-surrogate escape", `"\ud83d\u0041"`, ErrSyntax},
	{"two high surrogates", `"\ud83d\ud83d"`, ErrSyntax},
	{"reversed pair", `"\ude00\ud83d"`, ErrSyntax},
	{"high surrogate then other escape", `"\ud83d\n"`, ErrSyntax},
	{"lone surrogate in name", `{"\udfff":1}`, ErrSyntax},
	{"invalid utf8 byte", "\"\xff\"", ErrSyntax},
	{"continuation byte", "\"\x80\"", ErrSyntax},
	{"overlong slash", "\"\xc0\xaf\"", ErrSyntax},
	{"overlong nul", "\"\xc0\x80\"", ErrSyntax},
	{"overlong 3 byte", "\"\xe0\x80\xaf\"", ErrSyntax},
	{"utf8 encoded surrogate", "\"\xed\xa0\x80\"", ErrSyntax},
	{"above max code point", "\"\xf4\x90\x80\x80\"", ErrSyntax},
	{"truncated sequence", "\"\xe2\x82\"", ErrSyntax},
	{"truncated at end", "\"\xe2\x82", ErrSyntax},
	{"invalid utf8 outside string", "[1,\xff]", ErrSyntax},
	{"invalid utf8 in name", "{\"\xfe\":1}", ErrSyntax},

	// Duplicates and depth.
	{"duplicate top level", `{"a":1,"a":2}`, ErrDuplicateName},
	{"duplicate nested", `{"x":{"a":1,"b":2,"a":3}}`, ErrDuplicateName},
	{"duplicate in array element", `[1,{"a":1,"a":1}]`, ErrDuplicateName},
	{"too deep arrays", nest("[", "", "]", MaxDepth+1), ErrTooDeep},
	{"too deep objects", nest(`{"a":`, "1", "}", MaxDepth+1), ErrTooDeep},
	{"too deep mixed", nest(`[{"a":`, "1", "}]", MaxDepth/2+1), ErrTooDeep},
	{"too deep unterminated", strings.Repeat("[", MaxDepth+1), ErrTooDeep},
}

func TestValidate(t *testing.T) {
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]byte(tt.in))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Validate(%q) error = %v, want %v", tt.in, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "jsonx") {
				t.Errorf("Validate(%q) error %q names the internal package", tt.in, err)
			}
			// jsonx is at least as strict as encoding/json.
			if err == nil && !json.Valid([]byte(tt.in)) {
				t.Errorf("Validate(%q) accepted input json.Valid rejects", tt.in)
			}
		})
	}
}

// TestMembersSameRules checks that Members applies exactly the same rules as
// Validate, adding only ErrNotObject for valid non-objects.
func TestMembersSameRules(t *testing.T) {
	for _, tt := range validateTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			in := strings.TrimLeft(tt.in, " \t\r\n")
			if want == nil && !strings.HasPrefix(in, "{") {
				want = ErrNotObject
			}
			called := false
			err := Members([]byte(tt.in), func([]byte, Kind, []byte) error {
				called = true
				return nil
			})
			if !errors.Is(err, want) || (err == nil) != (want == nil) {
				t.Fatalf("Members(%q) error = %v, want %v", tt.in, err, want)
			}
			if err != nil && called {
				t.Errorf("Members(%q) called fn before failing with %v", tt.in, err)
			}
		})
	}
}

type member struct {
	name string
	kind Kind
	raw  string
}

func collectMembers(data []byte) ([]member, error) {
	var got []member
	err := Members(data, func(name []byte, kind Kind, raw []byte) error {
		got = append(got, member{string(name), kind, string(raw)})
		return nil
	})
	return got, err
}

func TestMembers(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []member
	}{
		{"empty", `{}`, nil},
		{"empty with space", " { \n } ", nil},
		{"all kinds", ` { "s" : "v\"}" , "n":-1.5e3,"o":{"x":[1]}, "a":[ 1, "]" ],"t":true,"f":false,"z":null } `, []member{
			{"s", KindString, `"v\"}"`},
			{"n", KindNumber, `-1.5e3`},
			{"o", KindObject, `{"x":[1]}`},
			{"a", KindArray, `[ 1, "]" ]`},
			{"t", KindTrue, `true`},
			{"f", KindFalse, `false`},
			{"z", KindNull, `null`},
		}},
		{"escaped names", `{"\u0069ss":1,"a\"b":2,"\\":3,"\ud83d\ude00":4,"\u0000":5}`, []member{
			{"iss", KindNumber, "1"},
			{`a"b`, KindNumber, "2"},
			{`\`, KindNumber, "3"},
			{"😀", KindNumber, "4"},
			{"\x00", KindNumber, "5"},
		}},
		{"string value ending in backslashes", `{"a":"x\\\\","b":"\\\""}`, []member{
			{"a", KindString, `"x\\\\"`},
			{"b", KindString, `"\\\""`},
		}},
		{"case variants are distinct", `{"iss":"a","ISS":"b"}`, []member{
			{"iss", KindString, `"a"`},
			{"ISS", KindString, `"b"`},
		}},
		{"claims", string(claimsJSON), []member{
			{"iss", KindString, `"https://accounts.example.com"`},
			{"sub", KindString, `"248289761001"`},
			{"aud", KindArray, `["s6BhdRkqt3","https://api.example.com"]`},
			{"exp", KindNumber, `1735689600`},
			{"iat", KindNumber, `1735686000`},
			{"nbf", KindNumber, `1735686000`},
			{"auth_time", KindNumber, `1735685990`},
			{"jti", KindString, `"b8f4a2c6-7f3e-4d21-9a0b-5c1e2d3f4a5b"`},
			{"azp", KindString, `"s6BhdRkqt3"`},
			{"nonce", KindString, `"n-0S6_WzA2Mj"`},
			{"email_verified", KindTrue, `true`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collectMembers([]byte(tt.in))
			if err != nil {
				t.Fatalf("Members() error = %v, want nil", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Members() members = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMembersLargeObject covers objects with more members than the scanner
// records during validation, which Members walks a second time.
func TestMembersLargeObject(t *testing.T) {
	for _, n := range []int{smallObject - 1, smallObject, smallObject + 1, 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var b strings.Builder
			var want []member
			b.WriteString("{ ")
			for i := range n {
				if i > 0 {
					b.WriteString(" ,\n")
				}
				switch i % 4 {
				case 0:
					fmt.Fprintf(&b, `"k%d" : "v\"%d\\"`, i, i)
					want = append(want, member{fmt.Sprintf("k%d", i), KindString, fmt.Sprintf(`"v\"%d\\"`, i)})
				case 1:
					fmt.Fprintf(&b, `"\u006b%d":[%d,{"a":"]}"}]`, i, i)
					want = append(want, member{fmt.Sprintf("k%d", i), KindArray, fmt.Sprintf(`[%d,{"a":"]}"}]`, i)})
				case 2:
					fmt.Fprintf(&b, `"k%d":{"x":{"y":[]}}`, i)
					want = append(want, member{fmt.Sprintf("k%d", i), KindObject, `{"x":{"y":[]}}`})
				case 3:
					fmt.Fprintf(&b, `"k%d":-%d.5e1`, i, i)
					want = append(want, member{fmt.Sprintf("k%d", i), KindNumber, fmt.Sprintf("-%d.5e1", i)})
				}
			}
			b.WriteString(" }")
			got, err := collectMembers([]byte(b.String()))
			if err != nil {
				t.Fatalf("Members() error = %v, want nil", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Members() members = %v, want %v", got, want)
			}
			stop := errors.New("stop")
			calls := 0
			err = Members([]byte(b.String()), func([]byte, Kind, []byte) error {
				calls++
				if calls == n {
					return stop
				}
				return nil
			})
			if err != stop || calls != n {
				t.Errorf("Members() error = %v after %d calls, want %v after %d", err, calls, stop, n)
			}
		})
	}
}

func TestMembersNameAliasing(t *testing.T) {
	data := []byte(`{"plain":1,"esc\u0061ped":2}`)
	var names [][]byte
	err := Members(data, func(name []byte, _ Kind, _ []byte) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		t.Fatalf("Members() error = %v, want nil", err)
	}
	if len(names) != 2 {
		t.Fatalf("Members() reported %d names, want 2", len(names))
	}
	if &names[0][0] != &data[2] {
		t.Errorf("Members() plain name does not alias data")
	}
	// The escaped name is a fresh slice: overwriting it must not touch data.
	before := string(data)
	for i := range names[1] {
		names[1][i] = 'X'
	}
	if string(data) != before {
		t.Errorf("Members() escaped name aliases data")
	}
}

func TestMembersCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := Members([]byte(`{"a":1,"b":2,"c":3}`), func(name []byte, _ Kind, _ []byte) error {
		calls++
		if string(name) == "b" {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Members() error = %v, want %v unchanged", err, stop)
	}
	if calls != 2 {
		t.Errorf("Members() made %d calls, want 2", calls)
	}
}

func TestMembersValidatesBeforeCalling(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"late syntax error", `{"a":1,"b":2,"c":[1,]}`, ErrSyntax},
		{"late duplicate", `{"a":1,"b":2,"a":3}`, ErrDuplicateName},
		{"late nested duplicate", `{"a":1,"b":{"c":[{"d":1,"d":2}]}}`, ErrDuplicateName},
		{"late depth", `{"a":1,"b":` + nest("[", "", "]", MaxDepth) + `}`, ErrTooDeep},
		{"late bad utf8", "{\"a\":1,\"b\":\"\xff\"}", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Members([]byte(tt.in), func([]byte, Kind, []byte) error {
				calls++
				return nil
			})
			if !errors.Is(err, tt.want) {
				t.Errorf("Members() error = %v, want %v", err, tt.want)
			}
			if calls != 0 {
				t.Errorf("Members() called fn %d times on an invalid document, want 0", calls)
			}
		})
	}
}

func TestMembersNilFunc(t *testing.T) {
	if err := Members([]byte(`{"a":[1,2]}`), nil); err != nil {
		t.Errorf("Members(nil fn) error = %v, want nil", err)
	}
	if err := Members([]byte(`{"a":1,"a":2}`), nil); !errors.Is(err, ErrDuplicateName) {
		t.Errorf("Members(nil fn) error = %v, want %v", err, ErrDuplicateName)
	}
	if err := Elements([]byte(`[1]`), nil); err != nil {
		t.Errorf("Elements(nil fn) error = %v, want nil", err)
	}
}

func TestDuplicateNames(t *testing.T) {
	// Names shared by the small (array scan) and large (map) modes.
	many := func(extra ...string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range 40 {
			fmt.Fprintf(&b, `"k%02d":%d,`, i, i)
		}
		b.WriteString(strings.Join(extra, ","))
		b.WriteString("}")
		return b.String()
	}
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"top level", `{"iss":"a","iss":"b"}`, ErrDuplicateName},
		{"top level not adjacent", `{"iss":"a","sub":"b","aud":"c","iss":"d"}`, ErrDuplicateName},
		{"nested object", `{"a":{"kid":1,"kid":2}}`, ErrDuplicateName},
		{"object inside array", `{"keys":[{"kty":"RSA"},{"kty":"RSA","kty":"EC"}]}`, ErrDuplicateName},
		{"top-level array", `[{"a":1,"a":1}]`, ErrDuplicateName},
		{"escaped variant", `{"a":1,"\u0061":2}`, ErrDuplicateName},
		{"escaped first", `{"\u0061":1,"a":2}`, ErrDuplicateName},
		{"both escaped differently", `{"\u0061":1,"\u0041":2,"\u0061":3}`, ErrDuplicateName},
		{"uppercase hex escape", `{"\u00E9":1,"é":2}`, ErrDuplicateName},
		{"escaped iss", `{"iss":"a","\u0069ss":"b"}`, ErrDuplicateName},
		{"escaped slash", `{"a/b":1,"a\/b":2}`, ErrDuplicateName},
		{"surrogate pair vs utf8", `{"😀":1,"\ud83d\ude00":2}`, ErrDuplicateName},
		{"escaped nul", `{"\u0000":1,"\u0000":2}`, ErrDuplicateName},
		{"empty names", `{"":1,"":2}`, ErrDuplicateName},
		{"duplicate after nested value", `{"a":{"b":1},"c":[1],"a":2}`, ErrDuplicateName},
		{"large object duplicate across modes", many(`"k03":1`), ErrDuplicateName},
		{"large object duplicate in map mode", many(`"new":1`, `"new":2`), ErrDuplicateName},
		{"large object escaped duplicate", many(`"k\u00305":1`), ErrDuplicateName},
		{"large object escaped new then plain", many(`"\u0078":1`, `"x":2`), ErrDuplicateName},

		{"case differs", `{"iss":1,"ISS":2,"Iss":3}`, nil},
		{"prefix", `{"a":1,"ab":2,"abc":3}`, nil},
		{"escape decodes to different name", `{"a":1,"\u0062":2}`, nil},
		{"escaped name vs longer", `{"\u0061":1,"aa":2}`, nil},
		{"nul vs empty", `{"\u0000":1,"":2}`, nil},
		{"backslash vs slash", `{"\\":1,"\/":2}`, nil},
		{"same name different objects", `{"a":{"a":1},"b":{"a":2}}`, nil},
		{"large object distinct", many(`"k40":1`, `"\u006b41":2`), nil},
		{"exactly 16 members", func() string {
			var parts []string
			for i := range 16 {
				parts = append(parts, fmt.Sprintf(`"%c":1`, 'a'+i))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}(), nil},
		{"17th member duplicates 1st", func() string {
			var parts []string
			for i := range 16 {
				parts = append(parts, fmt.Sprintf(`"%c":1`, 'a'+i))
			}
			return "{" + strings.Join(parts, ",") + `,"a":2}`
		}(), ErrDuplicateName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Members([]byte(tt.in), nil)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Members() error = %v, want %v", err, tt.want)
			}
			err = Validate([]byte(tt.in))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestLargeDocuments checks that big hostile inputs are rejected or accepted
// in linear time.
func TestLargeDocuments(t *testing.T) {
	const size = 1 << 20
	distinct := func() []byte {
		var b bytes.Buffer
		b.WriteString("{")
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"n%d":%d`, i, i)
		}
		b.WriteString("}")
		return b.Bytes()
	}()
	escapedDistinct := bytes.ReplaceAll(distinct, []byte(`"n`), []byte(`"\u006e`))
	longNames := func() []byte {
		// 16 names of 64 KiB sharing a long prefix: the worst case for
		// the linear scan of small objects.
		prefix := strings.Repeat("a", 64<<10)
		var parts []string
		for i := range 16 {
			parts = append(parts, fmt.Sprintf(`"%s%c":1`, prefix, 'a'+i))
		}
		return []byte("{" + strings.Join(parts, ",") + "}")
	}()
	escapedLongNames := bytes.ReplaceAll(longNames, []byte(`"aaaa`), []byte(`"\u0061aaa`))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"1 MiB of [", bytes.Repeat([]byte("["), size), ErrTooDeep},
		{"1 MiB of {\"a\":", bytes.Repeat([]byte(`{"a":`), size/5), ErrTooDeep},
		{"1 MiB of [{},", bytes.Repeat([]byte("[{},"), size/4), ErrTooDeep},
		{"1 MiB flat array of objects", append(append([]byte("["), bytes.Repeat([]byte(`{"a":1},`), size/8)...), '{', '}', ']'), nil},
		{"1 MiB of distinct names", distinct, nil},
		{"1 MiB of escaped distinct names", escapedDistinct, nil},
		{"1 MiB of distinct names then duplicate", append(bytes.Clone(bytes.TrimSuffix(distinct, []byte("}"))), `,"n7":1}`...), ErrDuplicateName},
		{"long names with shared prefix", longNames, nil},
		{"escaped long names with shared prefix", escapedLongNames, nil},
		{"1 MiB string", []byte(`"` + strings.Repeat("é\\n", size/4) + `"`), nil},
		{"1 MiB of flat array", append(append([]byte("["), bytes.Repeat([]byte("1,"), size/2)...), '1', ']'), nil},
		{"1 MiB of backslashes", append([]byte(`"`), bytes.Repeat([]byte(`\\`), size/2)...), ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := Validate(tt.in)
			elapsed := time.Since(start)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Validate() error = %v, want %v", err, tt.want)
			}
			// Generous bound: the race detector makes this much slower
			// than normal; a quadratic algorithm would take minutes.
			if elapsed > 5*time.Second {
				t.Errorf("Validate() took %v on %d bytes", elapsed, len(tt.in))
			}
		})
	}
}

func TestDepth(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"arrays at MaxDepth", nest("[", "", "]", MaxDepth), nil},
		{"arrays at MaxDepth+1", nest("[", "", "]", MaxDepth+1), ErrTooDeep},
		{"objects at MaxDepth", nest(`{"k":`, `{}`, "}", MaxDepth-1), nil},
		{"objects at MaxDepth+1", nest(`{"k":`, `{}`, "}", MaxDepth), ErrTooDeep},
		{"mixed at MaxDepth", nest(`[{"k":`, "0", "}]", MaxDepth/2), nil},
		{"mixed at MaxDepth+1", "[" + nest(`{"k":[`, "0", "]}", MaxDepth/2) + "]", ErrTooDeep},
		{"siblings do not add up", "[" + nest("[", "", "]", MaxDepth-1) + "," + nest("[", "", "]", MaxDepth-1) + "]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]byte(tt.in))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestElements(t *testing.T) {
	type elem struct {
		kind Kind
		raw  string
	}
	tests := []struct {
		name    string
		in      string
		want    []elem
		wantErr error
	}{
		{"empty", `[]`, nil, nil},
		{"empty with space", `[ ]`, nil, nil},
		{"whitespace around", " [1] \n", []elem{{KindNumber, "1"}}, nil},
		{"all kinds", `[ "a]" , 1.5,{"b":[2]},[3,[4]],true,false,null ]`, []elem{
			{KindString, `"a]"`},
			{KindNumber, "1.5"},
			{KindObject, `{"b":[2]}`},
			{KindArray, `[3,[4]]`},
			{KindTrue, "true"},
			{KindFalse, "false"},
			{KindNull, "null"},
		}, nil},
		{"object", `{"a":[1]}`, nil, ErrNotArray},
		{"string", `"[1]"`, nil, ErrNotArray},
		{"number", `1`, nil, ErrNotArray},
		{"empty input", ``, nil, ErrSyntax},
		{"trailing comma", `[1,]`, nil, ErrSyntax},
		{"duplicate inside", `[{"a":1,"a":2}]`, nil, ErrDuplicateName},
		{"too deep", nest("[", "", "]", MaxDepth+1), nil, ErrTooDeep},
		{"trailing data", `[1] [2]`, nil, ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []elem
			err := Elements([]byte(tt.in), func(kind Kind, raw []byte) error {
				got = append(got, elem{kind, string(raw)})
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Elements() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil && got != nil {
				t.Errorf("Elements() called fn before failing: %v", got)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Elements() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestElementsCallbackError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := Elements([]byte(`[1,2,3]`), func(Kind, []byte) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("Elements() error = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestElementsOfMembers(t *testing.T) {
	var kids []string
	err := Members(jwksJSON, func(name []byte, kind Kind, raw []byte) error {
		if string(name) != "keys" || kind != KindArray {
			return fmt.Errorf("unexpected member %q of kind %v", name, kind)
		}
		return Elements(raw, func(kind Kind, raw []byte) error {
			return Members(raw, func(name []byte, kind Kind, raw []byte) error {
				if string(name) == "kid" {
					s, err := String(raw)
					kids = append(kids, s)
					return err
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatalf("Members() error = %v, want nil", err)
	}
	if want := []string{"key-0-2025", "key-1-2025", "key-2-2025"}; fmt.Sprint(kids) != fmt.Sprint(want) {
		t.Errorf("kids = %q, want %q", kids, want)
	}
}

// refValid is an independent reference for Validate built on
// encoding/json's tokenizer. comparable is false when the reference cannot
// tell (encoding/json replaces lone surrogates with U+FFFD, so inputs that
// already contain U+FFFD are ambiguous).
func refValid(data []byte) (ok, comparable bool) {
	if !json.Valid(data) {
		return false, true
	}
	if !utf8.Valid(data) {
		return false, true
	}
	if bytes.Contains(data, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) {
		return false, false
	}
	type level struct {
		object  bool
		wantKey bool
		names   map[string]bool
	}
	var stack []*level
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true, true
		}
		if err != nil {
			return false, false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if s, isStr := tok.(string); isStr && strings.ContainsRune(s, utf8.RuneError) {
			return false, true // a lone surrogate was replaced
		}
		if top != nil && top.object && top.wantKey {
			if d, isDelim := tok.(json.Delim); isDelim && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			name := tok.(string)
			if top.names[name] {
				return false, true
			}
			top.names[name] = true
			top.wantKey = false
			continue
		}
		if top != nil && top.object {
			top.wantKey = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{object: true, wantKey: true, names: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > MaxDepth {
			return false, true
		}
	}
}

// mutate applies a few random edits to seed, biased towards JSON syntax.
func mutate(r *rand.Rand, seed []byte) []byte {
	const alphabet = "{}[]:,\"\\ \t\n\r0123456789-+.eEtrufalsn/bu\x00\x1f\x7f\x80\xbf\xc0\xc3\xa9\xed\xa0\xf0\x9f\xff"
	pieces := []string{`\u0000`, `\ud83d`, `\ude00`, `\u0061`, `"a":1,`, `"a"`, `[`, `]`, `{`, `}`, `\"`, `\\`, "é", "😀", "true", "null", "-0.5e+7"}
	b := append([]byte(nil), seed...)
	for range 1 + r.IntN(3) {
		switch op := r.IntN(6); {
		case op == 0 && len(b) > 0: // delete a byte
			i := r.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		case op == 1 && len(b) > 0: // replace a byte
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		case op == 2: // insert a byte
			i := r.IntN(len(b) + 1)
			b = append(b[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
		case op == 3: // insert a piece
			i := r.IntN(len(b) + 1)
			b = append(b[:i], append([]byte(pieces[r.IntN(len(pieces))]), b[i:]...)...)
		case op == 4 && len(b) > 0: // duplicate a slice
			i := r.IntN(len(b))
			j := i + r.IntN(len(b)-i+1)
			k := r.IntN(len(b) + 1)
			b = append(b[:k], append(append([]byte(nil), b[i:j]...), b[k:]...)...)
		case op == 5 && len(b) > 0: // truncate
			b = b[:r.IntN(len(b))]
		}
	}
	return b
}

var differentialSeeds = []string{
	`{}`, `[]`, `""`, `0`, `true`, `null`,
	`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
	`{"\u0061":"\ud83d\ude00","b":"\\\"\/\b\f\n\r\t"}`,
	`[-0.5e+10, 1E2, 0, 12345, "x", {"y": []}]`,
	`{"iss":"https://example.com","aud":["a","b"],"exp":1700000000}`,
	"{\"é\":\"😀\",\"\u2028\":1}",
	nest("[", "1", "]", MaxDepth-1),
	nest(`{"a":`, "{}", "}", MaxDepth-2),
}

// TestDifferential compares Validate with json.Valid and with an
// encoding/json based reference over many mutated documents: whatever
// json.Valid rejects, Validate must reject; whatever Validate accepts,
// json.Valid must accept; and where the reference can decide, both agree
// exactly.
func TestDifferential(t *testing.T) {
	n := 200000
	if testing.Short() {
		n = 20000
	}
	r := rand.New(rand.NewPCG(42, 7))
	for i := range n {
		in := mutate(r, []byte(differentialSeeds[i%len(differentialSeeds)]))
		err := Validate(in)
		stdOK := json.Valid(in)
		if !stdOK && err == nil {
			t.Fatalf("Validate(%q) = nil, but json.Valid rejects it", in)
		}
		if ref, comparable := refValid(in); comparable && ref != (err == nil) {
			t.Fatalf("Validate(%q) error = %v, reference valid = %v", in, err, ref)
		}
		// Members applies the same rules.
		merr := Members(in, nil)
		switch {
		case err != nil && !errors.Is(merr, errors.Unwrap(err)):
			t.Fatalf("Members(%q) error = %v, want %v", in, merr, err)
		case err == nil && merr != nil && !errors.Is(merr, ErrNotObject):
			t.Fatalf("Members(%q) error = %v, want nil or %v", in, merr, ErrNotObject)
		}
	}
}

// escapeRune returns r as a \u escape, or a surrogate pair of them above
// U+FFFF, with upper- or lower-case hex digits.
func escapeRune(r rune, upper bool) string {
	format := "\\u%04x"
	if upper {
		format = "\\u%04X"
	}
	if r >= 0x10000 {
		r -= 0x10000
		return fmt.Sprintf(format+format, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
	}
	return fmt.Sprintf(format, r)
}

// quoteAllEscaped encodes s with every character as a \u escape.
func quoteAllEscaped(s string, upper bool) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		b.WriteString(escapeRune(r, upper))
	}
	b.WriteByte('"')
	return b.String()
}

func TestStringTokens(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    string
		wantErr error
	}{
		{"empty", `""`, "", nil},
		{"plain", `"abc"`, "abc", nil},
		{"utf8", `"héllo 😀"`, "héllo 😀", nil},
		{"simple escapes", `"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t", nil},
		{"nul escape", `"a\u0000b"`, "a\x00b", nil},
		{"only nul escape", `"\u0000"`, "\x00", nil},
		{"latin1 escape", `"\u00e9\u00C9"`, "éÉ", nil},
		{"bmp escape", `"\u20ac"`, "€", nil},
		{"U+FFFF", `"\uffff"`, "\uffff", nil},
		{"surrogate pair", `"\ud83d\ude00"`, "😀", nil},
		{"uppercase surrogate pair", `"\uD83D\uDE00"`, "😀", nil},
		{"max surrogate pair", `"\udbff\udfff"`, "\U0010FFFF", nil},
		{"min surrogate pair", `"\ud800\udc00"`, "\U00010000", nil},
		{"escaped U+FFFD", `"\ufffd"`, "\ufffd", nil},
		{"line separator", `"\u2028"`, "\u2028", nil},
		{"mixed", `"a\nb\u00e9c\ud83d\ude00d"`, "a\nbéc😀d", nil},
		{"backslash before quote", `"\\"`, `\`, nil},

		{"not a string: number", `1`, "", ErrType},
		{"not a string: object", `{}`, "", ErrType},
		{"not a string: empty", ``, "", ErrType},
		{"not a string: leading space", ` "a"`, "", ErrType},
		{"unterminated", `"abc`, "", ErrSyntax},
		{"only quote", `"`, "", ErrSyntax},
		{"trailing data", `"a"b`, "", ErrSyntax},
		{"trailing space", `"a" `, "", ErrSyntax},
		{"two strings", `"a""b"`, "", ErrSyntax},
		{"escaped closing quote", `"a\"`, "", ErrSyntax},
		{"lone high", `"\ud800"`, "", ErrSyntax},
		{"lone low", `"\udfff"`, "", ErrSyntax},
		{"high then ascii", `"\ud800a"`, "", ErrSyntax},
		{"high then escaped ascii", `"\ud800\u0061"`, "", ErrSyntax},
		{"high then truncated", `"\ud800\ud`, "", ErrSyntax},
		{"bad escape", `"\a"`, "", ErrSyntax},
		{"short hex", `"\u12"`, "", ErrSyntax},
		{"raw control", "\"\x01\"", "", ErrSyntax},
		{"raw newline", "\"\n\"", "", ErrSyntax},
		{"invalid utf8", "\"\xff\"", "", ErrSyntax},
		{"overlong", "\"\xc1\xbf\"", "", ErrSyntax},
		{"utf8 surrogate", "\"\xed\xbf\xbf\"", "", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			got, err := String(raw)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("String(%q) error = %v, want %v", tt.raw, err, tt.wantErr)
			}
			prefix := []byte("prefix")
			u, uerr := Unquote(prefix, raw)
			if !errors.Is(uerr, tt.wantErr) || (uerr == nil) != (tt.wantErr == nil) {
				t.Fatalf("Unquote(%q) error = %v, want %v", tt.raw, uerr, tt.wantErr)
			}
			if err != nil {
				if string(u) != "prefix" {
					t.Errorf("Unquote(%q) on error = %q, want dst unchanged", tt.raw, u)
				}
				if EqualString(raw, "") || EqualString(raw, tt.raw) || EqualString(raw, tt.raw[min(1, len(tt.raw)):]) {
					t.Errorf("EqualString(%q, ...) = true for an invalid token", tt.raw)
				}
				return
			}
			if got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.raw, got, tt.want)
			}
			if string(u) != "prefix"+tt.want {
				t.Errorf("Unquote(%q) = %q, want %q", tt.raw, u, "prefix"+tt.want)
			}
			if !EqualString(raw, tt.want) {
				t.Errorf("EqualString(%q, %q) = false, want true", tt.raw, tt.want)
			}
			checkStringAgainstStd(t, raw, got)
		})
	}
}

// checkStringAgainstStd compares a successful decode of raw (got) with
// encoding/json and checks EqualString against near misses.
func checkStringAgainstStd(t *testing.T, raw []byte, got string) {
	t.Helper()
	var want string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("json.Unmarshal(%q) error = %v, but String accepted it as %q", raw, err, got)
	}
	if got != want {
		t.Fatalf("String(%q) = %q, encoding/json decodes %q", raw, got, want)
	}
	if !EqualString(raw, want) {
		t.Fatalf("EqualString(%q, %q) = false, want true", raw, want)
	}
	for _, miss := range nearMisses(want) {
		if EqualString(raw, miss) {
			t.Fatalf("EqualString(%q, %q) = true, want false", raw, miss)
		}
	}
}

func nearMisses(s string) []string {
	out := []string{s + "x", s + "\x00", "x" + s}
	if len(s) > 0 {
		out = append(out, s[:len(s)-1], s[1:])
		b := []byte(s)
		b[len(b)-1] ^= 1
		out = append(out, string(b))
		b = []byte(s)
		b[0] ^= 0x20
		out = append(out, string(b))
	}
	return out
}

// TestStringRoundTrip encodes random strings in several ways and checks
// that String, Unquote and EqualString recover them and agree with
// encoding/json.
func TestStringRoundTrip(t *testing.T) {
	runes := []rune{
		'a', 'Z', '0', ' ', '"', '\\', '/', '\x00', '\x01', '\b', '\f', '\n', '\r', '\t', '\x1f', '\x7f',
		'<', '>', '&', 'é', 'ß', '€', '\u2028', '\u2029', '\ufeff', '\ufffd', '\uffff', '😀', '\U00010000', '\U0010FFFF', '中',
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		var sb strings.Builder
		for range r.IntN(12) {
			sb.WriteRune(runes[r.IntN(len(runes))])
		}
		s := sb.String()
		std, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		encodings := []string{string(std), quoteAllEscaped(s, i%2 == 0)}
		// A mixed encoding: escape a random subset of characters.
		var mixed strings.Builder
		mixed.WriteByte('"')
		for _, c := range s {
			if c < 0x20 || c == '"' || c == '\\' || r.IntN(2) == 0 {
				mixed.WriteString(escapeRune(c, r.IntN(2) == 0))
			} else {
				mixed.WriteRune(c)
			}
		}
		mixed.WriteByte('"')
		encodings = append(encodings, mixed.String())
		for _, enc := range encodings {
			raw := []byte(enc)
			got, err := String(raw)
			if err != nil {
				t.Fatalf("String(%q) error = %v, want nil", raw, err)
			}
			if got != s {
				t.Fatalf("String(%q) = %q, want %q", raw, got, s)
			}
			u, err := Unquote(nil, raw)
			if err != nil || string(u) != s {
				t.Fatalf("Unquote(%q) = %q, %v, want %q", raw, u, err, s)
			}
			checkStringAgainstStd(t, raw, got)
		}
	}
}

func TestEqualString(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		s    string
		want bool
	}{
		{"plain equal", `"RS256"`, "RS256", true},
		{"plain case differs", `"RS256"`, "rs256", false},
		{"plain longer", `"RS256"`, "RS2567", false},
		{"plain shorter", `"RS256"`, "RS25", false},
		{"empty", `""`, "", true},
		{"empty vs nonempty", `""`, "a", false},
		{"escaped equal", `"R\u0053256"`, "RS256", true},
		{"escaped not equal", `"R\u0053256"`, "RS257", false},
		{"escaped prefix", `"R\u0053256"`, "RS25", false},
		{"escaped longer", `"R\u0053256"`, "RS2566", false},
		{"nul escape", `"\u0000"`, "\x00", true},
		{"nul escape vs empty", `"\u0000"`, "", false},
		{"surrogate pair", `"\ud83d\ude00"`, "😀", true},
		{"surrogate pair vs replacement", `"\ud83d\ude00"`, "\ufffd", false},
		{"lone surrogate vs replacement", `"\ud83d"`, "\ufffd", false},
		{"lone surrogate vs cesu", `"\ud83d"`, "\xed\xa0\xbd", false},
		{"invalid utf8 raw equal bytes", "\"\xff\"", "\xff", false},
		{"control char equal bytes", "\"\n\"", "\n", false},
		{"embedded quote", `"a"b"`, `a"b`, false},
		{"not a string", `123`, "123", false},
		{"unterminated", `"abc`, "ab", false},
		{"single quote char", `"`, "", false},
		{"bare backslash", `"\"`, `\`, false},
		{"escaped backslash", `"\\"`, `\`, true},
		{"escaped slash", `"a\/b"`, "a/b", true},
		{"raw slash vs escaped", `"a/b"`, `a\/b`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EqualString([]byte(tt.raw), tt.s); got != tt.want {
				t.Errorf("EqualString(%q, %q) = %v, want %v", tt.raw, tt.s, got, tt.want)
			}
		})
	}
}

func TestFloat(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		want     float64
		wantErr  error
		anyError bool
	}{
		{"integer", "1735689600", 1735689600, nil, false},
		{"negative", "-2.5", -2.5, nil, false},
		{"exponent", "1e3", 1000, nil, false},
		{"negative exponent", "25E-1", 2.5, nil, false},
		{"zero", "0", 0, nil, false},
		{"max float", "1.7976931348623157e308", math.MaxFloat64, nil, false},
		{"underflow rounds to zero", "1e-400", 0, nil, false},
		{"overflow", "1e400", 0, strconv.ErrRange, false},
		{"negative overflow", "-1e400", 0, strconv.ErrRange, false},
		{"string", `"1"`, 0, ErrType, false},
		{"empty", ``, 0, ErrType, false},
		{"true", `true`, 0, ErrType, false},
		{"plus", `+1`, 0, ErrType, false},
		{"leading space", ` 1`, 0, ErrType, false},
		{"leading zero", `01`, 0, ErrSyntax, false},
		{"trailing dot", `1.`, 0, ErrSyntax, false},
		{"trailing space", `1 `, 0, ErrSyntax, false},
		{"hex", `0x1p3`, 0, ErrSyntax, false},
		{"underscore", `1_000`, 0, ErrSyntax, false},
		{"inf", `-inf`, 0, ErrSyntax, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Float([]byte(tt.raw))
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Float(%q) error = %v, want %v", tt.raw, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "jsonx") {
				t.Errorf("Float(%q) error %q names the internal package", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("Float(%q) = %v, want %v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"syntax", `{"a":1,}`, "syntax error at offset 7: expected string for member name, found '}'"},
		{"duplicate", `{"a":1,"a":2}`, "duplicate member name at offset 7: member name repeats an earlier name in the same object"},
		{"eof", `[1,`, "syntax error at offset 3: unexpected end of input, expected value"},
		{"control", "\"\x00\"", `syntax error at offset 1: control character in string '\x00'`},
		{"depth", nest("[", "", "]", MaxDepth+1), "nesting too deep at offset 64: more than 64 nested objects and arrays"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate() error = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Members([]byte(`[1]`), nil); err == nil || err.Error() != "not an object at offset 0: top-level value is an array" {
		t.Errorf("Members() error = %v, want not an object message", err)
	}
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under coverage")
	}
	escapedName := []byte(`{"a":1,"b":{"c":[1,2,{"d":null}]},"e":"\u00e9\n","f":[],"g":{}}`)
	plainTok := []byte(`"RS256"`)
	escTok := []byte(`"R\u0053256\ud83d\ude00"`)
	array := []byte(`["a",1,{"b":2}]`)
	escaped16 := []byte(`{"\u0061":1,"\u0062":2,"c":3,"\u0064\u0065":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16}`)
	emptyTok := []byte(`""`)
	number := []byte("1735689600")
	sink := 0
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"Members claims", 0, func() {
			if err := Members(claimsJSON, func(name []byte, kind Kind, raw []byte) error {
				sink += len(name)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"Members nested", 0, func() {
			if err := Members(escapedName, func(name []byte, kind Kind, raw []byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"Validate JWKS", 0, func() {
			if err := Validate(jwksJSON); err != nil {
				t.Fatal(err)
			}
		}},
		{"Elements", 0, func() {
			if err := Elements(array, func(Kind, []byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}},
		{"Validate 16 escaped names", 0, func() {
			if err := Validate(escaped16); err != nil {
				t.Fatal(err)
			}
		}},
		{"EqualString plain", 0, func() {
			if !EqualString(plainTok, "RS256") {
				t.Fatal("EqualString = false")
			}
		}},
		{"EqualString plain mismatch", 0, func() {
			if EqualString(plainTok, "ES256") {
				t.Fatal("EqualString = true")
			}
		}},
		{"EqualString escaped", 0, func() {
			if !EqualString(escTok, "RS256😀") {
				t.Fatal("EqualString = false")
			}
		}},
		{"String empty", 0, func() {
			if s, err := String(emptyTok); err != nil || s != "" {
				t.Fatal(s, err)
			}
		}},
		{"String plain", 1, func() {
			if s, err := String(plainTok); err != nil || s != "RS256" {
				t.Fatal(s, err)
			}
		}},
		{"String escaped", 1, func() {
			if s, err := String(escTok); err != nil || s != "RS256😀" {
				t.Fatal(s, err)
			}
		}},
		{"Float", 0, func() {
			if f, err := Float(number); err != nil || f != 1735689600 {
				t.Fatal(f, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.fn); got > tt.max {
				t.Errorf("%s allocs = %v, want <= %v", tt.name, got, tt.max)
			}
		})
	}
	_ = sink
}

func TestNoPanicOnTruncations(t *testing.T) {
	// Every prefix and suffix of valid documents must be handled without
	// panicking by every entry point.
	docs := [][]byte{claimsJSON, jwksJSON, []byte(`{"a":"\ud83d\ude00\\\"","b":[1.5e-3,{"c":null}],"\u0061b":true}`)}
	for _, d := range docs {
		for i := range len(d) + 1 {
			for _, in := range [][]byte{d[:i], d[i:]} {
				_ = Validate(in)
				_ = Members(in, func([]byte, Kind, []byte) error { return nil })
				_ = Elements(in, func(Kind, []byte) error { return nil })
				_, _ = String(in)
				_, _ = Unquote(nil, in)
				_ = EqualString(in, "a")
				_, _ = Float(in)
			}
		}
	}
}

// TestMembersMutatingCallback checks that a callback that scribbles over the
// document cannot make Members panic.
func TestMembersMutatingCallback(t *testing.T) {
	// More members than the scanner records, so Members walks the
	// document a second time while the callback scribbles over it.
	large := []byte(`{"a":1,"b":"2","c":[3],"d":{"e":4},"\u0066":5,"g":6,"h":7,"i":8,"j":9,"k":10,"l":11,"m":12,"n":13,"o":14,"p":15,"q":16,"r":"\"}","s":[{"t":"]"}]}`)
	for _, doc := range [][]byte{claimsJSON, large} {
		testMutatingCallback(t, doc)
	}
}

func testMutatingCallback(t *testing.T, doc []byte) {
	for pos := range len(doc) {
		for _, c := range []byte(`"\{}[],: x`) {
			data := bytes.Clone(doc)
			calls := 0
			_ = Members(data, func([]byte, Kind, []byte) error {
				if calls == 0 {
					data[pos] = c
				}
				calls++
				return nil
			})
			arr := []byte(`["a\"",[1,{"b":"]"}],"c"]`)
			_ = Elements(arr, func(Kind, []byte) error {
				arr[pos%len(arr)] = c
				return nil
			})
		}
	}
}

func BenchmarkMembersClaims(b *testing.B) {
	fn := func(name []byte, kind Kind, raw []byte) error { return nil }
	b.SetBytes(int64(len(claimsJSON)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Members(claimsJSON, fn); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEqualString(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		raw := []byte(`"https://accounts.example.com"`)
		b.ReportAllocs()
		for b.Loop() {
			if !EqualString(raw, "https://accounts.example.com") {
				b.Fatal("not equal")
			}
		}
	})
	b.Run("mismatch", func(b *testing.B) {
		raw := []byte(`"https://accounts.example.com"`)
		b.ReportAllocs()
		for b.Loop() {
			if EqualString(raw, "https://accounts.example.org") {
				b.Fatal("equal")
			}
		}
	})
	b.Run("escaped", func(b *testing.B) {
		raw := []byte(`"https:\/\/accounts.example.com\u002f"`)
		b.ReportAllocs()
		for b.Loop() {
			if !EqualString(raw, "https://accounts.example.com/") {
				b.Fatal("not equal")
			}
		}
	})
}

func BenchmarkValidateJWKS(b *testing.B) {
	b.SetBytes(int64(len(jwksJSON)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(jwksJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibClaims is a point of comparison: encoding/json decoding
// the same payload into map[string]json.RawMessage.
func BenchmarkStdlibClaims(b *testing.B) {
	b.SetBytes(int64(len(claimsJSON)))
	b.ReportAllocs()
	for b.Loop() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(claimsJSON, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkString(b *testing.B) {
	raw := []byte(`"b8f4a2c6-7f3e-4d21-9a0b-5c1e2d3f4a5b"`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := String(raw); err != nil {
			b.Fatal(err)
		}
	}
}
