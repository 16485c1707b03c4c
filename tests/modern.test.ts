import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly } from './helpers.ts';
import { KEY, raw, SseClient, startHttp, type TestServer } from './http-helpers.ts';
import { BIN, StdioProcess } from './stdio-process.ts';

const test = suite('protocol 2026-07-28 beside the initialize era');

let echo: TestServer;
let upstream: FakeUpstream;
let relay: TestServer;
const processes: StdioProcess[] = [];

test.before(async () => {
  echo = await startHttp({ MCP_UPSTREAM: 'echo' });
  upstream = await startFakeUpstream();
  relay = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0' });
});
test.before.each(() => upstream.reset());
test.after(async () => {
  for (const p of processes) p.kill();
  await echo.close();
  await relay.close();
  await upstream.close();
});

const V = '2026-07-28';
const meta = (extra: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': V,
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});
const modernHeaders = (method: string, name?: string): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${KEY}`,
  'mcp-protocol-version': V,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});

test("log messages only when _meta asks for them, at or above the level, on the request's own stream", async () => {
  for (const [level, expected] of [
    [undefined, 0],
    ['error', 1],
    ['critical', 0],
    ['debug', 1],
  ] as const) {
    upstream.next({ type: 'error', status: 401, message: 'bad key' });
    const stream = new SseClient(relay.url, {
      headers: modernHeaders('tools/call', 'generate'),
      body: {
        jsonrpc: '2.0',
        id: 'log',
        method: 'tools/call',
        params: { name: 'generate', arguments: { prompt: 'x' }, _meta: meta(level ? { 'io.modelcontextprotocol/logLevel': level } : {}) },
      },
    });
    await stream.waitForEnd();
    // With a log message the answer is an event stream (the message precedes the result);
    // without one it is plain JSON, which the reader sees as no events.
    const logs = stream.messages().filter((m) => m.method === 'notifications/message');
    assert.is(logs.length, expected, `logLevel ${level}`);
    if (expected) assert.is(logs[0].params.level, 'error');
  }
});

test("progress goes out on the request's response stream, and the result is the modern one", async () => {
  upstream.next({ type: 'stream', pieces: ['mod', 'ern'], intervalMs: 60 });
  const stream = new SseClient(relay.url, {
    headers: modernHeaders('tools/call', 'generate'),
    body: {
      jsonrpc: '2.0',
      id: 'p',
      method: 'tools/call',
      params: { name: 'generate', arguments: { prompt: 'x' }, _meta: meta({ progressToken: 'tok' }) },
    },
  });
  await stream.waitForEnd();
  assert.match(String(stream.response!.headers['content-type']), /^text\/event-stream/);
  assert.ok(
    stream.events.every((e) => e.id === undefined),
    'no event ids: 2026-07-28 streams are not resumable',
  );
  const messages = stream.messages();
  assert.is(
    messages
      .filter((m) => m.method === 'notifications/progress')
      .map((m) => m.params.message)
      .join(''),
    'modern',
  );
  const result = messages.at(-1).result;
  assert.is(result.resultType, 'complete');
  assert.is(result.structuredContent.text, 'modern');
  assert.is(result._meta['io.modelcontextprotocol/serverInfo'].name, 'openai-mcp-relay');
});

test('closing the response stream cancels the request and aborts its upstream call', async () => {
  upstream.next({ type: 'hang' });
  const stream = new SseClient(relay.url, {
    headers: modernHeaders('tools/call', 'generate'),
    body: { jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' }, _meta: meta() } },
  });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () => stream.close());
});

test('over stdio, notifications/cancelled cancels a modern request; no reply follows', async () => {
  const p = new StdioProcess([], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MAX_RETRIES: '0' });
  processes.push(p);
  upstream.next({ type: 'hang' });
  p.send({ jsonrpc: '2.0', id: 'm1', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' }, _meta: meta() } });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () => p.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'm1' } }));
  // A later request's reply comes; the cancelled one's never does (it settled when its upstream went).
  p.send({ jsonrpc: '2.0', id: 'after', method: 'server/discover', params: { _meta: meta() } });
  await p.waitFor((m) => m.id === 'after');
  assert.not.ok(p.messages.some((m) => m.id === 'm1'));
  p.kill();
});

test('modern requests ignore Mcp-Session-Id; a notification POST gets 202', async () => {
  const res = await raw(echo.url, {
    headers: { ...modernHeaders('tools/list'), 'mcp-session-id': 'whatever' },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta() } },
  });
  assert.is(res.status, 200);
  assert.is(res.headers['mcp-session-id'], undefined);
  const note = await raw(echo.url, {
    headers: modernHeaders('notifications/cancelled'),
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } },
  });
  assert.is(note.status, 202);
  assert.is(note.text, '');
});

test('subscriptions/listen over HTTP: acknowledged first, held open, ended gracefully when the server stops', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' });
  const stream = new SseClient(server.url, {
    headers: modernHeaders('subscriptions/listen'),
    body: {
      jsonrpc: '2.0',
      id: 'listen-1',
      method: 'subscriptions/listen',
      params: { notifications: { toolsListChanged: true, resourceSubscriptions: ['file:///x'] }, _meta: meta() },
    },
  });
  await stream.waitFor((events) => events.length >= 1);
  const [ack] = stream.messages();
  assert.equal(ack, {
    jsonrpc: '2.0',
    method: 'notifications/subscriptions/acknowledged',
    params: { _meta: { 'io.modelcontextprotocol/subscriptionId': 'listen-1' }, notifications: {} },
  });
  // Other requests come and go; the subscription stays open.
  const discover = await raw(server.url, {
    headers: modernHeaders('server/discover'),
    body: { jsonrpc: '2.0', id: 'd', method: 'server/discover', params: { _meta: meta() } },
  });
  assert.is(discover.status, 200);
  assert.not.ok(stream.ended, 'the stream stays open');
  await server.close(5000);
  await stream.waitForEnd();
  const [, cancelled, result] = stream.messages();
  assert.equal(cancelled.method, 'notifications/cancelled');
  assert.is(cancelled.params.requestId, 'listen-1');
  assert.is(result.id, 'listen-1');
  assert.is(result.result.resultType, 'complete');
  assert.is(result.result._meta['io.modelcontextprotocol/subscriptionId'], 'listen-1');
});

test('subscriptions/listen: closing the stream ends it; a malformed filter is -32602', async () => {
  const bad = await raw(echo.url, {
    headers: modernHeaders('subscriptions/listen'),
    body: { jsonrpc: '2.0', id: 1, method: 'subscriptions/listen', params: { notifications: { toolsListChanged: 'yes' }, _meta: meta() } },
  });
  assert.is(bad.json().error.code, -32602);
  const missing = await raw(echo.url, {
    headers: modernHeaders('subscriptions/listen'),
    body: { jsonrpc: '2.0', id: 2, method: 'subscriptions/listen', params: { _meta: meta() } },
  });
  assert.is(missing.json().error.code, -32602);
  const stream = new SseClient(echo.url, {
    headers: modernHeaders('subscriptions/listen'),
    body: { jsonrpc: '2.0', id: 3, method: 'subscriptions/listen', params: { notifications: {}, _meta: meta() } },
  });
  await stream.waitFor((events) => events.length >= 1);
  stream.close();
  // The server is still serving, with nothing left running for the closed subscription.
  assert.is(
    (
      await raw(echo.url, {
        headers: modernHeaders('server/discover'),
        body: { jsonrpc: '2.0', id: 4, method: 'server/discover', params: { _meta: meta() } },
      })
    ).status,
    200,
  );
});

test('subscriptions/listen over stdio: acknowledged; notifications/cancelled ends it with no reply; SIGTERM ends the rest gracefully', async () => {
  const p = new StdioProcess(['--upstream', 'echo', '--log-level', 'silent'], {});
  processes.push(p);
  p.send({ jsonrpc: '2.0', id: 'a', method: 'subscriptions/listen', params: { notifications: {}, _meta: meta() } });
  p.send({
    jsonrpc: '2.0',
    id: 'b',
    method: 'subscriptions/listen',
    params: { notifications: { promptsListChanged: true }, _meta: meta() },
  });
  await p.waitFor(
    (m) =>
      m.method === 'notifications/subscriptions/acknowledged' &&
      (m.params!._meta as Record<string, unknown>)['io.modelcontextprotocol/subscriptionId'] === 'b',
  );
  p.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a' } });
  p.send({ jsonrpc: '2.0', id: 'after', method: 'server/discover', params: { _meta: meta() } });
  await p.waitFor((m) => m.id === 'after'); // the cancel was handled before this reply
  p.child.kill('SIGTERM');
  assert.is((await p.exited).code, 0);
  assert.not.ok(
    p.messages.some((m) => m.id === 'a'),
    'a cancelled subscription gets no reply',
  );
  const b = p.messages.find((m) => m.id === 'b');
  assert.is((b!.result!._meta as Record<string, unknown>)['io.modelcontextprotocol/subscriptionId'], 'b');
  assert.ok(p.messages.some((m) => m.method === 'notifications/cancelled' && m.params!.requestId === 'b'));
  assert.equal(p.junk, []);
});

test('refusals keep their status for SSE-only clients; header values must be visible ASCII', async () => {
  const sseOnly = await raw(echo.url, {
    headers: { ...modernHeaders('tools/call', 'generate'), accept: 'text/event-stream' },
    body: { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta() } },
  });
  assert.is(sseOnly.status, 400);
  assert.is(sseOnly.json().error.code, -32020);
  const unknown = await raw(echo.url, {
    headers: { ...modernHeaders('prompts/list'), accept: 'text/event-stream' },
    body: { jsonrpc: '2.0', id: 2, method: 'prompts/list', params: { _meta: meta() } },
  });
  assert.is(unknown.status, 404);
  const latin1 = await raw(echo.url, {
    headers: modernHeaders('tools/call', 'g\u00e9n'),
    body: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'g\u00e9n', arguments: {}, _meta: meta() } },
  });
  assert.is(latin1.status, 400);
  assert.match(latin1.json().error.message, /not visible ASCII/);
  const bare = await raw(echo.url, {
    headers: modernHeaders('tools/call', '=?base64?='),
    body: { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: '', arguments: {}, _meta: meta() } },
  });
  assert.is(bare.status, 400, 'a bare sentinel is not an encoded empty name');
});

test('GET and DELETE inside an initialize-era session still work when the header names 2026-07-28', async () => {
  const init = await raw(echo.url, {
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${KEY}` },
    body: {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    },
  });
  const session = init.headers['mcp-session-id'] as string;
  const stream = new SseClient(echo.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}`, 'mcp-session-id': session, 'mcp-protocol-version': V },
  });
  assert.is((await stream.ready).statusCode, 200);
  const del = await raw(echo.url, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${KEY}`, 'mcp-session-id': session, 'mcp-protocol-version': V },
  });
  assert.is(del.status, 204);
  await stream.waitForEnd();
});

test('interleaved on one HTTP server: the official SDK client (initialize era), the v2 client pinned to 2026-07-28, and raw modern requests', async () => {
  const legacy = new LegacyClient({ name: 'sdk-v1', version: '1.0.0' });
  await legacy.connect(
    new LegacyHttpTransport(new URL(`${echo.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEY}` } } }),
  );
  const modern = new ModernClient({ name: 'sdk-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
  await modern.connect(
    new StreamableHTTPClientTransport(new URL(`${echo.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEY}` } } }),
  );
  assert.is(modern.getProtocolEra(), 'modern');
  for (let round = 0; round < 3; round++) {
    const [a, b, c] = await Promise.all([
      legacy.callTool({ name: 'generate', arguments: { prompt: `legacy ${round}` } }),
      modern.callTool({ name: 'generate', arguments: { prompt: `modern ${round}` } }),
      raw(echo.url, {
        headers: modernHeaders('tools/call', 'generate'),
        body: {
          jsonrpc: '2.0',
          id: round,
          method: 'tools/call',
          params: { name: 'generate', arguments: { prompt: `raw ${round}` }, _meta: meta() },
        },
      }),
    ]);
    assert.is((a.structuredContent as { text: string }).text, `legacy ${round}`);
    assert.not.ok('resultType' in a, 'an initialize-era result has no resultType');
    assert.is((b.structuredContent as { text: string }).text, `modern ${round}`);
    assert.is(c.json().result.resultType, 'complete');
    assert.is(c.json().result.structuredContent.text, `raw ${round}`);
  }
  const listed = await legacy.listTools();
  assert.not.ok('ttlMs' in listed);
  await legacy.close();
  await modern.close();
});

test('interleaved on one stdio process: initialize-era and modern requests, each answered in its own era', async () => {
  const p = new StdioProcess(['--upstream', 'echo'], {});
  processes.push(p);
  // A modern request first: it needs no initialize and starts nothing.
  const discover = await p.request({ id: 'd', method: 'server/discover', params: { _meta: meta() } });
  assert.is(discover.result!.resultType, 'complete');
  const early = await p.request({ id: 'early', method: 'tools/list' });
  assert.is(early.error!.code, -32600, 'the initialize era still needs initialize');
  await p.initialize('2025-06-18');
  const legacyList = await p.request({ id: 'l1', method: 'tools/list' });
  assert.not.ok('resultType' in legacyList.result!);
  assert.not.ok('ttlMs' in legacyList.result!);
  const modernList = await p.request({ id: 'm1', method: 'tools/list', params: { _meta: meta() } });
  assert.is(modernList.result!.ttlMs, 300_000);
  const legacyCall = await p.request({ id: 'l2', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'old' } } });
  assert.is((legacyCall.result!.structuredContent as { text: string }).text, 'old');
  assert.not.ok('resultType' in legacyCall.result!);
  // The session's 2025-06-18 rules stay: invalid arguments are -32602 there, a result in 2026-07-28.
  const legacyInvalid = await p.request({ id: 'l3', method: 'tools/call', params: { name: 'generate', arguments: {} } });
  assert.is(legacyInvalid.error!.code, -32602);
  const modernInvalid = await p.request({ id: 'm2', method: 'tools/call', params: { name: 'generate', arguments: {}, _meta: meta() } });
  assert.is(modernInvalid.result!.isError, true);
  assert.equal((await p.request({ id: 'ping', method: 'ping' })).result, {});
  assert.equal(p.junk, []);
  p.kill();
});

test('the v2 client pinned to 2026-07-28 over stdio', async () => {
  const client = new ModernClient({ name: 'sdk-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: V } } });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--transport', 'stdio', '--upstream', 'echo', '--log-level', 'silent'],
      env: { PATH: process.env.PATH ?? '' },
    }),
  );
  try {
    assert.is(client.getProtocolEra(), 'modern');
    const { tools } = await client.listTools();
    assert.equal(
      tools.map((t) => t.name),
      ['generate'],
    );
    const result = await client.callTool({ name: 'generate', arguments: { prompt: 'via stdio' } });
    assert.is((result.structuredContent as { text: string }).text, 'via stdio');
  } finally {
    await client.close();
  }
});

test.run();
