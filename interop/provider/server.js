// server.js runs oidc-provider (panva's OpenID-certified provider) on
// 127.0.0.1 for the oidcauth interop suite (../*_test.go).
//
//   node server.js [--port 0] [--admin-port 0] [--state FILE] [--exit-with-stdin]
//                  [--backchannel-logout-uri URI]
//
// Once both listeners are up it prints one JSON line on stdout:
//
//   {"issuer":"http://127.0.0.1:PORT","admin":"http://127.0.0.1:APORT","keys":[...]}
//
// Port 0 picks a free port. With --state, the private keys and the signer
// choice are saved to FILE after every change and loaded from it at start, so
// the provider can be stopped and started again on the same port with the
// same keys. With --exit-with-stdin the process exits when its stdin closes
// (the Go test that started it is gone).
//
// Provider
//
//   clients   api-client / api-secret: client_credentials, scopes "read write"
//             web-client / web-secret: authorization_code + PKCE (S256, required)
//             + refresh_token, native application type so that any loopback port
//             of http://127.0.0.1/callback is accepted (RFC 8252 §7.3)
//   rotating-client / rotating-secret: web-client whose refresh tokens rotate on
//             every use; a rotated-out token presented again revokes the grant
//   resources urn:oidcauth:interop:rs256, ...:ps256, ...:es256, ...:eddsa: RFC 9068
//             JWT access tokens (typ at+jwt) signed with that algorithm, aud = the
//             resource indicator, scopes "read write", TTL 10 min.
//             web-client defaults to urn:oidcauth:interop:rs256 when it sends
//             no resource parameter.
//             urn:oidcauth:interop:opaque and ...:opaque-other: opaque access
//             tokens (accessTokenFormat "opaque"), aud = the indicator, scopes
//             "read write", TTL 10 min, for introspection.
//   rs-client / rs-secret: a resource server that may only introspect
//             (RFC 7662, /token/introspection, client_secret_basic only); the
//             only client allowed to (features.introspection.allowedPolicy).
//   dpop      dpop-client / dpop-secret: client_credentials, its tokens always
//             DPoP-bound (dpop_bound_access_tokens, RFC 9449 §5.2): the token
//             request must carry a DPoP proof and the JWT access token gets
//             cnf.jkt. Resource urn:oidcauth:interop:dpop: ES256 JWT access
//             tokens, aud = the indicator, scopes "read write", TTL 10 min.
//             features.dPoP is on for the provider, but the other clients send
//             no DPoP proof, so their tokens stay bearer tokens.
//   backchannel-client / backchannel-secret (with --backchannel-logout-uri):
//             web-client with back-channel logout to that URI, sid required;
//             the end_session confirmation POSTs real logout tokens to it.
//   revocation /token/revocation (RFC 7009): a client revokes its own tokens.
//   login     no login page: /interaction/:uid signs in login_hint (default
//             "alice") and grants everything requested, then redirects back.
//             A client following redirects with a cookie jar gets its code.
//
// Admin API (JSON), for key rotation while relying parties keep running.
// oidc-provider builds its keystore and JWKS when it is constructed, so every
// change constructs a new Provider with the new key list and swaps it in
// behind the same listener: no request is refused during a rotation. The
// in-memory adapter is module-wide, so grants, sessions and refresh tokens
// survive the swap. Every key in the list is published in the JWKS.
//
//   GET    /keys               {"keys":[{"kid","alg","signing"}...]}
//   POST   /keys               {"alg":"RS256","sign":false} -> 201 {"kid":...}
//                              publishes a new key; with "sign":true it also
//                              signs from now on, before any relying party has
//                              fetched the new JWKS
//   POST   /keys/{kid}/sign    make a published key the signer for its alg
//   DELETE /keys/{kid}         unpublish a key; refused (409) for a signer
//
// oidc-provider signs only with keys of its keystore and publishes all of
// them, so a key that "signs before the relying party has seen it" is one
// added and made the signer in the same step. Tokens of an alg are signed
// with that alg's signer (Resource Server jwt.sign.kid); ID tokens with the
// first key of their alg in the keystore, which is ordered signers first.
//
// Version: package.json pins oidc-provider 8.8.1, the newest release that
// supports Node.js 20 (every 9.x warns "Unsupported runtime. Use Node.js v22.x
// LTS" on Node 20). This file and the suite also pass unchanged on 9.13.3.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs, promisify } from 'node:util';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'admin-port': { type: 'string', default: '0' },
    state: { type: 'string' },
    'exit-with-stdin': { type: 'boolean', default: false },
    // h14fin: back-channel logout (backchannel-client below).
    'backchannel-logout-uri': { type: 'string' },
  },
});

const HOST = '127.0.0.1';
const ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'];
const RESOURCE_PREFIX = 'urn:oidcauth:interop:';
const DEFAULT_RESOURCE = `${RESOURCE_PREFIX}rs256`;

const log = (...a) => console.error('[provider]', ...a);

// ---- keys ----------------------------------------------------------------

let kidCounter = 0;

const generateKeyPair = promisify(crypto.generateKeyPair);

// generateKey makes a private JWK for alg. RSA key generation takes most of
// the start-up time, so it runs on libuv's thread pool, in parallel.
async function generateKey(alg) {
  kidCounter += 1;
  // Readable kids, unique within a run: "rs256-3-9f2c1a".
  const kid = `${alg.toLowerCase()}-${kidCounter}-${crypto.randomBytes(3).toString('hex')}`;
  let pair;
  switch (alg) {
    case 'RS256':
    case 'PS256':
      pair = await generateKeyPair('rsa', { modulusLength: 2048 });
      break;
    case 'ES256':
      pair = await generateKeyPair('ec', { namedCurve: 'P-256' });
      break;
    case 'EdDSA':
      pair = await generateKeyPair('ed25519');
      break;
    default:
      throw new Error(`unsupported alg ${JSON.stringify(alg)} (supported: ${ALGS.join(', ')})`);
  }
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

// state: keys in publication order; signers maps alg -> kid.
let state;
let initialKeys;
if (args.state && fs.existsSync(args.state)) {
  state = JSON.parse(fs.readFileSync(args.state, 'utf8'));
  kidCounter = state.keys.length + 100;
} else {
  state = { keys: [], signers: {}, cookieKeys: [crypto.randomBytes(32).toString('base64url')] };
  initialKeys = Promise.all(ALGS.map(generateKey));
}

// Loading oidc-provider overlaps with the key generation.
const { default: Provider, errors } = await import('oidc-provider');
if (initialKeys) {
  for (const jwk of await initialKeys) {
    state.keys.push(jwk);
    state.signers[jwk.alg] = jwk.kid;
  }
}

function saveState() {
  if (args.state) {
    fs.writeFileSync(args.state, JSON.stringify(state), { mode: 0o600 });
  }
}

function publicKeys() {
  return state.keys.map(({ kid, alg }) => ({ kid, alg, signing: state.signers[alg] === kid }));
}

// ---- provider ------------------------------------------------------------

const OPAQUE_RESOURCES = [`${RESOURCE_PREFIX}opaque`, `${RESOURCE_PREFIX}opaque-other`];

// ---- DPoP (RFC 9449): a client and a resource of their own ----
const DPOP_RESOURCE = `${RESOURCE_PREFIX}dpop`;
const DPOP_CLIENT = {
  client_id: 'dpop-client',
  client_secret: 'dpop-secret',
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  dpop_bound_access_tokens: true,
};
// ---- end DPoP ----

// ---- back-channel logout (OpenID Connect Back-Channel Logout 1.0) ----
// With --backchannel-logout-uri URI: backchannel-client / backchannel-secret,
// a web-client (authorization_code + PKCE, any loopback port of
// http://127.0.0.1/callback) whose backchannel_logout_uri is URI, with
// backchannel_logout_session_required (its ID tokens and logout tokens
// carry sid). When the user ends the provider session (end_session, "Yes,
// sign me out"), oidc-provider POSTs a real logout token (signed like an ID
// token, RS256) to URI. interop/backchannel_test.go.
const BACKCHANNEL_CLIENTS = args['backchannel-logout-uri'] ? [{
  client_id: 'backchannel-client',
  client_secret: 'backchannel-secret',
  application_type: 'native',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [`http://${HOST}/callback`],
  backchannel_logout_uri: args['backchannel-logout-uri'],
  backchannel_logout_session_required: true,
}] : [];
// ---- end back-channel logout ----

function resourceServer(indicator) {
  if (indicator === DPOP_RESOURCE) return { alg: 'ES256', ttl: 600 };
  if (OPAQUE_RESOURCES.includes(indicator)) return { opaque: true, ttl: 600 };
  const alg = ALGS.find((a) => `${RESOURCE_PREFIX}${a.toLowerCase()}` === indicator);
  return alg ? { alg, ttl: 600 } : undefined;
}

async function findAccount(ctx, sub) {
  return {
    accountId: sub,
    async claims() {
      return { sub, email: `${sub}@interop.test`, email_verified: true, name: sub };
    },
  };
}

function buildProvider(issuer) {
  // The keystore lists signers first: ID tokens use the first key of their alg.
  const signing = new Set(Object.values(state.signers));
  const ordered = [...state.keys.filter((k) => signing.has(k.kid)), ...state.keys.filter((k) => !signing.has(k.kid))];
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'api-client',
        client_secret: 'api-secret',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: 'web-client',
        client_secret: 'web-secret',
        application_type: 'native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`http://${HOST}/callback`],
      },
      // h14flow: rotating-client is web-client with refresh-token rotation
      // on every use (rotateRefreshToken below). oidc-provider detects the
      // reuse of a rotated-out refresh token and revokes the whole grant,
      // so two relying-party replicas that both redeem one refresh token
      // sign the user out (interop/refresh_replicas_test.go).
      {
        client_id: 'rotating-client',
        client_secret: 'rotating-secret',
        application_type: 'native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [`http://${HOST}/callback`],
      },
      {
        client_id: 'rs-client',
        client_secret: 'rs-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
      },
      DPOP_CLIENT,
      ...BACKCHANNEL_CLIENTS,
    ],
    jwks: { keys: ordered.map((k) => ({ ...k })) },
    cookies: { keys: state.cookieKeys },
    findAccount,
    scopes: ['openid', 'offline_access', 'email', 'profile'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { methods: ['S256'], required: () => true },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      backchannelLogout: { enabled: true }, // h14fin: only backchannel-client has a URI
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        // Only the resource server's client, authenticated, may introspect.
        allowedPolicy: async (ctx, client) => client.clientId === 'rs-client',
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => {
          if (oneOf) return oneOf;
          return client.clientId === 'web-client' ? DEFAULT_RESOURCE : undefined;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          const rs = resourceServer(indicator);
          if (!rs) {
            throw new errors.InvalidTarget(`unknown resource ${indicator}`);
          }
          if (rs.opaque) {
            return { scope: 'read write', audience: indicator, accessTokenTTL: rs.ttl, accessTokenFormat: 'opaque' };
          }
          return {
            scope: 'read write',
            audience: indicator,
            accessTokenTTL: rs.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: rs.alg, kid: state.signers[rs.alg] } },
          };
        },
      },
    },
    ttl: {
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || 600,
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || 600,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 3600,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
    },
    // h14flow: rotate every refresh token of rotating-client; the others
    // keep oidc-provider's default policy.
    rotateRefreshToken: (ctx) => {
      const { RefreshToken: refreshToken, Client: client } = ctx.oidc.entities;
      if (client.clientId === 'rotating-client') return true;
      if (refreshToken.totalLifetime() >= 365.25 * 24 * 60 * 60) return false;
      if (client.clientAuthMethod === 'none' && !refreshToken.isSenderConstrained()) return true;
      return refreshToken.ttlPercentagePassed() >= 70;
    },
    clientBasedCORS: () => false,
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  for (const event of ['backchannel.error', 'server_error', 'grant.error', 'authorization.error', 'interaction.error', 'jwks.error', 'introspection.error', 'revocation.error']) {
    provider.on(event, (ctx, err) => log(event, err?.message, err?.error_description ?? ''));
  }
  return { provider, handler: provider.callback() };
}

// interaction signs in a fixed subject and grants what the client asked for.
async function interaction(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: params.login_hint || 'alice' } };
  } else if (prompt.name === 'consent') {
    let { grantId } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    grantId = await grant.save();
    result = { consent: details.grantId ? {} : { grantId } };
  } else {
    result = { error: 'access_denied', error_description: `prompt ${prompt.name} not supported` };
  }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
}

// ---- listeners -----------------------------------------------------------

let current; // { provider, handler }

const server = http.createServer((req, res) => {
  const { provider, handler } = current;
  if (req.url.startsWith('/interaction/')) {
    interaction(provider, req, res).catch((err) => {
      log('interaction failed:', err.message);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain' });
      }
      res.end(`interaction failed: ${err.message}\n`);
    });
    return;
  }
  handler(req, res);
});

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

async function readJSON(req) {
  let data = '';
  for await (const chunk of req) {
    data += chunk;
    if (data.length > 1 << 16) throw new Error('body too large');
  }
  return data ? JSON.parse(data) : {};
}

// change applies mutate to a copy of the state, builds a provider from it,
// and only then commits: a change oidc-provider refuses leaves all as it was.
function change(mutate) {
  const next = structuredClone(state);
  const out = mutate(next);
  const prev = state;
  state = next;
  try {
    current = buildProvider(current.provider.issuer);
  } catch (err) {
    state = prev;
    throw err;
  }
  saveState();
  log('keys:', JSON.stringify(publicKeys()));
  return out;
}

class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const admin = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://admin');
    const m = url.pathname.match(/^\/keys(?:\/([^/]+)(\/sign)?)?$/);
    if (!m) throw new HTTPError(404, 'not found');
    const kid = m[1] && decodeURIComponent(m[1]);
    const find = (s) => {
      const k = s.keys.find((x) => x.kid === kid);
      if (!k) throw new HTTPError(404, `no key ${kid}`);
      return k;
    };
    if (req.method === 'GET' && !kid) {
      send(res, 200, { keys: publicKeys() });
    } else if (req.method === 'POST' && !kid) {
      const body = await readJSON(req);
      if (!ALGS.includes(body.alg)) throw new HTTPError(400, `alg must be one of ${ALGS.join(', ')}`);
      const jwk = await generateKey(body.alg);
      change((s) => {
        s.keys.push(jwk);
        if (body.sign) s.signers[body.alg] = jwk.kid;
      });
      send(res, 201, { kid: jwk.kid, keys: publicKeys() });
    } else if (req.method === 'POST' && m[2]) {
      change((s) => {
        const k = find(s);
        s.signers[k.alg] = k.kid;
      });
      send(res, 200, { keys: publicKeys() });
    } else if (req.method === 'DELETE' && kid && !m[2]) {
      change((s) => {
        const k = find(s);
        if (s.signers[k.alg] === k.kid) throw new HTTPError(409, `key ${kid} is the ${k.alg} signer; make another key the signer first`);
        s.keys = s.keys.filter((x) => x !== k);
      });
      send(res, 200, { keys: publicKeys() });
    } else {
      throw new HTTPError(405, 'method not allowed');
    }
  } catch (err) {
    send(res, err.status || 500, { error: err.message });
  }
});

function listen(srv, port) {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(Number(port), HOST, () => resolve(srv.address().port));
  });
}

const port = await listen(server, args.port);
const issuer = `http://${HOST}:${port}`;
current = buildProvider(issuer);
const adminPort = await listen(admin, args['admin-port']);
saveState();

if (args['exit-with-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}

process.stdout.write(`${JSON.stringify({ issuer, admin: `http://${HOST}:${adminPort}`, keys: publicKeys() })}\n`);
