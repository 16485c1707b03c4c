import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Harness, testApp } from './helpers.ts';

const test = suite('JSON-RPC batches');
const { app } = testApp({ MCP_UPSTREAM: 'echo' });

const ping = (id: number | string) => ({ jsonrpc: '2.0', id, method: 'ping' });
const note = { jsonrpc: '2.0', method: 'notifications/initialized' };

test('under 2025-03-26 a batch is answered with an array, notifications getting no entry', async () => {
  const h = new Harness(app);
  await h.initialize('2025-03-26');
  const reply = (await h.send([ping(1), note, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, ping(0)])) as { id: unknown }[];
  assert.ok(Array.isArray(reply));
  assert.equal(reply.map((r) => r.id).sort(), [0, 1, 2]);
});

test('under 2025-03-26 a batch of only notifications gets no reply', async () => {
  const h = new Harness(app);
  await h.initialize('2025-03-26');
  assert.is(await h.send([note, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 9 } }]), undefined);
});

test('under 2025-03-26 initialize inside a batch is -32600, the rest is served', async () => {
  const h = new Harness(app);
  await h.initialize('2025-03-26');
  const init = {
    jsonrpc: '2.0',
    id: 'i',
    method: 'initialize',
    params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
  };
  const reply = (await h.send([init, ping(1)])) as { id: unknown; error?: { code: number }; result?: unknown }[];
  const byId = new Map(reply.map((r) => [r.id, r]));
  assert.is(byId.get('i')?.error?.code, -32600);
  assert.equal(byId.get(1)?.result, {});
});

test('under 2025-03-26 invalid entries get their own errors; an empty batch is one -32600', async () => {
  const h = new Harness(app);
  await h.initialize('2025-03-26');
  const reply = (await h.send([1, [ping(2)], ping(3)])) as { id: unknown; error?: { code: number } }[];
  assert.is(reply.length, 3);
  assert.is(reply.filter((r) => r.id === null && r.error?.code === -32600).length, 2);
  assert.equal(await h.send([]), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: empty batch' } });
});

for (const version of ['2024-11-05', '2025-06-18', '2025-11-25']) {
  test(`under ${version} an array gets one -32600 with id null`, async () => {
    const h = new Harness(app);
    await h.initialize(version);
    const reply = (await h.send([ping(1), ping(2)])) as { id: unknown; error: { code: number; message: string } };
    assert.not.ok(Array.isArray(reply));
    assert.is(reply.id, null);
    assert.is(reply.error.code, -32600);
    assert.match(reply.error.message, version);
  });
}

test('before initialize an array gets one -32600 with id null, even one holding initialize', async () => {
  const h = new Harness(app);
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
  };
  const reply = (await h.send([init])) as { id: unknown; error: { code: number; message: string } };
  assert.is(reply.id, null);
  assert.is(reply.error.code, -32600);
  assert.match(reply.error.message, /before initialize/);
  assert.is(h.session.initialized, false);
});

test.run();
