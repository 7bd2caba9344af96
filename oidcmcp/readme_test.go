package oidcmcp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeSectionBuilds builds the Go block of the README's section
// "Protecting an MCP server" inside a function with the variables it takes
// for granted (ctx, issuer, mux), so that the ten lines stay true.
func TestReadmeSectionBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n## Protecting an MCP server\n")
	if !ok {
		t.Fatal(`README.md has no "## Protecting an MCP server" section`)
	}
	_, code, ok := strings.Cut(rest, "```go\n")
	if ok {
		code, _, ok = strings.Cut(code, "```")
	}
	if !ok {
		t.Fatal("the section has no ```go block")
	}
	if n := strings.Count(strings.TrimSpace(code), "\n") + 1; n > 12 {
		t.Errorf("the section's block has %d lines, more than the ten it promises", n)
	}
	prog := `package main

import (
	"context"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/oidcauth/oidcauth"
	"github.com/oidcauth/oidcauth/oidcmcp"
)

func main() {
	ctx, issuer, mux := context.Background(), "https://idp.example.com", http.NewServeMux()
` + code + `	_, _, _ = authz, guard, err
}
`
	dir, err := os.MkdirTemp(".", "_readme_")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "build", "-o", os.DevNull, "./"+dir).CombinedOutput()
	if err != nil {
		t.Errorf("the README's MCP section does not build: %v\n%s\n--- program ---\n%s", err, out, prog)
	}
}
