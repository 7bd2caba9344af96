package oidcgrpc_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain checks, after all tests, that no goroutine is left running: of
// an Authorizer (every one was closed), of a server or of a connection.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		var stuck string
		for range 400 {
			buf := make([]byte, 4<<20)
			n := runtime.Stack(buf, true)
			stuck = ""
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				for _, marker := range []string{"oidcauth.(*keyCache)", "google.golang.org/grpc.", "net/http.(*conn).serve"} {
					if strings.Contains(g, marker) {
						stuck = g
					}
				}
			}
			if stuck == "" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if stuck != "" {
			fmt.Fprintf(os.Stderr, "goroutine leak after all tests:\n%s\n", stuck)
			code = 1
		}
	}
	os.Exit(code)
}
