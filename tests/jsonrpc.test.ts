import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tool } from '../src/protocol/context.ts';
import { handleText } from '../src/protocol/handle.ts';
import { Harness, errorOf, resultOf, testApp } from './helpers.ts';

const test = suite('JSON-RPC 2.0 validation');
const { app } = testApp({ MCP_UPSTREAM: 'echo' });

async function ready(): Promise<Harness> {
  const h = new Harness(app);
  await h.initialize('2025-11-25');
  return h;
}

test('unparseable text gets -32700 with id null', async () => {
  const h = await ready();
  const reply = await handleText('{"jsonrpc":"2.0","id":1,"method":', h.ctx);
  assert.equal(reply, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: the message is not valid JSON' } });
});

test('values that are not objects get -32600 with id null', async () => {
  const h = await ready();
  for (const value of [1, 'x', null, true]) {
    const reply = (await h.send(value)) as { id: unknown; error: { code: number } };
    assert.is(reply.id, null);
    assert.is(reply.error.code, -32600);
  }
});

test('a wrong or missing jsonrpc member is -32600, echoing a readable id', async () => {
  const h = await ready();
  const missing = (await h.send({ id: 7, method: 'ping' })) as { id: unknown; error: { code: number; message: string } };
  assert.is(missing.id, 7);
  assert.is(missing.error.code, -32600);
  assert.match(missing.error.message, /jsonrpc/);
  const wrong = (await h.send({ jsonrpc: '1.0', id: 'a', method: 'ping' })) as { id: unknown; error: { code: number } };
  assert.is(wrong.id, 'a');
  assert.is(wrong.error.code, -32600);
});

test('ids must be strings or integers: null, fractions, booleans and objects are -32600 with id null', async () => {
  const h = await ready();
  for (const id of [null, 1.5, true, { a: 1 }, [1]]) {
    const reply = (await h.send({ jsonrpc: '2.0', id, method: 'ping' })) as { id: unknown; error: { code: number } };
    assert.is(reply.id, null, `id ${JSON.stringify(id)}`);
    assert.is(reply.error.code, -32600);
  }
});

test('ids 0 and "" are real ids', async () => {
  const h = await ready();
  assert.equal(await h.send({ jsonrpc: '2.0', id: 0, method: 'ping' }), { jsonrpc: '2.0', id: 0, result: {} });
  assert.equal(await h.send({ jsonrpc: '2.0', id: '', method: 'ping' }), { jsonrpc: '2.0', id: '', result: {} });
  const list = (await h.send({ jsonrpc: '2.0', id: 0, method: 'tools/list' })) as { id: unknown; result: object };
  assert.is(list.id, 0);
  assert.ok(list.result);
});

test('a method that is not a string, or params that are not an object, is -32600', async () => {
  const h = await ready();
  assert.is(errorOf((await h.send({ jsonrpc: '2.0', id: 1, method: 5 })) as never).code, -32600);
  assert.is(errorOf((await h.send({ jsonrpc: '2.0', id: 2, method: 'ping', params: [1] })) as never).code, -32600);
  assert.is(errorOf((await h.send({ jsonrpc: '2.0', id: 3, method: 'ping', params: 'x' })) as never).code, -32600);
});

test('unknown methods get -32601, including names of Object.prototype members', async () => {
  const h = await ready();
  for (const method of ['resources/list', 'prompts/list', 'constructor', '__proto__', 'toString', '']) {
    const error = errorOf(await h.request(method));
    assert.is(error.code, -32601, method);
  }
});

test('notifications never get a reply, known or not', async () => {
  const h = await ready();
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/unknown' }), undefined);
  assert.is(await h.send({ jsonrpc: '2.0', method: 'tools/list' }), undefined);
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'nope' } }), undefined);
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: null } }), undefined);
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled' }), undefined);
});

test('responses from the client are accepted silently', async () => {
  const h = await ready();
  assert.is(await h.send({ jsonrpc: '2.0', id: 5, result: {} }), undefined);
  assert.is(await h.send({ jsonrpc: '2.0', id: 5, error: { code: 1, message: 'x' } }), undefined);
});

test('a message that is neither request, notification nor response is -32600', async () => {
  const h = await ready();
  const reply = (await h.send({ jsonrpc: '2.0', id: 5 })) as { id: unknown; error: { code: number } };
  assert.is(reply.error.code, -32600);
  assert.is(reply.id, 5);
});

test('a fault inside the server is -32603 and says nothing of its cause', async () => {
  const broken: Tool = {
    name: 'generate',
    describe: () => ({ name: 'generate', inputSchema: { type: 'object' } }),
    call: async () => {
      throw new Error('secret internal detail sk-abcdef0123456789');
    },
  };
  const h = new Harness({ ...app, tools: [broken] });
  await h.initialize();
  const error = errorOf(await h.callTool({ prompt: 'x' }));
  assert.equal(error, { code: -32603, message: 'Internal error' });
});

test('a request id already in flight is refused without disturbing the first', async () => {
  let release!: () => void;
  const slow: Tool = {
    name: 'generate',
    describe: () => ({ name: 'generate', inputSchema: { type: 'object' } }),
    call: () => new Promise((resolve) => (release = () => resolve({ content: [] }))),
  };
  const h = new Harness({ ...app, tools: [slow] });
  await h.initialize();
  const first = h.callTool({}, undefined, 'dup');
  const second = await h.callTool({}, undefined, 'dup');
  assert.is(errorOf(second).code, -32600);
  release();
  assert.equal(resultOf(await first), { content: [] });
});

test.run();
