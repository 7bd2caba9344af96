package oauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oidcauth/oidcauth/oauth"
	"github.com/oidcauth/oidcauth/oauth/internal/oauthtest"
	"github.com/oidcauth/oidcauth/oidctest"
)

// TestRPCertification plays the ID-token, nonce, key-rotation and
// discovery cases of the OpenID Foundation's relying-party certification
// (Basic RP profile, code flow) against the login flow, with the oidctest
// settings that make the provider misbehave. Cases the RP may decide
// either way (rp-id_token-kid-absent-multiple-jwks) state our choice.
// Not applicable: c_hash (no hybrid flow), rp-nonce-unless-code-flow's
// implicit half (no implicit flow; the code flow sends a nonce anyway and
// requires it back), WebFinger (the issuer is configured).
func TestRPCertification(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		alg      string // the provider's key algorithm; default ES256
		settings oidctest.OAuthSettings
		prepare  func(t *testing.T, env *oauthtest.Env) // before the login
		accept   bool
	}{
		{name: "rp-id_token-sig-rs256", alg: "RS256", accept: true},
		{name: "rp-id_token-sig-es256", accept: true},
		{name: "rp-id_token-aud", settings: claims("aud", "another-client")},
		{name: "rp-id_token-iat", settings: claims("iat", nil)},
		{name: "rp-id_token-sub", settings: claims("sub", nil)},
		{name: "rp-id_token-issuer-mismatch", settings: claims("iss", "https://op.example")},
		{name: "rp-id_token-bad-at_hash", settings: claims("at_hash", "AAAAAAAAAAAAAAAAAAAAAA")},
		{name: "rp-id_token-bad-sig-rs256", alg: "RS256",
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{CorruptSignature: true}}},
		{name: "rp-id_token-bad-sig-es256",
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{CorruptSignature: true}}},
		// The client secret as an HMAC key (Core §10.1) is refused: the
		// flow accepts asymmetric signatures only, so a leaked client
		// secret cannot mint ID tokens.
		{name: "rp-id_token-sig-hs256",
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{HS256Secret: oauthtest.ClientSecret}}},
		{name: "rp-id_token-bad-sig-hs256",
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{HS256Secret: "not-the-secret"}}},
		{name: "rp-id_token-sig-none",
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{Unsigned: true}}},
		{name: "rp-id_token-kid-absent-single-jwks", accept: true,
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{Header: map[string]any{"kid": nil}}}},
		// Several published keys and no kid: every key is tried (the
		// certification allows trying them all or refusing).
		{name: "rp-id_token-kid-absent-multiple-jwks", accept: true,
			settings: oidctest.OAuthSettings{IDTokenSigning: oidctest.IDTokenSigning{Header: map[string]any{"kid": nil}}},
			prepare: func(t *testing.T, env *oauthtest.Env) {
				if _, err := env.IdP.AddKey("ES256"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "rp-id_token-unpublished-key", prepare: func(t *testing.T, env *oauthtest.Env) {
			kid, err := env.IdP.AddUnpublishedKey("ES256")
			if err != nil {
				t.Fatal(err)
			}
			if err := env.IdP.SetActiveKey(kid); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "rp-nonce-invalid", settings: claims("nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")},
		{name: "rp-nonce-unless-code-flow (nonce sent, none returned)", settings: claims("nonce", nil)},
		// rp-key-rotation-op-sign-key (and -native: same code path): a
		// first login caches the keys, the provider rotates to a new key,
		// the next login fetches the key set again and succeeds.
		{name: "rp-key-rotation-op-sign-key", accept: true, prepare: func(t *testing.T, env *oauthtest.Env) {
			env.Login(env.NewBrowser(t), "/me")
			if _, err := env.IdP.Rotate("ES256"); err != nil {
				t.Fatal(err)
			}
		}},
		// rp-discovery-jwks_uri-keys: the keys come from the metadata's
		// jwks_uri (checked below for every accepted case).
		{name: "rp-discovery-jwks_uri-keys", accept: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := oauthtest.Start(t, oauthtest.Options{Algorithm: tt.alg, Settings: tt.settings})
			if tt.prepare != nil {
				tt.prepare(t, env)
				env.Errors()
			}
			b := env.NewBrowser(t)
			if tt.accept {
				env.Login(b, "/me")
				if env.IdP.JWKSFetches() == 0 {
					t.Errorf("the keys were not fetched from jwks_uri")
				}
				return
			}
			wantFailure(t, env, b.Get(begin(t, env, b, "/me")), http.StatusUnauthorized, oauth.ErrInvalidIDToken)
		})
	}

	// rp-discovery-issuer-mismatch: metadata naming another issuer is
	// refused by New, and the error says so first.
	t.Run("rp-discovery-issuer-mismatch", func(t *testing.T) {
		t.Parallel()
		idp := oidctest.New(t, oidctest.Options{TLS: true, Algorithm: "ES256"})
		idp.MustRegisterClient(t, oidctest.Client{ID: "app", RedirectURIs: []string{"https://app.example/callback"}})
		doc := idp.DiscoveryDocument()
		doc["issuer"] = "https://op.example"
		idp.SetDiscovery(doc)
		_, err := oauth.New(t.Context(), oauth.Config{
			Issuer: idp.Issuer(), ClientID: "app", RedirectURL: "https://app.example/callback",
			Keys: [][]byte{oauth.GenerateKey()}, HTTPClient: idp.Client(),
		})
		if err == nil || !strings.Contains(err.Error(), "https://op.example") {
			t.Fatalf("New error = %v, want the issuer mismatch", err)
		}
	})
}

// claims is OAuthSettings overriding one ID-token claim (nil removes it).
func claims(name string, v any) oidctest.OAuthSettings {
	return oidctest.OAuthSettings{IDTokenClaims: map[string]any{name: v}}
}
