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
// Every RSA key is freshly generated (2048 bits, some tens of
// milliseconds); keys are never shared between providers or key ids, so a
// token from one provider never verifies against another's keys. Test
// suites that start very many providers and do not care about the
// algorithm can use Options{Algorithm: "ES256"}, which is much faster.
//
// The package is for tests only: keys are kept in memory in the clear,
// and nothing here authenticates anyone.
package oidctest
