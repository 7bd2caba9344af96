// Package oidcauth lets an HTTP service trust access tokens issued by an
// OpenID Connect or OAuth 2.0 provider (Auth0, Okta, Entra ID, Keycloak,
// Google, Dex, ...) without hand-written security code.
//
// An [Authorizer] discovers the provider's metadata, keeps its signing keys
// fresh, and validates tokens; [Authorizer.Required] and [Authorizer.Maybe]
// put it in front of handlers:
//
//	auth, err := oidcauth.New(ctx, oidcauth.Config{
//		Issuer:    "https://example.eu.auth0.com/",
//		Audiences: []string{"https://api.example.com"},
//		TokenType: "at+jwt", // RFC 9068 access tokens, if the provider issues them
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer auth.Close()
//	mux.Handle("GET /api/me", auth.Required(meHandler))
//	// in meHandler: claims, _ := oidcauth.ClaimsFromContext(r.Context())
//
// # What is checked
//
// See [Authorizer.Validate] for the order of the checks. In short: compact
// JWS only, at most Config.MaxTokenSize bytes, strict base64url and strict
// JSON (no duplicate member names, exact-case names); alg from the
// allow-list (never "none", never HMAC with a provider's keys); the key
// from the provider's JWKS only (never from jku, jwk, x5u or x5c headers),
// fitting the token's alg in type, curve and its own alg member; the
// signature before any claim; typ; iss exactly; aud; not an ID token
// (ErrIDToken: a typ other than at+jwt with at_hash, c_hash, s_hash, nonce,
// typ "ID" or token_use "id"); exp (required), nbf and iat with leeway.
//
// # Required and Maybe
//
//	request                    Required                    Maybe
//	no Authorization header    401, challenge, no error    next, anonymous
//	other scheme (Basic ...)   401, challenge, no error    next, anonymous
//	malformed header           400 invalid_request         400 invalid_request
//	invalid token              401 invalid_token           401 invalid_token
//	valid token                next, with claims           next, with claims
//	keys unavailable           503, Retry-After            503, Retry-After
//
// # Key rotation and provider outages
//
// The Authorizer keeps the provider's keys in memory and refreshes them by
// itself. This is the contract, each line proven by a test in
// rotation_test.go:
//
//	1 unknown kid      A token naming a kid the cache lacks triggers one refresh,
//	                   and the same request is validated against the new set.
//	2 cooldown         Refreshes triggered by unknown kids start at most once per
//	                   MinRefreshInterval (default 15 s); within it such a token
//	                   fails at once, never queueing behind the limiter, with
//	                   ErrKeyNotYetKnown (503, Retry-After = the cooldown left):
//	                   the provider may have started using the key a moment
//	                   ago, so the token may be good. A kid that a refresh saw
//	                   removed (the last 64 are remembered), and any unknown kid
//	                   after Close, get ErrUnknownKey (401). When the refresh
//	                   itself fails (the provider is down), the answer is
//	                   ErrKeysUnavailable (503): the token may be good.
//	3 coalescing       Concurrent refreshes share one HTTP fetch; no lock is held
//	                   across I/O; the fetch runs on the Authorizer's own context,
//	                   so a request that gives up cancels only its own wait.
//	4 background       Keys are refreshed at 75–90% (jittered) of the lifetime
//	                   the JWKS response gives in Cache-Control max-age or
//	                   Expires, clamped to [MinKeyTTL, MaxKeyTTL] (default
//	                   1 min–24 h); RefreshInterval (1 h) when it gives none.
//	5 outage           When a fetch fails (refused, timeout, non-200, not JSON,
//	                   too large, no usable key) the last good keys keep serving;
//	                   retries back off from 1 s doubling to 1 min, jittered;
//	                   after MaxStaleness (24 h) without success the keys are no
//	                   longer trusted: ErrKeysUnavailable (503), for tokens seen
//	                   before (TokenCacheSize) as for new ones. Stats and the
//	                   log show every failure.
//	6 start while down New fails when the first fetch fails, unless
//	                   StartWithoutKeys: then it retries in the background and
//	                   requests get ErrKeysUnavailable (503 with Retry-After)
//	                   until keys arrive.
//	7 removal          A key removed from the JWKS stops validating tokens after
//	                   the next successful refresh, including cached verdicts.
//	8 bounds           Every fetch has a timeout (FetchTimeout, 5 s), a body
//	                   limit (MaxResponseSize, 1 MiB), and follows no redirect to
//	                   another host or from https to http.
//	9 lifecycle        All background goroutines stop on Close; none holds a
//	                   request's context.
//	10 visibility      Fetch failures and key changes are logged with log/slog
//	                   (never tokens or key material); Stats gives counters.
//
// Why 15 s for MinRefreshInterval: a token signed with a key the provider
// published a moment ago waits at most 15 s, while tokens with made-up kids
// cost the provider at most four fetches a minute per replica.
//
// Why 503 rather than 401 within the cooldown: a 401 tells an honest client
// to throw its token away and fetch a new one, which is signed with the same
// new key and refused again until the cooldown ends (a soak test saw up to
// 15 s of 401s for a key the provider started using without warning); a 503
// with Retry-After tells it to retry the same token when the refresh is
// allowed. The price: a forger who sends random kids sees 503 instead of
// 401 for up to MinRefreshInterval, which gains it nothing (no fetch, no
// signature check, no claim is read), but does show as 503s in metrics;
// Stats.CooldownRejections counts them. Kids the Authorizer saw retired
// stay 401, as the token will never become good.
//
// # Errors
//
// Validate returns a *[ValidationError] wrapping one of the Err... sentinels;
// test with [errors.Is]. [StatusCode] maps an error to the status the
// middleware uses. The Reason of a ValidationError says which check failed
// and may quote claim values; it is meant for logs and developers, and the
// middleware never sends it to clients. The middleware logs every refusal
// at Debug level through Config.Logger (reason, method, path, status;
// never the token or the query string), so setting the logger's level to
// Debug shows why a request got its 401, 403 or 503.
//
// # Several issuers and tenants
//
// [Issuers] puts several issuers behind one middleware. The token's iss,
// read before the signature is checked, only picks the Authorizer, which
// then checks everything; a token naming an issuer that is not configured
// is rejected (401) without any network call. SchemelessIssuer means what
// it means for an Authorizer: a fixed issuer or an https template also
// gets the tokens whose iss lacks "https://"; NewIssuers refuses it for an
// issuer or template that is not https.
//
// An [IssuerTemplate] is a family of issuers that differ by a tenant id,
// such as "https://login.microsoftonline.com/{tenant}/v2.0". Anyone can
// write a token naming any tenant, so a tenant costs nothing until its
// keys are known. This is the contract, each line proven by a test in
// tenants_test.go or issuers_test.go:
//
//	1 allow-list   A tenant id is 1–128 letters, digits, '-', '_' or '.'. One
//	               not in Tenants and refused by AllowTenant is 401, no fetch.
//	2 admission    A tenant takes a slot (an Authorizer and its refresh
//	               goroutine) only once its first key fetch has succeeded.
//	3 first fetch  Concurrent first tokens of a tenant share one fetch, run
//	               on the Issuers' own context: a request that gives up gets
//	               503 and does not cancel it; Close does.
//	4 failure      A failed first fetch leaves no slot and no goroutine. The
//	               failure is remembered for FailureTTL (1 min): the tenant's
//	               tokens get 503 with Retry-After, without another fetch.
//	5 budget       At most NewTenantsPerMinute (30) first fetches of tenants
//	               admitted by AllowTenant start in any 60 seconds (a sliding
//	               window). Beyond it, tokens of tenants without keys get 503
//	               with Retry-After until the window frees a fetch. Tenants
//	               listed in Tenants and tenants already admitted are never
//	               held back.
//	6 full         When MaxTenants (1000) is reached, a new tenant is still
//	               admitted: the least recently used one is evicted.
//	7 idle, stale  A tenant without tokens for IdleTimeout (24 h), or whose
//	               keys are past its MaxStaleness, is evicted by a sweep that
//	               runs every minute (or every IdleTimeout or FailureTTL if
//	               shorter).
//	8 lifecycle    An evicted tenant's Authorizer is closed, its goroutines
//	               stop; its next token admits it again. Close stops the
//	               first fetches, the sweep and every Authorizer.
//	9 hot path     A token of an admitted tenant takes no lock: one atomic
//	               load of an immutable map.
//
// The flood bound: tokens naming invented tenants cost the provider at most
// NewTenantsPerMinute first fetches a minute, per template and per replica,
// each of at most four requests (three discovery URLs and the JWKS; one
// with Config.JWKSURL): 120 requests a minute with the defaults. In
// TestTenantFloodIsBounded, 1,000 invented tenants cause 90 requests (30
// fetches of three 404s), leave no goroutine and take no slot, and real
// tenants are then served. A remembered failure costs about 75 bytes plus
// the tenant id (at most 128); the failure ring holds NewTenantsPerMinute ×
// (⌈FailureTTL/1 min⌉ + 1) + len(Tenants) entries, 60 by default, so at most
// about 12 KiB per template. The price of the budget: after a restart, at
// most NewTenantsPerMinute tenants that only AllowTenant admits come in
// each minute; list the known ones in Tenants, or raise it.
//
// # Opaque tokens and introspection
//
// With [Config.Introspection], tokens that are not JWTs (Ory Hydra, Auth0
// without audience, Okta's org server, Keycloak lightweight tokens) are
// checked at the provider's introspection endpoint (RFC 7662), and with
// [IntrospectionConfig.All] every JWT is too, for instant revocation:
//
//	a, err := oidcauth.New(ctx, oidcauth.Config{
//		Issuer:    "https://idp.example.com/",
//		Audiences: []string{"my-api"},
//		Introspection: &oidcauth.IntrospectionConfig{
//			ClientID: "my-api", ClientSecret: os.Getenv("INTROSPECTION_SECRET"),
//		},
//	})
//
// The answer fills Claims as a JWT's claims do (Subject, Scopes from scope,
// ClientID, Audience, ExpiresAt; Raw is the whole answer), so Required,
// Maybe, requirements and CustomClaims work unchanged. The contract, proved
// by introspection_test.go on a fake clock:
//
//	1 which tokens   Not JWT-shaped → introspected; a JWT → validated locally,
//	                 then (All) introspected; a JWT that fails locally is never
//	                 introspected.
//	2 request        POST token, token_type_hint=access_token; client_secret_basic
//	                 (form-urlencoded id and secret, RFC 6749 §2.3.1) or
//	                 client_secret_post; FetchTimeout; no redirect followed.
//	3 answer         Strict JSON; active must be JSON true (false → ErrTokenInactive,
//	                 401; other → ErrIntrospectionFailed, 503); iss if present ==
//	                 Issuer; aud contains an audience (absent → refused unless
//	                 SkipAudienceCheckWhenAbsent); exp, nbf, iat with Leeway.
//	4 positive cache Until min(exp, fetched + CacheTTL (60 s)); no leeway extends it.
//	5 negative cache Refusals for NegativeTTL (5 s); failures are not cached.
//	6 keys           SHA-256 of the token; the token itself is not stored.
//	7 coalescing     Concurrent requests for one token share one call.
//	8 flood bounds   Made-up tokens only enter the negative table (CacheSize/8
//	                 slots), never evicting positive answers (CacheSize slots,
//	                 32 MiB); at most 8 calls in flight per Authorizer.
//	9 failures       Unreachable, timeout, 5xx, malformed, 400/401 (our
//	                 credentials: logged at Error) → ErrIntrospectionFailed, 503
//	                 with Retry-After; cached answers still served until their end.
//	10 lifecycle     Calls run in the Authorizer's goroutines; Close stops them.
//
// Why 60 s for CacheTTL: a revoked token stays usable for at most a minute per
// replica, while the provider sees at most one call per active token per minute.
// Set a negative CacheTTL to introspect every request. oidctest.Provider
// serves opaque tokens, introspection and revocation for tests
// (EnableIntrospection, MintOpaque, Revoke, IntrospectionCalls).
//
// # Protected-resource metadata and step-up
//
// Config.Resource says "this API is resource R" (RFC 8707 §2) in one
// setting: tokens must carry R in aud (RFC 9068 §3) unless Audiences is
// set, every 400, 401 and 403 challenge points to the metadata
// (resource_metadata, RFC 9728 §5.1), and ResourceMetadataHandler serves
// the document (RFC 9728 §2-3) at the URL that ResourceMetadataURL derives
// from R:
//
//	a, err := oidcauth.New(ctx, oidcauth.Config{
//		Issuer:          "https://idp.example.com/",
//		Resource:        "https://api.example.com/mcp",
//		ScopesSupported: []string{"files:read"},
//	})
//	mux.Handle("/.well-known/oauth-protected-resource/mcp", a.ResourceMetadataHandler())
//	mux.Handle("/mcp", a.Required(a.Require(oidcauth.RequireScopes("files:read"))(h)))
//
// The rules, proved by metadata_test.go and stepup_test.go:
//
//	1 resource        Absolute https URL (http for loopback or InsecureAllowHTTP),
//	                  no user info, query or fragment; New fails otherwise.
//	2 audience        Audiences empty → aud must contain Resource byte for byte;
//	                  Audiences set → Audiences alone decide.
//	3 metadata URL    "/.well-known/oauth-protected-resource" between host[:port]
//	                  and path, a terminating "/" removed (RFC 9728 §3.1).
//	4 document        resource, authorization_servers (the issuer; for Issuers
//	                  every fixed issuer, then the listed tenants of each template),
//	                  scopes_supported, bearer_methods_supported ["header"] (+
//	                  "query" with InsecureAllowQueryToken), resource_name,
//	                  resource_documentation. Encoded once; not signed (§2.2 is
//	                  not implemented).
//	5 serving         GET/HEAD 200 application/json, Cache-Control public,
//	                  max-age=3600, ETag, 304 on If-None-Match; OPTIONS 204 (CORS
//	                  preflight); else 405 with Allow. Access-Control-Allow-Origin
//	                  "*" on every answer: the document is public.
//	6 challenges      realm, error, error_description, scope, acr_values,
//	                  max_age, resource_metadata, in that order; 403
//	                  insufficient_scope carries the scope the requirement asked.
//	7 step-up         RequireACR: acr a string among the values; RequireMaxAge:
//	                  auth_time present and within d + Leeway on the Authorizer's
//	                  clock (not in the future beyond Leeway). Failure: 401
//	                  error="insufficient_user_authentication" with acr_values
//	                  and/or max_age (RFC 9470 §3).
//	8 cost            WriteError renders each kind of answer once: 0 allocs per
//	                  refusal (BenchmarkChallenge), 0 per metadata request
//	                  (BenchmarkResourceMetadataHandler).
//
// A custom Config.ErrorHandler builds the same challenges with
// Authorizer.Answer (resource_metadata included) and may add its own.

// # DPoP proofs
//
// A token whose claims carry cnf.jkt is bound to a key the client holds
// (DPoP, RFC 9449), and one with cnf.x5t#S256 to its TLS client
// certificate (RFC 8705 §3). The middleware (Required, Maybe,
// Authenticate) reads "Authorization: DPoP <token>" with one DPoP header
// and checks the proof; Bearer tokens keep working unless
// [DPoPConfig.Required]. Nil [Config.DPoP] means: DPoP accepted with the
// defaults, a private bounded memory replay cache, no goroutine. The
// contract, each line proved by the test named:
//
//	1 proof checks     RFC 9449 §4.3 in order (the 13 steps are listed in
//	                   dpop_proof.go): one header ≤ 8 KiB, compact JWS, typ
//	                   dpop+jwt, asymmetric alg from DPoPConfig.Algorithms
//	                   (default: the asymmetric algs of Config.Algorithms),
//	                   public EC/RSA/Ed25519 jwk (private members, kty oct
//	                   refused), signature, htm, htu, nonce, iat, ath, cnf.jkt
//	                   = RFC 7638 thumbprint, jti once → ErrInvalidDPoPProof
//	                   (TestDPoPProofRules, TestDPoPThumbprintMatchesJWX).
//	2 htu              Request URL without query/fragment; scheme and host
//	                   case-insensitive, default port dropped, percent-encoding
//	                   normalised. Scheme from r.TLS, host from r.Host; behind a
//	                   proxy only DPoPConfig.ExternalURL or TrustForwarded
//	                   change that (TestDPoPBehindProxy).
//	3 window           iat within ±ProofWindow (60 s) of now, no leeway added;
//	                   the jti is remembered until iat + 60 s (TestDPoPProofRules).
//	4 replay           A jti seen before for the same key → ErrDPoPReplay; the
//	                   key is SHA-256(jkt, jti); recorded last, so failing proofs
//	                   take no slot (TestDPoPReplay, TestDPoPConcurrentProofs:
//	                   1,000 parallel proofs accepted, all 1,000 replays refused).
//	5 memory cache     At most DefaultReplayCacheSize (100,000) live entries,
//	                   about 100 B each; full → ErrReplayCacheFull, 503, never
//	                   eviction of a live entry; any cache error → 503
//	                   (TestMemoryReplayCache, TestDPoPReplayCacheFailure).
//	6 nonces           With NonceSecret: HMAC nonces per NonceRotation (5 min),
//	                   current and previous accepted; else 401 use_dpop_nonce
//	                   with a DPoP-Nonce header (TestDPoPNonce).
//	7 downgrade        cnf.jkt never without a valid proof: as Bearer, or via
//	                   Validate → ErrDPoPRequired; proof without token, proof with
//	                   Bearer, DPoP scheme without proof or with an unbound token
//	                   refused; Maybe never serves them anonymously
//	                   (TestDPoPDowngrade).
//	8 answers          401 carries "DPoP algs=…" beside the Bearer challenge
//	                   (alone with Required); the error goes on the DPoP one for
//	                   DPoP errors and DPoP-scheme requests. With nil Config.DPoP
//	                   only DPoP answers carry it (TestDPoPDowngrade).
//	9 certificates     cnf.x5t#S256 == SHA-256 of r.TLS.PeerCertificates[0]; or
//	                   with InsecureClientCertificateHeader, URL-encoded PEM
//	                   (nginx) or an Envoy XFCC Cert field; else
//	                   ErrCertificateMismatch, 401 invalid_token
//	                   (TestCertificateBound).
//
// oidctest makes DPoP keys and proofs (NewDPoPKey, DPoPKey.Proof) and mints
// bound tokens (MintDPoPBound, MintCertificateBound).

// (EnableIntrospection, MintOpaque, Revoke, IntrospectionCalls).//
// # Observability
//
// Config.Observer (and IssuersConfig.Observer) receives what the Authorizer
// does; the module github.com/oidcauth/oidcauth/otel turns it into
// OpenTelemetry metrics and spans, and examples/api serves the same metrics
// at GET /metrics with client_golang. The contract, proven by
// observer_test.go:
//
//	1 nil            No Observer (the default): nothing is called, no clock is
//	                 read; behaviour is the same with or without one.
//	2 validations    One Validation event per Validate call (Issuers: per
//	                 Validate, from the picked Authorizer or, for tokens refused
//	                 before the pick, from the Issuers): Outcome ok, refused
//	                 (4xx) or unavailable (5xx), Reason from Reasons(), duration.
//	3 labels         Reason and Outcome map any error to a fixed set, never to
//	                 anything from the token, the subject or an issuer URL; they
//	                 do not allocate.
//	4 keys           Refresh(cause) when a key fetch starts (start, schedule,
//	                 unknown_kid, manual; joining a fetch in flight starts none),
//	                 KeyFetch(ok|error) when it ends, spans oidcauth.key_fetch
//	                 and its child oidcauth.discovery.
//	5 introspection  IntrospectionCache(hit) per lookup, Introspection(outcome)
//	                 and a span oidcauth.introspection per call to the endpoint.
//	6 gauges         AttachKeyCache(Stats) once the Authorizer has started (New,
//	                 or a tenant's admission); Close detaches it.
//	7 cost           Under 100 ns and no allocation per validation for the hook
//	                 itself (BenchmarkObserver: NopObserver against nil).
//
// Validations get no span: the request's own span and the validation
// histogram carry the information. Spans of key fetches and introspection
// calls are roots: those calls are shared by many requests and run on the
// Authorizer's context, never on a request's.
package oidcauth
