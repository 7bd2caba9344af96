// Package leakcheck finds goroutines that a package's tests left running.
// TestMain of the root package and of the nested modules (grpc, connect)
// use it, so that every goroutine an Authorizer, a server or a connection
// started is proven to stop.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and, when they pass, fails the run if a goroutine
// whose stack contains one of markers is still running 2 s later; it
// prints that goroutine's stack. It does not return.
func Main(m *testing.M, markers ...string) {
	code := m.Run()
	if code == 0 {
		if stuck := Stuck(2*time.Second, markers...); stuck != "" {
			fmt.Fprintf(os.Stderr, "goroutine leak after all tests:\n%s\n", stuck)
			code = 1
		}
	}
	os.Exit(code)
}

// Stuck waits up to wait for every goroutine whose stack contains one of
// markers to return, and returns the stack of one still running, or "".
func Stuck(wait time.Duration, markers ...string) string {
	deadline := time.Now().Add(wait)
	for {
		stuck := find(markers)
		if stuck == "" || time.Now().After(deadline) {
			return stuck
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func find(markers []string) string {
	buf := make([]byte, 4<<20)
	n := runtime.Stack(buf, true)
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		for _, marker := range markers {
			if strings.Contains(g, marker) {
				return g
			}
		}
	}
	return ""
}
