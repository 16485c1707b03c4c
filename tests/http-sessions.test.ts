import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { ManualClock } from './clock.ts';
import { assertAbortedPromptly, eventually } from './helpers.ts';
import { initializeBody, jsonHeaders, openSession, raw, rpc, SseClient, startHttp } from './http-helpers.ts';

const test = suite('sessions: expiry, limits, stateless mode');
let upstream: FakeUpstream;

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  await upstream.close();
});

const call = (id: string | number, args: object, meta?: object) =>
  rpc('tools/call', { name: 'generate', arguments: args, ...(meta ? { _meta: meta } : {}) }, id);

test('a session whose client is quiet for MCP_SESSION_IDLE_MS expires, and its calls in flight are aborted', async () => {
  const clock = new ManualClock();
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_TIMEOUT_MS: '30000' }, { sessionIdleMs: 1000, clock });
  try {
    const quiet = await openSession(server.url);
    const active = await openSession(server.url);
    upstream.next({ type: 'hang' });
    const stuck = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': quiet }), body: call('stuck', { prompt: 'x' }) });
    const [request] = await upstream.waitForRequests(1);
    let closedAt: number | undefined;
    void request!.closed.then(() => (closedAt = clock.now()));
    const started = clock.now();
    // The other client keeps talking, so its session stays; expiry is checked every quarter of the idle time.
    for (let i = 0; i < 6; i++) {
      clock.advance(250);
      assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': active }), body: rpc('ping') })).status, 200);
    }
    const closed = await request!.closed;
    assert.ok(closed.aborted, 'expiry closed the upstream request');
    assert.is(closedAt! - started, 1000, 'at the first check after the session had been quiet for 1000 ms');
    assert.not.match((await stuck).text, /"id":"stuck"/);
    assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': quiet }), body: rpc('ping') })).status, 404);
    assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': active }), body: rpc('ping') })).status, 200);
  } finally {
    await server.close();
  }
});

test('session expiry ends its GET stream', async () => {
  const clock = new ManualClock();
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { sessionIdleMs: 1000, clock });
  try {
    const session = await openSession(server.url);
    const stream = new SseClient(server.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
    });
    await stream.ready;
    clock.advance(999);
    assert.is(stream.ended, false);
    clock.advance(1);
    await stream.waitForEnd();
    assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: rpc('ping') })).status, 404);
  } finally {
    await server.close();
  }
});

test('at MCP_MAX_SESSIONS the longest-idle session is evicted; with none idle, 503', async () => {
  const clock = new ManualClock();
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { maxSessions: 2, clock });
  try {
    const first = await openSession(server.url);
    clock.advance(10);
    const second = await openSession(server.url);
    clock.advance(10);
    const third = await openSession(server.url);
    assert.is(
      (await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': first }), body: rpc('ping') })).status,
      404,
      'the oldest idle went',
    );
    assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': second }), body: rpc('ping') })).status, 200);
    // Make both remaining sessions busy; a new one must be refused.
    upstream.next({ type: 'hang' }, { type: 'hang' });
    const a = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': second }), body: call('a', { prompt: 'x' }) });
    const b = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': third }), body: call('b', { prompt: 'x' }) });
    await upstream.waitForRequests(2);
    const refused = await raw(server.url, { headers: jsonHeaders(), body: initializeBody() });
    assert.is(refused.status, 503);
    assert.ok(refused.headers['retry-after']);
    assert.is(refused.json().error.code, -32000);
    await raw(server.url, {
      headers: jsonHeaders({ 'mcp-session-id': second }),
      body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a' } },
    });
    await raw(server.url, {
      headers: jsonHeaders({ 'mcp-session-id': third }),
      body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'b' } },
    });
    await Promise.all([a, b]);
  } finally {
    await server.close();
  }
});

test('at the session cap, the key holding the most sessions loses one of its own first', async () => {
  const clock = new ManualClock();
  const server = await startHttp(
    { MCP_UPSTREAM: 'echo' },
    {
      clock,
      maxSessions: 3,
      apiKeys: [
        { name: 'alice', key: 'alice-key-0123456789' },
        { name: 'bob', key: 'bob-key-0123456789ab' },
      ],
    },
  );
  try {
    const as = (key: string) => ({ authorization: `Bearer ${key}` });
    const bob = await openSession(server.url, '2025-11-25', as('bob-key-0123456789ab'));
    clock.advance(10);
    const alice = [await openSession(server.url, '2025-11-25', as('alice-key-0123456789'))];
    clock.advance(10);
    alice.push(await openSession(server.url, '2025-11-25', as('alice-key-0123456789')));
    clock.advance(10);
    alice.push(await openSession(server.url, '2025-11-25', as('alice-key-0123456789')));
    const ping = (session: string, key: string) =>
      raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session, ...as(key) }), body: rpc('ping') });
    assert.is((await ping(bob, 'bob-key-0123456789ab')).status, 200, 'bob keeps his one session though it is the oldest');
    assert.is((await ping(alice[0]!, 'alice-key-0123456789')).status, 404, 'alice lost her oldest');
  } finally {
    await server.close();
  }
});

test('past MCP_MAX_SSE_STREAMS a new event stream is refused with 503', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { maxSseStreams: 1 });
  try {
    const first = await openSession(server.url);
    const second = await openSession(server.url);
    const get = (session: string) => ({
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
    });
    const stream = new SseClient(server.url, get(first));
    assert.is((await stream.ready).statusCode, 200);
    const refused = await raw(server.url, get(second));
    assert.is(refused.status, 503);
    assert.is(refused.json().error.code, -32000);
    const legacy = await raw(server.url, {
      method: 'GET',
      path: '/sse',
      headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization! },
    });
    assert.is(legacy.status, 503);
    stream.close();
    // The slot is free once the server has seen the stream close.
    let later: SseClient | undefined;
    await eventually(async () => {
      later?.close();
      later = new SseClient(server.url, get(second));
      return (await later.ready).statusCode === 200;
    }, 'a new stream is accepted once the first has closed');
    later!.close();
  } finally {
    await server.close();
  }
});

test('stateless: no session ids, no initialize needed, version from the header or 2025-03-26', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { stateless: true });
  try {
    const init = await raw(server.url, { headers: jsonHeaders(), body: initializeBody() });
    assert.is(init.status, 200);
    assert.is(init.headers['mcp-session-id'], undefined);
    const list = await raw(server.url, { headers: jsonHeaders(), body: rpc('tools/list') });
    assert.is(list.status, 200);
    // No header: 2025-03-26 (annotations, no outputSchema).
    assert.ok('annotations' in list.json().result.tools[0]);
    assert.not.ok('outputSchema' in list.json().result.tools[0]);
    const modern = await raw(server.url, {
      headers: jsonHeaders({ 'mcp-protocol-version': '2025-11-25' }),
      body: call(1, { prompt: 'hi' }),
    });
    assert.is(modern.json().result.structuredContent.text, 'Hello from the fake upstream.');
    // A session id is simply ignored.
    assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': 'whatever' }), body: rpc('ping') })).status, 200);
    // Batches under the 2025-03-26 default.
    assert.is(
      (await raw(server.url, { headers: jsonHeaders(), body: [rpc('ping', undefined, 1), rpc('ping', undefined, 2)] })).json().length,
      2,
    );
  } finally {
    await server.close();
  }
});

test('stateless: GET and DELETE are 405; progress still streams, without event ids', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { stateless: true });
  try {
    for (const method of ['GET', 'DELETE']) {
      const res = await raw(server.url, { method, headers: { ...jsonHeaders(), accept: 'text/event-stream' } });
      assert.is(res.status, 405);
      assert.is(res.headers.allow, 'POST');
    }
    upstream.next({ type: 'stream', pieces: ['x', 'y'], intervalMs: 60 });
    const stream = new SseClient(server.url, {
      headers: jsonHeaders({ 'mcp-protocol-version': '2025-11-25' }),
      body: call(2, { prompt: 'p' }, { progressToken: 1 }),
    });
    await stream.waitForEnd();
    assert.ok(stream.events.every((e) => e.id === undefined && e.data !== ''));
    assert.is(stream.messages().at(-1).result.structuredContent.text, 'xy');
  } finally {
    await server.close();
  }
});

test('stateless: a client that goes away aborts its call and the upstream request', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { stateless: true });
  try {
    upstream.next({ type: 'hang' });
    const stream = new SseClient(server.url, { headers: jsonHeaders(), body: call(3, { prompt: 'p' }) });
    const [request] = await upstream.waitForRequests(1);
    await assertAbortedPromptly(request, () => stream.close());
  } finally {
    await server.close();
  }
});

test('2026-07-28: a client that closes its stream cancels its call (no session to resume it in)', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl });
  try {
    upstream.next({ type: 'hang' });
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      progressToken: 'p',
    };
    const stream = new SseClient(server.url, {
      headers: jsonHeaders({ 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'generate' }),
      body: call(4, { prompt: 'p' }, meta),
    });
    const [request] = await upstream.waitForRequests(1);
    await assertAbortedPromptly(request, () => stream.close());
  } finally {
    await server.close();
  }
});

test('shutdown delivers the whole streamed answer of every call that finishes within the grace period', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl });
  const session = await openSession(server.url);
  upstream.fallback = () => ({ type: 'stream', pieces: ['a', 'b', 'c', 'd'], intervalMs: 150 });
  try {
    const streams = [1, 2, 3].map(
      (id) =>
        new SseClient(server.url, {
          headers: jsonHeaders({ 'mcp-session-id': session }),
          body: call(id, { prompt: 'x' }, { progressToken: id }),
        }),
    );
    await upstream.waitForRequests(3);
    await server.close(3000);
    for (const stream of streams) {
      await stream.waitForEnd();
      const reply = stream.messages().find((m) => 'result' in m);
      assert.ok(reply, 'the result arrived before the stream closed');
      assert.is(reply.result.structuredContent.text, 'abcd');
    }
  } finally {
    upstream.fallback = () => ({ type: 'json' });
  }
});

test('shutdown lets calls in flight finish within the grace period, then aborts the rest', async () => {
  const clock = new ManualClock();
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { clock });
  const session = await openSession(server.url);
  upstream.next({ type: 'held', content: 'finished in time' }, { type: 'hang' });
  const quick = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: call('quick', { prompt: 'x' }) });
  const stuck = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: call('stuck', { prompt: 'y' }) }).catch(
    (e: Error) => e,
  );
  const requests = await upstream.waitForRequests(2);
  let stopped = false;
  const stopping = server.close(800).then(() => (stopped = true));
  upstream.release(1);
  assert.is((await quick).json().result.structuredContent.text, 'finished in time', 'answered during the grace period');
  clock.advance(799);
  assert.is(stopped, false, 'still waiting for the other call');
  clock.advance(1);
  await stopping;
  const stuckAnswer = await stuck;
  assert.ok(stuckAnswer instanceof Error || !stuckAnswer.text.includes('"id":"stuck"'));
  assert.ok((await requests[1]!.closed).aborted);
});

test.run();
