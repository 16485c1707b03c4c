/**
 * OAuth token checks with keys and endpoints under the test's control: MCP_OAUTH_JWKS_URL (no
 * discovery needed), tokens without `kid` during a rotation, ID tokens refused whatever their
 * audience, redirects never followed, and introspection that one client address cannot
 * monopolise.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { silentLogger } from '../src/log.ts';
import { systemClock } from '../src/clock.ts';
import { TokenVerifier } from '../src/transports/http/oauth/verifier.ts';
import { testConfig } from './helpers.ts';

const test = suite('OAuth keys and endpoints');
const ISSUER = 'http://127.0.0.1:9/issuer';
const RESOURCE = 'http://127.0.0.1:8000/mcp';
let server: Server;
let base: string;
let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const held: (() => void)[] = [];

test.before(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
test.after(async () => {
  for (const release of held.splice(0)) release();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function keyPair(kid?: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig', ...(kid ? { kid } : {}) } };
}

function sign(key: Parameters<SignJWT['sign']>[0], claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ scope: 'mcp:tools', ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', ...header })
    .setIssuer(ISSUER)
    .setAudience(RESOURCE)
    .setSubject('svc')
    .setExpirationTime('5m')
    .sign(key);
}

function verifierWith(env: Record<string, string>): Promise<TokenVerifier> {
  const { oauth } = testConfig({ MCP_AUTH: 'oauth', MCP_OAUTH_ISSUER: ISSUER, MCP_RESOURCE_URL: RESOURCE, ...env });
  return TokenVerifier.create(oauth!, systemClock, silentLogger);
}

test('with MCP_OAUTH_JWKS_URL nothing is discovered; a token without kid is checked against every key of its kind', async () => {
  const [a, b] = [await keyPair(), await keyPair()];
  const paths: string[] = [];
  handler = (req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [a.jwk, b.jwk] }));
  };
  const verifier = await verifierWith({ MCP_OAUTH_JWKS_URL: `${base}/keys` });
  const verdict = await verifier.verify(await sign(b.privateKey, {}));
  assert.equal(verdict.ok && { sub: verdict.sub, scopes: [...verdict.scopes] }, { sub: 'svc', scopes: ['mcp:tools'] });
  assert.equal(paths, ['/keys'], 'no metadata was asked for: the issuer (port 9) is never contacted');
  assert.ok(verifier.server.reachable);
  const { privateKey: stranger } = await keyPair();
  const forged = await verifier.verify(await sign(stranger, {}));
  assert.equal(forged, { ok: false, unavailable: false, description: "the token's signature does not verify" });
  verifier.stop();
});

test('an ID token (a nonce, or typ ID) is refused even with our audience; so is a token of another type', async () => {
  const key = await keyPair('k');
  handler = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [key.jwk] }));
  };
  const verifier = await verifierWith({ MCP_OAUTH_JWKS_URL: `${base}/keys` });
  for (const token of [
    await sign(key.privateKey, { nonce: 'n-0123' }, { kid: 'k' }),
    await sign(key.privateKey, { typ: 'ID' }, { kid: 'k' }),
    await sign(key.privateKey, {}, { kid: 'k', typ: 'dpop+jwt' }),
  ]) {
    const verdict = await verifier.verify(token);
    assert.is(verdict.ok, false);
    assert.match(!verdict.ok ? verdict.description : '', /not an access token/);
  }
  assert.ok(
    (await verifier.verify(await sign(key.privateKey, { typ: 'Bearer' }, { kid: 'k' }))).ok,
    'Keycloak access tokens say typ Bearer',
  );
  verifier.stop();
});

test('a redirect from the keys URL is not followed: no keys, so tokens cannot be checked (503), not accepted', async () => {
  const key = await keyPair('k');
  handler = (req, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: `${base}/keys` });
      return void res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [key.jwk] }));
  };
  const verifier = await verifierWith({ MCP_OAUTH_JWKS_URL: `${base}/moved` });
  const verdict = await verifier.verify(await sign(key.privateKey, {}, { kid: 'k' }));
  assert.equal(verdict.ok ? 'accepted' : verdict.unavailable, true);
  verifier.stop();
});

test('introspection: one address has at most 4 checks at once; another address still gets its check', async () => {
  const seen: string[] = [];
  handler = (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const token = new URLSearchParams(body).get('token') ?? '';
      seen.push(token);
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            active: token === 'good',
            sub: 'svc',
            aud: RESOURCE,
            scope: 'mcp:tools',
            exp: Math.floor(Date.now() / 1000) + 60,
          }),
        );
      };
      if (token.startsWith('junk')) held.push(answer);
      else answer();
    });
  };
  const verifier = await verifierWith({
    MCP_OAUTH_JWKS_URL: `${base}/keys`,
    MCP_OAUTH_INTROSPECTION_URL: `${base}/introspect`,
    MCP_OAUTH_CLIENT_ID: 'relay',
    MCP_OAUTH_CLIENT_SECRET: 'secret',
  });
  const junk = [0, 1, 2, 3].map((i) => verifier.verify(`junk${i}`, '10.0.0.1'));
  for (let i = 0; i < 100 && seen.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const fifth = await verifier.verify('junk4', '10.0.0.1');
  assert.equal(fifth, { ok: false, unavailable: true, description: 'too many token checks at once from 10.0.0.1' });
  const other = await verifier.verify('good', '10.0.0.2');
  assert.ok(other.ok, 'another address is served');
  for (const release of held.splice(0)) release();
  assert.ok((await Promise.all(junk)).every((verdict) => !verdict.ok && !verdict.unavailable));
  verifier.stop();
});

test.run();
