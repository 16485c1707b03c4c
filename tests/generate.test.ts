import { Ajv } from 'ajv';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { OUTPUT_SCHEMA } from '../src/tool/schema.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('generate against the fake upstream');
const KEY = 'sk-test-key-0123456789abcdef';
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;
const logLines: string[] = [];
const validateOutput = new Ajv({ strict: false }).compile(OUTPUT_SCHEMA);

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp(
    {
      OPENAI_BASE_URL: upstream.baseUrl,
      OPENAI_MODEL: 'gpt-test',
      OPENAI_API_KEY: KEY,
      OPENAI_TIMEOUT_MS: '1500',
      OPENAI_MAX_RETRIES: '0',
    },
    createLogger({ level: 'debug', write: (line) => void logLines.push(line) }),
  );
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  await relay.close();
  await upstream.close();
  // No secret reaches the operator's logs either.
  assert.not.ok(logLines.join('').includes(KEY));
});

async function session(version = '2025-11-25'): Promise<Harness> {
  const h = new Harness(relay.app);
  await h.initialize(version);
  return h;
}

test('forwards one Chat Completions request with defaults and the key', async () => {
  const h = await session();
  resultOf(await h.callTool({ prompt: 'Say hi' }));
  const [request] = upstream.requests;
  assert.is(request!.method, 'POST');
  assert.is(request!.path, '/v1/chat/completions');
  assert.is(request!.headers.authorization, `Bearer ${KEY}`);
  assert.is(request!.headers['content-type'], 'application/json');
  assert.equal(request!.body, { model: 'gpt-test', messages: [{ role: 'user', content: 'Say hi' }], temperature: 0.2 });
});

test('forwards model, temperature, max_tokens and extra as given', async () => {
  const h = await session();
  resultOf(
    await h.callTool({
      prompt: 'p',
      model: 'gpt-4o',
      temperature: 0,
      max_tokens: 5,
      extra: { top_p: 0.5, seed: 7, stop: ['\n'], response_format: { type: 'json_object' } },
    }),
  );
  assert.equal(upstream.requests[0]!.body, {
    top_p: 0.5,
    seed: 7,
    stop: ['\n'],
    response_format: { type: 'json_object' },
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'p' }],
    temperature: 0,
    max_tokens: 5,
  });
});

test('result: structuredContent and the same JSON as text, model as the upstream named it', async () => {
  const h = await session();
  upstream.next({
    type: 'json',
    content: 'Hi there!',
    model: 'gpt-test-2024-08-06',
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  });
  const result = resultOf(await h.callTool({ prompt: 'Say hi' }));
  const expected = {
    text: 'Hi there!',
    model: 'gpt-test-2024-08-06',
    finish_reason: 'stop',
    usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
  };
  const { request_id: requestId, ...rest } = result.structuredContent as Record<string, unknown>;
  assert.equal(rest, expected);
  assert.match(String(requestId), /^req_fake_\d+$/, "the upstream's x-request-id is passed on");
  assert.equal(JSON.parse(textOf(result)), result.structuredContent);
  assert.not.ok(result.isError);
  assert.ok(validateOutput(result.structuredContent));
});

test('under 2025-03-26 and earlier the result is the text block alone', async () => {
  for (const version of ['2024-11-05', '2025-03-26']) {
    const h = await session(version);
    upstream.next({ type: 'json', content: 'old' });
    const result = resultOf(await h.callTool({ prompt: 'x' }));
    assert.equal(Object.keys(result), ['content']);
    assert.is(JSON.parse(textOf(result)).text, 'old');
  }
});

test('what upstreams really send fits the output schema: null content, null finish_reason, no usage', async () => {
  const h = await session();
  upstream.next({ type: 'json', content: null, finishReason: null, usage: null });
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  const { request_id: _id, ...structured } = result.structuredContent as Record<string, unknown>;
  assert.equal(structured, { text: '', model: 'gpt-test', finish_reason: null });
  assert.ok(validateOutput(result.structuredContent), JSON.stringify(validateOutput.errors));
  upstream.next({ type: 'json', content: null, finishReason: 'tool_calls' });
  assert.ok(validateOutput(resultOf(await h.callTool({ prompt: 'x' })).structuredContent));
});

const failures: [string, Parameters<FakeUpstream['next']>[0], RegExp][] = [
  [
    '401',
    {
      type: 'error',
      status: 401,
      message: `Incorrect API key provided: ${KEY}. You can find your API key at https://platform.openai.com.`,
    },
    /HTTP 401.*OPENAI_API_KEY/,
  ],
  [
    '404 unknown model',
    { type: 'error', status: 404, message: 'The model `gpt-nope` does not exist or you do not have access to it.' },
    /HTTP 404.*gpt-nope.*model name/,
  ],
  ['429', { type: 'error', status: 429, message: 'Rate limit reached', headers: { 'retry-after': '1' } }, /HTTP 429.*Rate limit reached/],
  ['500', { type: 'error', status: 500, message: 'The server had an error' }, /HTTP 500.*server had an error.*Try again later/],
  ['400 with a non-JSON body', { type: 'error', status: 400, body: '<html>bad gateway</html>' }, /HTTP 400/],
  ['a dropped connection', { type: 'drop' }, /Could not reach the upstream/],
  [
    'a body that is not JSON',
    { type: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '{"choices": [' },
    /not JSON/,
  ],
  [
    'a body that is not a completion',
    { type: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: '{"object":"list"}' },
    /not with a chat completion/,
  ],
  ['no answer within OPENAI_TIMEOUT_MS', { type: 'hang' }, /did not finish within 1500 ms \(OPENAI_TIMEOUT_MS\)/],
  ['401, with the attempt count and last status', { type: 'error', status: 401 }, /\(attempts: 1; last upstream status: HTTP 401\)/],
];

for (const [what, behaviour, message] of failures) {
  test(`upstream failure (${what}) is an isError result that says what happened, and never the key`, async () => {
    const h = await session();
    upstream.next(behaviour);
    const result = resultOf(await h.callTool({ prompt: 'x' }));
    assert.is(result.isError, true);
    assert.not.ok('structuredContent' in result);
    assert.match(textOf(result), message);
    assert.not.ok(JSON.stringify(result).includes(KEY));
    assert.not.ok(JSON.stringify(h.notifications).includes(KEY));
  });
}

test('a key the upstream echoes is redacted before its message is cut short, in any case or glued to text', async () => {
  const h = await session();
  const padding = 'x'.repeat(285);
  upstream.next(
    { type: 'error', status: 401, message: `${padding} Received api key: ${KEY} and more` },
    { type: 'error', status: 401, message: `junkSK-TEST-ANOTHER-SECRET-999 ${padding}` },
  );
  for (let i = 0; i < 2; i++) {
    const text = textOf(resultOf(await h.callTool({ prompt: 'x' })));
    for (let n = 8; n <= KEY.length; n++) assert.not.ok(text.includes(KEY.slice(0, n)), `no ${n}-character prefix of the key`);
    assert.not.match(text, /TEST-ANOTHER-SECRET/i);
  }
});

test('an unreachable upstream is an isError result naming OPENAI_BASE_URL', async () => {
  const closed = await startFakeUpstream();
  const baseUrl = closed.baseUrl;
  await closed.close();
  const dead = testApp({ OPENAI_BASE_URL: baseUrl });
  const h = new Harness(dead.app);
  await h.initialize();
  const result = resultOf(await h.callTool({ prompt: 'x' }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /Could not reach the upstream at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*OPENAI_BASE_URL/);
  await dead.close();
});

test('failures are sent as notifications/message (error) when the level allows, never with the key', async () => {
  const h = await session();
  upstream.next({ type: 'error', status: 401, message: `bad key ${KEY}` });
  await h.callTool({ prompt: 'x' });
  const logs = h.notifications.filter((n) => n.method === 'notifications/message');
  assert.is(logs.length, 1);
  assert.is(logs[0]!.params!.level, 'error');
  assert.is(logs[0]!.params!.logger, 'openai-mcp-relay');
  assert.match(JSON.stringify(logs[0]!.params!.data), /HTTP 401/);
  assert.not.ok(JSON.stringify(logs).includes(KEY));

  await h.request('logging/setLevel', { level: 'critical' });
  upstream.next({ type: 'error', status: 500 });
  await h.callTool({ prompt: 'x' });
  assert.is(h.notifications.filter((n) => n.method === 'notifications/message').length, 1);
});

test('the echo upstream answers deterministically without a key or network', async () => {
  const echo = testApp({ MCP_UPSTREAM: 'echo', OPENAI_API_KEY: '' });
  const h = new Harness(echo.app);
  await h.initialize();
  const result = resultOf(await h.callTool({ prompt: 'repeat after me', model: 'any-model' }));
  assert.equal(result.structuredContent, {
    text: 'repeat after me',
    model: 'any-model',
    finish_reason: 'stop',
    usage: { prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 },
  });
  assert.is(upstream.requests.length, 0);
});

test.run();
