// client.js is a real DPoP client for the oidcauth interop suite
// (../dpop_test.go): panva's oauth4webapi (pinned in package-lock.json),
// which this project did not write, gets a DPoP-bound access token from
// oidc-provider (../provider/server.js, client dpop-client) and calls
// examples/api with its proofs.
//
//   node client.js --issuer URL --resource URN --api URL [--client-id dpop-client --client-secret dpop-secret]
//
// It prints one JSON line on stdout:
//
//   {"access_token": "...", "token_type": "dpop",
//    "call": {"status": 200, "body": "...", "www_authenticate": null},
//    "proofs": {"me": "...", "me_again": "...", "feed": "...", "post_me": "...", "other_key": "..."}}
//
// "call" is one GET {api}/api/me sent by oauth4webapi itself
// (protectedResourceRequest with its DPoP handle). The proofs are made by
// oauth4webapi for the same token but not sent (a custom fetch keeps
// them), so that the Go test decides what to send where:
//
//   me, me_again  GET  {api}/api/me, two distinct fresh proofs
//   feed          GET  {api}/api/feed
//   post_me       POST {api}/api/me
//   other_key     GET  {api}/api/me, signed by another key pair (whose
//                 thumbprint is not the token's cnf.jkt)
//
// Everything is on 127.0.0.1 over http, so the script allows oauth4webapi's
// insecure requests; nothing leaves the machine.

import { parseArgs } from 'node:util';
import * as oauth from 'oauth4webapi';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    resource: { type: 'string' },
    api: { type: 'string' },
    'client-id': { type: 'string', default: 'dpop-client' },
    'client-secret': { type: 'string', default: 'dpop-secret' },
  },
});
for (const name of ['issuer', 'resource', 'api']) {
  if (!args[name]) {
    console.error(`client.js: --${name} is required`);
    process.exit(2);
  }
}

const insecure = { [oauth.allowInsecureRequests]: true };
const issuer = new URL(args.issuer);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure));
const client = { client_id: args['client-id'] };
const auth = oauth.ClientSecretBasic(args['client-secret']);

const keyPair = await oauth.generateKeyPair('ES256');
const DPoP = oauth.DPoP(client, keyPair);

// The token request carries a proof too (RFC 9449 §5): the provider binds
// the token to its key (cnf.jkt).
const token = await oauth.processClientCredentialsResponse(
  as,
  client,
  await oauth.clientCredentialsGrantRequest(as, client, auth, { resource: args.resource }, { DPoP, ...insecure }),
);

const me = new URL('/api/me', args.api);
const feed = new URL('/api/feed', args.api);

// One real call.
let call;
try {
  const res = await oauth.protectedResourceRequest(token.access_token, 'GET', me, new Headers(), null, { DPoP, ...insecure });
  call = { status: res.status, body: await res.text(), www_authenticate: res.headers.get('www-authenticate') };
} catch (err) {
  // oauth4webapi throws on a 401 with a WWW-Authenticate challenge.
  const res = err.response;
  call = res
    ? { status: res.status, body: await res.text(), www_authenticate: res.headers.get('www-authenticate') }
    : { error: String(err) };
}

// proof returns the DPoP header oauth4webapi makes for method and url,
// without sending the request.
async function proof(handle, method, url) {
  let header;
  const keep = async (_url, init) => {
    header = new Headers(init.headers).get('dpop');
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  await oauth.protectedResourceRequest(token.access_token, method, url, new Headers(), null, {
    DPoP: handle,
    [oauth.customFetch]: keep,
    ...insecure,
  });
  return header;
}

const other = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
const proofs = {
  me: await proof(DPoP, 'GET', me),
  me_again: await proof(DPoP, 'GET', me),
  feed: await proof(DPoP, 'GET', feed),
  post_me: await proof(DPoP, 'POST', me),
  other_key: await proof(other, 'GET', me),
};

process.stdout.write(`${JSON.stringify({ access_token: token.access_token, token_type: token.token_type, call, proofs })}\n`);
