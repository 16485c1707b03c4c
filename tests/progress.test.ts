import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonRpcNotification } from '../src/protocol/messages.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { ProgressReporter } from '../src/protocol/progress.ts';
import type { CallContext } from '../src/protocol/context.ts';
import { featuresOf } from '../src/protocol/versions.ts';
import { ManualClock } from './clock.ts';
import { Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('progress from streamed replies');
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;
/** Frozen unless a test moves it: text arriving within one merge interval goes out together. */
const clock = new ManualClock();

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0' }, undefined, clock);
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
  // The clock stands still: the first piece goes out at once, the rest merged before the reply.
  assert.is(progress.length, 2);
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
  assert.is(clock.pending, 0, 'nothing is left that could send after the reply: no timer, no merge pending');
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

test('a fast stream is merged: text within one 50 ms interval goes in one notification, none lost', async () => {
  const h = await session();
  const many = Array.from({ length: 400 }, (_, i) => `t${i} `);
  upstream.next({ type: 'stream', pieces: many, intervalMs: 0 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 't' }));
  const progress = progressOf(h.notifications);
  assert.is(progress.length, 2, '400 pieces in one instant: the first at once, the rest in one');
  assert.is(progress.map((p) => p.message).join(''), many.join(''));
  assert.is((result.structuredContent as { text: string }).text, many.join(''));
});

test('the merge interval, on the clock: one notification per 50 ms at most, then what is pending at the end', () => {
  const sent: { progress: number; message?: string }[] = [];
  const call = {
    app: { clock },
    features: featuresOf('2025-11-25'),
    cancelled: false,
    notify: (n: JsonRpcNotification) => void sent.push(n.params as { progress: number; message?: string }),
  } as unknown as CallContext;
  const reporter = new ProgressReporter('tok', call);
  reporter.add('a');
  assert.equal(sent, [{ progressToken: 'tok', progress: 1, message: 'a' }], 'the first text goes out at once');
  reporter.add('b');
  reporter.add('c');
  clock.advance(49);
  assert.is(sent.length, 1, 'within the interval it waits');
  clock.advance(1);
  assert.equal(sent.at(-1), { progressToken: 'tok', progress: 3, message: 'bc' });
  clock.advance(500);
  reporter.add('d'); // long after the last one: at once again
  assert.equal(sent.at(-1), { progressToken: 'tok', progress: 4, message: 'd' });
  reporter.add('e');
  reporter.finish();
  assert.equal(sent.at(-1), { progressToken: 'tok', progress: 5, message: 'e' }, 'finish flushes what is pending');
  reporter.add('f');
  clock.advance(1000);
  assert.is(sent.length, 4, 'nothing after finish');
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
