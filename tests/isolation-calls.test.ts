/**
 * A hostile tenant (key "mallory") against a quiet one ("alice"): upstream slots, the queue,
 * batches and cancellation. The upstream answers only when the test releases it, so every
 * assertion is about what the relay decided, in what order, not about how long it took.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JsonObject } from '../src/protocol/messages.ts';
import { startFakeUpstream, type FakeUpstream, type Received } from './fake-upstream.ts';
import { Harness, resultOf, testApp, textOf } from './helpers.ts';
import { auth, openSession, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('isolation: fair share of upstream slots, batches, cancellation');
const ALICE = 'alice-key-0123456789abcdef';
const MALLORY = 'mallory-key-0123456789abcd';
const keys = [
  { name: 'alice', key: ALICE },
  { name: 'mallory', key: MALLORY },
];

let upstream: FakeUpstream;
test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  await upstream.close();
});

const call = (id: string | number, prompt: string) => rpc('tools/call', { name: 'generate', arguments: { prompt } }, id);
const resultText = (body: { result: { content: { text: string }[] } }) => body.result.content[0]!.text;

async function sessions(server: TestServer) {
  return {
    alice: await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` }),
    mallory: await openSession(server.url, '2025-11-25', { authorization: `Bearer ${MALLORY}` }),
  };
}

/** Waits until the upstream has seen a request whose prompt is `prompt`; returns how many it had seen before. */
async function reached(prompt: string): Promise<number> {
  for (let n = 1; ; n++) {
    const seen = await upstream.waitForRequests(n);
    const at = seen.findIndex((r) => promptOf(r) === prompt);
    if (at !== -1) return at;
  }
}

test('one key floods the queue: the other key\'s calls are served within the flood\'s current turn, never "busy"', async () => {
  // The protocol core with two callers, as the HTTP transport hands it their key names. Calls
  // queue synchronously, so the order of events is the code's, not the machine's.
  const relay = testApp({
    OPENAI_BASE_URL: upstream.baseUrl,
    MCP_MAX_CONCURRENCY: '2',
    MCP_MAX_QUEUE: '10',
    MCP_MAX_CALLS_PER_KEY: '1000',
  });
  relay.keys.replace(keys.map((k) => ({ ...k, policy: {} })));
  const alice = new Harness(relay.app, undefined, 'alice');
  const mallory = new Harness(relay.app, undefined, 'mallory');
  await alice.initialize();
  await mallory.initialize();
  upstream.fallback = () => ({ type: 'held' });
  try {
    const flood: Promise<JsonObject>[] = [];
    const floodWith = (n: number) => {
      for (let i = 0; i < n; i++) flood.push(mallory.callTool({ prompt: `mallory ${flood.length}` }));
    };
    floodWith(30);
    await upstream.waitForRequests(2);
    for (let round = 0; round < 5; round++) {
      await until(() => upstream.held === 2, 'both slots are busy with the flood');
      floodWith(10); // the flood keeps the waiting room full
      const mine = alice.callTool({ prompt: `alice ${round}` });
      const before = upstream.requests.length;
      let releases = 0;
      while (!upstream.requests.slice(before).some((r) => promptOf(r) === `alice ${round}`)) {
        assert.ok(releases < 2, `alice's call ${round} waited for more than the flood's current turn`);
        upstream.release(1);
        releases++;
        await upstream.waitForRequests(before + releases);
      }
      upstream.release(upstream.held);
      const result = resultOf(await mine);
      assert.is(result.isError, undefined, textOf(result));
    }
    upstream.fallback = () => ({ type: 'json' });
    upstream.release(upstream.held);
    const results = await Promise.all(flood.map(async (r) => resultOf(await r)));
    const busy = results.filter((r) => r.isError).map(textOf);
    assert.ok(busy.length > 0 && busy.every((text) => /The server is busy/.test(text)), 'the flood was told busy, not alice');
  } finally {
    upstream.fallback = () => ({ type: 'json' });
    upstream.release(upstream.held);
    await relay.close();
  }
});

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), what);
}

const promptOf = (r: Received) => (r.body.messages as { content: string }[]).at(-1)!.content;

test('MCP_MAX_CALLS_PER_KEY defaults to a quarter of the capacity with several keys: the flood is refused at its cap, alice is not', async () => {
  // 4 running + 8 queued = 12; a quarter is 3 per key.
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_CONCURRENCY: '4', MCP_MAX_QUEUE: '8' }, { apiKeys: keys });
  try {
    const { alice, mallory } = await sessions(server);
    upstream.fallback = () => ({ type: 'held' });
    const flood = Array.from({ length: 6 }, (_, i) =>
      raw(server.url, { headers: auth(MALLORY, { 'mcp-session-id': mallory }), body: call(`m${i}`, `mallory ${i}`) }),
    );
    await upstream.waitForRequests(3);
    const mine = raw(server.url, { headers: auth(ALICE, { 'mcp-session-id': alice }), body: call('a', 'alice') });
    await reached('alice');
    upstream.release(upstream.held);
    assert.is((await mine).json().result.isError, undefined);
    const texts = (await Promise.all(flood)).map((r) => resultText(r.json()));
    assert.is(texts.filter((t) => /This key already has 3 calls in flight, its limit \(MCP_MAX_CALLS_PER_KEY\)/.test(t)).length, 3);
  } finally {
    upstream.fallback = () => ({ type: 'json' });
    upstream.release(upstream.held);
    await server.close();
  }
});

test("MCP_MAX_BATCH: a larger 2025-03-26 batch is refused whole with one -32600 before any upstream call; a smaller one counts against the key's share", async () => {
  const server = await startHttp(
    { OPENAI_BASE_URL: upstream.baseUrl, MCP_MAX_BATCH: '8', MCP_MAX_CONCURRENCY: '4', MCP_MAX_QUEUE: '8' },
    { apiKeys: keys },
  );
  try {
    const session = await openSession(server.url, '2025-03-26', { authorization: `Bearer ${MALLORY}` });
    const big = Array.from({ length: 9 }, (_, i) => call(i, `p${i}`));
    const refused = await raw(server.url, { headers: auth(MALLORY, { 'mcp-session-id': session }), body: big });
    assert.is(refused.status, 400);
    assert.equal(refused.json(), {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid Request: the batch holds 9 messages; at most 8 are accepted (MCP_MAX_BATCH)' },
    });
    assert.is(upstream.requests.length, 0);
    const batch = await raw(server.url, {
      headers: auth(MALLORY, { 'mcp-session-id': session }),
      body: Array.from({ length: 8 }, (_, i) => call(i, `p${i}`)),
    });
    const replies = batch.json() as { result: { isError?: boolean; content: { text: string }[] } }[];
    assert.is(replies.length, 8);
    // A quarter of 12 is 3: the rest of the batch is this key's excess, answered at once.
    assert.is(replies.filter((r) => r.result.isError && /MCP_MAX_CALLS_PER_KEY/.test(r.result.content[0]!.text)).length, 5);
  } finally {
    await server.close();
  }
});

test("stateless mode: notifications/cancelled in a POST of its own cancels the call with that id from the same key, not another key's", async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { apiKeys: keys, stateless: true });
  try {
    upstream.next({ type: 'hang' }, { type: 'hang' });
    const aliceCall = raw(server.url, { headers: auth(ALICE), body: call(7, 'alice') });
    const malloryCall = raw(server.url, { headers: auth(MALLORY), body: call(7, 'mallory') });
    const [first, second] = await upstream.waitForRequests(2);
    const aliceRequest = (first!.body.messages as { content: string }[])[0]!.content === 'alice' ? first! : second!;
    const malloryRequest = aliceRequest === first ? second! : first!;
    const cancel = { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'user pressed stop' } };
    assert.is((await raw(server.url, { headers: auth(MALLORY), body: cancel })).status, 202);
    assert.ok((await malloryRequest.closed).aborted, "mallory's own call was aborted upstream");
    assert.not.match((await malloryCall).text, /"result"/, 'and got no reply');
    let aliceClosed = false;
    void aliceRequest.closed.then(() => (aliceClosed = true));
    // Alice's call with the same id is still running: a ping round trip later it is still open.
    assert.is((await raw(server.url, { headers: auth(ALICE), body: rpc('ping', undefined, 'p') })).status, 200);
    assert.is(aliceClosed, false, "alice's call with the same id runs on");
    assert.is((await raw(server.url, { headers: auth(ALICE), body: cancel })).status, 202);
    assert.ok((await aliceRequest.closed).aborted);
    await aliceCall;
  } finally {
    await server.close();
  }
});

test.run();
