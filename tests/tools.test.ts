import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, errorOf, resultOf, testApp, textOf } from './helpers.ts';

const test = suite('tools/list and tools/call dispatch');
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
});
test.after(async () => {
  await relay.close();
  await upstream.close();
});

async function session(version: string): Promise<Harness> {
  const h = new Harness(relay.app);
  await h.initialize(version);
  return h;
}

test('tools/list is shaped per revision', async () => {
  const shapes: Record<string, string[]> = {
    '2024-11-05': ['description', 'inputSchema', 'name'],
    '2025-03-26': ['annotations', 'description', 'inputSchema', 'name'],
    '2025-06-18': ['annotations', 'description', 'inputSchema', 'name', 'outputSchema', 'title'],
    '2025-11-25': ['annotations', 'description', 'execution', 'inputSchema', 'name', 'outputSchema', 'title'],
  };
  for (const [version, keys] of Object.entries(shapes)) {
    const h = await session(version);
    const { tools } = resultOf(await h.request('tools/list')) as { tools: Record<string, unknown>[] };
    assert.is(tools.length, 1);
    assert.equal(Object.keys(tools[0]!).sort(), keys, version);
    assert.is(tools[0]!.name, 'generate');
    if (version === '2025-11-25') assert.equal(tools[0]!.execution, { taskSupport: 'optional' });
    assert.not.ok('nextCursor' in resultOf(await h.request('tools/list')));
  }
});

test('the input schema names every parameter, requires prompt, rejects others, and shows defaults', async () => {
  const h = await session('2025-11-25');
  const { tools } = resultOf(await h.request('tools/list')) as { tools: { inputSchema: any; outputSchema: any; annotations: any }[] };
  const schema = tools[0]!.inputSchema;
  assert.is(schema.type, 'object');
  assert.equal(Object.keys(schema.properties).sort(), [
    'extra',
    'images',
    'max_tokens',
    'model',
    'previous_response_id',
    'prompt',
    'system',
    'temperature',
  ]);
  assert.equal(schema.required, ['prompt']);
  assert.is(schema.additionalProperties, false);
  assert.is(schema.properties.model.default, 'gpt-test');
  assert.is(schema.properties.temperature.default, 0.2);
  assert.equal(tools[0]!.outputSchema.required, ['text', 'model', 'finish_reason']);
  assert.is(tools[0]!.annotations.readOnlyHint, true);
});

test('tools/list with a cursor we never issued is -32602', async () => {
  const h = await session('2025-11-25');
  assert.is(errorOf(await h.request('tools/list', { cursor: 'abc' })).code, -32602);
});

test('tools/call for an unknown tool, without a name, or with non-object arguments is -32602', async () => {
  for (const version of ['2025-06-18', '2025-11-25']) {
    const h = await session(version);
    const unknown = errorOf(await h.request('tools/call', { name: 'nope', arguments: {} }));
    assert.is(unknown.code, -32602);
    assert.match(unknown.message, /Unknown tool: "nope"/);
    assert.is(errorOf(await h.request('tools/call', { arguments: {} })).code, -32602);
    assert.is(errorOf(await h.request('tools/call', { name: 'generate', arguments: [1] })).code, -32602);
    assert.is(errorOf(await h.request('tools/call', { name: 'generate', arguments: 'x' })).code, -32602);
    assert.is(errorOf(await h.request('tools/call', { name: 'generate', arguments: null })).code, -32602);
  }
  assert.is(upstream.requests.length, 0);
});

const invalid: [string, Record<string, unknown>, RegExp][] = [
  ['missing prompt', {}, /missing required parameter "prompt"/],
  ['empty prompt', { prompt: '' }, /"prompt" must not be empty/],
  ['prompt of the wrong type', { prompt: 42 }, /"prompt" must be a string/],
  ['temperature above 2', { prompt: 'x', temperature: 2.5 }, /"temperature" must be at most 2/],
  ['negative temperature', { prompt: 'x', temperature: -1 }, /"temperature" must be at least 0/],
  ['temperature as a string', { prompt: 'x', temperature: '1' }, /"temperature" must be a number/],
  ['max_tokens of 0', { prompt: 'x', max_tokens: 0 }, /"max_tokens" must be at least 1/],
  ['fractional max_tokens', { prompt: 'x', max_tokens: 1.5 }, /"max_tokens" must be an integer/],
  ['an unknown parameter', { prompt: 'x', top_p: 1 }, /unknown parameter "top_p"/],
  ['extra that is not an object', { prompt: 'x', extra: [] }, /"extra" must be an object/],
  ['extra setting messages', { prompt: 'x', extra: { messages: [] } }, /"extra" cannot set "messages"/],
  ['extra setting model', { prompt: 'x', extra: { model: 'y' } }, /"extra" cannot set "model"/],
  ['extra setting stream', { prompt: 'x', extra: { stream: true } }, /"extra" cannot set "stream"/],
  ['extra setting stream_options', { prompt: 'x', extra: { stream_options: {} } }, /"extra" cannot set "stream_options"/],
  ['extra setting n', { prompt: 'x', extra: { n: 5 } }, /"extra" cannot set "n"/],
  ['a system message that is not a string', { prompt: 'x', system: 1 }, /"system" must be a string/],
  ['an empty model', { prompt: 'x', model: '' }, /"model" must not be empty/],
];

for (const [what, args, message] of invalid) {
  test(`${what}: isError result under 2025-11-25, -32602 before, nothing sent upstream`, async () => {
    const modern = await session('2025-11-25');
    const result = resultOf(await modern.callTool(args));
    assert.is(result.isError, true);
    assert.not.ok('structuredContent' in result);
    assert.match(textOf(result), message);
    for (const version of ['2024-11-05', '2025-03-26', '2025-06-18']) {
      const older = await session(version);
      const error = errorOf(await older.callTool(args));
      assert.is(error.code, -32602);
      assert.match(error.message, message);
    }
    assert.is(upstream.requests.length, 0);
  });
}

test('several problems are all named at once', async () => {
  const h = await session('2025-11-25');
  const text = textOf(resultOf(await h.callTool({ temperature: 9, foo: 1 })));
  assert.match(text, /"prompt"/);
  assert.match(text, /"temperature"/);
  assert.match(text, /"foo"/);
});

test.run();
