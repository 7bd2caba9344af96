package oidcauth

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"sort"
)

// staticKeySet builds the key set of Config.StaticKeys, StaticJWKS or
// HMACSecret. Unlike a fetched JWKS, a static key that cannot be used is a
// configuration error: New fails.
func staticKeySet(cfg Config, allowed algSet, log *slog.Logger) (*keySet, error) {
	set := &keySet{byKID: make(map[string]*verifyKey)}
	add := func(k *verifyKey) error {
		if k.kid != "" && set.byKID[k.kid] != nil {
			return fmt.Errorf("oidcauth: duplicate static key id %q", k.kid)
		}
		set.keys = append(set.keys, k)
		if k.kid != "" {
			set.byKID[k.kid] = k
		}
		return nil
	}
	if cfg.HMACSecret != nil {
		secret := append([]byte(nil), cfg.HMACSecret...)
		if err := add(&verifyKey{hmac: secret, algs: allowed & hmacAlgs, desc: "HMAC"}); err != nil {
			return nil, err
		}
	}
	if cfg.StaticJWKS != nil {
		js, skipped, err := parseJWKS(cfg.StaticJWKS, allowed)
		for _, s := range skipped {
			log.Warn("oidcauth: skipped unusable static key", slog.String("kid", s.KeyID), slog.Int("index", s.Index), slog.String("reason", s.Reason))
		}
		if err != nil {
			return nil, wrapf(err, "Config.StaticJWKS")
		}
		for _, k := range js.keys {
			if err := add(k); err != nil {
				return nil, err
			}
		}
	}
	kids := make([]string, 0, len(cfg.StaticKeys))
	for kid := range cfg.StaticKeys {
		kids = append(kids, kid)
	}
	sort.Strings(kids)
	for _, kid := range kids {
		k, reason := newVerifyKey(kid, cfg.StaticKeys[kid], "", allowed)
		if reason != "" {
			return nil, fmt.Errorf("oidcauth: Config.StaticKeys[%q]: %s", kid, reason)
		}
		if err := add(k); err != nil {
			return nil, err
		}
	}
	if len(set.keys) == 0 {
		return nil, errors.New("oidcauth: no usable static key")
	}
	set.index()
	return set, nil
}

// ParsePublicKeyPEM parses a PEM-encoded public key for Config.StaticKeys:
// a "PUBLIC KEY" (PKIX), an "RSA PUBLIC KEY" (PKCS #1) or a "CERTIFICATE"
// (its public key; the certificate itself is not verified). Private keys
// are refused.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("oidcauth: no PEM block found")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return cert.PublicKey, nil
	}
	return nil, fmt.Errorf("oidcauth: PEM block %q is not a public key", block.Type)
}
