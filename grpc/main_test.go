package oidcgrpc_test

import (
	"testing"

	"github.com/oidcauth/oidcauth/internal/leakcheck"
)

// TestMain checks, after all tests, that no goroutine is left running: of
// an Authorizer (every one was closed), of a server or of a connection.
func TestMain(m *testing.M) {
	leakcheck.Main(m, "oidcauth.(*keyCache)", "google.golang.org/grpc.", "net/http.(*conn).serve")
}
