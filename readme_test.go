package oidcauth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// quickStart returns the first Go code block after the "## Quick start"
// heading of the README.
func quickStart(readme string) (string, bool) {
	_, rest, ok := strings.Cut(readme, "\n## Quick start\n")
	if !ok {
		return "", false
	}
	if next := strings.Index(rest, "\n## "); next >= 0 {
		rest = rest[:next]
	}
	_, code, ok := strings.Cut(rest, "```go\n")
	if !ok {
		return "", false
	}
	code, _, ok = strings.Cut(code, "```")
	return code, ok
}

// TestReadmeQuickStartBuilds extracts the README's quick start and builds
// it as a program of its own, inside this module so that it uses this
// module's packages, offline (GOPROXY=off, -mod=readonly: nothing is
// downloaded and go.mod is not changed). The quick start must be a
// complete program: package, imports, ctx, mux and a server.
func TestReadmeQuickStartBuilds(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	code, ok := quickStart(string(readme))
	if !ok {
		t.Fatal("README.md has no ```go block under \"## Quick start\"")
	}
	for _, want := range []string{"package main\n", "\nfunc main() {", "oidcauth.New(ctx,", "ListenAndServe()"} {
		if !strings.Contains(code, want) {
			t.Errorf("the quick start has no %q: it must be a complete program", want)
		}
	}
	if !strings.Contains(string(readme), "go get github.com/oidcauth/oidcauth\n") {
		t.Error("README.md does not say how to add the module (go get github.com/oidcauth/oidcauth)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot build the quick start")
	}
	// A directory whose name starts with "_" is inside the module but
	// ignored by ./... patterns, so no other go command sees it.
	dir, err := os.MkdirTemp(".", "_readme_quickstart_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-o", filepath.Join(dir, "quickstart"), "./"+filepath.Base(dir))
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's quick start does not build: %v\n%s\n--- code ---\n%s", err, out, code)
	}
	vet := exec.CommandContext(t.Context(), gobin, "vet", "./"+filepath.Base(dir))
	vet.Env = cmd.Env
	if out, err := vet.CombinedOutput(); err != nil {
		t.Errorf("go vet of the README's quick start: %v\n%s", err, out)
	}
}
