/**
 * A fault-injecting upstream: each fault ends in the documented result, retries as
 * configured, and leaves no socket or timer behind once the relay is closed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type Behaviour } from './fake-upstream.ts';
import { eventually, Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('upstream faults');

/** Handles and requests keeping the event loop busy, by kind. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

interface Scenario {
  name: string;
  behaviours: Behaviour[];
  env?: Record<string, string>;
  progress?: boolean;
  /** What the result must say (isError), or the text of a success. */
  expect: { isError: true; text: RegExp } | { isError: false; text: string };
  requests: number;
}

const scenarios: Scenario[] = [
  {
    name: 'connection reset mid-stream, after text reached the client',
    behaviours: [{ type: 'stream', pieces: ['a', 'b', 'c'], dropAfter: 2, intervalMs: 5 }],
    progress: true,
    expect: { isError: true, text: /connection broke mid-answer \(UND_ERR_SOCKET\).*attempts: 1; last upstream status: HTTP 200/ },
    requests: 1,
  },
  {
    name: 'connection reset before the answer, then success',
    behaviours: [{ type: 'drop' }, { type: 'json', content: 'second' }],
    expect: { isError: false, text: 'second' },
    requests: 2,
  },
  {
    name: 'a 429 storm with Retry-After',
    behaviours: Array.from({ length: 4 }, () => ({ type: 'error' as const, status: 429, headers: { 'retry-after': '0.1' } })),
    expect: { isError: true, text: /HTTP 429.*attempts: 3; last upstream status: HTTP 429/ },
    requests: 3,
  },
  {
    name: '500s, then success',
    behaviours: [
      { type: 'error', status: 500, headers: { 'retry-after-ms': '20' } },
      { type: 'error', status: 502, headers: { 'retry-after-ms': '20' } },
      { type: 'json', content: 'third time' },
    ],
    expect: { isError: false, text: 'third time' },
    requests: 3,
  },
  {
    name: 'a slow first byte within the deadline',
    behaviours: [{ type: 'json', content: 'slow but fine', delayMs: 400 }],
    expect: { isError: false, text: 'slow but fine' },
    requests: 1,
  },
  {
    name: 'a first byte slower than the deadline',
    behaviours: [{ type: 'json', content: 'too late', delayMs: 2000 }],
    env: { OPENAI_TIMEOUT_MS: '600' },
    expect: { isError: true, text: /did not finish within 600 ms/ },
    requests: 1,
  },
  {
    name: 'truncated JSON (the connection drops mid-body), then success',
    behaviours: [
      { type: 'truncated', body: '{"id":"x","choices":[{"mess' },
      { type: 'json', content: 'whole' },
    ],
    expect: { isError: false, text: 'whole' },
    requests: 2,
  },
  {
    name: 'a complete body that is not JSON is not retried',
    behaviours: [{ type: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '{"choices": [}' }],
    expect: { isError: true, text: /not JSON.*attempts: 1/ },
    requests: 1,
  },
  {
    name: 'a broken event stream (data that is not JSON)',
    behaviours: [{ type: 'raw-stream', chunks: ['data: {"choices":[{"index":0,"delta":{"content":"ok"}}]}\n\n', 'data: {broken\n\n'] }],
    progress: true,
    expect: { isError: true, text: /not JSON/ },
    requests: 1,
  },
  {
    name: 'an event stream that stops without finishing, before any text',
    behaviours: [
      { type: 'raw-stream', chunks: [': keep-alive\n\n'] },
      { type: 'stream', pieces: ['recovered'] },
    ],
    progress: true,
    expect: { isError: false, text: 'recovered' },
    requests: 2,
  },
  {
    name: 'a 401 is final',
    behaviours: [{ type: 'error', status: 401 }],
    expect: { isError: true, text: /HTTP 401.*attempts: 1/ },
    requests: 1,
  },
];

for (const scenario of scenarios) {
  test(`${scenario.name}: ${scenario.expect.isError ? 'an isError result' : 'the answer'} after ${scenario.requests} request(s), nothing left open`, async () => {
    const before = resources();
    const upstream = await startFakeUpstream();
    const relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MAX_RETRIES: '2', ...scenario.env });
    try {
      const h = new Harness(relay.app);
      await h.initialize();
      upstream.next(...scenario.behaviours);
      const result = resultOf(await h.callTool({ prompt: 'x' }, scenario.progress ? { progressToken: 'p' } : undefined));
      if (scenario.expect.isError) {
        assert.is(result.isError, true, JSON.stringify(result));
        assert.match(textOf(result), scenario.expect.text);
      } else {
        assert.is((result.structuredContent as { text: string }).text, scenario.expect.text);
      }
      assert.is(upstream.requests.length, scenario.requests, 'attempts as configured');
    } finally {
      await relay.close();
      await upstream.close();
    }
    // Once closed sockets have gone, nothing may remain that was not there before.
    const leftover = () => Object.entries(resources()).filter(([kind, count]) => count > (before[kind] ?? 0));
    await eventually(() => leftover().length === 0, `left open: ${JSON.stringify(leftover())}`);
  });
}

test.run();
