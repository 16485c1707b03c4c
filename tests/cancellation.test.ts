import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly, Harness, resultOf, testApp } from './helpers.ts';

const test = suite('cancellation');
let upstream: FakeUpstream;
let relay: ReturnType<typeof testApp>;

test.before(async () => {
  upstream = await startFakeUpstream();
  relay = testApp({ OPENAI_BASE_URL: upstream.baseUrl });
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  await relay.close();
  await upstream.close();
});

async function session(): Promise<Harness> {
  const h = new Harness(relay.app);
  await h.initialize();
  return h;
}

for (const id of [7, 0, '', 'call-1']) {
  test(`notifications/cancelled for id ${JSON.stringify(id)} closes the upstream request and no reply is sent`, async () => {
    const h = await session();
    upstream.next({ type: 'hang' });
    const reply = h.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' } } });
    const [request] = await upstream.waitForRequests(1);
    await assertAbortedPromptly(request, () =>
      h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'user pressed stop' } }),
    );
    assert.is(await reply, undefined);
    assert.is(h.session.running, 0);
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), what);
}

test('a cancelled streaming call sends no progress after the cancel and no reply', async () => {
  const h = await session();
  upstream.next({ type: 'stream', pieces: Array.from({ length: 50 }, (_, i) => `w${i} `), intervalMs: 20 });
  const reply = h.send({
    jsonrpc: '2.0',
    id: 'p',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x' }, _meta: { progressToken: 'tok' } },
  });
  const [request] = await upstream.waitForRequests(1);
  await until(() => h.notifications.length >= 1, 'some progress arrived before the cancel');
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'p' } });
  const count = h.notifications.length;
  assert.ok((await request!.closed).aborted);
  // The handler has settled: its upstream request is gone and its merge timer cleared, so
  // nothing more can be sent for it.
  assert.is(await reply, undefined);
  assert.is(h.notifications.length, count);
});

test('a request that reaches a session its transport has closed is cancelled at once: no upstream call, no reply', async () => {
  const h = await session();
  const before = upstream.requests.length;
  h.session.close('the transport closed');
  const reply = await h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' } } });
  assert.is(reply, undefined);
  assert.is(upstream.requests.length, before);
});

test('session.close aborts everything in flight', async () => {
  const h = await session();
  upstream.next({ type: 'hang' }, { type: 'hang' });
  const replies = [
    h.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'a' } } }),
    h.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'b' } } }),
  ];
  const requests = await upstream.waitForRequests(2);
  h.session.close('shutdown');
  for (const request of requests) assert.ok((await request.closed).aborted);
  assert.equal(await Promise.all(replies), [undefined, undefined]);
});

test('cancelling an unknown or finished request is harmless', async () => {
  const h = await session();
  resultOf(await h.callTool({ prompt: 'x' }, undefined, 'done'));
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'done' } });
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never' } });
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: { bad: 1 } } });
  assert.ok(resultOf(await h.callTool({ prompt: 'again' }, undefined, 'done')));
});

test('cancelling one call leaves the others running', async () => {
  const h = await session();
  upstream.next({ type: 'hang' }, { type: 'json', content: 'survivor', delayMs: 100 });
  const cancelled = h.send({ jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'a' } } });
  await upstream.waitForRequests(1);
  const kept = h.callTool({ prompt: 'b' }, undefined, 'b');
  await upstream.waitForRequests(2);
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'a' } });
  assert.is(await cancelled, undefined);
  assert.is((resultOf(await kept).structuredContent as { text: string }).text, 'survivor');
});

test.run();
