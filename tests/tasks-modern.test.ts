/**
 * The 2026-07-28 tasks extension (io.modelcontextprotocol/tasks, ext-tasks specification): the
 * server advertises it, decides per call (background work, or every call with MCP_TASKS=always)
 * for a client that declares it on the request, answers `resultType: "task"`; tasks/get with the
 * result or error inline, tasks/update acknowledged, tasks/cancel cooperative and reaching the
 * upstream; -32021 for clients that did not declare it, -32601 for the removed methods, -32602
 * for unknown tasks, the Mcp-Name header; and a task made on one process read on another that
 * shares MCP_TASK_SECRET.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRelayApp, type RelayApp } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import type { Tool } from '../src/protocol/context.ts';
import { WireError } from '../src/protocol/errors.ts';
import type { JsonObject } from '../src/protocol/messages.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { errorOf, eventually, Harness, resultOf, testConfig, virtualSleep } from './helpers.ts';
import { KEY, modernHeaders, modernMeta, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('tasks (2026-07-28 extension)');
const EXT = 'io.modelcontextprotocol/tasks';
const DECLARED = { 'io.modelcontextprotocol/clientCapabilities': { extensions: { [EXT]: {} } } };
const SECRET = 'a-shared-task-secret-of-at-least-32-chars';
let upstream: FakeUpstream;
let clock: ManualClock;
const relays: RelayApp[] = [];
const servers: TestServer[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
  clock = new ManualClock();
});
test.after.each(() => void upstream.release(100));
test.after(async () => {
  for (const relay of relays) await relay.close();
  for (const server of servers) await server.close();
  await upstream.close();
});

function client(env: Record<string, string> = {}, key = 'alice'): Harness {
  const config = testConfig({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0', ...env });
  const relay = createRelayApp(config, silentLogger, { clock, sleep: virtualSleep(clock) });
  relays.push(relay);
  return new Harness(relay.app, undefined, key);
}

/** A 2026-07-28 request: the envelope, declaring the extension unless told not to. */
function modern(h: Harness, method: string, params: JsonObject = {}, declare = true): Promise<JsonObject> {
  return h.request(method, { ...params, _meta: modernMeta(declare ? DECLARED : {}) });
}
const call = (h: Harness, args: JsonObject, declare = true, extra: JsonObject = {}) =>
  modern(h, 'tools/call', { name: 'generate', arguments: args, ...extra }, declare);

test('server/discover advertises the extension (not with MCP_TASKS=never); the legacy capability is never shown', async () => {
  const caps = resultOf(await modern(client(), 'server/discover')).capabilities as JsonObject;
  assert.equal(caps.extensions, { [EXT]: {} });
  assert.not.ok('tasks' in caps);
  const off = resultOf(await modern(client({ MCP_TASKS: 'never' }), 'server/discover')).capabilities as JsonObject;
  assert.not.ok('extensions' in off);
  const { tools } = resultOf(await modern(client(), 'tools/list')) as { tools: JsonObject[] };
  assert.not.ok('execution' in tools[0]!, '2026-07-28 tools carry no execution field');
});

test('a background call from a declaring client is answered with a task: resultType "task", flat fields, a signed id', async () => {
  const h = client();
  upstream.next({ type: 'background', held: true });
  const start = clock.now();
  const result = resultOf(await call(h, { prompt: 'x', model: 'o3-pro' }));
  assert.is(result.resultType, 'task');
  assert.not.ok('task' in result, 'no nested task object in this revision');
  assert.match(String(result.taskId), /^rt1\./);
  assert.is(result.status, 'working');
  assert.is(result.ttlMs, 7_200_000);
  assert.is(result.pollIntervalMs, 5000);
  assert.is(result.createdAt, new Date(start).toISOString());
  assert.type(result.lastUpdatedAt, 'string');
  assert.ok('io.modelcontextprotocol/serverInfo' in (result._meta as JsonObject));
  const working = resultOf(await modern(h, 'tasks/get', { taskId: result.taskId }));
  assert.equal({ resultType: working.resultType, status: working.status }, { resultType: 'complete', status: 'working' });
  assert.match(
    String(working.statusMessage),
    /^(The background response is queued upstream|The model is working on the background response)\.$/,
  );
  upstream.background.finish();
  await eventually(async () => resultOf(await modern(h, 'tasks/get', { taskId: result.taskId })).status === 'completed', 'done');
  const done = resultOf(await modern(h, 'tasks/get', { taskId: result.taskId }));
  const inner = done.result as JsonObject;
  assert.is(inner.resultType, 'complete');
  assert.is((inner.structuredContent as JsonObject).text, 'Background answer.');
  assert.not.ok('error' in done);
});

test('the server decides: no task for a client that did not declare the extension, nor for short work unless MCP_TASKS=always', async () => {
  const undeclared = resultOf(await call(client(), { prompt: 'x', model: 'o3-pro' }, false));
  assert.is(undeclared.resultType, 'complete');
  assert.is((undeclared.structuredContent as JsonObject).text, 'Background answer.', 'the ordinary (followed) result');
  const short = resultOf(await call(client({ MCP_UPSTREAM: 'echo' }), { prompt: 'hi' }, true, { task: { ttl: 1000 } }));
  assert.is(short.resultType, 'complete', 'params.task is not an opt-in in this revision');
  const always = resultOf(await call(client({ MCP_UPSTREAM: 'echo', MCP_TASKS: 'always' }), { prompt: 'hi' }));
  assert.is(always.resultType, 'task');
  assert.match(String(always.taskId), /^task_/);
  const never = resultOf(await call(client({ MCP_TASKS: 'never' }), { prompt: 'x', model: 'o3-pro' }));
  assert.is(never.resultType, 'complete');
});

test('a background call that fails before its response exists is answered as an ordinary call, counted once', async () => {
  const h = client();
  upstream.next({ type: 'error', status: 400, message: 'bad request' });
  const result = resultOf(await call(h, { prompt: 'x', model: 'o3-pro' }));
  assert.is(result.resultType, 'complete');
  assert.is(result.isError, true);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(h.ctx.app.telemetry.registry.render(), /mcp_tool_calls_total\{tool="generate",outcome="upstream_error"\} 1\n/);
});

test('an isError result completes the task with the result inline (failed is for JSON-RPC errors only)', async () => {
  const h = client({ MCP_TASKS: 'always' });
  upstream.next({ type: 'error', status: 401, message: 'bad key' });
  const id = resultOf(await call(h, { prompt: 'x' })).taskId;
  await eventually(async () => resultOf(await modern(h, 'tasks/get', { taskId: id })).status !== 'working', 'ended');
  const done = resultOf(await modern(h, 'tasks/get', { taskId: id }));
  assert.is(done.status, 'completed');
  assert.is((done.result as JsonObject).isError, true);
});

test('a JSON-RPC error raised by the call is a failed task with the error inline', async () => {
  const h = client({ MCP_TASKS: 'always' });
  const failing: Tool = {
    name: 'generate',
    describe: () => ({ name: 'generate', inputSchema: { type: 'object' } }),
    call: async () => {
      throw new WireError(-32603, 'API rate limit exceeded');
    },
  };
  const app = { ...h.ctx.app, tools: [failing] };
  const g = new Harness(app, undefined, 'alice');
  const id = resultOf(await call(g, { prompt: 'x' })).taskId;
  await eventually(async () => resultOf(await modern(g, 'tasks/get', { taskId: id })).status !== 'working', 'ended');
  const task = resultOf(await modern(g, 'tasks/get', { taskId: id }));
  assert.is(task.status, 'failed');
  assert.equal(task.error, { code: -32603, message: 'API rate limit exceeded' });
  assert.is(task.statusMessage, 'API rate limit exceeded');
  assert.not.ok('result' in task);
});

test('tasks/get, tasks/update and tasks/cancel need the extension declared on the request (-32021 with the capability named)', async () => {
  const h = client({ MCP_TASKS: 'always', MCP_UPSTREAM: 'echo' });
  const id = resultOf(await call(h, { prompt: 'x' })).taskId;
  for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
    assert.equal(errorOf(await modern(h, method, { taskId: id, inputResponses: {} }, false)), {
      code: -32021,
      message: 'Missing required client capability',
      data: { requiredCapabilities: { extensions: { [EXT]: {} } } },
    });
  }
  assert.equal(errorOf(await modern(h, 'subscriptions/listen', { notifications: { taskIds: [id] } }, false)).code, -32021);
});

test('tasks/update is acknowledged; tasks/cancel is acknowledged and stops the work upstream; unknown tasks are -32602', async () => {
  const h = client();
  upstream.next({ type: 'background', held: true });
  const id = resultOf(await call(h, { prompt: 'x', model: 'o3-pro' })).taskId;
  assert.equal(resultOf(await modern(h, 'tasks/update', { taskId: id, inputResponses: {} })).resultType, 'complete');
  assert.is(errorOf(await modern(h, 'tasks/update', { taskId: id })).code, -32602, 'inputResponses is required');
  const ack = resultOf(await modern(h, 'tasks/cancel', { taskId: id }));
  assert.equal(Object.keys(ack).sort(), ['_meta', 'resultType']);
  await eventually(() => upstream.background.cancelled.length === 1, 'the background response is cancelled upstream');
  assert.is(resultOf(await modern(h, 'tasks/get', { taskId: id })).status, 'cancelled');
  assert.equal(resultOf(await modern(h, 'tasks/cancel', { taskId: id })).resultType, 'complete', 'cancelling again is acknowledged');
  for (const method of ['tasks/get', 'tasks/update', 'tasks/cancel']) {
    assert.equal(errorOf(await modern(h, method, { taskId: 'task_unknown', inputResponses: {} })), {
      code: -32602,
      message: 'Failed to retrieve task: Task not found',
    });
  }
  assert.is(errorOf(await modern(client({}, 'bob'), 'tasks/get', { taskId: id })).code, -32602, "another key's task is not found");
});

test('a tools/call cancelled before its task was answered stops the task: nobody could ever ask for it', async () => {
  const h = client();
  upstream.next({ type: 'hang' });
  const reply = h.send(
    rpc(
      'tools/call',
      { name: 'generate', arguments: { prompt: 'never-answered', model: 'o3-pro' }, _meta: modernMeta(DECLARED) },
      'gone-1',
    ),
  );
  await eventually(() => upstream.requests.some((r) => JSON.stringify(r.body).includes('never-answered')), 'the call reached the upstream');
  const request = upstream.requests.find((r) => JSON.stringify(r.body).includes('never-answered'))!;
  await h.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'gone-1' } });
  assert.is(await reply, undefined);
  assert.ok((await request.closed).aborted, 'the task’s upstream request was stopped');
});

test('tasks/result and tasks/list were removed in this revision (-32601); a task carries no progress', async () => {
  const h = client({ MCP_TASKS: 'always', MCP_HEARTBEAT_MS: '1000' });
  upstream.next({ type: 'held' });
  resultOf(await call(h, { prompt: 'x' }, true, { _meta: undefined }));
  await eventually(() => upstream.held === 1, 'held');
  clock.advance(5000);
  assert.equal(
    h.notifications.filter((n) => n.method === 'notifications/progress'),
    [],
  );
  for (const method of ['tasks/result', 'tasks/list']) {
    const error = errorOf(await modern(h, method, { taskId: 'x' }));
    assert.is(error.code, -32601);
    assert.match(error.message, /removed in 2026-07-28/);
  }
});

test('over HTTP: -32021 is 400, the removed methods 404, Mcp-Name must carry the task id (-32020 when it does not)', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_TASKS: 'always', MCP_UPSTREAM: 'echo' });
  servers.push(server);
  const post = (method: string, params: JsonObject, name?: string, declare = true) =>
    raw(server.url, {
      method: 'POST',
      headers: modernHeaders(method, KEY, name),
      body: JSON.stringify(rpc(method, { ...params, _meta: modernMeta(declare ? DECLARED : {}) })),
    });
  const created = (await post('tools/call', { name: 'generate', arguments: { prompt: 'x' } }, 'generate')).json();
  const id = created.result.taskId as string;
  assert.is(created.result.resultType, 'task');
  const ok = await post('tasks/get', { taskId: id }, id);
  assert.is(ok.status, 200);
  assert.is(ok.json().result.taskId, id);
  const undeclared = await post('tasks/get', { taskId: id }, id, false);
  assert.is(undeclared.status, 400);
  assert.is(undeclared.json().error.code, -32021);
  const mismatch = await post('tasks/get', { taskId: id }, 'some-other-task');
  assert.is(mismatch.status, 400);
  assert.match(mismatch.json().error.message, /^Header mismatch: Mcp-Name header value 'some-other-task' does not match body value/);
  assert.is((await post('tasks/cancel', { taskId: id })).status, 400, 'Mcp-Name is required on tasks/cancel');
  const removed = await post('tasks/result', { taskId: id });
  assert.is(removed.status, 404);
  assert.is(removed.json().error.code, -32601);
});

test('a task made on one process is read and cancelled on another that shares MCP_TASK_SECRET; not with another secret or key', async () => {
  const env = { OPENAI_BASE_URL: upstream.baseUrl, MCP_TASK_SECRET: SECRET };
  const a = await startHttp(env, { apiKeys: [{ name: 'team', key: KEY }] });
  const b = await startHttp(env, {
    apiKeys: [
      { name: 'team', key: KEY },
      { name: 'other', key: 'other-key-0123456789abcdefghij' },
    ],
  });
  const c = await startHttp(
    { ...env, MCP_TASK_SECRET: 'a-different-secret-of-at-least-32-chars!' },
    { apiKeys: [{ name: 'team', key: KEY }] },
  );
  servers.push(a, b, c);
  const post = (server: TestServer, method: string, params: JsonObject, name?: string, key = KEY) =>
    raw(server.url, {
      method: 'POST',
      headers: modernHeaders(method, key, name),
      body: JSON.stringify(rpc(method, { ...params, _meta: modernMeta(DECLARED) })),
    }).then((r) => r.json());
  upstream.next({ type: 'background', held: true, pieces: ['Made on A.'] });
  const id = (await post(a, 'tools/call', { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' } }, 'generate')).result.taskId;
  const onB = await post(b, 'tasks/get', { taskId: id }, id);
  assert.is(onB.result.status, 'working');
  const responseId = [...upstream.background.responses.keys()][0]!;
  assert.ok(
    upstream.requests.some((r) => r.method === 'GET' && r.path === `/v1/responses/${responseId}`),
    'B asked the upstream',
  );
  upstream.background.finish();
  await eventually(async () => (await post(b, 'tasks/get', { taskId: id }, id)).result.status === 'completed', 'B sees it done');
  const done = await post(b, 'tasks/get', { taskId: id }, id);
  assert.is(done.result.result.structuredContent.text, 'Made on A.');
  assert.is((await post(c, 'tasks/get', { taskId: id }, id)).error.code, -32602, 'another secret: not found');
  assert.is(
    (await post(b, 'tasks/get', { taskId: id }, id, 'other-key-0123456789abcdefghij')).error.code,
    -32602,
    'another key: not found',
  );

  upstream.next({ type: 'background', held: true });
  const second = (await post(a, 'tools/call', { name: 'generate', arguments: { prompt: 'y', model: 'o3-pro' } }, 'generate')).result.taskId;
  assert.equal((await post(b, 'tasks/cancel', { taskId: second }, second)).result.resultType, 'complete');
  assert.is(upstream.background.cancelled.length, 1, 'B cancelled it upstream before answering');
  await eventually(
    async () => (await post(a, 'tasks/get', { taskId: second }, second)).result.status === 'cancelled',
    'A sees it cancelled',
  );
});

test.run();
