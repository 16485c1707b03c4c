import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { KEY, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('the official SDK client over HTTP');
let upstream: FakeUpstream;
let stateful: TestServer;
let stateless: TestServer;

test.before(async () => {
  upstream = await startFakeUpstream();
  stateful = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
  stateless = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' }, { stateless: true });
});
test.after(async () => {
  await stateful.close();
  await stateless.close();
  await upstream.close();
});

const keyHeaders = {
  bearer: { authorization: `Bearer ${KEY}` },
  'x-api-key': { 'x-api-key': KEY },
};

async function exercise(client: Client): Promise<void> {
  assert.is(client.getServerVersion()?.name, 'openai-mcp-relay');
  const { tools } = await client.listTools();
  assert.equal(
    tools.map((t) => t.name),
    ['generate'],
  );
  upstream.next({ type: 'json', content: 'Rome.' });
  const result = await client.callTool({ name: 'generate', arguments: { prompt: 'Capital of Italy?' } });
  assert.is((result.structuredContent as { text: string }).text, 'Rome.');
  upstream.next({ type: 'stream', pieces: ['Ma', 'drid', '.'], intervalMs: 60 });
  const seen: string[] = [];
  const streamed = await client.callTool({ name: 'generate', arguments: { prompt: 'Capital of Spain?' } }, undefined, {
    onprogress: (p) => void seen.push(p.message ?? ''),
  });
  assert.is((streamed.structuredContent as { text: string }).text, 'Madrid.');
  assert.is(seen.join(''), 'Madrid.');
  const invalid = await client.callTool({ name: 'generate', arguments: { prompt: '' } });
  assert.is(invalid.isError, true);
}

for (const [style, headers] of Object.entries(keyHeaders)) {
  test(`StreamableHTTPClientTransport, stateful, key as ${style}`, async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${stateful.url}/mcp`), { requestInit: { headers } });
    const client = new Client({ name: 'sdk-http', version: '1.0.0' });
    await client.connect(transport);
    assert.ok(transport.sessionId);
    await exercise(client);
    await transport.terminateSession();
    await client.close();
  });

  test(`StreamableHTTPClientTransport, stateless, key as ${style}`, async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${stateless.url}/mcp`), { requestInit: { headers } });
    const client = new Client({ name: 'sdk-http', version: '1.0.0' });
    await client.connect(transport);
    assert.is(transport.sessionId, undefined);
    await exercise(client);
    await client.close();
  });

  test(`SSEClientTransport (2024-11-05 transport), key as ${style}`, async () => {
    const transport = new SSEClientTransport(new URL(`${stateful.url}/sse`), { requestInit: { headers } });
    const client = new Client({ name: 'sdk-sse', version: '1.0.0' });
    await client.connect(transport);
    await exercise(client);
    await client.close();
  });
}

test('the SDK client is refused without a key', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${stateful.url}/mcp`));
  const client = new Client({ name: 'sdk-http', version: '1.0.0' });
  let failure: unknown;
  await client.connect(transport).catch((error: unknown) => (failure = error));
  assert.match(String(failure), /401|Unauthorized/);
  await client.close();
});

test('a cancelled call through the SDK (AbortSignal) aborts the upstream request', async () => {
  const transport = new StreamableHTTPClientTransport(new URL(`${stateful.url}/mcp`), { requestInit: { headers: keyHeaders.bearer } });
  const client = new Client({ name: 'sdk-http', version: '1.0.0' });
  await client.connect(transport);
  upstream.reset();
  upstream.next({ type: 'hang' });
  const controller = new AbortController();
  const call = client
    .callTool({ name: 'generate', arguments: { prompt: 'forever' } }, undefined, { signal: controller.signal })
    .catch((e: Error) => e);
  const [request] = await upstream.waitForRequests(1);
  controller.abort('user cancelled');
  assert.ok((await request!.closed).aborted);
  assert.ok((await call) instanceof Error);
  await client.close();
});

test.run();
