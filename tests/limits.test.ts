import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { ManualClock } from './clock.ts';
import { Harness, errorOf, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('limits for shared deployments');
let upstream: FakeUpstream;

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  await upstream.close();
});

async function session(env: Record<string, string>, version = '2025-11-25'): Promise<Harness> {
  const h = new Harness(testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-4o-mini', ...env }).app);
  await h.initialize(version);
  return h;
}

test('OPENAI_ALLOWED_MODELS: another model is refused, listing the allowed ones, before any request', async () => {
  const env = { OPENAI_ALLOWED_MODELS: 'gpt-4o-mini, gpt-4o' };
  const h = await session(env);
  const refused = resultOf(await h.callTool({ prompt: 'x', model: 'o1-pro' }));
  assert.is(refused.isError, true);
  assert.match(textOf(refused), /Model "o1-pro" is not allowed on this server\. Allowed models: gpt-4o-mini, gpt-4o\./);
  const old = await session(env, '2025-06-18');
  const error = errorOf(await old.callTool({ prompt: 'x', model: 'o1-pro' }));
  assert.is(error.code, -32602);
  assert.match(error.message, /Allowed models: gpt-4o-mini, gpt-4o/);
  assert.is(upstream.requests.length, 0);
  resultOf(await h.callTool({ prompt: 'x', model: 'gpt-4o' }));
  resultOf(await h.callTool({ prompt: 'x' }));
  assert.is(upstream.requests.length, 2);
  const { tools } = resultOf(await h.request('tools/list')) as { tools: { inputSchema: { properties: { model: { enum: string[] } } } }[] };
  assert.equal(tools[0]!.inputSchema.properties.model.enum, ['gpt-4o-mini', 'gpt-4o']);
});

test('OPENAI_MAX_TOKENS bounds max_tokens, also when the call sets none, and in extra', async () => {
  const h = await session({ OPENAI_MAX_TOKENS: '100' });
  resultOf(await h.callTool({ prompt: 'x' }));
  resultOf(await h.callTool({ prompt: 'x', max_tokens: 5000 }));
  resultOf(await h.callTool({ prompt: 'x', max_tokens: 20 }));
  resultOf(await h.callTool({ prompt: 'x', model: 'o3-mini' }));
  resultOf(await h.callTool({ prompt: 'x', extra: { max_completion_tokens: 9999 } }));
  const bodies = upstream.requests.map((r) => r.body);
  assert.equal(
    bodies.map((b) => b.max_tokens),
    [100, 100, 20, undefined, 100],
  );
  assert.is(bodies[3]!.max_completion_tokens, 100);
  assert.is(bodies[4]!.max_completion_tokens, 100);
});

test('MCP_MAX_PROMPT_CHARS: a longer prompt (system included) is refused before any request', async () => {
  const h = await session({ MCP_MAX_PROMPT_CHARS: '10' });
  const refused = resultOf(await h.callTool({ prompt: 'x'.repeat(11) }));
  assert.is(refused.isError, true);
  assert.match(textOf(refused), /The prompt is 11 characters long; this server accepts at most 10 \(MCP_MAX_PROMPT_CHARS\)/);
  const withSystem = resultOf(await h.callTool({ prompt: 'x'.repeat(6), system: 'y'.repeat(6) }));
  assert.match(textOf(withSystem), /12 characters long \(with the system message\)/);
  const old = await session({ MCP_MAX_PROMPT_CHARS: '10' }, '2025-03-26');
  assert.is(errorOf(await old.callTool({ prompt: 'x'.repeat(11) })).code, -32602);
  assert.is(upstream.requests.length, 0);
  resultOf(await h.callTool({ prompt: 'x'.repeat(10) }));
  assert.is(upstream.requests.length, 1);
});

test('MCP_MAX_CONCURRENCY and MCP_MAX_QUEUE: extra calls wait; a full queue answers busy at once, in every version', async () => {
  const relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_CONCURRENCY: '2', MCP_MAX_QUEUE: '1' });
  const h = new Harness(relay.app);
  await h.initialize('2025-03-26');
  upstream.next({ type: 'held', content: 'one' }, { type: 'held', content: 'two' }, { type: 'json', content: 'three' });
  const calls = ['a', 'b', 'c'].map((id) => h.callTool({ prompt: id }, undefined, id));
  await upstream.waitForRequests(2);
  assert.is(relay.limiter.queued, 1, 'the third call waits for a slot');
  // Answered while both running calls are still held upstream: at once.
  const busy = resultOf(await h.callTool({ prompt: 'd' }, undefined, 'd'));
  assert.is(upstream.held, 2);
  assert.is(busy.isError, true, 'busy is a tool result even under 2025-03-26');
  assert.match(textOf(busy), /The server is busy: 2 calls are running and 1 are waiting \(MCP_MAX_CONCURRENCY, MCP_MAX_QUEUE\)/);
  upstream.release(2);
  const results = await Promise.all(calls);
  assert.equal(
    results.map((r) => JSON.parse(textOf(resultOf(r))).text),
    ['one', 'two', 'three'],
  );
  assert.is(upstream.requests.length, 3);
  await relay.close();
});

test('time spent queued counts against the deadline', async () => {
  const clock = new ManualClock();
  const relay = testApp(
    { OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_CONCURRENCY: '1', OPENAI_TIMEOUT_MS: '400', OPENAI_MAX_RETRIES: '0' },
    undefined,
    clock,
  );
  const h = new Harness(relay.app);
  await h.initialize();
  // A call that waits 250 ms for the slot has 150 ms left for the upstream, not 400.
  upstream.next({ type: 'held', content: 'slow' }, { type: 'hang' });
  const first = h.callTool({ prompt: 'a' }, undefined, 'a');
  await upstream.waitForRequests(1);
  const second = h.callTool({ prompt: 'b' }, undefined, 'b');
  clock.advance(250);
  upstream.release(1);
  assert.is((resultOf(await first).structuredContent as { text: string }).text, 'slow');
  const [, secondRequest] = await upstream.waitForRequests(2);
  clock.advance(149);
  assert.is(upstream.requests.length, 2);
  clock.advance(1);
  const late = resultOf(await second);
  assert.is(late.isError, true);
  assert.match(textOf(late), /did not finish within 400 ms \(OPENAI_TIMEOUT_MS\)/);
  assert.ok((await secondRequest!.closed).aborted, '150 ms into its upstream call, 400 ms after it started');
  // A call that never gets a slot gives up in the queue, and says how long it waited.
  const slot = relay.limiter.acquire('', new AbortController().signal, { weight: 1, maxCalls: 10 });
  if (!(slot instanceof Promise)) throw new Error('expected a free slot');
  const held = await slot;
  const starving = h.callTool({ prompt: 'c' }, undefined, 'c');
  clock.advance(400);
  assert.match(textOf(resultOf(await starving)), /waited 400 ms for a free slot and ran out of time \(OPENAI_TIMEOUT_MS\)/);
  held();
  assert.is(upstream.requests.length, 2);
  await relay.close();
});

test('a call cancelled while queued leaves the queue, gets no reply, and never reaches the upstream', async () => {
  const relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_CONCURRENCY: '1' });
  const h = new Harness(relay.app);
  await h.initialize();
  upstream.next({ type: 'held', content: 'first' });
  const first = h.callTool({ prompt: 'a' }, undefined, 'a');
  await upstream.waitForRequests(1);
  const queued = h.send({ jsonrpc: '2.0', id: 'q', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'b' } } });
  assert.is(relay.limiter.queued, 1);
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'q' } });
  assert.is(await queued, undefined);
  assert.is(relay.limiter.queued, 0);
  upstream.release(1);
  resultOf(await first);
  assert.is(relay.limiter.running, 0, 'the freed slot went to nobody: the cancelled call left the queue');
  assert.is(upstream.requests.length, 1);
  await relay.close();
});

test('the connection pool does not cap calls below the concurrency limit', async () => {
  const relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_CONCURRENCY: '200' });
  const h = new Harness(relay.app);
  await h.initialize();
  try {
    // 150 calls all held upstream at once: every one of them reached it, on its own connection.
    upstream.fallback = () => ({ type: 'held', content: 'slow' });
    const calls = Array.from({ length: 150 }, (_, i) => h.callTool({ prompt: `p${i}` }, undefined, i));
    await upstream.waitForRequests(150, 10_000);
    assert.ok(upstream.openConnections() >= 150, `${upstream.openConnections()} connections`);
    upstream.release(150);
    const results = await Promise.all(calls);
    assert.ok(results.every((r) => !resultOf(r).isError));
  } finally {
    upstream.fallback = () => ({ type: 'json' });
    await relay.close();
  }
});

test.run();
