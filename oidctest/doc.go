// Package oidctest is an in-process fake OpenID provider for tests and
// demos of services that validate OAuth 2.0 / OpenID Connect JWT access
// tokens.
//
// A [Provider] listens on a loopback address only (127.0.0.1 by default)
// and serves:
//
//   - a discovery document at {issuer}/.well-known/openid-configuration
//     and at the RFC 8414 locations (see [Provider.SetDiscoveryPaths]);
//   - a JWKS at {issuer}/jwks ([Provider.JWKSURL]) with the published
//     public keys.
//
// It mints compact JWS tokens signed with RS256, RS384, RS512, PS256,
// PS384, PS512, ES256, ES384, ES512 or EdDSA (Ed25519), with sensible
// default claims ("iss", "iat", "exp") and header ("alg", "kid", "typ")
// that every test can override or remove. Keys can be added, published,
// removed and rotated while the provider runs, and both endpoints can be
// made to misbehave with a [Fault]: error statuses, delays, wrong content
// types, huge bodies, dropped connections and redirects. Request counters
// ([Provider.JWKSFetches], [Provider.DiscoveryFetches]) let tests check
// caching.
//
// In a test:
//
//	func TestAPI(t *testing.T) {
//		idp := oidctest.New(t) // closed by t.Cleanup
//		token := idp.MustMint(t, map[string]any{
//			"sub": "alice",
//			"aud": "my-api",
//		})
//
//		// Configure the code under test with idp.Issuer() (or
//		// idp.JWKSURL()), use idp.Client() as its HTTP client when
//		// Options.TLS is set, and send "Authorization: Bearer " + token.
//
//		// Rotation: a new key signs from now on, the old one stays
//		// published until removed.
//		old := idp.ActiveKeyID()
//		if _, err := idp.Rotate("ES256"); err != nil {
//			t.Fatal(err)
//		}
//		_ = idp.RemoveKey(old)
//
//		// Outage: the JWKS answers 503 after two seconds.
//		idp.SetJWKSFault(&oidctest.Fault{Status: 503, Delay: 2 * time.Second})
//	}
//
// Programs and examples use [Start] and must call [Provider.Close].
//
// # The OAuth side
//
// [Provider.RegisterClient] turns on an authorization endpoint (with
// automatic sign-in of a configured subject, or a sign-in form), a token
// endpoint (authorization_code with PKCE S256, refresh_token with
// rotation; ID tokens with nonce, azp and at_hash), an end-session
// endpoint and the RFC 9207 iss parameter, and adds them to the discovery
// document. [Provider.SetOAuth] changes their behaviour (for example to
// skip PKCE or send a wrong iss, for attack tests), [Provider.SetTokenFault]
// injects faults at the token endpoint, and [Provider.OAuthStats] counts
// what happened. Package oauth's tests and examples/webapp use it.
//
// # An authorization server for MCP clients
//
// What the official MCP clients send is served, so that an MCP server's own
// tests need no external provider:
//
//   - RFC 8414 metadata at /.well-known/oauth-authorization-server (and the
//     OpenID Connect location) with code_challenge_methods_supported
//     ["S256"], token_endpoint_auth_methods_supported including "none",
//     grant_types_supported including client_credentials, and
//     registration_endpoint / client_id_metadata_document_supported once
//     turned on;
//   - dynamic client registration (RFC 7591) at {issuer}/register,
//     [Provider.EnableRegistration]: open registration of public clients
//     (token_endpoint_auth_method "none") with https or loopback http
//     redirect URIs, 201 with client_id, RFC 7591 §3.2.2 errors; loopback
//     redirect URIs match with any port (RFC 8252 §7.3);
//   - Client ID Metadata Documents, [Provider.EnableClientMetadataDocuments]:
//     a client_id that is the https URL of the client's JSON document,
//     fetched with the library's bounds (5 s, 1 MiB, no redirect; http on
//     loopback only with ClientMetadataSettings.AllowLoopbackHTTP), whose
//     client_id must equal its URL and which must list the redirect_uri;
//   - authorization code + PKCE S256 with automatic sign-in
//     (OAuthSettings.AutoLogin); a request without any scope (no openid
//     either) gets an access token and no ID token;
//   - the resource parameter (RFC 8707) at the authorization or token
//     endpoint sets the access token's aud; it must be an absolute URI
//     without fragment (invalid_target otherwise), and a token request may
//     not change the resource of its grant (OAuthSettings.IgnoreResource
//     plays a provider without RFC 8707);
//   - client_credentials for confidential clients (the client is the
//     subject, no refresh token);
//   - every access token carries client_id, and iss is the metadata's
//     issuer.
//
// In a test:
//
//	idp := oidctest.New(t)
//	idp.EnableRegistration(oidctest.RegistrationSettings{})
//	idp.SetOAuth(oidctest.OAuthSettings{AutoLogin: "alice"})
//	// point the MCP server's Authorizer at idp.Issuer() with the resource as
//	// audience, and its client at the server: it registers, signs in and
//	// gets a token whose aud is the resource.
//
// Every RSA key is freshly generated (2048 bits, some tens of
// milliseconds); keys are never shared between providers or key ids, so a
// token from one provider never verifies against another's keys. Test
// suites that start very many providers and do not care about the
// algorithm can use Options{Algorithm: "ES256"}, which is much faster.
//
// The package is for tests only: keys are kept in memory in the clear,
// and nothing here authenticates anyone.
package oidctest
