/**
 * OAuth end to end with clients we did not write: the official SDK clients (v1 and v2), with
 * their own client-credentials providers, start without a token, read our 401 challenge,
 * discover the Protected Resource Metadata and the authorization server, get a token for our
 * resource from oidc-provider, and call the tool; the relay started as a real process (the
 * bundle) in OAuth mode.
 */
import {
  Client as ClientV2,
  ClientCredentialsProvider as ProviderV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startProcess } from '../bench/load.ts';
import { BIN } from './stdio-process.ts';
import { freePort, startAuthorizationServer, type TestAuthorizationServer } from './oauth-provider.ts';

const test = suite('OAuth with the SDK clients');
let as: TestAuthorizationServer;
let relay: Awaited<ReturnType<typeof startProcess>>;
let resource: string;

test.before(async () => {
  const port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  as = await startAuthorizationServer(resource);
  relay = await startProcess(process.execPath, [BIN], {
    HOST: '127.0.0.1',
    PORT: String(port),
    MCP_UPSTREAM: 'echo',
    MCP_AUTH: 'oauth',
    MCP_OAUTH_ISSUER: as.issuer,
    MCP_RESOURCE_URL: resource,
    MCP_OAUTH_SCOPES: 'mcp:tools',
  });
});
test.after(async () => {
  await relay.stop();
  await as.close();
});

test('SDK v1: ClientCredentialsProvider, discovery from the 401, a token for our resource, a tool call', async () => {
  const authProvider = new ClientCredentialsProvider({
    clientId: 'svc',
    clientSecret: 'svc-secret-0123456789',
    expectedIssuer: as.issuer,
    scope: 'mcp:tools',
  });
  const client = new Client({ name: 'sdk-oauth', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(resource), { authProvider }));
  const result = await client.callTool({ name: 'generate', arguments: { prompt: 'through OAuth' } });
  assert.is((result.structuredContent as { text: string }).text, 'through OAuth');
  await client.close();
  assert.ok(as.paths.includes('/token'), 'the client got its token from the authorization server');
});

test('SDK v2: the scope comes from our challenge (the client asks for none of its own)', async () => {
  const authProvider = new ProviderV2({ clientId: 'svc', clientSecret: 'svc-secret-0123456789', expectedIssuer: as.issuer });
  const client = new ClientV2({ name: 'sdk2-oauth', version: '1.0.0' });
  await client.connect(new TransportV2(new URL(resource), { authProvider }));
  const result = await client.callTool({ name: 'generate', arguments: { prompt: 'v2 through OAuth' } });
  assert.is((result.structuredContent as { text: string }).text, 'v2 through OAuth');
  await client.close();
});

test.run();
