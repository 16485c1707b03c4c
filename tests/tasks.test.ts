/**
 * MCP tasks of protocol 2025-11-25 (basic/utilities/tasks): the capability and the tool's
 * execution.taskSupport, task-augmented tools/call, tasks/get, tasks/result, tasks/cancel and
 * tasks/list with the spec's error codes, progress for the task's life, TTLs, ownership, caps,
 * and a task outliving the request that made it. On the protocol core, with a fake upstream.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRelayApp, type RelayApp } from '../src/app.ts';
import { silentLogger } from '../src/log.ts';
import type { Tool } from '../src/protocol/context.ts';
import { WireError } from '../src/protocol/errors.ts';
import type { JsonObject } from '../src/protocol/messages.ts';
import { Session } from '../src/protocol/session.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { errorOf, eventually, Harness, resultOf, testConfig, textOf, virtualSleep } from './helpers.ts';

const test = suite('tasks (2025-11-25)');
let upstream: FakeUpstream;
let clock: ManualClock;
const relays: RelayApp[] = [];
const RELATED = 'io.modelcontextprotocol/related-task';

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
  await upstream.close();
});

function relayWith(env: Record<string, string> = {}): RelayApp {
  const config = testConfig({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0', ...env });
  const relay = createRelayApp(config, silentLogger, { clock, sleep: virtualSleep(clock) });
  relays.push(relay);
  return relay;
}

async function client(relay: RelayApp, key: string | undefined = 'alice', version = '2025-11-25'): Promise<Harness> {
  const h = new Harness(relay.app, new Session(), key);
  await h.initialize(version);
  return h;
}

/** The upstream request a prompt made (other tests' stragglers may come first). */
async function requestFor(prompt: string) {
  const made = () => upstream.requests.find((r) => JSON.stringify(r.body).includes(`"${prompt}"`));
  await eventually(() => made() !== undefined, `a request for ${prompt}`);
  return made()!;
}
/** Waits until `count` held requests are in, so that releasing them answers them. */
const heldIn = (count = 1) => eventually(() => upstream.held >= count, `${count} held requests`);

const callAsTask = (h: Harness, args: JsonObject, task: JsonObject = {}, meta?: JsonObject, id?: string) =>
  h.request('tools/call', { name: 'generate', arguments: args, task, ...(meta ? { _meta: meta } : {}) }, id);
const taskOf = (response: JsonObject) => resultOf(response).task as Record<string, any>;

test('the server declares tasks (list only for a caller it can identify); the tool says taskSupport optional', async () => {
  const relay = relayWith();
  const caps = (h: JsonObject) => (resultOf(h).capabilities as Record<string, any>).tasks;
  assert.equal(caps(await new Harness(relay.app, new Session(), 'alice').initialize()), {
    list: {},
    cancel: {},
    requests: { tools: { call: {} } },
  });
  assert.equal(caps(await new Harness(relay.app).initialize()), { cancel: {}, requests: { tools: { call: {} } } }, 'anonymous: no list');
  const h = await client(relay);
  const { tools } = resultOf(await h.request('tools/list')) as { tools: JsonObject[] };
  assert.equal(tools[0]!.execution, { taskSupport: 'optional' });
  const anonymous = new Harness(relay.app);
  await anonymous.initialize();
  assert.is(errorOf(await anonymous.request('tasks/list', {})).code, -32601);
});

test('older revisions and MCP_TASKS=never know no tasks: no capability, no execution, params.task ignored, tasks/* unknown', async () => {
  for (const [env, version] of [
    [{}, '2025-06-18'],
    [{ MCP_TASKS: 'never' }, '2025-11-25'],
  ] as const) {
    const relay = relayWith(env);
    const h = new Harness(relay.app, new Session(), 'alice');
    const init = resultOf(await h.initialize(version));
    assert.not.ok('tasks' in (init.capabilities as JsonObject), JSON.stringify(env));
    const { tools } = resultOf(await h.request('tools/list')) as { tools: JsonObject[] };
    assert.not.ok('execution' in tools[0]!);
    const result = resultOf(await callAsTask(h, { prompt: 'x' }, { ttl: 1000 }));
    assert.ok(Array.isArray(result.content), 'an ordinary CallToolResult');
    for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel', 'tasks/list']) {
      assert.is(errorOf(await h.request(method, { taskId: 'x' })).code, -32601, method);
    }
  }
});

test('a task-augmented call answers at once with the task; tasks/result waits for the end and returns exactly the call result', async () => {
  const relay = relayWith();
  const h = await client(relay);
  upstream.next({ type: 'held', content: 'the answer' });
  const created = taskOf(await callAsTask(h, { prompt: 'x' }, { ttl: 60_000 }));
  await heldIn();
  assert.equal(Object.keys(created).sort(), ['createdAt', 'lastUpdatedAt', 'pollInterval', 'status', 'statusMessage', 'taskId', 'ttl']);
  assert.match(created.taskId, /^task_[A-Za-z0-9_-]{22}$/);
  assert.is(created.status, 'working');
  assert.is(created.ttl, 60_000);
  assert.is(created.pollInterval, 2000);
  assert.is(created.createdAt, new Date(clock.now()).toISOString());
  const working = resultOf(await h.request('tasks/get', { taskId: created.taskId }));
  assert.is(working.status, 'working');
  assert.is(working.statusMessage, 'Waiting for the model to start answering.');
  assert.not.ok('_meta' in working, 'tasks/get carries no related-task metadata');

  let done = false;
  const waiting = h.request('tasks/result', { taskId: created.taskId }).then((r) => {
    done = true;
    return r;
  });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.not.ok(done, 'tasks/result blocks while the task works');
  upstream.release();
  const result = resultOf(await waiting);
  assert.equal(result._meta, { [RELATED]: { taskId: created.taskId } });
  assert.is((result.structuredContent as JsonObject).text, 'the answer');
  // Exactly what the call would have returned without a task.
  upstream.next({ type: 'json', content: 'the answer' });
  const plain = resultOf(await h.callTool({ prompt: 'x' }));
  const { _meta, ...rest } = result;
  assert.equal(Object.keys(rest).sort(), Object.keys(plain).sort());
  const ended = resultOf(await h.request('tasks/get', { taskId: created.taskId }));
  assert.is(ended.status, 'completed');
  assert.not.ok('statusMessage' in ended);
  assert.is(resultOf(await h.request('tasks/result', { taskId: created.taskId })).isError, undefined, 'read again, the same result');
});

test("progress keeps its token for the task's life, tagged with the task; it stops at the end", async () => {
  const relay = relayWith({ MCP_HEARTBEAT_MS: '1000' });
  const h = await client(relay);
  upstream.next({ type: 'held' });
  const id = taskOf(await callAsTask(h, { prompt: 'x' }, {}, { progressToken: 'tp' })).taskId;
  await heldIn();
  const waiting = h.request('tasks/result', { taskId: id });
  await new Promise((resolve) => setTimeout(resolve, 20));
  clock.advance(1000);
  const progress = h.notifications.filter((n) => n.method === 'notifications/progress');
  assert.is(progress.length, 1);
  assert.equal(progress[0]!.params, {
    progressToken: 'tp',
    progress: 1,
    message: 'Waiting for the model to start answering (1 s so far).',
    _meta: { [RELATED]: { taskId: id } },
  });
  upstream.release();
  resultOf(await waiting);
  const sent = h.notifications.length;
  clock.advance(10_000);
  assert.is(h.notifications.length, sent, 'none after the end');
});

test('an isError result makes the task failed, with the reason in statusMessage; tasks/result returns that result', async () => {
  const relay = relayWith();
  const h = await client(relay);
  upstream.next({ type: 'error', status: 401, message: 'Incorrect API key provided' });
  const id = taskOf(await callAsTask(h, { prompt: 'x' })).taskId;
  const result = resultOf(await h.request('tasks/result', { taskId: id }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /HTTP 401/);
  const task = resultOf(await h.request('tasks/get', { taskId: id }));
  assert.is(task.status, 'failed');
  assert.match(String(task.statusMessage), /The upstream rejected the API key \(HTTP 401\)/);
});

test('tasks/cancel: a working task becomes cancelled and its upstream request stops; an ended task cannot be cancelled (-32602)', async () => {
  const relay = relayWith();
  const h = await client(relay);
  upstream.next({ type: 'hang' });
  const id = taskOf(await callAsTask(h, { prompt: 'cancel-hang' })).taskId;
  const request = await requestFor('cancel-hang');
  const cancelled = resultOf(await h.request('tasks/cancel', { taskId: id }));
  assert.is(cancelled.status, 'cancelled');
  assert.is(cancelled.statusMessage, 'The task was cancelled by request.');
  assert.ok((await request!.closed).aborted, 'the upstream request was abandoned');
  assert.is(resultOf(await h.request('tasks/get', { taskId: id })).status, 'cancelled');
  const again = errorOf(await h.request('tasks/cancel', { taskId: id }));
  assert.equal(again, { code: -32602, message: "Cannot cancel task: already in terminal status 'cancelled'" });
  assert.match(errorOf(await h.request('tasks/result', { taskId: id })).message, /was cancelled before it finished; it has no result/);

  const done = taskOf(await callAsTask(h, { prompt: 'y' })).taskId;
  resultOf(await h.request('tasks/result', { taskId: done }));
  assert.equal(errorOf(await h.request('tasks/cancel', { taskId: done })), {
    code: -32602,
    message: "Cannot cancel task: already in terminal status 'completed'",
  });
});

test('unknown, malformed, forged and other keys’ task ids are all "Task not found" (-32602), for every method', async () => {
  const relay = relayWith();
  const alice = await client(relay, 'alice');
  const bob = await client(relay, 'bob');
  const local = taskOf(await callAsTask(alice, { prompt: 'x' })).taskId;
  const background = taskOf(await callAsTask(alice, { prompt: 'x', model: 'o3-pro' })).taskId as string;
  assert.ok(background.startsWith('rt1.'), 'a background task carries a signed id');
  const forged = `${background.slice(0, -2)}${background.endsWith('AA') ? 'BB' : 'AA'}`;
  for (const method of ['tasks/get', 'tasks/result', 'tasks/cancel']) {
    for (const [h, taskId] of [
      [alice, 'task_nope'],
      [alice, forged],
      [bob, local],
      [bob, background],
    ] as const) {
      assert.equal(
        errorOf(await h.request(method, { taskId })),
        { code: -32602, message: 'Failed to retrieve task: Task not found' },
        method,
      );
    }
    assert.is(errorOf(await alice.request(method, {})).code, -32602);
  }
  assert.equal((resultOf(await bob.request('tasks/list', {})).tasks as unknown[]).length, 0, "bob's list holds none of alice's tasks");
});

test('TTL: a client may ask for less than MCP_TASK_TTL_MS, never more; past it the task is gone ("expired") and its work stops', async () => {
  const relay = relayWith({ MCP_TASK_TTL_MS: '600000', MCP_UPSTREAM: 'echo' });
  const h = await client(relay);
  assert.is(taskOf(await callAsTask(h, { prompt: 'x' }, { ttl: 10_000_000 })).ttl, 600_000);
  assert.is(taskOf(await callAsTask(h, { prompt: 'x' })).ttl, 600_000);
  assert.is(taskOf(await callAsTask(h, { prompt: 'x' }, { ttl: 10 })).ttl, 1000, 'at least a second');
  const real = await client(relayWith({ MCP_TASK_TTL_MS: '600000' }));
  upstream.next({ type: 'hang' });
  const short = taskOf(await callAsTask(real, { prompt: 'ttl-hang' }, { ttl: 5000 })).taskId;
  const request = await requestFor('ttl-hang');
  clock.advance(5000);
  assert.equal(errorOf(await real.request('tasks/get', { taskId: short })), {
    code: -32602,
    message: 'Failed to retrieve task: Task has expired',
  });
  assert.ok((await request!.closed).aborted, 'the expired task’s upstream request stopped');
  assert.is(errorOf(await h.request('tools/call', { name: 'generate', arguments: { prompt: 'x' }, task: { ttl: 'long' } })).code, -32602);
});

test('tasks/list: the caller’s own tasks, oldest first, 50 a page, with an opaque cursor; an unknown cursor is -32602', async () => {
  const relay = relayWith({ MCP_UPSTREAM: 'echo' });
  const h = await client(relay);
  const ids: string[] = [];
  for (let i = 0; i < 52; i++) ids.push(taskOf(await callAsTask(h, { prompt: `p${i}` })).taskId);
  const first = resultOf(await h.request('tasks/list', {}));
  const page = first.tasks as Record<string, any>[];
  assert.is(page.length, 50);
  assert.equal(
    page.map((t) => t.taskId),
    ids.slice(0, 50),
  );
  assert.type(first.nextCursor, 'string');
  const second = resultOf(await h.request('tasks/list', { cursor: first.nextCursor }));
  assert.equal(
    (second.tasks as Record<string, any>[]).map((t) => t.taskId),
    ids.slice(50),
  );
  assert.not.ok('nextCursor' in second);
  assert.is(errorOf(await h.request('tasks/list', { cursor: 'bogus' })).code, -32602);
  assert.is(errorOf(await h.request('tasks/list', { cursor: 'c99999' })).code, -32602);
});

test('caps: tasks per key (MCP_MAX_TASKS_PER_KEY) and in all (MCP_MAX_TASKS); results past MCP_MAX_TASK_BYTES are not kept', async () => {
  const relay = relayWith({ MCP_MAX_TASKS_PER_KEY: '2', MCP_MAX_TASKS: '3' });
  const alice = await client(relay, 'alice');
  const bob = await client(relay, 'bob');
  const carol = await client(relay, 'carol');
  upstream.next({ type: 'held' }, { type: 'held' }, { type: 'held' });
  taskOf(await callAsTask(alice, { prompt: 'x' }));
  taskOf(await callAsTask(alice, { prompt: 'x' }));
  await heldIn(2);
  const refused = errorOf(await callAsTask(alice, { prompt: 'x' }));
  assert.is(refused.code, -32000);
  assert.match(refused.message, /this key holds 2 tasks, the most it may \(MCP_MAX_TASKS_PER_KEY\)/);
  taskOf(await callAsTask(bob, { prompt: 'x' }));
  assert.match(errorOf(await callAsTask(carol, { prompt: 'x' })).message, /MCP_MAX_TASKS\)/);

  const small = relayWith({ MCP_MAX_TASK_BYTES: '2048' });
  const h = await client(small);
  upstream.next({ type: 'json', content: 'y'.repeat(4000) });
  const big = taskOf(await callAsTask(h, { prompt: 'x' })).taskId;
  const result = resultOf(await h.request('tasks/result', { taskId: big }));
  assert.is(result.isError, true);
  assert.match(textOf(result), /is larger than this server keeps for one key \(MCP_MAX_TASK_BYTES\)/);
  // Older results make room for newer ones of the same key.
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    upstream.next({ type: 'json', content: 'z'.repeat(300) });
    ids.push(taskOf(await callAsTask(h, { prompt: 'x' })).taskId);
    resultOf(await h.request('tasks/result', { taskId: ids[i]! }));
  }
  assert.is(resultOf(await h.request('tasks/get', { taskId: ids[3]! })).status, 'completed');
  assert.is(errorOf(await h.request('tasks/get', { taskId: big })).message, 'Failed to retrieve task: Task has expired');
});

test('a task is counted once, when it ends: one tool call in the metrics, with its outcome', async () => {
  const relay = relayWith();
  const h = await client(relay);
  upstream.next({ type: 'held' });
  const id = taskOf(await callAsTask(h, { prompt: 'x' })).taskId;
  const metrics = () => relay.app.telemetry.registry.render();
  await heldIn();
  assert.not.match(metrics(), /mcp_tool_calls_total\{tool="generate",outcome="ok"\}/);
  upstream.release();
  resultOf(await h.request('tasks/result', { taskId: id }));
  await eventually(() => /mcp_tool_calls_total\{tool="generate",outcome="ok"\} 1\n/.test(metrics()), 'counted once');
  assert.match(metrics(), /mcp_key_tool_calls_total\{key="alice",outcome="ok"\} 1\n/);
  assert.match(metrics(), /mcp_tasks\{state="ended"\} 1\n/);
});

test('a task outlives the request that made it: the transport closing does not stop it', async () => {
  const relay = relayWith();
  const h = await client(relay, 'alice', '2025-11-25');
  upstream.next({ type: 'held', content: 'still here' });
  const id = taskOf(await callAsTask(h, { prompt: 'x' })).taskId;
  await heldIn();
  h.session.close('the transport closed');
  upstream.release();
  const later = await client(relay, 'alice');
  const result = resultOf(await later.request('tasks/result', { taskId: id }));
  assert.is((result.structuredContent as JsonObject).text, 'still here');
});

test('a background task: signed id, polled upstream, tasks/cancel reaches POST /responses/{id}/cancel', async () => {
  const relay = relayWith();
  const h = await client(relay);
  const task = taskOf(await callAsTask(h, { prompt: 'x', model: 'o3-pro' }));
  assert.is(task.pollInterval, 5000);
  assert.is(task.statusMessage, 'The background response is queued upstream.');
  assert.is(
    (resultOf(await h.request('tasks/result', { taskId: task.taskId })).structuredContent as JsonObject).text,
    'Background answer.',
  );

  upstream.next({ type: 'background', held: true });
  const held = taskOf(await callAsTask(h, { prompt: 'x', model: 'o3-pro' })).taskId;
  assert.is(resultOf(await h.request('tasks/cancel', { taskId: held })).status, 'cancelled');
  await eventually(() => upstream.background.cancelled.length === 1, 'the background response is cancelled upstream');
});

test('a JSON-RPC error raised by the call fails the task; tasks/result returns that same error (and -32603 for an internal one)', async () => {
  const relay = relayWith();
  const failing: Tool = {
    name: 'generate',
    describe: () => ({ name: 'generate', inputSchema: { type: 'object' } }),
    call: async (args) => {
      if (args.kind === 'wire') throw new WireError(-32602, 'Invalid params: the tool says no', { field: 'kind' });
      throw new Error('a bug');
    },
  };
  const h = new Harness({ ...relay.app, tools: [failing] }, new Session(), 'alice');
  await h.initialize();
  const wire = taskOf(await callAsTask(h, { kind: 'wire' })).taskId;
  assert.equal(errorOf(await h.request('tasks/result', { taskId: wire })), {
    code: -32602,
    message: 'Invalid params: the tool says no',
    data: { field: 'kind' },
  });
  const task = resultOf(await h.request('tasks/get', { taskId: wire }));
  assert.is(task.status, 'failed');
  assert.is(task.statusMessage, 'Invalid params: the tool says no');
  const bug = taskOf(await callAsTask(h, { kind: 'bug' })).taskId;
  assert.equal(errorOf(await h.request('tasks/result', { taskId: bug })), { code: -32603, message: 'Internal error' });
});

test('a task is answered as working even when its work ended first, and says nothing about itself before that answer', async () => {
  const relay = relayWith();
  const h = await client(relay);
  const created = taskOf(await callAsTask(h, { prompt: 42 }));
  assert.is(created.status, 'working', 'tasks begin working');
  assert.equal(h.home, [], 'nothing about the task before its answer');
  assert.is(resultOf(await h.request('tasks/get', { taskId: created.taskId })).status, 'failed', 'invalid arguments: an isError result');
  await eventually(() => h.home.length === 1, 'then its status');
  assert.is(h.home[0]!.params!.status, 'failed');
  h.home.length = 0;
  upstream.next({ type: 'held' });
  const later = taskOf(await callAsTask(h, { prompt: 'x' })).taskId;
  await heldIn();
  upstream.release();
  await eventually(() => h.home.some((n) => n.method === 'notifications/tasks/status'), 'the status notification');
  assert.equal(
    h.home.map((n) => [n.params!.taskId, n.params!.status]),
    [[later, 'completed']],
  );
});

test('progress before a background task is answered is the request’s own; after, it is tagged with the id the client was given', async () => {
  const relay = relayWith({ MCP_HEARTBEAT_MS: '1000' });
  const h = await client(relay);
  upstream.next({ type: 'hang' });
  const reply = callAsTask(h, { prompt: 'slow-create', model: 'o3-pro' }, {}, { progressToken: 'b' });
  await requestFor('slow-create');
  clock.advance(1000);
  const before = h.notifications.filter((n) => n.method === 'notifications/progress');
  assert.is(before.length, 1);
  assert.not.ok('_meta' in before[0]!.params!, 'not yet a task: untagged');
  clock.advance(9000);
  const id = taskOf(await reply).taskId as string;
  assert.match(id, /^task_/, 'the upstream never named the response: a local id');
  clock.advance(1000);
  const after = h.home.filter((n) => n.method === 'notifications/progress');
  assert.is(after.length, 1);
  assert.equal((after[0]!.params!._meta as JsonObject)[RELATED], { taskId: id });
  assert.is(resultOf(await h.request('tasks/get', { taskId: id })).status, 'working');
});

test('at MCP_MAX_TASKS_PER_KEY a key’s oldest finished task makes room; only working tasks can fill it', async () => {
  const relay = relayWith({ MCP_MAX_TASKS_PER_KEY: '2', MCP_UPSTREAM: 'echo' });
  const h = await client(relay);
  const first = taskOf(await callAsTask(h, { prompt: 'a' })).taskId;
  await eventually(async () => resultOf(await h.request('tasks/get', { taskId: first })).status === 'completed', 'done');
  taskOf(await callAsTask(h, { prompt: 'b' }));
  taskOf(await callAsTask(h, { prompt: 'c' }));
  assert.equal(errorOf(await h.request('tasks/get', { taskId: first })), {
    code: -32602,
    message: 'Failed to retrieve task: Task has expired',
  });
});

test.run();
