package bench

import (
	"context"
	"os"
	"sync"
	"testing"
)

var (
	suiteOnce sync.Once
	suiteVal  *Suite
	suiteErr  error
)

// suite returns the Suite shared by all tests and benchmarks of the
// binary: one provider, every contender set up once, keys fetched.
func suite(tb testing.TB) *Suite {
	tb.Helper()
	suiteOnce.Do(func() { suiteVal, suiteErr = NewSuite(context.Background()) })
	if suiteErr != nil {
		tb.Fatal(suiteErr)
	}
	return suiteVal
}

func TestMain(m *testing.M) {
	code := m.Run()
	if suiteVal != nil {
		suiteVal.Close()
	}
	os.Exit(code)
}

// TestContenders checks, before anything is timed, that every contender
// accepts the good token (and hands back its claims) and rejects each bad
// one. The floors check only the signature, so they must reject the
// tampered tokens and accept the others.
func TestContenders(t *testing.T) {
	s := suite(t)
	ctx := context.Background()
	for _, alg := range Algorithms {
		toks := s.Tokens[alg]
		for _, c := range s.Contenders {
			if !c.For(alg) {
				continue
			}
			v := s.Validator(alg, c.Name)
			t.Run(alg+"/"+c.Name, func(t *testing.T) {
				r, err := v(ctx, toks.Good)
				if err != nil {
					t.Fatalf("good token: error = %v, want nil", err)
				}
				if !c.Floor && (r.Subject != "alice" || r.ClientID != "c1") {
					t.Errorf("good token: result = %+v, want sub alice, client_id c1", r)
				}
				for _, bad := range toks.Bad() {
					_, err := v(ctx, bad.Token)
					t.Logf("%s: %v", bad.Name, err)
					signatureBad := bad.Name == "tampered payload" || bad.Name == "tampered signature"
					switch {
					case c.Floor && !signatureBad:
						if err != nil {
							t.Errorf("%s: floor error = %v, want nil (it checks the signature only)", bad.Name, err)
						}
					case err == nil:
						t.Errorf("%s: error = nil, want rejection", bad.Name)
					}
				}
			})
		}
	}
}

// BenchmarkValidate is one validation of the good token per contender:
// key cached, token not seen before (no contender caches verdicts).
func BenchmarkValidate(b *testing.B) {
	benchmarkValidate(b, false)
}

// BenchmarkValidateParallel is BenchmarkValidate with RunParallel; run it
// with -cpu 1,2 for the scaling ratio.
func BenchmarkValidateParallel(b *testing.B) {
	benchmarkValidate(b, true)
}

func benchmarkValidate(b *testing.B, parallel bool) {
	s := suite(b)
	for _, alg := range Algorithms {
		tok := s.Tokens[alg].Good
		b.Run(alg, func(b *testing.B) {
			for _, c := range s.Contenders {
				if !c.For(alg) {
					continue
				}
				v := s.Validator(alg, c.Name)
				b.Run(c.Name, func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					if parallel {
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								if _, err := v(ctx, tok); err != nil {
									b.Error(err)
									return
								}
							}
						})
						return
					}
					for b.Loop() {
						if _, err := v(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
