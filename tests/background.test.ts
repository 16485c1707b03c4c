/**
 * Background responses (OPENAI_BACKGROUND): which calls run in the background, polling with a
 * growing interval, streams resumed after a cut without losing or repeating text, failures,
 * the background deadline, and every cancel reaching POST /responses/{id}/cancel.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRelayApp } from '../src/app.ts';
import { createLogger, type Logger, silentLogger } from '../src/log.ts';
import type { JsonObject, JsonRpcNotification } from '../src/protocol/messages.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { eventually, Harness, resultOf, SteppedSleep, testConfig, textOf, virtualSleep } from './helpers.ts';

const test = suite('background responses');
let upstream: FakeUpstream;
let clock: ManualClock;
const relays: ReturnType<typeof createRelayApp>[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
  clock = new ManualClock();
});
test.after(async () => {
  for (const relay of relays) await relay.close();
  await upstream.close();
});

async function session(env: Record<string, string> = {}, sleep = virtualSleep(clock), log: Logger = silentLogger): Promise<Harness> {
  const config = testConfig({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', ...env });
  const relay = createRelayApp(config, log, { clock, sleep, random: () => 0.5 });
  relays.push(relay);
  const h = new Harness(relay.app);
  await h.initialize();
  return h;
}

const structured = (result: JsonObject) => result.structuredContent as Record<string, any>;
const posts = () => upstream.requests.filter((r) => r.method === 'POST' && r.path === '/v1/responses');
const polls = () => upstream.requests.filter((r) => r.method === 'GET');
const progressTexts = (notes: JsonRpcNotification[]) =>
  notes.filter((n) => n.method === 'notifications/progress').map((n) => n.params!.message as string);

test('which calls run in the background: the slow families under auto; every Responses call under always; none under never; never a Chat call', async () => {
  const cases: [Record<string, string>, JsonObject, boolean][] = [
    [{}, { prompt: 'x', model: 'o3-pro' }, true],
    [{}, { prompt: 'x', model: 'gpt-5-pro' }, true],
    [{}, { prompt: 'x', model: 'gpt-5.2-pro-2025-12-11' }, true],
    [{}, { prompt: 'x', model: 'o3-deep-research' }, true],
    [{}, { prompt: 'x', model: 'o4-mini-deep-research-2025-06-26' }, true],
    [{}, { prompt: 'x', model: 'gpt-5.1-codex-max' }, false],
    [{}, { prompt: 'x', extra: { reasoning: { effort: 'low' } } }, false],
    [{ OPENAI_BACKGROUND: 'always' }, { prompt: 'x', extra: { reasoning: { effort: 'low' } } }, true],
    [{ OPENAI_BACKGROUND: 'never' }, { prompt: 'x', model: 'o3-pro' }, false],
    [{ OPENAI_BACKGROUND_MODELS: 'gpt-5.1-codex*' }, { prompt: 'x', model: 'gpt-5.1-codex-max' }, true],
    [{ OPENAI_BACKGROUND_MODELS: 'none' }, { prompt: 'x', model: 'o3-pro' }, false],
  ];
  for (const [env, args, background] of cases) {
    upstream.reset();
    const h = await session(env);
    resultOf(await h.callTool(args));
    assert.is(posts()[0]!.body.background === true, background, JSON.stringify([env, args]));
  }
  upstream.reset();
  const h = await session({ OPENAI_BACKGROUND: 'always' });
  resultOf(await h.callTool({ prompt: 'x', model: 'gpt-4o' }));
  assert.is(upstream.requests[0]!.path, '/v1/chat/completions');
  assert.not.ok('background' in upstream.requests[0]!.body, 'Chat Completions has no background mode');
});

test('without streaming the response is polled at a growing interval until it is done; the answer is the finished response', async () => {
  const waits: number[] = [];
  const h = await session({}, virtualSleep(clock, waits));
  upstream.next({ type: 'background', pieces: ['Deep ', 'thought.'], queuedPolls: 2, inProgressPolls: 5 });
  const result = resultOf(await h.callTool({ prompt: 'think', model: 'o3-pro' }));
  const s = structured(result);
  assert.is(s.text, 'Deep thought.');
  assert.is(s.finish_reason, 'stop');
  const id = s.response_id as string;
  assert.ok(id.startsWith('resp_bg'));
  assert.equal(posts()[0]!.body.background, true);
  assert.not.ok('stream' in posts()[0]!.body);
  assert.is(polls().length, 8, 'two queued, five in progress, then done');
  assert.ok(polls().every((r) => r.path === `/v1/responses/${id}`));
  assert.equal(waits, [1000, 1500, 2250, 3375, 5063, 7595, 10000, 10000].slice(0, waits.length));
  assert.is(waits.length, 8);
  assert.equal(upstream.background.cancelled, [], 'a finished response is not cancelled');
});

test('a poll that fails with a 5xx or 429 is tried again after a backoff; a 404 ends the call; neither starts the work over', async () => {
  const h = await session();
  upstream.next({ type: 'background', failPolls: [500, 429, 503] });
  assert.is(structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }))).text, 'Background answer.');
  assert.is(posts().length, 1, 'one background response, created once');

  upstream.reset();
  upstream.next({ type: 'background', failPolls: [404] });
  const gone = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(gone.isError, true);
  assert.match(textOf(gone), /HTTP 404/);
  assert.is(posts().length, 1, 'not retried by creating another response');

  upstream.reset();
  upstream.next({ type: 'background', failPolls: [500, 500, 500, 500, 500, 500, 500] });
  const stuck = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(stuck.isError, true);
  assert.match(textOf(stuck), /Polling the background response failed 5 times in a row/);
  await eventually(() => upstream.background.cancelled.length === 1, 'the abandoned response is cancelled upstream');
});

test('creating a background response is retried like any call (429), before any response exists', async () => {
  const h = await session();
  upstream.next({ type: 'error', status: 429, message: 'slow down', headers: { 'retry-after': '1' } }, { type: 'background' });
  assert.is(structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }))).text, 'Background answer.');
  assert.is(posts().length, 2);
});

test('a failed background response is an isError result quoting the upstream; it is neither retried nor cancelled', async () => {
  const h = await session();
  upstream.next({ type: 'background', end: 'failed', error: { code: 'server_error', message: 'The model crashed.' } });
  const result = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /The model crashed/);
  assert.is(posts().length, 1);
  assert.equal(upstream.background.cancelled, []);
});

test('streamed: a cut connection resumes from the last sequence number seen; the client gets every piece of text exactly once', async () => {
  const h = await session();
  const pieces = ['One ', 'two ', 'three ', 'four ', 'five.'];
  // Sequence numbers: 0 created, 1 queued, 2 in_progress, 3 item added, 4-8 the deltas, 9 completed.
  upstream.next({ type: 'background', pieces, cutAfter: [1, 5, 7] });
  const result = resultOf(await h.callTool({ prompt: 'count', model: 'o3-pro' }, { progressToken: 'p' }));
  assert.is(structured(result).text, 'One two three four five.');
  assert.is(progressTexts(h.notifications).join(''), 'One two three four five.', 'no piece lost, none repeated');
  assert.equal(posts()[0]!.body.stream, true);
  assert.equal(posts()[0]!.body.background, true);
  const r = [...upstream.background.responses.values()][0]!;
  assert.equal(r.resumes, [1, 5, 7], 'each resume starts after the last event received');
  assert.ok(polls().every((q) => q.path.startsWith(`/v1/responses/${r.id}?stream=true&starting_after=`)));
  assert.is(posts().length, 1);
});

test('a stream that ends without its terminal event is checked: a response cancelled elsewhere ends the call, without a storm of resumes', async () => {
  const h = await session();
  upstream.next({ type: 'background', held: true, pieces: ['never'] });
  const reply = h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 'k' });
  await eventually(() => [...upstream.background.responses.values()][0]?.readers.size === 1, 'the relay reads the stream');
  const id = [...upstream.background.responses.keys()][0]!;
  await fetch(`${upstream.baseUrl}/responses/${id}/cancel`, { method: 'POST' });
  const result = resultOf(await reply);
  assert.is(result.isError, true);
  assert.match(textOf(result), /cancelled the response/);
  assert.ok(polls().length <= 2, `${polls().length} reads after the stream ended`);
  assert.equal(upstream.background.cancelled, [id], 'only the cancel that ended it; none from the relay');
});

test('a resumed stream answered as JSON sends only the text the client has not had', async () => {
  const h = await session();
  upstream.next({ type: 'background', pieces: ['Hello ', 'world', '!'], cutAfter: [4], resumeAsJson: true });
  const result = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 'j' }));
  assert.is(structured(result).text, 'Hello world!');
  assert.is(progressTexts(h.notifications).join(''), 'Hello world!');
});

test('cancelling a background call sends POST /responses/{id}/cancel (without waiting for it); no reply goes out', async () => {
  const stepped = new SteppedSleep(clock);
  const h = await session({}, stepped.sleep);
  upstream.next({ type: 'background', held: true });
  const reply = h.send({
    jsonrpc: '2.0',
    id: 'bg-1',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' } },
  });
  await stepped.next();
  await stepped.release();
  await stepped.next();
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'bg-1' } });
  await eventually(() => upstream.background.cancelled.length === 1, 'the upstream was told to cancel');
  const id = [...upstream.background.responses.keys()][0]!;
  assert.equal(upstream.background.cancelled, [id]);
  const cancel = upstream.requests.find((r) => r.path === `/v1/responses/${id}/cancel`)!;
  assert.is(cancel.method, 'POST');
  assert.is(cancel.headers.authorization, 'Bearer sk-test-key-0123456789abcdef');
  assert.is(await reply, undefined, 'a cancelled request gets no reply');
});

test('a streamed background call cancelled mid-stream also cancels upstream', async () => {
  const lines: string[] = [];
  const h = await session({}, virtualSleep(clock), createLogger({ write: (line) => void lines.push(line) }));
  upstream.next({ type: 'background', held: true, pieces: ['a'] });
  const reply = h.send({
    jsonrpc: '2.0',
    id: 'bg-2',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' }, _meta: { progressToken: 1 } },
  });
  await eventually(() => upstream.background.responses.size === 1, 'the response exists');
  await eventually(() => [...upstream.background.responses.values()][0]!.readers.size === 1, 'the relay is reading its stream');
  // Mid-stream: the relay has read the response's id from its first event.
  await eventually(() => lines.some((l) => l.includes('background response created')), 'the relay knows the response');
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'bg-2' } });
  await eventually(() => upstream.background.cancelled.length === 1, 'the upstream was told to cancel');
  assert.is(await reply, undefined);
});

test('background calls have their own deadline (OPENAI_BACKGROUND_TIMEOUT_MS), past OPENAI_TIMEOUT_MS; at it the response is cancelled', async () => {
  const h = await session({ OPENAI_TIMEOUT_MS: '5000', OPENAI_BACKGROUND_TIMEOUT_MS: '120000' });
  upstream.next({ type: 'background', held: true });
  const result = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /did not finish within 120000 ms \(OPENAI_BACKGROUND_TIMEOUT_MS\)/);
  assert.ok(polls().length > 5, 'it polled well past OPENAI_TIMEOUT_MS');
  await eventually(() => upstream.background.cancelled.length === 1, 'the timed-out response is cancelled upstream');
});

test('the echo upstream has no background: its calls answer at once', async () => {
  const h = await session({ MCP_UPSTREAM: 'echo' });
  assert.is(structured(resultOf(await h.callTool({ prompt: 'hello', model: 'o3-pro' }))).text, 'hello');
});

test.run();
