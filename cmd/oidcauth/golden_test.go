package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// update rewrites the golden files: go test ./cmd/oidcauth -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// checkGolden compares got with testdata/name.golden, or writes it there
// with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// String formats a result for a golden file.
func (r result) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

// replace returns the result with each old replaced by new in both
// streams, in order: for the random ports of test providers.
func (r result) replace(oldnew ...string) result {
	rep := strings.NewReplacer(oldnew...)
	r.stdout, r.stderr = rep.Replace(r.stdout), rep.Replace(r.stderr)
	return r
}

// runAt runs the command line with the clock fixed at now.
func runAt(ctx context.Context, now time.Time, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := runWith(ctx, args, env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout,
		stderr: &stderr,
		now:    func() time.Time { return now },
	})
	return result{code, stdout.String(), stderr.String()}
}

// TestHelpGolden pins the usage text of every command, and checks that
// "help NAME" and "NAME --help" agree.
func TestHelpGolden(t *testing.T) {
	t.Parallel()
	checkGolden(t, "help", runCLI(t, "", "help").stdout)
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a, b := runCLI(t, "", "help", c.name), runCLI(t, "", c.name, "--help")
			if a.code != 0 || b.code != 0 {
				t.Errorf("exit codes = %d, %d, want 0", a.code, b.code)
			}
			if a.stdout != b.stdout {
				t.Errorf("help %s and %s --help differ:\n%s\n---\n%s", c.name, c.name, a.stdout, b.stdout)
			}
			if !strings.HasPrefix(a.stdout, "usage: oidcauth "+c.name) {
				t.Errorf("help %s = %q, want a usage line first", c.name, a.stdout)
			}
			checkGolden(t, "help-"+c.name, a.stdout)
		})
	}
}
