package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTypeScriptSDKClient runs e2e/e2e.mjs: the official MCP TypeScript
// SDK's client against this example with its embedded authorization server
// (see the script for the steps). It needs Node.js and e2e/node_modules
// (npm ci in e2e, as mcp-ci.sh does); without them it skips, unless
// OIDCAUTH_REQUIRE_MCP_E2E=1, when it fails.
func TestTypeScriptSDKClient(t *testing.T) {
	required := os.Getenv("OIDCAUTH_REQUIRE_MCP_E2E") == "1"
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("e2e", "node_modules", "@modelcontextprotocol", "sdk", "package.json"))
	}
	if err != nil {
		if required {
			t.Fatalf("OIDCAUTH_REQUIRE_MCP_E2E=1 but node or e2e/node_modules is missing (run npm ci in examples/mcp/e2e): %v", err)
		}
		t.Skipf("skipping: node or examples/mcp/e2e/node_modules missing (npm ci there, or set OIDCAUTH_REQUIRE_MCP_E2E=1 to fail): %v", err)
	}
	for _, scope := range []string{"", "mcp:tools"} {
		t.Run("scope="+scope, func(t *testing.T) { runE2E(t, node, scope) })
	}
}

// runE2E runs the script against the example, with --scope when scope is
// set: the client then asks for it, as the 401's scope attribute says.
func runE2E(t *testing.T, node, scope string) {
	var args []string
	wantAuth, wantScopes := `scope=""`, `"scopes":[]}`
	if scope != "" {
		args = []string{"--scope", scope}
		wantAuth, wantScopes = `scope="`+scope+`"`, `"scopes":["`+scope+`"]}`
	}
	base, _ := start(t, args...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "e2e.mjs", base+"/mcp")
	cmd.Dir = "e2e"
	out, err := cmd.CombinedOutput()
	t.Logf("node e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("e2e.mjs: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if lines[len(lines)-1] != "e2e: ok" {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	for _, want := range []string{
		"/mcp -> 401 WWW-Authenticate: Bearer", "resource_metadata=",
		"GET " + base + "/.well-known/oauth-protected-resource/mcp -> 200",
		"/.well-known/oauth-authorization-server -> 200",
		"/register -> 201",
		"authorization request (resource=" + base + "/mcp",
		"/token -> 200",
		`whoami -> {"sub":"alice","client_id":"`,
		`token for another resource -> 401 WWW-Authenticate: Bearer`,
		"authorization request (resource=" + base + "/mcp, " + wantAuth,
		wantScopes,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
