package oauth

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzCheckUserInfo: an accepted UserInfo answer is a JSON object whose
// sub is exactly the expected one; a refused one wraps ErrInvalidUserInfo.
func FuzzCheckUserInfo(f *testing.F) {
	for _, s := range []string{`{"sub":"alice"}`, `{"sub":"alice","email":"a@x"}`, `{"sub":"mallory"}`, `{"sub":1}`,
		`["sub"]`, `null`, `{"sub":"alice","sub":"mallory"}`, ` {"sub":"alice"} `, `{"sub":"al\u0069ce"}`, ``, `{"Sub":"alice"}`, `{"sub":"alice","SUB":"mallory"}`, `{"sub":"alice"}x`} {
		f.Add([]byte(s), "alice")
	}
	f.Fuzz(func(t *testing.T, body []byte, sub string) {
		out, err := checkUserInfo(body, sub)
		if err != nil {
			if !errors.Is(err, ErrInvalidUserInfo) {
				t.Fatalf("error %v does not wrap ErrInvalidUserInfo", err)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("accepted %q, result %q is not an object: %v", body, out, err)
		}
		if got, _ := m["sub"].(string); got != sub {
			t.Fatalf("accepted %q with sub %q, want %q", body, got, sub)
		}
		// What DecodeUserInfo gives a struct (case-insensitive matching)
		// is the same subject.
		var st struct{ Sub string }
		if err := json.Unmarshal(out, &st); err != nil || st.Sub != sub {
			t.Fatalf("accepted %q: a struct decodes sub %q (%v), want %q", body, st.Sub, err, sub)
		}
	})
}
