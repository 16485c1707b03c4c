/**
 * The upstream client's sharp edges, each as a user meets it: answers that end but keep their
 * connection, error bodies that never end, keys echoed back in pieces, token limits that are
 * not numbers, and log lines a log reader could split.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { createRedactor } from '../src/tool/upstream/errors.ts';
import type { Dispatcher } from 'undici';
import { CallCancel } from '../src/cancel.ts';
import { headerValue, requestText, type TextHandler } from '../src/tool/upstream/text-request.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('the upstream client: sharp edges');
const KEY = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678';
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_API_KEY: KEY, OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '20000' });
});
test.before.each(() => upstream.reset());
test.after(async () => {
  await relay.close();
  await upstream.close();
});

async function session(): Promise<Harness> {
  const h = new Harness(relay.app);
  await h.initialize();
  return h;
}

test('data: [DONE] completes the answer, even when the upstream keeps the connection open', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces: ['all ', 'done'], holdOpen: true });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'd' }));
  assert.is(result.isError, undefined, textOf(result));
  assert.is((result.structuredContent as { text: string }).text, 'all done');
  // The held-open response is cut soon after (the call is over, the connection not reusable).
  assert.ok((await upstream.requests[0]!.closed).aborted);
});

test('a streamed 4xx whose body never ends is read to 64 KiB and answered, not held to the deadline', async () => {
  const h = await session();
  upstream.next({ type: 'endless-error', status: 400 });
  const result = resultOf(await h.callTool({ prompt: 'x' }, { progressToken: 'e' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /The upstream rejected the request \(HTTP 400\)/);
  assert.not.match(textOf(result), /did not finish within/);
});

test('a non-streamed error body past 64 KiB is cut, never padded with NUL bytes; an answer past its cap is refused', async () => {
  const chunks = [Buffer.from('a'.repeat(40_000)), Buffer.from('b'.repeat(40_000)), Buffer.from('c'.repeat(40_000))];
  // undici's dispatcher as the relay meets it: connect, status line, body chunks, end.
  const deliver = (status: number) => {
    const aborts: unknown[] = [];
    const dispatcher = {
      dispatch(_options: unknown, handler: TextHandler) {
        handler.onConnect((reason) => aborts.push(reason ?? 'aborted'));
        handler.onHeaders(status, [
          Buffer.from('Content-Type'),
          Buffer.from('text/plain'),
          Buffer.from('content-type'),
          Buffer.from('second'),
        ]);
        for (const chunk of chunks) if (!handler.onData(chunk)) break;
        handler.onComplete();
        return true;
      },
    } as unknown as Dispatcher;
    const answer = requestText(
      dispatcher,
      { origin: 'http://x', path: '/', method: 'POST', signal: new CallCancel() },
      {
        answer: 64 * 1024,
        error: 64 * 1024,
      },
    );
    return { answer, aborts };
  };
  const cut = deliver(400);
  const { text, rawHeaders } = await cut.answer;
  assert.is(text.length, 64 * 1024);
  assert.not.ok(text.includes('\u0000'), 'no NUL padding');
  assert.is(text, 'a'.repeat(40_000) + 'b'.repeat(64 * 1024 - 40_000));
  assert.is(headerValue(rawHeaders, 'content-type'), 'text/plain', 'any case, the first value');
  assert.is(headerValue(rawHeaders, 'x-request-id'), undefined);
  assert.is(cut.aborts.length, 1, 'the rest of the error body is not read');
  const refused = deliver(200);
  const message = await refused.answer.then(
    () => 'read',
    (error: Error) => error.message,
  );
  assert.match(message, /exceeds the size limit/, 'an answer (not an error body) past its cap is refused');
  assert.is(refused.aborts.length, 1);
});

test('an x-request-id that holds the key never reaches the client', async () => {
  const h = await session();
  upstream.next({ type: 'json', content: 'fine', headers: { 'x-request-id': KEY } });
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.not.ok(JSON.stringify(result).includes('Abc123Def456'), JSON.stringify(result));
  assert.is((result.structuredContent as { request_id?: string }).request_id, undefined);
  upstream.next({ type: 'json', content: 'fine', headers: { 'x-request-id': 'req_ordinary_123' } });
  assert.is((resultOf(await h.callTool({ prompt: 'x' })).structuredContent as { request_id?: string }).request_id, 'req_ordinary_123');
});

test('an upstream echoing the key without its prefix, or any 12 of its characters, is redacted', async () => {
  const h = await session();
  const withoutPrefix = KEY.slice(3);
  const run = KEY.slice(10, 24);
  upstream.next({ type: 'error', status: 401, message: `Incorrect API key provided: ${withoutPrefix}. Also saw ${run} somewhere.` });
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  const text = textOf(result);
  assert.match(text, /HTTP 401/);
  assert.not.ok(text.includes(withoutPrefix.slice(0, 12)), text);
  assert.not.ok(text.includes(run), text);
  assert.match(text, /\[redacted\]/);
  const redact = createRedactor([KEY]);
  assert.is(redact('short Abc123 is fine'), 'short Abc123 is fine', 'fewer than 12 characters are not a run');
  assert.is(redact(`x${KEY.slice(5, 17)}y`), 'x[redacted]y');
});

test('token limits in extra must be integers: a string or fraction is refused before anything is sent', async () => {
  const h = await session();
  for (const [key, value] of [
    ['max_tokens', '100000'],
    ['max_completion_tokens', 10.5],
    ['max_output_tokens', 0],
  ] as const) {
    const refused = resultOf(await h.callTool({ prompt: 'x', extra: { [key]: value } }));
    assert.is(refused.isError, true);
    assert.match(textOf(refused), new RegExp(`"extra\\.${key}" must be an integer of at least 1`));
  }
  assert.is(upstream.requests.length, 0);
});

test('text and JSON logs escape C1 controls, NEL and the Unicode line separators', () => {
  const lines: string[] = [];
  for (const format of ['text', 'json'] as const) {
    const log = createLogger({ format, write: (line) => void lines.push(line) });
    log.info('request', { method: 'a\u2028b\u2029c\u0085d\u009be' });
  }
  for (const line of lines) {
    assert.not.match(line, /[\u0080-\u009f\u2028\u2029]/);
    assert.match(line, /\\u2028/);
    assert.match(line, /\\u0085/);
  }
  assert.equal(JSON.parse(lines[1]!).method, 'a\u2028b\u2029c\u0085d\u009be', 'the JSON line still reads back the same');
});

test.run();
