/**
 * Heartbeats (MCP_HEARTBEAT_MS): while a call with a progress token waits on something silent
 * (a free slot, the model's first token, a background response), a progress notification goes
 * out at least every MCP_HEARTBEAT_MS, its `progress` still increasing and its `message` saying
 * what the call waits for and how long; none after the result or a cancel. On the protocol
 * core, then on each transport: stdio, streamable HTTP, the legacy /sse stream.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallContext } from '../src/protocol/context.ts';
import type { JsonRpcNotification } from '../src/protocol/messages.ts';
import { elapsed, ProgressReporter } from '../src/protocol/progress.ts';
import { featuresOf } from '../src/protocol/versions.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { eventually, Harness, resultOf, testApp } from './helpers.ts';
import { initializeBody, jsonHeaders, KEY, openSession, rpc, SseClient, startHttp } from './http-helpers.ts';
import { StdioProcess } from './stdio-process.ts';

const test = suite('heartbeats');
let upstream: FakeUpstream;
let clock: ManualClock;
const cleanups: (() => unknown)[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
  clock = new ManualClock();
});
test.after.each(async () => {
  upstream.release(100);
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
test.after(async () => {
  await upstream.close();
});

const progressOf = (notes: JsonRpcNotification[]) => notes.filter((n) => n.method === 'notifications/progress').map((n) => n.params!);

function session(env: Record<string, string> = {}, version = '2025-11-25'): Promise<Harness> {
  const relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0', ...env }, undefined, clock);
  cleanups.push(() => relay.close());
  const h = new Harness(relay.app);
  return h.initialize(version).then(() => h);
}

/** A CallContext for the reporter alone: its notifications are recorded. */
function reporterCall(version: '2024-11-05' | '2025-11-25', sent: JsonRpcNotification[], cancelled = () => false): CallContext {
  return {
    features: featuresOf(version),
    app: { clock },
    notify: (n: JsonRpcNotification) => void sent.push(n),
    get cancelled() {
      return cancelled();
    },
  } as unknown as CallContext;
}

test('the reporter: a heartbeat whenever nothing went out for the interval; progress counts text plus heartbeats, strictly increasing', () => {
  const sent: JsonRpcNotification[] = [];
  const reporter = new ProgressReporter('t', reporterCall('2025-11-25', sent), { heartbeatMs: 15_000 });
  reporter.waiting('waiting for the model to start answering');
  clock.advance(15_000);
  clock.advance(15_000);
  reporter.add('Hello');
  clock.advance(10_000);
  reporter.add(', world');
  clock.advance(14_999);
  assert.is(progressOf(sent).length, 4, 'no heartbeat while text keeps coming');
  clock.advance(1);
  const all = progressOf(sent);
  assert.equal(
    all.map((p) => [p.progress, p.message]),
    [
      [1, 'Waiting for the model to start answering (15 s so far).'],
      [2, 'Waiting for the model to start answering (30 s so far).'],
      [7, 'Hello'],
      [14, ', world'],
      [15, 'Waiting for more of the answer (15 s so far).'],
    ],
  );
  reporter.finish();
  clock.advance(60_000);
  assert.is(progressOf(sent).length, 5, 'nothing after finish');
});

test('the reporter: 2024-11-05 has no message, the count still moves; 0 turns heartbeats off; a cancelled call gets none', () => {
  const old: JsonRpcNotification[] = [];
  const reporter = new ProgressReporter('t', reporterCall('2024-11-05', old), { heartbeatMs: 1000 });
  clock.advance(3000);
  assert.equal(
    progressOf(old).map((p) => p),
    [1, 2, 3].map((progress) => ({ progressToken: 't', progress })),
  );
  reporter.finish();
  const off: JsonRpcNotification[] = [];
  const silent = new ProgressReporter('t', reporterCall('2025-11-25', off), { heartbeatMs: 0 });
  clock.advance(60_000);
  assert.is(off.length, 0);
  silent.finish();
  let cancelled = false;
  const gone: JsonRpcNotification[] = [];
  const quiet = new ProgressReporter(
    't',
    reporterCall('2025-11-25', gone, () => cancelled),
    { heartbeatMs: 1000 },
  );
  clock.advance(1000);
  cancelled = true;
  clock.advance(5000);
  assert.is(gone.length, 1);
  quiet.finish();
});

test('durations read as people read them', () => {
  assert.equal([0, 14_600, 60_000, 200_000, 3_600_000, 3_900_000].map(elapsed), ['0 s', '15 s', '1 min', '3 min 20 s', '1 h', '1 h 5 min']);
});

test('a call waiting for its first token hears every MCP_HEARTBEAT_MS; none after the result', async () => {
  const h = await session({ MCP_HEARTBEAT_MS: '20000' });
  upstream.next({ type: 'held', content: 'finally' });
  const reply = h.callTool({ prompt: 'x' }, { progressToken: 'hb' });
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  clock.advance(20_000);
  clock.advance(20_000);
  assert.equal(
    progressOf(h.notifications).map((p) => [p.progressToken, p.progress, p.message]),
    [
      ['hb', 1, 'Waiting for the model to start answering (20 s so far).'],
      ['hb', 2, 'Waiting for the model to start answering (40 s so far).'],
    ],
  );
  upstream.release();
  resultOf(await reply);
  const count = h.notifications.length;
  clock.advance(100_000);
  assert.is(h.notifications.length, count, 'no heartbeat after the result');
});

test('a call queued for a slot says so; the default interval is 15 s', async () => {
  const h = await session({ MCP_MAX_CONCURRENCY: '1' });
  upstream.next({ type: 'held' });
  const first = h.callTool({ prompt: 'first' });
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  const second = h.callTool({ prompt: 'second' }, { progressToken: 'q' });
  clock.advance(15_000);
  assert.equal(progressOf(h.notifications).at(-1), {
    progressToken: 'q',
    progress: 1,
    message: 'Queued for a free upstream slot (15 s so far).',
  });
  upstream.release();
  resultOf(await first);
  resultOf(await second);
});

test('a background response says whether it is queued or being worked on', async () => {
  const h = await session({});
  upstream.next({ type: 'background', held: true, pieces: ['done'] });
  const reply = h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 'bg' });
  await eventually(() => [...upstream.background.responses.values()][0]?.readers.size === 1, 'the relay reads the stream');
  // The relay reads the stream in its own time: beat until it has seen the in_progress event.
  const last = () => String(progressOf(h.notifications).at(-1)?.message);
  await eventually(() => {
    clock.advance(15_000);
    return last().startsWith('The model is working');
  }, 'a heartbeat after the in_progress event');
  assert.match(last(), /^The model is working on the background response \(15 s so far\)\.$/);
  upstream.background.finish();
  resultOf(await reply);
});

test('a cancelled call gets no heartbeat', async () => {
  const h = await session({});
  upstream.next({ type: 'hang' });
  const reply = h.send(rpc('tools/call', { name: 'generate', arguments: { prompt: 'hang-c' }, _meta: { progressToken: 'c' } }, 'c-1'));
  await eventually(() => upstream.requests.some((r) => JSON.stringify(r.body).includes('hang-c')), 'the call reached the upstream');
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c-1' } });
  assert.is(await reply, undefined);
  clock.advance(60_000);
  assert.equal(progressOf(h.notifications), []);
});

test('streamable HTTP: heartbeats go out on the POST stream of the call', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_HEARTBEAT_MS: '1000' }, { clock });
  cleanups.push(() => server.close());
  const session = await openSession(server.url);
  upstream.next({ type: 'held' });
  const stream = new SseClient(server.url, {
    headers: jsonHeaders({ authorization: `Bearer ${KEY}`, 'mcp-session-id': session }),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' }, _meta: { progressToken: 'h' } }, 'h-1'),
  });
  cleanups.push(() => stream.close());
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  clock.advance(1000);
  await stream.waitFor(() => stream.messages().some((m) => m.method === 'notifications/progress'));
  assert.equal(stream.messages().find((m) => m.method === 'notifications/progress').params, {
    progressToken: 'h',
    progress: 1,
    message: 'Waiting for the model to start answering (1 s so far).',
  });
  upstream.release();
  await stream.waitFor(() => stream.messages().some((m) => m.id === 'h-1'));
});

test('legacy /sse: heartbeats go out on the session stream', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_HEARTBEAT_MS: '1000' }, { clock });
  cleanups.push(() => server.close());
  const stream = new SseClient(server.url, {
    method: 'GET',
    path: '/sse',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}` },
  });
  cleanups.push(() => stream.close());
  await stream.waitFor((events) => events.length >= 1);
  const endpoint = stream.events[0]!.data;
  const messages = () => stream.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
  const post = (body: object) =>
    fetch(new URL(endpoint, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
    });
  await post(initializeBody('2024-11-05', 'i'));
  await stream.waitFor(() => messages().some((m) => m.id === 'i'));
  upstream.next({ type: 'held' });
  await post(rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' }, _meta: { progressToken: 7 } }, 's-1'));
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  clock.advance(1000);
  await stream.waitFor(() => messages().some((m) => m.method === 'notifications/progress'));
  assert.equal(messages().find((m) => m.method === 'notifications/progress').params, { progressToken: 7, progress: 1 });
  upstream.release();
  await stream.waitFor(() => messages().some((m) => m.id === 's-1'));
});

test('stdio: heartbeats go out on stdout while the upstream is silent', async () => {
  const child = new StdioProcess(['--heartbeat-ms', '100'], { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseUrl });
  cleanups.push(() => child.kill());
  await child.initialize();
  upstream.next({ type: 'held', content: 'late' });
  child.send(rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' }, _meta: { progressToken: 's' } }, 'p-1'));
  const beat = await child.waitFor((m) => m.method === 'notifications/progress');
  assert.equal(beat.params, { progressToken: 's', progress: 1, message: 'Waiting for the model to start answering (0 s so far).' });
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  upstream.release();
  const reply = await child.waitFor((m) => m.id === 'p-1');
  assert.ok('result' in reply);
  const beats = child.messages.filter((m) => m.method === 'notifications/progress').map((m) => (m.params as { progress: number }).progress);
  assert.ok(
    beats.every((value, i) => i === 0 || value > beats[i - 1]!),
    'progress strictly increases',
  );
  assert.equal(child.junk, []);
});

test.run();
