/**
 * A hostile tenant (key "mallory") against a quiet one ("alice") on the same relay: streams,
 * sessions and replay logs. Each test plays one attack from the isolation issue, bounded in
 * count, and shows alice unharmed. Time moves on a manual clock, so idle ends are decided by
 * the code, not by how long the machine took.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { ManualClock } from './clock.ts';
import {
  auth,
  getStream,
  initializeBody,
  legacyStream,
  listen,
  openSession,
  raw,
  rpc,
  SseClient,
  startHttp,
  type TestHttpOptions,
} from './http-helpers.ts';

const test = suite('isolation: streams, sessions, replay logs');
const ALICE = 'alice-key-0123456789abcdef';
const MALLORY = 'mallory-key-0123456789abcd';
const keys = [
  { name: 'alice', key: ALICE },
  { name: 'mallory', key: MALLORY },
];

let upstream: FakeUpstream;
test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  await upstream.close();
});

const serve = (options: TestHttpOptions = {}, env: Record<string, string> = {}) =>
  startHttp(
    { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MAX_RETRIES: '0', ...env },
    {
      apiKeys: keys,
      sessionIdleMs: 3_600_000,
      ...(env.MCP_STREAM_IDLE_MS ? { streamIdleMs: Number(env.MCP_STREAM_IDLE_MS) } : {}),
      ...options,
    },
  );

async function opened(client: SseClient): Promise<number> {
  const res = await client.ready.catch(() => undefined);
  return res?.statusCode ?? 0;
}

test('subscriptions/listen streams count against the stream caps: past its share a key gets 503; others keep GET /mcp, /sse and /health', async () => {
  // 20 streams in all; with two keys each may hold a quarter (5).
  const server = await serve({ maxSseStreams: 20 });
  const held: SseClient[] = [];
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const sub = listen(server.url, MALLORY, `s${i}`);
      held.push(sub);
      const status = await opened(sub);
      statuses.push(status);
      if (status === 200) await sub.waitFor((events) => events.length >= 1);
    }
    assert.equal(statuses, [...Array(5).fill(200), ...Array(7).fill(503)]);
    const refused = await raw(server.url, {
      headers: auth(MALLORY, { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' }),
      body: rpc(
        'subscriptions/listen',
        {
          _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} },
          notifications: {},
        },
        'late',
      ),
    });
    assert.is(refused.status, 503);
    assert.is(refused.headers['retry-after'], '5');
    assert.equal(refused.json().error, {
      code: -32000,
      message: 'Service Unavailable: this key has as many event streams open as it may (MCP_MAX_STREAMS_PER_KEY)',
    });

    const session = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    const stream = getStream(server.url, session, ALICE);
    held.push(stream);
    assert.is(await opened(stream), 200, 'alice opens her GET stream');
    const sse = legacyStream(server.url, ALICE);
    held.push(sse);
    assert.is(await opened(sse), 200, 'alice opens a /sse stream');
    const aliceSub = listen(server.url, ALICE);
    held.push(aliceSub);
    assert.is(await opened(aliceSub), 200, 'alice subscribes');
    assert.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 200);
    const metrics = await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${ALICE}` } });
    assert.match(metrics.text, /^mcp_sse_streams_open 8$/m, "five of mallory's and three of alice's");
  } finally {
    for (const client of held) client.close();
    await server.close();
  }
});

test('a POST answer that would stream takes a stream slot; with none left for its key it is answered as JSON, without progress', async () => {
  const server = await serve({ maxSseStreams: 20 });
  const held: SseClient[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const sub = listen(server.url, MALLORY, `s${i}`);
      held.push(sub);
      await sub.waitFor((events) => events.length >= 1);
    }
    const progressCall = (id: string) =>
      rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' }, _meta: { progressToken: id } }, id);
    const mallory = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` });
    upstream.next({ type: 'stream', pieces: ['one ', 'two'] });
    const hers = await raw(server.url, { headers: auth(MALLORY, { 'mcp-session-id': mallory }), body: progressCall('m') });
    assert.is(hers.status, 200);
    assert.match(String(hers.headers['content-type']), /^application\/json/);
    assert.is(hers.json().result.structuredContent.text, 'one two', 'the call itself is answered');
    const alice = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    upstream.next({ type: 'stream', pieces: ['one ', 'two'] });
    const mine = await raw(server.url, { headers: auth(ALICE, { 'mcp-session-id': alice }), body: progressCall('a') });
    assert.match(String(mine.headers['content-type']), /^text\/event-stream/);
    assert.match(mine.text, /notifications\/progress/);
  } finally {
    for (const client of held) client.close();
    await server.close();
  }
});

test("an idle subscription is torn down the spec's way after MCP_STREAM_IDLE_MS: notifications/cancelled, then the result", async () => {
  const clock = new ManualClock();
  const server = await serve({ clock }, { MCP_STREAM_IDLE_MS: '60000' });
  try {
    const sub = listen(server.url, ALICE, 7);
    await sub.waitFor((events) => events.length >= 1);
    clock.advance(59_999);
    assert.is(sub.messages().length, 1, 'only the acknowledgement before the idle time is up');
    clock.advance(1);
    await sub.waitForEnd();
    const [ack, cancelled, result] = sub.messages();
    assert.is(ack.method, 'notifications/subscriptions/acknowledged');
    assert.is(cancelled.method, 'notifications/cancelled');
    assert.is(cancelled.params.requestId, 7);
    assert.match(cancelled.params.reason, /MCP_STREAM_IDLE_MS/);
    assert.equal(result.result._meta['io.modelcontextprotocol/subscriptionId'], 7);
    assert.is(result.result.resultType, 'complete');
  } finally {
    await server.close();
  }
});

test('GET streams that carry nothing for MCP_STREAM_IDLE_MS are closed (the client reconnects); the session stays', async () => {
  const clock = new ManualClock();
  const server = await serve({ clock }, { MCP_STREAM_IDLE_MS: '60000' });
  try {
    const session = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    const stream = getStream(server.url, session, ALICE);
    assert.is(await opened(stream), 200);
    clock.advance(45_000);
    assert.is(stream.ended, false, 'keep-alive comments do not end it early');
    clock.advance(15_000);
    await stream.waitForEnd();
    assert.is((await raw(server.url, { headers: auth(ALICE, { 'mcp-session-id': session }), body: rpc('ping') })).status, 200);
    const again = getStream(server.url, session, ALICE);
    assert.is(await opened(again), 200, 'the client reconnects');
    again.close();
  } finally {
    await server.close();
  }
});

test('legacy /sse: one key cannot hold the streams or sessions of everyone; an idle /sse stream ends and takes its session with it', async () => {
  const clock = new ManualClock();
  const server = await serve({ clock, maxSseStreams: 20, maxSessions: 20 }, { MCP_STREAM_IDLE_MS: '60000' });
  const held: SseClient[] = [];
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const sse = legacyStream(server.url, MALLORY);
      held.push(sse);
      statuses.push(await opened(sse));
    }
    assert.equal(statuses, [...Array(5).fill(200), ...Array(5).fill(503)]);
    const init = await raw(server.url, { headers: auth(ALICE), body: initializeBody() });
    assert.is(init.status, 200, 'alice can still initialize');
    const mine = legacyStream(server.url, ALICE);
    held.push(mine);
    await mine.waitFor((events) => events.length >= 1);
    const endpoint = mine.events[0]!.data;
    clock.advance(60_000);
    await mine.waitForEnd();
    const post = await raw(server.url, { path: endpoint, headers: auth(ALICE), body: rpc('ping') });
    assert.is(post.status, 404, 'the session ended with its stream');
  } finally {
    for (const client of held) client.close();
    await server.close();
  }
});

test("at the session cap a key whose own sessions are busy is refused; another key's idle session is never evicted for it", async () => {
  const server = await serve({ maxSessions: 3, maxSessionsPerKey: 3 });
  try {
    const alice = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    const mallory = [
      await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` }),
      await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` }),
    ];
    upstream.next({ type: 'held' }, { type: 'held' });
    const busy = mallory.map((session, i) =>
      raw(server.url, {
        headers: auth(MALLORY, { 'mcp-session-id': session }),
        body: rpc('tools/call', { name: 'generate', arguments: { prompt: `busy ${i}` } }, i),
      }),
    );
    await upstream.waitForRequests(2);
    const refused = await raw(server.url, { headers: auth(MALLORY), body: initializeBody() });
    assert.is(refused.status, 503);
    assert.is(refused.headers['retry-after'], '5');
    assert.match(refused.json().error.message, /MCP_MAX_SESSIONS\)/);
    assert.is(
      (await raw(server.url, { headers: auth(ALICE, { 'mcp-session-id': alice }), body: rpc('ping') })).status,
      200,
      "alice's idle session survived",
    );
    upstream.release(2);
    for (const answer of await Promise.all(busy)) assert.is(answer.status, 200);
  } finally {
    await server.close();
  }
});

test('MCP_MAX_SESSIONS_PER_KEY: a key at its cap makes room from its own idle sessions only, and is refused when none is idle', async () => {
  const server = await serve({ maxSessions: 100, maxSessionsPerKey: 2 });
  try {
    const alice = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    const first = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` });
    await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` });
    await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` });
    assert.is(
      (await raw(server.url, { headers: auth(MALLORY, { 'mcp-session-id': first }), body: rpc('ping') })).status,
      404,
      'her own quietest session made room',
    );
    assert.is((await raw(server.url, { headers: auth(ALICE, { 'mcp-session-id': alice }), body: rpc('ping') })).status, 200);
  } finally {
    await server.close();
  }
});

/** Waits until /metrics shows `count` finished calls of a key with outcome ok. */
async function callsDone(base: string, key: string, name: string, count: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const metrics = await raw(base, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${key}` } });
    const line = new RegExp(`^mcp_key_tool_calls_total\\{key="${name}",outcome="ok"\\} (\\d+)$`, 'm').exec(metrics.text);
    if (line && Number(line[1]) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${name}'s ${count} calls did not finish`);
}

test("replay logs: one key's flood of unread events cannot evict another key's resumable answer", async () => {
  // 64 KiB of replay for everyone, 16 KiB per key with two keys.
  const server = await serve({ replayBudget: 64 * 1024 });
  try {
    const call = (id: string, prompt: string) =>
      rpc('tools/call', { name: 'generate', arguments: { prompt }, _meta: { progressToken: id } }, id);
    // Mallory walks away from many big streamed answers: every event unread, each kept for replay,
    // until her logs hold more than the whole budget.
    const flood = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` });
    for (let i = 0; i < 6; i++) {
      upstream.next({ type: 'stream', pieces: Array(10).fill('m'.repeat(2000)) });
      const dropped = new SseClient(server.url, { headers: auth(MALLORY, { 'mcp-session-id': flood }), body: call(`m${i}`, 'x') });
      await dropped.ready;
      dropped.close();
    }
    await callsDone(server.url, MALLORY, 'mallory', 6);

    // Then alice's connection drops mid-answer; her answer goes on into the log.
    const alice = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    upstream.next({ type: 'stream', pieces: ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon'], intervalMs: 5 });
    const answer = new SseClient(server.url, { headers: auth(ALICE, { 'mcp-session-id': alice }), body: call('a1', 'x') });
    await answer.waitFor((events) => events.length >= 1);
    const lastSeen = answer.events[0]!.id!;
    answer.close();
    await callsDone(server.url, ALICE, 'alice', 1);

    const resumed = new SseClient(server.url, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${ALICE}`, 'mcp-session-id': alice, 'last-event-id': lastSeen },
    });
    await resumed.waitForEnd();
    const messages = resumed.messages();
    const text = messages
      .filter((m) => m.method === 'notifications/progress')
      .map((m) => m.params.message)
      .join('');
    assert.is(text, 'alpha beta gamma delta epsilon', 'every piece she missed was replayed');
    assert.ok(
      messages.some((m) => m.id === 'a1' && m.result),
      'and her result',
    );
  } finally {
    await server.close();
  }
});

test.run();
