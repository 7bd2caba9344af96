package oauth

import (
	"encoding/json"
	"regexp"
	"testing"
)

// The transaction cookie keeps one seed; state, nonce and PKCE verifier
// are derived from it, distinct, and the same after a round trip.
func TestTransactionDerivedFromSeed(t *testing.T) {
	t.Parallel()
	tx := newTransaction("/next", 42)
	verifier := regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`) // RFC 7636 §4.1
	if !verifier.MatchString(tx.Verifier) || !ValidSessionID(tx.State) || len(tx.Nonce) != 43 {
		t.Fatalf("derived values of the wrong form: state %d, nonce %d, verifier %d chars", len(tx.State), len(tx.Nonce), len(tx.Verifier))
	}
	if tx.State == tx.Nonce || tx.State == tx.Verifier || tx.Nonce == tx.Verifier {
		t.Error("state, nonce and verifier are not distinct")
	}
	if other := newTransaction("/next", 42); other.State == tx.State || other.Verifier == tx.Verifier {
		t.Error("two transactions share a state or verifier")
	}
	b, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 80 {
		t.Errorf("transaction JSON is %d bytes: %s", len(b), b)
	}
	var got transaction
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.State != tx.State || got.Nonce != tx.Nonce || got.Verifier != tx.Verifier || got.Next != tx.Next || got.Expires != tx.Expires {
		t.Errorf("round trip: %+v, want %+v", got, tx)
	}
	for _, bad := range []string{`{}`, `{"k":"short","r":"/","e":1}`, `{"s":"x","n":"y","v":"z","r":"/","e":1}`, `[]`} {
		if err := json.Unmarshal([]byte(bad), new(transaction)); err == nil {
			t.Errorf("Unmarshal(%s) accepted", bad)
		}
	}
}
