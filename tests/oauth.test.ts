/**
 * MCP_AUTH=oauth against a real authorization server (oidc-provider on loopback): Protected
 * Resource Metadata (RFC 9728), the 401 and 403 challenges (RFC 6750, MCP authorization),
 * JWT access tokens checked for issuer, audience (RFC 8707), expiry, key and algorithm; key
 * rotation; the authorization server down at start and later; subjects as callers; opaque
 * tokens through introspection (RFC 7662).
 */
import { generateKeyPair, SignJWT } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { KeyEntry } from '../src/keys.ts';
import { ManualClock } from './clock.ts';
import { eventually, testConfig } from './helpers.ts';
import { initializeBody, MODERN, modernMeta, raw, rpc, SseClient, startHttp, type TestServer } from './http-helpers.ts';
import { freePort, OTHER_RESOURCE, startAuthorizationServer, type TestAuthorizationServer } from './oauth-provider.ts';

const test = suite('OAuth resource server');
let as: TestAuthorizationServer;
let port: number;
let resource: string;
const servers: TestServer[] = [];
const extra: TestAuthorizationServer[] = [];

test.before(async () => {
  port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  as = await startAuthorizationServer(resource, { tokenTtlS: 3600 });
});
test.after.each(async () => {
  as.down = false;
  for (const server of servers.splice(0)) await server.close();
});
test.after(async () => {
  for (const server of extra) await server.close();
  await as.close();
});

function oauthEnv(env: Record<string, string> = {}): Record<string, string> {
  return {
    MCP_UPSTREAM: 'echo',
    MCP_AUTH: 'oauth',
    MCP_OAUTH_ISSUER: as.issuer,
    MCP_RESOURCE_URL: resource,
    MCP_OAUTH_SCOPES: 'mcp:tools',
    ...env,
  };
}

async function relay(
  env: Record<string, string> = {},
  options: { clock?: ManualClock; keyEntries?: KeyEntry[]; onPort?: number } = {},
): Promise<TestServer> {
  const full = oauthEnv(env);
  const server = await startHttp(full, {
    // The resource URL is configuration (as behind a proxy): the relay itself may listen anywhere.
    port: options.onPort ?? 0,
    auth: 'oauth',
    oauth: testConfig(full).oauth,
    keyEntries: options.keyEntries ?? [],
    ...(options.clock ? { clock: options.clock } : {}),
  });
  servers.push(server);
  return server;
}

const bearer = (token: string, extraHeaders: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${token}`,
  ...extraHeaders,
});
const initialize = (server: TestServer, headers: Record<string, string>) =>
  raw(server.url, { method: 'POST', headers, body: initializeBody() });
const challengeOf = (res: { headers: Record<string, unknown> }) => String(res.headers['www-authenticate']);

test('Protected Resource Metadata at the path-suffixed and root well-known URLs, without a token, readable from any origin', async () => {
  const server = await relay();
  for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
    const res = await raw(server.url, { method: 'GET', path, headers: { origin: 'https://claude.ai' } });
    assert.is(res.status, 200, path);
    assert.equal(res.json(), {
      resource,
      authorization_servers: [as.issuer],
      scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'],
      resource_name: 'openai-mcp-relay',
    });
    assert.is(res.headers['access-control-allow-origin'], '*');
  }
  const preflight = await raw(server.url, {
    method: 'OPTIONS',
    path: '/.well-known/oauth-protected-resource/mcp',
    headers: { origin: 'https://x.example' },
  });
  assert.is(preflight.status, 204);
  const keyMode = await startHttp({ MCP_UPSTREAM: 'echo' });
  servers.push(keyMode);
  const keyModeAnswer = await raw(keyMode.url, { method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' });
  assert.is(keyModeAnswer.status, 401, 'key mode serves no OAuth metadata');
  assert.is(challengeOf(keyModeAnswer), 'Bearer realm="openai-mcp-relay"', 'and its challenge names none');
});

test('no token, an API key, or a token in the query string: 401 with the challenge (resource_metadata, scope), no error code', async () => {
  const server = await relay();
  const expected = `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"`;
  const attempts: Record<string, string>[] = [
    { 'content-type': 'application/json' },
    { 'content-type': 'application/json', 'x-api-key': 'some-key' },
  ];
  for (const headers of attempts) {
    const res = await initialize(server, headers);
    assert.is(res.status, 401);
    assert.is(challengeOf(res), expected);
    assert.is(res.json().error.code, -32000);
  }
  const token = await as.token();
  const query = await raw(server.url, {
    method: 'POST',
    path: `/mcp?access_token=${token}`,
    headers: { 'content-type': 'application/json' },
    body: initializeBody(),
  });
  assert.is(query.status, 401, 'tokens only in the Authorization header');
});

test('a token for this resource works over streamable HTTP, the /sse transport and 2026-07-28', async () => {
  const server = await relay();
  const token = await as.token();
  const init = await initialize(server, bearer(token));
  assert.is(init.status, 200);
  const session = String(init.headers['mcp-session-id']);
  const call = await raw(server.url, {
    method: 'POST',
    headers: bearer(token, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'hello oauth' } }, 2),
  });
  assert.is(call.json().result.structuredContent.text, 'hello oauth');

  const stream = new SseClient(server.url, {
    method: 'GET',
    path: '/sse',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
  });
  await stream.waitFor((events) => events.length >= 1);
  const endpoint = stream.events[0]!.data;
  const posted = await raw(server.url, {
    method: 'POST',
    path: endpoint,
    headers: bearer(token),
    body: initializeBody('2024-11-05', 'legacy'),
  });
  assert.is(posted.status, 202);
  await stream.waitFor((events) => events.some((e) => e.event === 'message'));
  stream.close();

  const modern = await raw(server.url, {
    method: 'POST',
    headers: bearer(token, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'generate' }),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'modern' }, _meta: modernMeta() }, 3),
  });
  assert.is(modern.json().result.structuredContent.text, 'modern');
});

test('refused with 401 invalid_token: another resource, expired, an unknown key, alg none, another issuer, an opaque token without introspection', async () => {
  const clock = new ManualClock(Date.now());
  const server = await relay({}, { clock });
  const ok = await as.token();
  const other = await startAuthorizationServer(resource);
  extra.push(other);
  const { privateKey } = await generateKeyPair('ES256');
  const forged = await new SignJWT({ scope: 'mcp:tools' })
    .setProtectedHeader({ alg: 'ES256', kid: 'made-up', typ: 'at+jwt' })
    .setIssuer(as.issuer)
    .setAudience(resource)
    .setSubject('svc')
    .setExpirationTime('5m')
    .sign(privateKey);
  const payload = Buffer.from(
    JSON.stringify({ iss: as.issuer, aud: resource, sub: 'svc', scope: 'mcp:tools', exp: Math.floor(Date.now() / 1000) + 300 }),
  ).toString('base64url');
  const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
  const cases: [string, string, RegExp][] = [
    ['another resource', await as.token({ resource: OTHER_RESOURCE }), /not for this resource/],
    ['an unknown key', forged, /signed with a key the authorization server does not list/],
    ['alg none', unsigned, /not a JWT|signature|algorithm/],
    ['another issuer', await other.token(), /"iss" claim|signed with a key|signature does not verify/],
    ['an opaque token', await as.token({ client: 'opaque' }), /not a JWT, and no introspection/],
  ];
  for (const [what, token, reason] of cases) {
    const res = await initialize(server, bearer(token));
    assert.is(res.status, 401, what);
    assert.match(challengeOf(res), /error="invalid_token"/, what);
    assert.match(challengeOf(res), reason, what);
    assert.match(
      challengeOf(res),
      /^Bearer resource_metadata="[^"]+", scope="mcp:tools", error="invalid_token", error_description="[^"]+"$/,
      what,
    );
  }
  assert.is((await initialize(server, bearer(ok))).status, 200);
  clock.advance(3_631_000);
  const expired = await initialize(server, bearer(ok));
  assert.is(expired.status, 401);
  assert.match(challengeOf(expired), /error_description="the token has expired"/);
});

test('a valid token without the needed scope is 403 insufficient_scope naming it; a broader scope that the setting allows passes', async () => {
  const server = await relay({ MCP_OAUTH_SCOPES: 'mcp:tools' });
  const res = await initialize(server, bearer(await as.token({ scope: 'mcp:admin' })));
  assert.is(res.status, 403);
  assert.match(challengeOf(res), /^Bearer resource_metadata="[^"]+", scope="mcp:tools", error="insufficient_scope"/);
  const broader = await relay({ MCP_OAUTH_SCOPES: 'mcp:tools|mcp:admin' });
  assert.is((await initialize(broader, bearer(await as.token({ scope: 'mcp:admin' })))).status, 200);
});

test('key rotation is picked up (the keys fetched again for an unknown key, at most every 30 s); a down issuer leaves cached keys working', async () => {
  const clock = new ManualClock(Date.now());
  const server = await relay({}, { clock });
  const before = await as.token();
  assert.is((await initialize(server, bearer(before))).status, 200);
  const jwksFetches = () => as.paths.filter((p) => p === '/jwks').length;
  const fetched = jwksFetches();
  await as.rotate();
  const after = await as.token();
  assert.is((await initialize(server, bearer(after))).status, 401, 'within 30 s of the last fetch, an unknown key is not fetched for');
  assert.is(jwksFetches(), fetched);
  clock.advance(30_000);
  assert.is((await initialize(server, bearer(after))).status, 200, 'the rotated key, fetched once');
  assert.is(jwksFetches(), fetched + 1);
  as.down = true;
  assert.is((await initialize(server, bearer(before))).status, 200, 'cached keys keep working while the issuer is down');
  clock.advance(10 * 60_000);
  assert.is((await initialize(server, bearer(after))).status, 200, 'stale keys are kept when the refresh fails');
  const health = await raw(server.url, { method: 'GET', path: '/health' });
  assert.is(health.status, 200);
  assert.is(health.json().authorization_server, 'unreachable');
});

test('the authorization server down at start: /health says so, calls get 503; once it answers, the server comes up', async () => {
  const token = await as.token();
  as.down = true;
  const clock = new ManualClock(Date.now());
  const server = await relay({}, { clock });
  const health = await raw(server.url, { method: 'GET', path: '/health' });
  assert.is(health.status, 200);
  assert.is(health.json().authorization_server, 'unreachable');
  const refused = await initialize(server, bearer(token));
  assert.is(refused.status, 503);
  assert.is(refused.headers['retry-after'], '5');
  as.down = false;
  // Discovery is retried after 1 s (then 2 s, 4 s, … up to a minute).
  clock.advance(1000);
  await eventually(
    async () => (await raw(server.url, { method: 'GET', path: '/health' })).json().authorization_server === 'reachable',
    'discovered',
  );
  assert.is((await initialize(server, bearer(token))).status, 200);
});

test('the subject is the caller: sessions belong to it, a keys-file entry names it and sets its policy, metrics never hold raw subjects', async () => {
  const server = await relay({}, { keyEntries: [{ name: 'service', subject: 'svc', policy: { models: ['gpt-allowed'] } }] });
  const svc = await as.token();
  const other = await as.token({ client: 'other' });
  const init = await initialize(server, bearer(svc));
  const session = String(init.headers['mcp-session-id']);
  const headers = (token: string) => bearer(token, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' });
  assert.is(
    (await raw(server.url, { method: 'POST', headers: headers(other), body: rpc('ping', {}, 'p') })).status,
    404,
    "another subject's token: no such session",
  );
  const refused = await raw(server.url, {
    method: 'POST',
    headers: headers(svc),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'x', model: 'gpt-4o' } }, 'c'),
  });
  assert.is(refused.json().result.isError, true, 'the entry’s model list applies');
  const second = await initialize(server, bearer(other));
  const theirs = String(second.headers['mcp-session-id']);
  await raw(server.url, {
    method: 'POST',
    headers: bearer(other, { 'mcp-session-id': theirs, 'mcp-protocol-version': '2025-11-25' }),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'y' } }, 'd'),
  });
  const metrics = (await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${svc}` } })).text;
  assert.match(metrics, /mcp_key_tool_calls_total\{key="service",outcome="refused"\} 1/);
  assert.match(metrics, /mcp_key_tool_calls_total\{key="other",outcome="ok"\} 1/);
  assert.not.match(metrics, /sub:/);
});

test('opaque tokens through introspection (RFC 7662): accepted for this resource, cached, refused for another', async () => {
  const server = await relay({ MCP_OAUTH_CLIENT_ID: 'relay', MCP_OAUTH_CLIENT_SECRET: 'relay-secret-0123456789' });
  const token = await as.token({ client: 'opaque' });
  assert.ok(!token.includes('.'), 'an opaque token');
  const introspections = () => as.paths.filter((p) => p.startsWith('/token/introspection')).length;
  const start = introspections();
  assert.is((await initialize(server, bearer(token))).status, 200);
  assert.is((await initialize(server, bearer(token))).status, 200);
  assert.is(introspections(), start + 1, 'the answer is reused while the token lives');
  const elsewhere = await initialize(server, bearer(await as.token({ client: 'opaque', resource: OTHER_RESOURCE })));
  assert.is(elsewhere.status, 401);
  assert.match(challengeOf(elsewhere), /not for this resource/);
  assert.is((await initialize(server, bearer(await as.token()))).status, 200, 'JWTs are still verified locally');
});

test.run();
