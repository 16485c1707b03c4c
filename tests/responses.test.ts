/**
 * The Responses API beside Chat Completions: which API a call goes to, how arguments map onto
 * each, how each answer maps back, streaming with and without reasoning summaries, failures,
 * cancellation, and the offline echo's conversations.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonObject } from '../src/protocol/messages.ts';
import { RESPONSES_ONLY_REFUSAL } from './fake-responses.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly, errorOf, Harness, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('the Responses API');
let upstream: FakeUpstream;
const relays: ReturnType<typeof testApp>[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  for (const relay of relays) await relay.close();
  await upstream.close();
});

async function session(env: Record<string, string> = {}, version = '2025-11-25'): Promise<Harness> {
  // Foreground calls here; background responses have tests of their own (background.test.ts).
  const relay = testApp({
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_MODEL: 'gpt-test',
    OPENAI_MAX_RETRIES: '1',
    OPENAI_BACKGROUND: 'never',
    ...env,
  });
  relays.push(relay);
  const h = new Harness(relay.app);
  await h.initialize(version);
  return h;
}

const structured = (result: JsonObject) => result.structuredContent as Record<string, any>;
const last = () => upstream.requests.at(-1)!;

test('auto routing: Responses-only model families (after any provider prefix), previous_response_id and Responses-only features; Chat otherwise', async () => {
  const h = await session();
  const cases: [JsonObject, string][] = [
    [{ prompt: 'x' }, '/v1/chat/completions'],
    [{ prompt: 'x', model: 'o3-pro' }, '/v1/responses'],
    [{ prompt: 'x', model: 'gpt-5-pro-2025-10-06' }, '/v1/responses'],
    [{ prompt: 'x', model: 'gpt-5.1-codex-max' }, '/v1/responses'],
    [{ prompt: 'x', model: 'o4-mini-deep-research' }, '/v1/responses'],
    [{ prompt: 'x', model: 'computer-use-preview' }, '/v1/responses'],
    [{ prompt: 'x', model: 'openai/o1-pro' }, '/v1/responses'],
    [{ prompt: 'x', model: 'gpt-4o' }, '/v1/chat/completions'],
    [{ prompt: 'x', extra: { tools: [{ type: 'web_search' }] } }, '/v1/responses'],
    [{ prompt: 'x', extra: { reasoning: { effort: 'low', summary: 'auto' } } }, '/v1/responses'],
    [{ prompt: 'x', extra: { tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] } }, '/v1/chat/completions'],
  ];
  for (const [args, path] of cases) {
    resultOf(await h.callTool(args));
    assert.is(last().path, path, JSON.stringify(args));
  }
  const first = structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' })));
  resultOf(await h.callTool({ prompt: 'next', previous_response_id: first.response_id }));
  assert.is(last().path, '/v1/responses', 'previous_response_id forces the Responses API');
  assert.is(last().body.previous_response_id, first.response_id);
});

test('OPENAI_RESPONSES_MODELS replaces the default list; OPENAI_API=responses and =chat send everything one way', async () => {
  const own = await session({ OPENAI_RESPONSES_MODELS: 'my-deployment*' });
  resultOf(await own.callTool({ prompt: 'x', model: 'my-deployment-1' }));
  assert.is(last().path, '/v1/responses');
  resultOf(await own.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(last().path, '/v1/chat/completions', 'the default list is replaced, not extended');
  const responses = await session({ OPENAI_API: 'responses' });
  resultOf(await responses.callTool({ prompt: 'x', model: 'gpt-4o-mini' }));
  assert.is(last().path, '/v1/responses');
  const chat = await session({ OPENAI_API: 'chat' });
  const refused = resultOf(await chat.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(last().path, '/v1/chat/completions');
  assert.is(refused.isError, true);
  assert.ok(textOf(refused).includes(RESPONSES_ONLY_REFUSAL), 'the upstream refusal is quoted');
  assert.match(textOf(refused), /served only by the Responses API: set OPENAI_API=auto/, 'and says which setting fixes it');
});

test('request mapping: input, instructions, max_output_tokens, the temperature rule, extra as given, OPENAI_STORE and OPENAI_MAX_TOKENS', async () => {
  const h = await session({ OPENAI_STORE: 'false', OPENAI_MAX_TOKENS: '500' });
  resultOf(
    await h.callTool({
      prompt: 'Hello',
      system: 'Be brief.',
      model: 'gpt-5-pro',
      max_tokens: 800,
      extra: {
        reasoning: { effort: 'high', summary: 'auto' },
        text: { verbosity: 'low' },
        include: ['reasoning.encrypted_content'],
        tools: [{ type: 'web_search' }],
      },
    }),
  );
  const body = last().body;
  assert.equal(body.input, 'Hello');
  assert.is(body.instructions, 'Be brief.');
  assert.is(body.max_output_tokens, 500, 'clamped to OPENAI_MAX_TOKENS');
  assert.not.ok('temperature' in body, 'no default temperature for a reasoning model');
  assert.not.ok('messages' in body || 'max_tokens' in body || 'max_completion_tokens' in body);
  assert.equal(body.reasoning, { effort: 'high', summary: 'auto' });
  assert.equal(body.text, { verbosity: 'low' });
  assert.equal(body.include, ['reasoning.encrypted_content']);
  assert.equal(body.tools, [{ type: 'web_search' }]);
  assert.is(body.store, false, 'OPENAI_STORE when the call sets none');
  assert.not.ok('stream' in body || 'background' in body);
  resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro', temperature: 0.5, extra: { store: true, max_output_tokens: 9999 } }));
  assert.is(last().body.temperature, 0.5, 'a temperature the call names is sent');
  assert.is(last().body.store, true, "the call's own store wins");
  assert.is(last().body.max_output_tokens, 500, "extra's token limit is clamped too");
  resultOf(await h.callTool({ prompt: 'x', extra: { reasoning: {} } }));
  assert.is(last().body.temperature, 0.2, 'a chat model on the Responses API gets the default temperature');
});

test('fields the relay owns are refused in extra, naming the parameter, before anything is sent', async () => {
  const h = await session();
  for (const key of ['input', 'instructions', 'model', 'stream', 'previous_response_id', 'background', 'messages', 'n']) {
    const refused = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro', extra: { [key]: 'x' } }));
    assert.is(refused.isError, true, key);
    assert.match(textOf(refused), new RegExp(`cannot set "${key}"`));
  }
  assert.is(upstream.requests.length, 0);
});

test('result mapping: text from output_text parts only, model, response_id, request_id, usage with reasoning and cached tokens', async () => {
  const h = await session();
  upstream.next({
    type: 'response',
    model: 'o3-pro-2025-06-10',
    headers: { 'x-request-id': 'req_resp_1' },
    usage: {
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 32 },
      output_tokens: 70,
      output_tokens_details: { reasoning_tokens: 50 },
      total_tokens: 110,
    },
    output: [
      { type: 'reasoning', id: 'rs_1', summary: [] },
      {
        type: 'message',
        id: 'msg_1',
        role: 'assistant',
        status: 'completed',
        content: [
          { type: 'output_text', text: 'Hello, ', annotations: [] },
          { type: 'refusal', refusal: 'ignored' },
        ],
      },
      {
        type: 'message',
        id: 'msg_2',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'world.', annotations: [] }],
      },
    ],
  });
  const result = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  const s = structured(result);
  assert.is(s.text, 'Hello, world.');
  assert.is(s.model, 'o3-pro-2025-06-10');
  assert.is(s.finish_reason, 'stop');
  assert.equal(s.usage, { prompt_tokens: 40, completion_tokens: 70, total_tokens: 110, reasoning_tokens: 50, cached_tokens: 32 });
  assert.is(s.request_id, 'req_resp_1');
  assert.match(s.response_id, /^resp_fake/);
  assert.equal(JSON.parse(textOf(result)), s, 'the text block holds the same JSON');
  // Chat Completions reports cached tokens too.
  upstream.next({
    type: 'json',
    usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11, prompt_tokens_details: { cached_tokens: 8 } },
  });
  assert.equal(structured(resultOf(await h.callTool({ prompt: 'x' }))).usage, {
    prompt_tokens: 9,
    completion_tokens: 2,
    total_tokens: 11,
    cached_tokens: 8,
  });
});

test('finish_reason: stop, length, content_filter, tool_calls, null', async () => {
  const h = await session();
  const cases: [object, string | null][] = [
    [{ type: 'response', status: 'completed' }, 'stop'],
    [{ type: 'response', status: 'incomplete', incompleteReason: 'max_output_tokens' }, 'length'],
    [{ type: 'response', status: 'incomplete', incompleteReason: 'content_filter' }, 'content_filter'],
    [{ type: 'response', output: [{ type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }] }, 'tool_calls'],
    [{ type: 'response', status: 'incomplete' }, null],
  ];
  for (const [behaviour, reason] of cases) {
    upstream.next(behaviour as never);
    const s = structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' })));
    assert.is(s.finish_reason, reason, JSON.stringify(behaviour));
  }
});

test('citations from both APIs: in order of first use, each URL once; reasoning summaries', async () => {
  const h = await session();
  const cite = (url: string, title: string) => ({ type: 'url_citation', url, title, start_index: 0, end_index: 1 });
  upstream.next({
    type: 'response',
    text: 'Sourced.',
    annotations: [cite('https://a.example/', 'A'), cite('https://b.example/', 'B'), cite('https://a.example/', 'A again')],
    reasoningSummary: ['First I looked.', 'Then I wrote.'],
  });
  const s = structured(
    resultOf(await h.callTool({ prompt: 'x', extra: { tools: [{ type: 'web_search' }], reasoning: { summary: 'auto' } } })),
  );
  assert.equal(s.citations, [
    { url: 'https://a.example/', title: 'A' },
    { url: 'https://b.example/', title: 'B' },
  ]);
  assert.is(s.reasoning_summary, 'First I looked.\n\nThen I wrote.');
  upstream.next({
    type: 'json',
    content: 'Chat sourced.',
    annotations: [{ type: 'url_citation', url_citation: { url: 'https://c.example/', title: 'C', start_index: 0, end_index: 4 } }],
  } as never);
  const chat = resultOf(await h.callTool({ prompt: 'x', model: 'gpt-4o-search-preview' }));
  assert.equal(structured(chat).citations, [{ url: 'https://c.example/', title: 'C' }]);
  assert.match(textOf(chat), /"citations":\[\{"url":"https:\/\/c\.example\/","title":"C"\}\]/, 'the text block shows them too');
});

test('images: image_url parts for Chat, input_image parts for Responses; anything else refused before sending', async () => {
  const h = await session();
  const images = ['https://img.example/cat.png', 'data:image/png;base64,iVBORw0KGgo='];
  resultOf(await h.callTool({ prompt: 'What is this?', images }));
  assert.equal(last().body.messages, [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: images[0] } },
        { type: 'image_url', image_url: { url: images[1] } },
      ],
    },
  ]);
  resultOf(await h.callTool({ prompt: 'What is this?', images, model: 'o3-pro' }));
  assert.equal(last().body.input, [
    {
      role: 'user',
      content: [
        { type: 'input_text', text: 'What is this?' },
        { type: 'input_image', image_url: images[0], detail: 'auto' },
        { type: 'input_image', image_url: images[1], detail: 'auto' },
      ],
    },
  ]);
  const before = upstream.requests.length;
  for (const bad of ['http://img.example/cat.png', 'data:text/plain;base64,aGk=', 'file:///etc/passwd', 'not a url']) {
    const refused = resultOf(await h.callTool({ prompt: 'x', images: [images[0]!, bad] }));
    assert.match(textOf(refused), /"images\.1" must be an https:\/\/ URL or a data:image\/\.\.\.;base64, URI/, bad);
  }
  assert.match(textOf(resultOf(await h.callTool({ prompt: 'x', images: Array(9).fill(images[0]) }))), /"images" may hold at most 8 items/);
  assert.is(upstream.requests.length, before);
});

test('previous_response_id: an unknown or expired id is a result that says so; under OPENAI_API=chat it is refused with the reason', async () => {
  const h = await session();
  const unknown = resultOf(await h.callTool({ prompt: 'x', previous_response_id: 'resp_gone' }));
  assert.is(unknown.isError, true);
  assert.match(textOf(unknown), /Previous response with id 'resp_gone' not found/);
  assert.match(textOf(unknown), /unknown, expired, or was made with store: false/);
  const chat = await session({ OPENAI_API: 'chat' });
  const before = upstream.requests.length;
  const refused = resultOf(await chat.callTool({ prompt: 'x', previous_response_id: 'resp_1' }));
  assert.match(textOf(refused), /Chat Completions \(OPENAI_API=chat\), which stores none/);
  const old = await session({ OPENAI_API: 'chat' }, '2025-06-18');
  assert.is(errorOf(await old.callTool({ prompt: 'x', previous_response_id: 'resp_1' })).code, -32602);
  assert.is(upstream.requests.length, before);
});

test('a failed response is a result quoting the upstream; a server error is retried like a 5xx, another error is not', async () => {
  const h = await session();
  upstream.next(
    { type: 'response', status: 'failed', error: { code: 'server_error', message: 'The model crashed.' } },
    { type: 'response', text: 'second time' },
  );
  assert.is(structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }))).text, 'second time');
  assert.is(upstream.requests.length, 2);
  upstream.reset();
  upstream.next({ type: 'response', status: 'failed', error: { code: 'invalid_prompt', message: 'Your prompt was flagged.' } });
  const failed = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }));
  assert.is(failed.isError, true);
  assert.match(textOf(failed), /The upstream failed to answer: Your prompt was flagged \(invalid_prompt\)\..*attempts: 1/);
  assert.is(upstream.requests.length, 1);
});

test('streaming: text deltas become progress; reasoning summaries go out as info log messages, not into the text', async () => {
  const h = await session();
  upstream.next({ type: 'response-stream', pieces: ['Hel', 'lo'], reasoning: ['Think', 'ing.'] });
  const result = resultOf(
    await h.callTool({ prompt: 'x', model: 'o3-pro', extra: { reasoning: { summary: 'auto' } } }, { progressToken: 'p' }),
  );
  assert.is(last().body.stream, true);
  const progress = h.notifications.filter((n) => n.method === 'notifications/progress').map((n) => n.params!.message);
  assert.is(progress.join(''), 'Hello');
  const logs = h.notifications.filter((n) => n.method === 'notifications/message');
  assert.ok(logs.length >= 1);
  assert.ok(logs.every((n) => n.params!.level === 'info' && n.params!.logger === 'openai-mcp-relay/reasoning'));
  assert.is(logs.map((n) => (n.params!.data as { reasoning_summary: string }).reasoning_summary).join(''), 'Thinking.');
  const s = structured(result);
  assert.is(s.text, 'Hello');
  assert.is(s.reasoning_summary, 'Thinking.');
  assert.match(s.response_id, /^resp_fake/);
  // Without a reasoning summary: progress only.
  upstream.next({ type: 'response-stream', pieces: ['a', 'b'], named: false });
  const plain = new Harness(h.ctx.app);
  await plain.initialize();
  assert.is(structured(resultOf(await plain.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 'q' }))).text, 'ab');
  assert.is(plain.notifications.filter((n) => n.method === 'notifications/message').length, 0);
});

test('streaming failures: response.failed and error events (flat or nested) fail the call; a stream cut before its terminal event is retried only while no text reached the client', async () => {
  const h = await session();
  upstream.next({ type: 'response-stream', pieces: ['partial'], end: 'failed', error: { code: 'invalid_prompt', message: 'No.' } });
  assert.match(
    textOf(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 1 }))),
    /The upstream failed to answer: No \(invalid_prompt\)/,
  );
  upstream.next(
    { type: 'response-stream', pieces: [], end: 'error', error: { code: 'server_error', message: 'Overloaded.' } },
    { type: 'response-stream', pieces: ['ok'] },
  );
  assert.is(
    structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 2 }))).text,
    'ok',
    'an error event before any text is retried',
  );
  upstream.next({
    type: 'response-stream',
    pieces: ['some text'],
    end: 'error-nested',
    error: { code: 'invalid_request', message: 'Nested.' },
  });
  assert.match(
    textOf(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 3 }))),
    /failed mid-stream: Nested \(invalid_request\)/,
  );
  upstream.reset();
  upstream.next({ type: 'response-stream', pieces: ['a', 'b'], end: 'none' }, { type: 'response-stream', pieces: ['whole'] });
  const cutEarly = resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 4 }));
  assert.is(cutEarly.isError, true, 'text had reached the client: not retried');
  assert.match(textOf(cutEarly), /stream ended before the answer was complete/);
  upstream.reset();
  upstream.next({ type: 'response-stream', pieces: ['a', 'b'], dropAfter: 0 }, { type: 'response-stream', pieces: ['again'] });
  assert.is(
    structured(resultOf(await h.callTool({ prompt: 'x', model: 'o3-pro' }, { progressToken: 5 }))).text,
    'again',
    'cut before any text: retried',
  );
  assert.is(upstream.requests.length, 2);
});

test('cancellation closes the Responses request within 200 ms', async () => {
  const h = await session();
  upstream.next({ type: 'response-stream', pieces: Array(200).fill('w '), intervalMs: 20 });
  const reply = h.send({
    jsonrpc: '2.0',
    id: 'c',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' }, _meta: { progressToken: 'c' } },
  });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () => h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c' } }));
  assert.is(await reply, undefined);
});

test('2026-07-28 requests get the same Responses mapping (and log only with a logLevel in _meta)', async () => {
  const h = await session();
  upstream.next({ type: 'response-stream', pieces: ['modern'], reasoning: ['r'] });
  const meta = {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
    'io.modelcontextprotocol/clientCapabilities': {},
    'io.modelcontextprotocol/logLevel': 'info',
    progressToken: 'm',
  };
  const reply = await h.request('tools/call', {
    name: 'generate',
    arguments: { prompt: 'x', model: 'o3-pro', extra: { reasoning: { summary: 'auto' } } },
    _meta: meta,
  });
  const result = resultOf(reply);
  assert.is(result.resultType, 'complete');
  assert.is(structured(result).text, 'modern');
  assert.match(structured(result).response_id, /^resp_fake/);
  assert.ok(h.notifications.some((n) => n.method === 'notifications/message' && n.params!.logger === 'openai-mcp-relay/reasoning'));
});

test('the echo upstream answers in the Responses shape: response ids, chained conversations, images, unknown ids', async () => {
  const h = await session({ MCP_UPSTREAM: 'echo' });
  const first = structured(resultOf(await h.callTool({ prompt: 'Hello', model: 'o3-pro', images: ['https://img.example/a.png'] })));
  assert.is(first.text, 'Hello [1 image]');
  assert.match(first.response_id, /^resp_echo_/);
  const second = structured(resultOf(await h.callTool({ prompt: 'And then?', previous_response_id: first.response_id })));
  assert.is(second.text, 'Hello [1 image]\nAnd then?', 'the earlier turn is carried over');
  const unknown = resultOf(await h.callTool({ prompt: 'x', previous_response_id: 'resp_nope' }));
  assert.match(textOf(unknown), /not found/);
  const chat = structured(resultOf(await h.callTool({ prompt: 'plain' })));
  assert.is(chat.response_id, undefined, 'Chat Completions answers have no response id');
});

test.run();
