import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_REASONING_MODELS } from '../src/settings.ts';
import { modelMatcher } from '../src/tool/models.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, resultOf, testApp } from './helpers.ts';

const test = suite('reasoning models and the system message');
let upstream: FakeUpstream;

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  await upstream.close();
});

async function session(env: Record<string, string> = {}): Promise<Harness> {
  const h = new Harness(testApp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-4o-mini', ...env }).app);
  await h.initialize();
  return h;
}

test('the default pattern: o1, o3, o4 and gpt-5 families are reasoning models; chat variants are not', () => {
  const isReasoning = modelMatcher(DEFAULT_REASONING_MODELS.split(','));
  for (const model of [
    'o1',
    'o1-mini',
    'o1-preview',
    'o1-2024-12-17',
    'o3',
    'o3-mini',
    'o3-pro',
    'o4-mini',
    'gpt-5',
    'gpt-5-mini',
    'gpt-5-nano',
    'gpt-5-pro',
    'gpt-5.1',
    'gpt-5-codex',
    'openai/o3-mini',
    'O3-MINI',
  ]) {
    assert.ok(isReasoning(model), model);
  }
  for (const model of [
    'gpt-4o',
    'gpt-4o-mini',
    'gpt-4.1',
    'gpt-5-chat',
    'gpt-5-chat-latest',
    'gpt-5.1-chat-latest',
    'llama3',
    'openai/gpt-4o',
    'chatgpt-4o-latest',
    'oa1',
  ]) {
    assert.not.ok(isReasoning(model), model);
  }
});

test('a reasoning model gets max_completion_tokens, and no temperature unless the call names one', async () => {
  const h = await session();
  resultOf(await h.callTool({ prompt: 'think', model: 'o3-mini', max_tokens: 500, extra: { reasoning_effort: 'high' } }));
  const body = upstream.requests[0]!.body;
  assert.is(body.max_completion_tokens, 500);
  assert.not.ok('max_tokens' in body);
  assert.not.ok('temperature' in body, 'the OPENAI_TEMPERATURE default is not sent');
  assert.is(body.reasoning_effort, 'high');
  resultOf(await h.callTool({ prompt: 'think', model: 'o3-mini', temperature: 1 }));
  assert.is(upstream.requests[1]!.body.temperature, 1, 'a temperature the caller names is sent');
});

test('a chat model gets max_tokens and the default temperature', async () => {
  const h = await session({ OPENAI_TEMPERATURE: '0.7' });
  resultOf(await h.callTool({ prompt: 'hi', max_tokens: 50 }));
  const body = upstream.requests[0]!.body;
  assert.is(body.max_tokens, 50);
  assert.is(body.temperature, 0.7);
  assert.not.ok('max_completion_tokens' in body);
});

test('the default model can itself be a reasoning model', async () => {
  const h = await session({ OPENAI_MODEL: 'gpt-5-mini' });
  resultOf(await h.callTool({ prompt: 'hi', max_tokens: 9 }));
  assert.equal(upstream.requests[0]!.body, { model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 9 });
});

test('OPENAI_REASONING_MODELS replaces the pattern; "none" turns it off', async () => {
  const custom = await session({ OPENAI_REASONING_MODELS: 'my-deployment,deep-*' });
  resultOf(await custom.callTool({ prompt: 'x', model: 'deep-thinker', max_tokens: 3 }));
  resultOf(await custom.callTool({ prompt: 'x', model: 'o3-mini', max_tokens: 3 }));
  assert.is(upstream.requests[0]!.body.max_completion_tokens, 3);
  assert.is(upstream.requests[1]!.body.max_tokens, 3, 'o3-mini is no longer matched');
  const none = await session({ OPENAI_REASONING_MODELS: 'none' });
  resultOf(await none.callTool({ prompt: 'x', model: 'o1', max_tokens: 4 }));
  assert.is(upstream.requests[2]!.body.max_tokens, 4);
});

test('system goes first, as a system message', async () => {
  const h = await session();
  resultOf(await h.callTool({ prompt: 'Translate: hello', system: 'You translate English to French.' }));
  assert.equal(upstream.requests[0]!.body.messages, [
    { role: 'system', content: 'You translate English to French.' },
    { role: 'user', content: 'Translate: hello' },
  ]);
});

test.run();
