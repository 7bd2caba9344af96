package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestSessionKeyFromCLI checks that what "oidcauth session-key" prints is a
// key the webapp accepts for --session-key (and so $OIDCAUTH_SESSION_KEY,
// its default), and that the webapp starts with it.
func TestSessionKeyFromCLI(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH: cannot run ../../cmd/oidcauth")
	}
	cmd := exec.CommandContext(t.Context(), gobin, "run", "../../cmd/oidcauth", "session-key")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oidcauth session-key: %v\n%s", err, stderr.String())
	}
	key := strings.TrimSuffix(string(out), "\n")
	o, err := parseFlags([]string{"--session-key", key}, &stderr)
	if err != nil {
		t.Fatalf("parseFlags --session-key <printed key>: %v", err)
	}
	k, err := sessionKey(o.sessionKey, quietLogger())
	if err != nil || len(k) != 32 {
		t.Fatalf("sessionKey(<printed key>) = %d bytes, %v; want 32 bytes", len(k), err)
	}
	o.demoUser, o.sessionStore = "alice", "cookie"
	a, err := newApp(t.Context(), o, "127.0.0.1:1", quietLogger())
	if err != nil {
		t.Fatalf("newApp with the printed key: %v", err)
	}
	a.Close()
}
