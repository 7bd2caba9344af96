package oauth

import (
	"fmt"

	"github.com/oidcauth/oidcauth"
)

// Internal URLs: a provider reached inside a cluster by another name than
// its issuer (Keycloak at http://keycloak:8080 behind the public
// https://login.example.com). Config.MetadataURL, JWKSURL, TokenURL and
// UserInfoURL replace the URLs of the server-to-server requests only:
//
//	discovery     GET Config.MetadataURL instead of {Issuer}/.well-known/openid-configuration;
//	              the document's issuer must still equal Config.Issuer
//	              byte for byte, and ID tokens' iss too
//	keys          Config.JWKSURL instead of jwks_uri
//	token         Config.TokenURL instead of token_endpoint (code, refresh)
//	userinfo      Config.UserInfoURL instead of userinfo_endpoint
//
// The browser-facing endpoints (authorization_endpoint,
// end_session_endpoint) are always the discovered ones. The internal URLs
// must be https, or http on a loopback host, unless
// Config.InsecureInternalHTTP allows plain http (a cluster network you
// trust: the client secret, codes and tokens cross it in the clear).

// checkInternalURLs validates the internal URLs of cfg.
func checkInternalURLs(cfg Config) error {
	for _, u := range []struct{ name, v string }{
		{"MetadataURL", cfg.MetadataURL}, {"JWKSURL", cfg.JWKSURL}, {"TokenURL", cfg.TokenURL}, {"UserInfoURL", cfg.UserInfoURL},
	} {
		if u.v == "" {
			continue
		}
		if err := oidcauth.CheckURL("Config."+u.name, u.v, cfg.InsecureInternalHTTP); err != nil {
			return fmt.Errorf("oauth: %w (set Config.InsecureInternalHTTP for plain http inside a trusted network)", err)
		}
	}
	if cfg.UserInfoURL != "" && !cfg.UserInfo {
		return fmt.Errorf("oauth: Config.UserInfoURL is set but Config.UserInfo is not")
	}
	return nil
}

// applyInternalURLs replaces the discovered server-to-server endpoints of
// md by the configured internal ones.
func applyInternalURLs(cfg Config, md *providerMetadata) {
	if cfg.JWKSURL != "" {
		md.JWKSURL = cfg.JWKSURL
	}
	if cfg.TokenURL != "" {
		md.TokenURL = cfg.TokenURL
	}
	if cfg.UserInfoURL != "" {
		md.UserInfoURL = cfg.UserInfoURL
	}
}
