import type { CancelSignal } from '../src/cancel.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { retryAfterMs, DeadlineExceeded } from '../src/tool/upstream/errors.ts';
import { createOpenAIUpstream } from '../src/tool/upstream/openai.ts';
import { withRetries } from '../src/tool/upstream/retrying.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { createRelayApp } from '../src/app.ts';
import { ManualClock } from './clock.ts';
import { Harness, resultOf, testConfig, textOf } from './helpers.ts';

const test = suite('retries and deadlines');
let upstream: FakeUpstream;
const logs: string[] = [];
/** The waits the retry loop chose, in order: taken on a manual clock, so no test waits for real. */
let waits: number[] = [];
let clock: ManualClock;
const relays: ReturnType<typeof createRelayApp>[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
  logs.length = 0;
  waits = [];
  clock = new ManualClock();
});
test.after(async () => {
  for (const relay of relays) await relay.close();
  await upstream.close();
});

/** A virtual sleep: records the wait and moves the clock on by it (deadline timers fire on the way). */
const virtualSleep = (ms: number, signal: CancelSignal): Promise<void> => {
  waits.push(ms);
  clock.advance(ms);
  return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
};

async function session(env: Record<string, string> = {}): Promise<Harness> {
  const config = testConfig({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MAX_RETRIES: '2', OPENAI_TIMEOUT_MS: '10000', ...env });
  const relay = createRelayApp(config, createLogger({ write: (line) => void logs.push(line) }), {
    clock,
    sleep: virtualSleep,
    random: () => 0.5,
  });
  relays.push(relay);
  const h = new Harness(relay.app);
  await h.initialize();
  return h;
}

test('429 with Retry-After: waits as asked, retries, succeeds; the retry is reported to the client and on stderr', async () => {
  const h = await session();
  upstream.next(
    { type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '1' } },
    { type: 'json', content: 'after the wait' },
  );
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.is((result.structuredContent as { text: string }).text, 'after the wait');
  assert.is(upstream.requests.length, 2);
  assert.equal(waits, [1000], 'waited the second Retry-After asked for');
  const warnings = h.notifications.filter((n) => n.method === 'notifications/message' && n.params?.level === 'warning');
  assert.is(warnings.length, 1);
  assert.match(JSON.stringify(warnings[0]!.params!.data), /attempt 1 of 3 failed \(HTTP 429\); retrying in 1\.0 s/);
  assert.ok(logs.some((line) => /"msg":"upstream attempt failed; retrying".*"status":429/.test(line)));
});

test('retry-after-ms is preferred to Retry-After', async () => {
  const h = await session();
  upstream.next({ type: 'error', status: 429, headers: { 'retry-after-ms': '150', 'retry-after': '30' } }, { type: 'json' });
  resultOf(await h.callTool({ prompt: 'x' }));
  assert.equal(waits, [150]);
});

for (const status of [408, 409, 500, 502, 503, 504]) {
  test(`HTTP ${status} is retried`, async () => {
    const h = await session();
    upstream.next({ type: 'error', status, headers: { 'retry-after-ms': '20' } }, { type: 'json', content: 'recovered' });
    const result = resultOf(await h.callTool({ prompt: 'x' }));
    assert.is((result.structuredContent as { text: string }).text, 'recovered');
    assert.is(upstream.requests.length, 2);
  });
}

test('a connection reset is retried', async () => {
  const h = await session();
  upstream.next({ type: 'drop' }, { type: 'json', content: 'second time lucky' });
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.is((result.structuredContent as { text: string }).text, 'second time lucky');
  assert.is(upstream.requests.length, 2);
});

for (const status of [400, 401, 403, 404, 422]) {
  test(`HTTP ${status} is never retried`, async () => {
    const h = await session();
    upstream.next({ type: 'error', status, headers: { 'retry-after-ms': '10' } });
    const result = resultOf(await h.callTool({ prompt: 'x' }));
    assert.is(result.isError, true);
    assert.is(upstream.requests.length, 1);
    assert.match(textOf(result), new RegExp(`\\(attempts: 1; last upstream status: HTTP ${status}\\)`));
  });
}

test('when retries run out the result says how many attempts were made and the last status', async () => {
  const h = await session();
  upstream.next(...Array.from({ length: 3 }, () => ({ type: 'error' as const, status: 503, headers: { 'retry-after-ms': '10' } })));
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.is(result.isError, true);
  assert.is(upstream.requests.length, 3);
  assert.match(textOf(result), /HTTP 503.*\(attempts: 3; last upstream status: HTTP 503\)/);
  upstream.next({ type: 'drop' }, { type: 'drop' }, { type: 'drop' });
  const network = resultOf(await h.callTool({ prompt: 'x' }));
  assert.match(textOf(network), /Could not reach the upstream.*\(attempts: 3; last upstream status: none\)/);
});

test('the deadline wins: no retry is started that could not finish in time', async () => {
  const h = await session({ OPENAI_TIMEOUT_MS: '800', OPENAI_MAX_RETRIES: '5' });
  upstream.next({ type: 'error', status: 429, headers: { 'retry-after': '5' } });
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.equal(waits, [], 'a 5 s wait was never started with 800 ms left');
  assert.is(upstream.requests.length, 1);
  assert.match(textOf(result), /No time was left to retry before the deadline/);
});

test('the deadline bounds the whole call, attempts and waits included', async () => {
  const h = await session({ OPENAI_TIMEOUT_MS: '700', OPENAI_MAX_RETRIES: '5' });
  upstream.next({ type: 'error', status: 503, headers: { 'retry-after-ms': '200' } }, { type: 'hang' });
  const pending = h.callTool({ prompt: 'x' });
  const [, second] = await upstream.waitForRequests(2);
  assert.equal(waits, [200]);
  clock.advance(499);
  assert.is(upstream.requests.length, 2, 'still running 1 ms before the deadline');
  clock.advance(1); // 200 ms waited + 500 ms of the second attempt: the deadline
  const result = resultOf(await pending);
  assert.match(textOf(result), /did not finish within 700 ms \(OPENAI_TIMEOUT_MS\).*attempts: 2/);
  assert.ok((await second!.closed).aborted);
});

test('a streamed call is retried only while no text has reached the client', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces: ['a', 'b'], errorAfter: 0 }, { type: 'stream', pieces: ['fine'] });
  const early = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'e' }));
  assert.is((early.structuredContent as { text: string }).text, 'fine');
  assert.is(upstream.requests.length, 2);
  upstream.reset();
  upstream.next({ type: 'stream', pieces: ['a', 'b', 'c'], errorAfter: 2, intervalMs: 10 }, { type: 'stream', pieces: ['never'] });
  const late = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'l' }));
  assert.is(late.isError, true);
  assert.is(upstream.requests.length, 1);
  assert.match(textOf(late), /attempts: 1/);
});

test('backoff without Retry-After grows exponentially, with jitter', async () => {
  const log = createLogger({ level: 'silent' });
  const chosen = (random: number, baseDelayMs: number, failures: number) => {
    const seen: number[] = [];
    const client = withRetries(createOpenAIUpstream({ baseUrl: upstream.baseUrl, apiKey: 'k', userAgent: 't', log }), {
      maxRetries: failures,
      log,
      baseDelayMs,
      random: () => random,
      sleep: (ms) => {
        seen.push(ms);
        return Promise.resolve();
      },
    });
    return { client, seen };
  };
  const call = { api: 'chat' as const, body: { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] } };
  const budget = () => ({ signal: new AbortController().signal, deadline: Date.now() + 60_000 });
  const middle = chosen(0.5, 100, 4);
  upstream.next(...Array.from({ length: 4 }, () => ({ type: 'error' as const, status: 500 })), { type: 'json' });
  await middle.client.complete(call, budget());
  assert.equal(middle.seen, [100, 200, 400, 800], 'doubling from the base, jitter factor 1 at random 0.5');
  const low = chosen(0, 200, 1);
  upstream.next({ type: 'error', status: 500 }, { type: 'json' });
  await low.client.complete(call, budget());
  assert.equal(low.seen, [150], 'jitter takes up to a quarter off');
  const high = chosen(0.999999, 200, 1);
  upstream.next({ type: 'error', status: 500 }, { type: 'json' });
  await high.client.complete(call, budget());
  assert.equal(high.seen, [250], 'and adds up to a quarter');
  const capped = chosen(0.5, 5000, 3);
  upstream.next({ type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'json' });
  await capped.client.complete(call, budget());
  assert.equal(capped.seen, [5000, 8000, 8000], 'at most 8 s');
  for (const { client } of [middle, low, high, capped]) await client.close();
});

test('Retry-After parsing: seconds, HTTP dates, retry-after-ms, junk', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.is(retryAfterMs({ 'retry-after': '2' }, now), 2000);
  assert.is(retryAfterMs({ 'retry-after': '0.5' }, now), 500);
  assert.is(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }, now), 3000);
  assert.is(retryAfterMs({ 'retry-after-ms': '250' }, now), 250);
  assert.is(retryAfterMs({ 'retry-after': 'soon' }, now), undefined);
  assert.is(retryAfterMs({}, now), undefined);
  assert.ok(new DeadlineExceeded(5).message.includes('OPENAI_TIMEOUT_MS'));
});

test.run();
