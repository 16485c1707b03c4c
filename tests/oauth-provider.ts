/**
 * A real OAuth 2.1 / OpenID authorization server for tests: oidc-provider (a certified OpenID
 * Provider) on loopback port 0, issuing client-credentials access tokens as JWTs with resource
 * indicators (RFC 8707), opaque tokens for one client (read back through introspection), with
 * keys the test can rotate, and a switch that takes it down.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import type { Provider as ProviderType } from 'oidc-provider';

// oidc-provider's notices (Node 20 is past its support window, the in-memory adapter is for
// development) are about its own deployment, not this test's: kept off the test output.
for (const method of ['warn', 'info'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    original(...args);
  };
}
const { errors, Provider } = await import('oidc-provider');
type Provider = ProviderType;

export const SCOPES = 'mcp:tools mcp:admin';
export const OTHER_RESOURCE = 'http://127.0.0.1:1/other';

export interface TestAuthorizationServer {
  readonly issuer: string;
  /** The paths of the requests it received, in order. */
  readonly paths: string[];
  /** A client-credentials token: `client` svc (JWT), opaque (opaque token), for `resource` with `scope`. */
  token(options?: { resource?: string | undefined; scope?: string; client?: 'svc' | 'opaque' | 'other' }): Promise<string>;
  /** A new signing key goes first (it signs from now on); the old ones stay in the key set. */
  rotate(): Promise<void>;
  /** Down: every connection is cut at once; up again with `down = false`. */
  down: boolean;
  close(): Promise<void>;
}

async function signingKey(kid: string): Promise<Record<string, unknown>> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
}

const CLIENTS = [
  { client_id: 'svc', client_secret: 'svc-secret-0123456789' },
  { client_id: 'other', client_secret: 'other-secret-0123456789' },
  { client_id: 'opaque', client_secret: 'opaque-secret-0123456789' },
  // The relay's own credentials, for introspection.
  { client_id: 'relay', client_secret: 'relay-secret-0123456789' },
].map((client) => ({
  ...client,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  id_token_signed_response_alg: 'ES256' as const,
}));

/** Starts the server; tokens are issued for `resource` (and OTHER_RESOURCE), with the scopes in SCOPES. */
export async function startAuthorizationServer(resource: string, options: { tokenTtlS?: number } = {}): Promise<TestAuthorizationServer> {
  let provider: Provider;
  let down = false;
  const sockets = new Set<Socket>();
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    if (down) return void req.socket.destroy();
    void provider.callback()(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let keys = [await signingKey('k1')];
  const build = (): Provider =>
    new Provider(issuer, {
      jwks: { keys: keys as never },
      clients: CLIENTS,
      ttl: { ClientCredentials: options.tokenTtlS ?? 300 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        resourceIndicators: {
          enabled: true,
          getResourceServerInfo: (ctx, indicator) => {
            if (indicator !== resource && indicator !== OTHER_RESOURCE) throw new errors.InvalidTarget();
            const opaque = ctx.oidc.client?.clientId === 'opaque';
            return {
              scope: SCOPES,
              accessTokenFormat: opaque ? 'opaque' : 'jwt',
              accessTokenTTL: options.tokenTtlS ?? 300,
              ...(opaque ? {} : { jwt: { sign: { alg: 'ES256' } } }),
            };
          },
        },
      },
    });
  provider = build();
  return {
    issuer,
    paths,
    async token({ resource: target = resource, scope = SCOPES, client = 'svc' } = {}) {
      const { client_id, client_secret } = CLIENTS.find((c) => c.client_id === client)!;
      const body = new URLSearchParams({ grant_type: 'client_credentials', scope, ...(target ? { resource: target } : {}) });
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        body,
        headers: { authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}` },
      });
      const answer = (await res.json()) as { access_token?: string };
      if (!answer.access_token) throw new Error(`no token: ${JSON.stringify(answer)}`);
      return answer.access_token;
    },
    async rotate() {
      keys = [await signingKey(`k${keys.length + 1}`), ...keys];
      provider = build();
    },
    get down() {
      return down;
    },
    set down(value: boolean) {
      down = value;
      if (value) for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port free on loopback now (the relay's resource URL must name it before the relay listens). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
