// Package oauth signs users in to a web application with an OpenID Connect
// provider and keeps them signed in: the authorization code flow with PKCE
// (OpenID Connect Core 1.0 §3.1, RFC 6749 §4.1, RFC 7636), sessions in
// cookies or on a server, token refresh, and logout.
//
// Quick start:
//
//	flow, err := oauth.New(ctx, oauth.Config{
//		Issuer:       "https://example.eu.auth0.com/",
//		ClientID:     "my-app",
//		ClientSecret: os.Getenv("CLIENT_SECRET"),
//		RedirectURL:  "https://app.example.com/callback",
//		Keys:         [][]byte{sessionKey}, // 32 secret random bytes, the same on every replica
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer flow.Close()
//	mux.Handle("GET /login", flow.LoginHandler())
//	mux.Handle("GET /callback", flow.CallbackHandler())
//	mux.Handle("POST /logout", flow.LogoutHandler())
//	mux.Handle("GET /account", flow.RequireLogin(account)) // oidcauth.ClaimsFromContext in account
//
// # The flow
//
// [Flow.RequireLogin] sends a visitor without a session to the login
// handler with next set to the page asked for. The login handler keeps a
// random state, nonce and PKCE verifier in a transaction cookie of its
// own and redirects to the provider. The provider sends the browser back
// to the callback, which checks the state before it redeems the code,
// checks the RFC 9207 iss parameter, verifies the ID token (signature,
// iss, aud, azp, exp, iat, nonce, at_hash; OpenID Connect Core 1.0
// §3.1.3.7), creates a session with a new ID, and answers 303 to next
// with the session cookie set on that very redirect. next is only ever a
// local path ([IsLocalRedirect]): an open redirect is not possible.
//
// The callback's failures go to Config.ErrorHandler with an error that
// wraps one of the Err... sentinels ([StatusCode] gives the status); the
// default answer is a plain-text page that echoes nothing.
//
// # Middleware
//
//	                         RequireLogin        MaybeLogin          Required
//	session                  next, with claims   next, with claims   next, with claims
//	no session, navigation   302 to the login    next, anonymous     401
//	no session, other        401                 next, anonymous     401
//	bearer token             (ignored)           (ignored)           Authorizer decides
//	unsafe cross-origin      403                 next, anonymous     403
//
// Handlers read the claims of the session's ID token with
// [oidcauth.ClaimsFromContext], exactly as behind an [oidcauth.Authorizer],
// and the session's tokens with [SessionFromContext]. [Flow.Required]
// takes a bearer token (when Config.Authorizer is set) or a session, for
// APIs called both by the signed-in browser and by other clients.
//
// # Cookies
//
// All cookies are HttpOnly, Secure, SameSite=Lax, Path=/, without Domain,
// and named with the __Host- prefix (RFC 6265bis §4.1.3.2, §5.4.7); for
// local development only, an http:// RedirectURL on a loopback host drops
// Secure and the prefix, with a warning logged. SameSite=Lax, not Strict:
// the session must be sent on the redirect chain that ends a login, which
// starts at the provider.
//
//	__Host-oidcauth-<app>            the session; lives SessionLifetime (8 h);
//	                                 ".1", ".2" chunks when large
//	__Host-oidcauth-<app>-tx-<hash>  one per login in progress, at most
//	                                 MaxTransactions (5); lives TransactionLifetime
//	                                 (10 min); deleted by the callback
//
// <app> is 8 hex digits of a hash of the issuer and client ID, so that two
// Flows on one origin never share cookies; Config.CookieName NAME gives
// __Host-NAME and __Host-NAME-tx-<hash> instead ([Flow.SessionCookieName]).
//
// Cookie values are sealed with AES-256-GCM under keys derived with
// HKDF-SHA256 from Config.Keys (key rotation: new key first, old keys
// after). A session that does not fit in MaxCookieChunks (3) cookies of
// about 3800 bytes fails the login with ErrSessionTooLarge; nothing is
// ever truncated. A typical session (ID token with name and email, access
// token and refresh token) takes about 1.5 KB with ES256 tokens and
// 2.2 KB with RS256: one cookie.
//
// # Sessions
//
// A [Store] keeps sessions: the encrypted cookie store (the default),
// [MemoryStore], or package redisstore for many replicas. Every store
// enforces the session's absolute expiry; a tampered, expired or unknown
// cookie is no session. Logout deletes the session from the store, so with
// a server-side store an old copy of the cookie is refused at once; the
// cookie store cannot revoke a copy before it expires (see [Store]).
//
// # Token refresh
//
// When a session's access token is due (Config.RefreshMargin before it
// expires) and the session has a refresh token, the next request
// refreshes it (RFC 6749 §6); concurrent requests share one refresh; a
// returned ID token is verified and must name the same iss, sub, aud and
// azp (OpenID Connect Core 1.0 §12.2). A refused refresh ends the session;
// an unreachable provider answers 503 and keeps it. See refresh.go for the
// whole policy.
//
// # Logout
//
// [Flow.LogoutHandler] takes a same-origin POST (checked with
// Sec-Fetch-Site or Origin by [http.CrossOriginProtection]), deletes the
// session and, when the provider has an end_session_endpoint, continues
// with RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), by
// default with a POST form that keeps the ID token out of URLs (see
// Logout and requests to the provider, below).
//
// # Sessions and keys
//
// Config.Keys are per application. A Flow derives its sealing keys from
// them with HKDF-SHA256 (RFC 5869) and its issuer, client ID and redirect
// origin, so a session or transaction cookie sealed by one Flow does not
// open in a Flow for another client, issuer or origin, even one given the
// same keys (staging and production, apps made from one template). At
// every use the Flow also checks the session's ID token against itself,
// as at login (OpenID Connect Core 1.0 §3.1.3.7): iss is the Flow's
// issuer, aud contains its client ID, azp (when present) is its client
// ID. That binds the sessions of server-side stores, whose cookie carries
// only an ID, too: a MemoryStore or Redis shared by two applications never
// hands one the other's sessions. A refused session is no session (its
// cookie is deleted) and stays in the store for its own application.
// Upgrading from a version without this binding signs everyone out once.
//
// Sessions end at the first of:
//
//  1. Session.ExpiresAt, SessionLifetime (8 h) after the login, however
//     the session is used;
//  2. Config.IdleTimeout (30 min) without a request (OWASP Session
//     Management Cheat Sheet, idle timeout), with every store: the Flow
//     records the last use in the session (Session.LastSeen, written with
//     Store.Update) at most once per IdleTimeout/10, so a session ends
//     between 0.9 and 1 IdleTimeout after its last request, and the
//     cookie store sets a new cookie at most every 3 minutes rather than
//     on every request; negative disables it;
//  3. logout, or a refused token refresh.
//
// A login in progress costs one transaction cookie of about 180 bytes
// plus its next: state, nonce and PKCE verifier are derived from one
// random 256-bit seed, next is kept only up to Config.MaxNextLen (512)
// bytes (a longer one is replaced by PostLoginPath), and at most
// MaxTransactions (5, at most 10) are kept. Five logins in progress take
// at most about 4.3 KB of Cookie header (RFC 6265bis §5.6), so links with
// long next values cannot lock a user out of the application.
//
// # What is logged
//
// Failed logins, ended sessions and configuration warnings, with
// log/slog: never tokens, codes, secrets or cookie values.
//
// # Logout and requests to the provider
//
// Logout, in order ([Flow.LogoutHandler]):
//
//  1. POST only, same origin (else 405, 403);
//  2. a session of another Flow (shared store) is not deleted and its ID
//     token is not used; a session of this Flow is deleted from the
//     store; the session cookies are deleted in both cases;
//  3. with a session of this Flow and an end_session_endpoint
//     (RP-Initiated Logout 1.0 §2): by default a 200 page whose form
//     POSTs id_token_hint, client_id and post_logout_redirect_uri, sent
//     by an inline script allowed by its hash (Content-Security-Policy
//     default-src 'none'; script-src 'sha256-…'; form-action the
//     endpoint's origin and post_logout_redirect_uri's origin, which
//     browsers also check on the redirect back). Config.EndSessionRedirect
//     redirects with client_id only (no hint: most providers then ask the
//     user to confirm); Config.InsecureEndSessionHintInURL redirects with
//     the hint in the URL, where it lands in histories and logs;
//  4. otherwise 303 to Config.PostLogoutPath.
//
// A provider whose logout redirects through a third host before coming
// back needs EndSessionRedirect (the page's form-action would block it).
//
// Requests to the provider: discovery and the key set follow redirects
// on the same host only (at most 5, [oidcauth.RestrictRedirects]); the
// token requests (code exchange and refresh, RFC 6749 §3.2) follow none
// ([oidcauth.NoRedirects]), so the code, the PKCE verifier and the client
// secret never reach another server: a redirect fails the login with
// ErrProviderUnavailable wrapping [oidcauth.ErrRedirectRefused]. When the
// metadata names another issuer, New's error says so first. ID tokens
// (OpenID Connect Core 1.0 §3.1.3.7) must be signed with an asymmetric
// algorithm the provider lists (HS256 with the client secret and "none"
// are refused), carry iss, aud (with azp when several), sub, exp and
// iat (§2), and the login's nonce; at_hash is checked when present. A
// token without kid is checked against every published key.
// TestRPCertification runs the OpenID RP certification's rp-id_token-*,
// rp-nonce-*, rp-key-rotation-* and rp-discovery-* cases.
//
// # Fleets: replicas, provider outages, internal URLs, UserInfo
//
// Replicas sharing a server-side store refresh a session once: the store's
// [RefreshLocker] (memory and Redis stores; the SQL store) lets one
// replica redeem the refresh token and write the new tokens back, the
// others reload the session (every 25 ms, up to 2 s) or keep serving a
// still-valid access token (503 once it has expired; the session is
// kept). A record of use (Config.IdleTimeout, at most once per
// IdleTimeout/10) runs under the same lock on a fresh load, so it never
// writes old tokens back. The cookie store cannot share a lock: with a
// provider that rotates refresh tokens, two replicas refreshing one
// session at once end it (see [RefreshLocker]). Proven by
// TestRefreshAcrossReplicas (memory, Redis) and examples/webapp
// TestReplicas, against oidctest with OAuthSettings.RevokeGrantOnRefreshReuse.
//
//	situation                               answer
//	store's lock held by another replica    its result (reloaded), or the valid token, or 503
//	lock cannot be taken (store down)       the valid token, or 503; session kept
//	provider down at New                    New fails; with Config.StartWithoutProvider New
//	                                        succeeds, login/callback 503 + Retry-After until
//	                                        the background discovery succeeds; back-channel
//	                                        logout 503 + Retry-After, no-store until then
//	                                        (TestBackChannelLogoutBeforeDiscovery)
//	UserInfo sub differs from the ID token  login fails, ErrInvalidUserInfo (401)
//	UserInfo 5xx, network, redirect         login fails, ErrProviderUnavailable (503)
//
// Config.MetadataURL, JWKSURL, TokenURL and UserInfoURL send the Flow's own
// requests to in-cluster names while the issuer is still checked exactly
// (internal_urls.go); Config.UserInfo fetches the UserInfo claims at login
// into Session.UserInfo (userinfo.go).
// # Revocation and back-channel logout
//
// Server-side stores ([MemoryStore], redisstore, sqlstore) implement
// [RevokingStore]: every session of a subject or of a provider session
// (sid) ends at once, on every replica, and a subject's sessions can be
// listed. The storetest package checks a store against the whole store
// contract (storetest.Run) and what a Flow answers during its outage
// (storetest.Outage: 503, never a login redirect, the same session back
// after it).
//
// [Flow.BackChannelLogoutHandler] takes the provider's logout tokens
// (OpenID Connect Back-Channel Logout 1.0); TestBackChannelLogoutRefusals
// proves each line with a token that fails only there, and
// TestBackChannelLogoutEndsSessions and TestBackChannelLogoutStoreDown
// the last:
//
//  1. POST form (405 otherwise), one logout_token, body at most 64 KiB;
//  2. a compact JWS (no JWE); alg an accepted asymmetric algorithm; typ,
//     when present, logout+jwt;
//  3. signature with the provider's keys, iss exact, aud the client ID,
//     exp present and in the future;
//  4. iat present, at most 5 minutes ahead and 10 minutes old;
//  5. sub, sid or both;
//  6. events with the back-channel logout member, an object;
//  7. no nonce;
//  8. jti present and not used before (remembered per replica, after
//     step 9 succeeded);
//  9. sessions ended: by sid when present, else by sub; 200 with
//     Cache-Control: no-store. Any failure answers 400
//     {"error":"invalid_request"} (§2.8), a store failure included (the
//     jti is then not remembered, so a retry works). The cookie store
//     cannot revoke: the handler is refused at construction.
package oauth
