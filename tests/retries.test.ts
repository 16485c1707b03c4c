import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { retryAfterMs, DeadlineExceeded } from '../src/tool/upstream/errors.ts';
import { createOpenAIUpstream } from '../src/tool/upstream/openai.ts';
import { withRetries } from '../src/tool/upstream/retrying.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('retries and deadlines');
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;
const logs: string[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp(
    { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MAX_RETRIES: '2', OPENAI_TIMEOUT_MS: '10000' },
    createLogger({ write: (line) => void logs.push(line) }),
  );
});
test.before.each(() => {
  upstream.reset();
  logs.length = 0;
});
test.after(async () => {
  await relay.close();
  await upstream.close();
});

async function session(env?: Record<string, string>): Promise<Harness> {
  const h = new Harness(env ? testApp({ OPENAI_BASE_URL: upstream.baseUrl, ...env }).app : relay.app);
  await h.initialize();
  return h;
}

const gaps = () => upstream.requests.slice(1).map((r, i) => r.receivedAt - upstream.requests[i]!.receivedAt);

test('429 with Retry-After: waits as asked, retries, succeeds; the retry is reported to the client and on stderr', async () => {
  const h = await session();
  upstream.next(
    { type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '1' } },
    { type: 'json', content: 'after the wait' },
  );
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.is((result.structuredContent as { text: string }).text, 'after the wait');
  assert.is(upstream.requests.length, 2);
  assert.ok(gaps()[0]! >= 950, `waited ${gaps()[0]} ms`);
  const warnings = h.notifications.filter((n) => n.method === 'notifications/message' && n.params?.level === 'warning');
  assert.is(warnings.length, 1);
  assert.match(JSON.stringify(warnings[0]!.params!.data), /attempt 1 of 3 failed \(HTTP 429\); retrying in 1\.0 s/);
  assert.ok(logs.some((line) => /"msg":"upstream attempt failed; retrying".*"status":429/.test(line)));
});

test('retry-after-ms is preferred to Retry-After', async () => {
  const h = await session();
  upstream.next({ type: 'error', status: 429, headers: { 'retry-after-ms': '150', 'retry-after': '30' } }, { type: 'json' });
  resultOf(await h.callTool({ prompt: 'x' }));
  assert.ok(gaps()[0]! >= 140 && gaps()[0]! < 1000, `waited ${gaps()[0]} ms`);
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
  const started = Date.now();
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.ok(Date.now() - started < 400, `gave up after ${Date.now() - started} ms`);
  assert.is(upstream.requests.length, 1);
  assert.match(textOf(result), /No time was left to retry before the deadline/);
});

test('the deadline bounds the whole call, attempts and waits included', async () => {
  const h = await session({ OPENAI_TIMEOUT_MS: '700', OPENAI_MAX_RETRIES: '5' });
  upstream.next({ type: 'error', status: 503, headers: { 'retry-after-ms': '200' } }, { type: 'hang' });
  const started = Date.now();
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  const took = Date.now() - started;
  assert.ok(took >= 650 && took < 1000, `took ${took} ms`);
  assert.match(textOf(result), /did not finish within 700 ms \(OPENAI_TIMEOUT_MS\).*attempts: 2/);
  assert.ok((await upstream.requests[1]!.closed).aborted);
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
  const client = withRetries(createOpenAIUpstream({ baseUrl: upstream.baseUrl, apiKey: 'k', userAgent: 't', log }), {
    maxRetries: 3,
    log,
    baseDelayMs: 100,
    random: () => 0.5,
  });
  upstream.next({ type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'error', status: 500 }, { type: 'json' });
  await client.complete(
    { model: 'm', messages: [{ role: 'user', content: 'x' }] },
    { signal: new AbortController().signal, deadline: Date.now() + 10_000 },
  );
  const [first, second, third] = gaps();
  assert.ok(first! >= 95 && first! < 180, `first wait ${first}`);
  assert.ok(second! >= 195 && second! < 300, `second wait ${second}`);
  assert.ok(third! >= 395 && third! < 520, `third wait ${third}`);
  const jittered = withRetries(createOpenAIUpstream({ baseUrl: upstream.baseUrl, apiKey: 'k', userAgent: 't', log }), {
    maxRetries: 1,
    log,
    baseDelayMs: 200,
    random: () => 0,
  });
  upstream.reset();
  upstream.next({ type: 'error', status: 500 }, { type: 'json' });
  await jittered.complete(
    { model: 'm', messages: [{ role: 'user', content: 'x' }] },
    { signal: new AbortController().signal, deadline: Date.now() + 10_000 },
  );
  assert.ok(gaps()[0]! >= 145 && gaps()[0]! < 200, `jitter takes up to a quarter off: ${gaps()[0]}`);
  await client.close();
  await jittered.close();
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
