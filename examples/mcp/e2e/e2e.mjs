// End-to-end test of examples/mcp with the official MCP TypeScript SDK's
// client (@modelcontextprotocol/sdk, pinned in package-lock.json):
//
//   node e2e.mjs http://127.0.0.1:PORT/mcp
//
// The client starts with no credentials, gets the 401, follows
// resource_metadata, discovers the authorization server, registers (RFC
// 7591), does authorization code + PKCE with resource (the server signs in
// automatically: the redirect handler below follows the authorization URL
// and captures the code), gets a token and calls whoami. Then a token for
// another resource is obtained by hand and must be refused. Every HTTP
// request the SDK makes is printed as "step: METHOD URL -> STATUS"; the last
// line is "e2e: ok" or the script exits 1.
import { createHash, randomBytes } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const endpoint = new URL(process.argv[2] ?? "");
const redirectUrl = "http://127.0.0.1:33418/callback";

const fail = (msg) => {
  console.error("e2e: FAIL: " + msg);
  process.exit(1);
};

// Every request of the SDK goes through this fetch, which prints it.
const loggingFetch = async (url, init) => {
  const resp = await fetch(url, init);
  const method = init?.method ?? "GET";
  const www = resp.headers.get("www-authenticate");
  console.log(`step: ${method} ${url} -> ${resp.status}${www ? " WWW-Authenticate: " + www : ""}`);
  return resp;
};

let code;
const provider = {
  _client: undefined,
  _tokens: undefined,
  _verifier: undefined,
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return { client_name: "oidcauth e2e", redirect_uris: [redirectUrl], grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"], token_endpoint_auth_method: "none" };
  },
  clientInformation() { return this._client; },
  saveClientInformation(info) { console.log(`step: registered client_id=${info.client_id}`); this._client = info; },
  tokens() { return this._tokens; },
  saveTokens(t) { console.log(`step: token received (token_type=${t.token_type}, scope=${JSON.stringify(t.scope ?? "")})`); this._tokens = t; },
  saveCodeVerifier(v) { this._verifier = v; },
  codeVerifier() { return this._verifier; },
  async redirectToAuthorization(url) {
    const q = url.searchParams;
    console.log(`step: authorization request (resource=${q.get("resource")}, scope=${JSON.stringify(q.get("scope") ?? "")}, code_challenge_method=${q.get("code_challenge_method")})`);
    const resp = await fetch(url, { redirect: "manual" });
    const loc = new URL(resp.headers.get("location") ?? "", url);
    code = loc.searchParams.get("code");
    console.log(`step: authorization response ${resp.status} -> code ${code ? "received" : "MISSING: " + loc}`);
  },
};

const connect = async () => {
  const client = new Client({ name: "oidcauth-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider, fetch: loggingFetch });
  await client.connect(transport);
  return { client, transport };
};

// 1. No credentials: the 401 starts the OAuth flow, which ends at the
//    redirect (UnauthorizedError); then the code is exchanged.
try {
  await connect();
  fail("connected without a token");
} catch (e) {
  if (!(e instanceof UnauthorizedError)) fail("first connect: " + e);
}
if (!code) fail("no authorization code");
{
  const transport = new StreamableHTTPClientTransport(endpoint, { authProvider: provider, fetch: loggingFetch });
  await transport.finishAuth(code);
}

// 2. With the token: whoami.
const { client } = await connect();
const res = await client.callTool({ name: "whoami", arguments: {} });
const text = res.content?.[0]?.text ?? "";
console.log(`step: whoami -> ${text}`);
const who = JSON.parse(text);
if (who.sub !== "alice" || who.client_id !== provider._client.client_id || !Array.isArray(who.scopes)) fail("whoami answer " + text);
await client.close();

// 3. A token for another resource, from the same authorization server, is
//    refused by the MCP server (no token passthrough).
const meta = await (await fetch(new URL("/.well-known/oauth-protected-resource" + endpoint.pathname, endpoint))).json();
const as = await (await fetch(meta.authorization_servers[0] + "/.well-known/oauth-authorization-server")).json();
const verifier = randomBytes(32).toString("base64url");
const authURL = new URL(as.authorization_endpoint);
authURL.search = new URLSearchParams({ response_type: "code", client_id: provider._client.client_id, redirect_uri: redirectUrl,
  code_challenge: createHash("sha256").update(verifier).digest("base64url"), code_challenge_method: "S256",
  resource: "http://127.0.0.1:1/other-mcp" }).toString();
const back = new URL((await fetch(authURL, { redirect: "manual" })).headers.get("location"));
const tr = await (await fetch(as.token_endpoint, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ grant_type: "authorization_code", code: back.searchParams.get("code"), redirect_uri: redirectUrl,
    client_id: provider._client.client_id, code_verifier: verifier, resource: "http://127.0.0.1:1/other-mcp" }) })).json();
if (!tr.access_token) fail("no token for the other resource: " + JSON.stringify(tr));
const other = await fetch(endpoint, { method: "POST", headers: { authorization: "Bearer " + tr.access_token,
  "content-type": "application/json", accept: "application/json, text/event-stream" },
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });
const www = other.headers.get("www-authenticate") ?? "";
console.log(`step: token for another resource -> ${other.status} WWW-Authenticate: ${www}`);
if (other.status !== 401 || !www.includes('error="invalid_token"') || !www.includes("resource_metadata=")) fail("token for another resource accepted or badly refused");
console.log("e2e: ok");
