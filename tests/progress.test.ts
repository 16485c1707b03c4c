import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonRpcNotification } from '../src/protocol/messages.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, delay, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('progress from streamed replies');
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0' });
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  await relay.close();
  await upstream.close();
});

async function session(version = '2025-11-25'): Promise<Harness> {
  const h = new Harness(relay.app);
  await h.initialize(version);
  return h;
}

const progressOf = (notes: JsonRpcNotification[]) =>
  notes
    .filter((n) => n.method === 'notifications/progress')
    .map((n) => n.params as { progressToken: unknown; progress: number; message?: string });

const withoutRequestId = (value: unknown) => {
  const { request_id: _id, ...rest } = value as Record<string, unknown>;
  return rest;
};

const pieces = ['The ', 'quick ', 'brown ', 'fox ', 'jumps ', 'over ', 'the ', 'lazy ', 'dog.'];

test('a progressToken streams the upstream and sends the text as progress, in order, before the reply', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces, intervalMs: 60 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'tok-1' }));
  const request = upstream.requests[0]!.body;
  assert.is(request.stream, true);
  assert.equal(request.stream_options, { include_usage: true });
  const progress = progressOf(h.notifications);
  assert.ok(progress.length >= 3, `saw ${progress.length} notifications`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.progress > progress[i - 1]!.progress, 'strictly increasing');
  assert.ok(progress.every((p) => p.progressToken === 'tok-1'));
  assert.is(progress.map((p) => p.message).join(''), pieces.join(''));
  assert.is(progress.at(-1)!.progress, pieces.join('').length);
  assert.equal(withoutRequestId(result.structuredContent), {
    text: pieces.join(''),
    model: 'gpt-test',
    finish_reason: 'stop',
    usage: { prompt_tokens: 9, completion_tokens: pieces.length, total_tokens: 9 + pieces.length },
  });
  const countAtReply = h.notifications.length;
  await delay(120);
  assert.is(h.notifications.length, countAtReply, 'nothing after the reply');
});

test('streamed and non-streamed calls return the same result', async () => {
  const h = await session();
  const usage = { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 };
  upstream.next({ type: 'stream', pieces, usage, model: 'gpt-test-0613' });
  const streamed = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 1 }));
  upstream.next({ type: 'json', content: pieces.join(''), usage, model: 'gpt-test-0613' });
  const plain = resultOf(await h.callTool({ prompt: 'x' }));
  // Equal but for the upstream's request id, which names each request.
  assert.equal(withoutRequestId(streamed.structuredContent), withoutRequestId(plain.structuredContent));
  assert.equal(withoutRequestId(JSON.parse(textOf(streamed))), withoutRequestId(JSON.parse(textOf(plain))));
  assert.equal(Object.keys(streamed), Object.keys(plain));
});

test('reasoning tokens in the usage pass through, streamed or not', async () => {
  const h = await session();
  const usage = { prompt_tokens: 5, completion_tokens: 90, total_tokens: 95, completion_tokens_details: { reasoning_tokens: 64 } };
  upstream.next({ type: 'stream', pieces: ['ok'], usage });
  const streamed = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'r' }));
  upstream.next({ type: 'json', content: 'ok', usage });
  const plain = resultOf(await h.callTool({ prompt: 'x' }));
  for (const result of [streamed, plain]) {
    assert.equal((result.structuredContent as { usage: object }).usage, {
      prompt_tokens: 5,
      completion_tokens: 90,
      total_tokens: 95,
      reasoning_tokens: 64,
    });
  }
});

test('progress numeric tokens are echoed; 2024-11-05 progress has no message', async () => {
  const h = await session('2024-11-05');
  upstream.next({ type: 'stream', pieces: ['a', 'b'], intervalMs: 60 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 42 }));
  const progress = progressOf(h.notifications);
  assert.ok(progress.length >= 1);
  assert.ok(progress.every((p) => p.progressToken === 42 && !('message' in p)));
  assert.is(JSON.parse(textOf(result)).text, 'ab');
});

test('a fast stream is merged: at most one notification per tick, no text lost', async () => {
  const h = await session();
  const many = Array.from({ length: 400 }, (_, i) => `t${i} `);
  upstream.next({ type: 'stream', pieces: many, intervalMs: 0 });
  const started = Date.now();
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 't' }));
  const elapsed = Date.now() - started;
  const progress = progressOf(h.notifications);
  assert.ok(progress.length <= Math.ceil(elapsed / 50) + 2, `${progress.length} notifications in ${elapsed} ms`);
  assert.is(progress.map((p) => p.message).join(''), many.join(''));
  assert.is((result.structuredContent as { text: string }).text, many.join(''));
});

test('no progressToken: no streaming and no progress', async () => {
  const h = await session();
  resultOf(await h.callTool({ prompt: 'x' }));
  assert.not.ok('stream' in upstream.requests[0]!.body);
  assert.is(progressOf(h.notifications).length, 0);
});

test('an upstream that ignores stream:true and answers JSON still works', async () => {
  const h = await session();
  upstream.next({ type: 'json', content: 'whole answer' });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'j' }));
  assert.is((result.structuredContent as { text: string }).text, 'whole answer');
  assert.is(progressOf(h.notifications).at(-1)!.message, 'whole answer');
});

test('a stream cut off mid-answer is an isError result', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces, dropAfter: 3 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'd' }));
  assert.is(result.isError, true);
  upstream.next({ type: 'stream', pieces, done: false, finishReason: undefined, dropAfter: 9 });
  assert.is(resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'e' })).isError, true);
});

test('an error event mid-stream is an isError result with the upstream message', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces, errorAfter: 2 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'e' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /server had an error/);
});

test('a streamed error status (429) is an isError result', async () => {
  const h = await session();
  upstream.next({ type: 'error', status: 429, message: 'Slow down' });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'r' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /HTTP 429.*Slow down/);
});

test('the echo upstream streams word by word', async () => {
  const echo = testApp({ MCP_UPSTREAM: 'echo' });
  const h = new Harness(echo.app);
  await h.initialize();
  const result = resultOf(await h.callTool({ prompt: 'one two three' }, { progressToken: 'echo' }));
  assert.is(
    progressOf(h.notifications)
      .map((p) => p.message)
      .join(''),
    'one two three',
  );
  assert.is((result.structuredContent as { text: string }).text, 'one two three');
});

test.run();
