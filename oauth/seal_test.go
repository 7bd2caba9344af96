package oauth

import (
	"bytes"
	"testing"
)

func TestSealRoundTrip(t *testing.T) {
	t.Parallel()
	k1, k2 := GenerateKey(), GenerateKey()
	s, err := newSealer([][]byte{k1}, "session", testApp)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"hello":"world"}`)
	v := s.seal(msg, "name")
	if len(v) != sealedLen(len(msg)) {
		t.Errorf("sealed length %d, want %d", len(v), sealedLen(len(msg)))
	}
	if v2 := s.seal(msg, "name"); v2 == v {
		t.Error("two seals of the same message are equal")
	}
	got, err := s.open(v, "name")
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open = %q, %v", got, err)
	}

	// Rotation: a sealer with a new key first still opens old values and
	// seals with the new key.
	rotated, _ := newSealer([][]byte{k2, k1}, "session", testApp)
	if _, err := rotated.open(v, "name"); err != nil {
		t.Errorf("rotated sealer cannot open an old value: %v", err)
	}
	onlyNew, _ := newSealer([][]byte{k2}, "session", testApp)
	if _, err := onlyNew.open(v, "name"); err == nil {
		t.Error("a sealer without the old key opened an old value")
	}
	if _, err := onlyNew.open(rotated.seal(msg, "name"), "name"); err != nil {
		t.Errorf("the rotated sealer does not seal with the first key: %v", err)
	}

	// Purpose and name are bound.
	tx, _ := newSealer([][]byte{k1}, "transaction", testApp)
	if _, err := tx.open(v, "name"); err == nil {
		t.Error("a session value opened as a transaction")
	}
	if _, err := s.open(v, "other"); err == nil {
		t.Error("a value opened under another cookie name")
	}
	// So is the application: same keys, another issuer, client or origin.
	for _, app := range []string{
		appBinding("https://idp.example", "b", "https://app.example"),
		appBinding("https://idp.example", "a", "https://staging.example"),
		appBinding("https://other.example", "a", "https://app.example"),
	} {
		other, _ := newSealer([][]byte{k1}, "session", app)
		if _, err := other.open(s.seal(msg, "name"), "name"); err == nil {
			t.Errorf("a value of one application opened in %q", app)
		}
	}
	if appBinding("a:b", "c", "d") == appBinding("a", "b:c", "d") {
		t.Error("appBinding is ambiguous")
	}

	// Any change is detected.
	for i := range v {
		for _, c := range []byte{'A', 'B', '-', '_'} {
			if v[i] == c {
				continue
			}
			bad := v[:i] + string(c) + v[i+1:]
			if _, err := s.open(bad, "name"); err == nil {
				t.Fatalf("tampered value (byte %d = %q) opened", i, c)
			}
		}
	}
	for _, bad := range []string{"", "AA", v[:len(v)-1], v + "A", v + "=", "!" + v[1:]} {
		if _, err := s.open(bad, "name"); err == nil {
			t.Errorf("open(%q) succeeded", bad)
		}
	}
}

func FuzzOpen(f *testing.F) {
	s, _ := newSealer([][]byte{make([]byte, KeySize)}, "session", testApp)
	f.Add(s.seal([]byte("x"), "n"))
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		s.open(v, "n") //nolint:errcheck // must not panic
	})
}

var testApp = appBinding("https://idp.example", "a", "https://app.example")
