package oidcgrpc

import (
	"context"

	"google.golang.org/grpc/credentials"
)

// TokenCredentials sends a bearer token with every call of a client
// (grpc.WithPerRPCCredentials): the "authorization" metadata
// "Bearer " + Token.
type TokenCredentials struct {
	// Token is the access token sent.
	Token string
	// InsecureAllowPlaintext lets the token go over a connection without
	// transport security, for tests on loopback or bufconn. Default false:
	// gRPC refuses to send it in clear text.
	InsecureAllowPlaintext bool
}

var _ credentials.PerRPCCredentials = TokenCredentials{}

// GetRequestMetadata returns the authorization metadata.
func (c TokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + c.Token}, nil
}

// RequireTransportSecurity is true unless InsecureAllowPlaintext is set.
func (c TokenCredentials) RequireTransportSecurity() bool { return !c.InsecureAllowPlaintext }
