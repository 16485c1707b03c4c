/**
 * Tasks end to end, on the built bundle and over real transports: both task flows over stdio
 * and streamable HTTP, the official SDK client's task API (2025-11-25) over each, progress for
 * a task on the session's own channel after the task was answered, and a task that outlives
 * its client's session.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { ManualClock } from './clock.ts';
import { eventually, virtualSleep } from './helpers.ts';
import { auth, getStream, KEY, modernHeaders, modernMeta, openSession, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';
import { BIN, StdioProcess } from './stdio-process.ts';

const test = suite('tasks end to end');
const EXT = 'io.modelcontextprotocol/tasks';
const RELATED = 'io.modelcontextprotocol/related-task';
const DECLARED = { 'io.modelcontextprotocol/clientCapabilities': { extensions: { [EXT]: {} } } };
let upstream: FakeUpstream;
const cleanups: (() => unknown)[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after.each(async () => {
  upstream.release(100);
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
test.after(async () => {
  await upstream.close();
});

function stdio(args: string[] = []): StdioProcess {
  const child = new StdioProcess(args, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseUrl });
  cleanups.push(() => child.kill());
  return child;
}

test('stdio, 2025-11-25: a task answered at once, its progress on stdout after that, tasks/result, the status notification', async () => {
  const child = stdio(['--heartbeat-ms', '100']);
  const init = await child.initialize();
  assert.equal((init.result as any).capabilities.tasks, { list: {}, cancel: {}, requests: { tools: { call: {} } } });
  upstream.next({ type: 'held', content: 'stdio task' });
  const created = await child.request({
    id: 'c',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x' }, task: { ttl: 60_000 }, _meta: { progressToken: 'tp' } },
  });
  const taskId = (created.result as any).task.taskId as string;
  const at = child.messages.indexOf(created);
  // With no tasks/result waiting, the task's progress goes to the session's channel: stdout.
  const beat = await child.waitFor((m) => m.method === 'notifications/progress' && child.messages.indexOf(m) > at);
  assert.equal((beat.params as any)._meta, { [RELATED]: { taskId } });
  assert.is((beat.params as any).progressToken, 'tp');
  // Heartbeats can come before the call reaches the upstream: release it once it is there.
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  upstream.release();
  const result = await child.request({ id: 'r', method: 'tasks/result', params: { taskId } });
  assert.is((result.result as any).structuredContent.text, 'stdio task');
  assert.equal((result.result as any)._meta, { [RELATED]: { taskId } });
  const status = await child.waitFor((m) => m.method === 'notifications/tasks/status');
  assert.is((status.params as any).status, 'completed');
  const listed = await child.request({ id: 'l', method: 'tasks/list', params: {} });
  assert.equal(
    (listed.result as any).tasks.map((t: any) => t.taskId),
    [taskId],
  );
  assert.equal(child.junk, []);
});

test('stdio, 2026-07-28: a background call becomes a task; tasks/get until it is complete, the result inline', async () => {
  const child = stdio();
  upstream.next({ type: 'background', queuedPolls: 1, inProgressPolls: 1, pieces: ['Deep ', 'answer.'] });
  const created = await child.request({
    id: 'm1',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' }, _meta: modernMeta(DECLARED) },
  });
  const { taskId, resultType } = created.result as any;
  assert.is(resultType, 'task');
  let task: any;
  for (let i = 0; i < 100; i++) {
    task = (await child.request({ id: `g${i}`, method: 'tasks/get', params: { taskId, _meta: modernMeta(DECLARED) } })).result;
    if (task.status !== 'working') break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.is(task.status, 'completed');
  assert.is(task.result.structuredContent.text, 'Deep answer.');
});

test('two server processes sharing MCP_TASK_SECRET: a task made by one is read by the other; with no shared secret it is not', async () => {
  const secret = 'x'.repeat(16) + 'y'.repeat(16) + 'z'.repeat(8);
  const make = (extra: Record<string, string>) => {
    const child = new StdioProcess([], { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseUrl, ...extra });
    cleanups.push(() => child.kill());
    return child;
  };
  const one = make({ MCP_TASK_SECRET: secret });
  const two = make({ MCP_TASK_SECRET: secret });
  const stranger = make({});
  for (const child of [one, two, stranger]) await child.initialize();
  upstream.next({ type: 'background', held: true, pieces: ['From process one.'] });
  const created = await one.request({
    id: 'c',
    method: 'tools/call',
    params: { name: 'generate', arguments: { prompt: 'x', model: 'o3-pro' }, task: {} },
  });
  const taskId = (created.result as any).task.taskId as string;
  const seen = await two.request({ id: 'g1', method: 'tasks/get', params: { taskId } });
  assert.is((seen.result as any).status, 'working');
  upstream.background.finish();
  const result = await two.request({ id: 'r', method: 'tasks/result', params: { taskId } }, 15_000);
  assert.is((result.result as any).structuredContent.text, 'From process one.');
  assert.equal((result.result as any)._meta, { [RELATED]: { taskId } });
  const refused = await stranger.request({ id: 'g2', method: 'tasks/get', params: { taskId } });
  assert.is((refused.error as any).code, -32602);
});

test('the SDK client (2025-11-25 tasks) over streamable HTTP and over stdio: taskCreated, status, result', async () => {
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
  cleanups.push(() => server.close());
  const transports = [
    () => new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${KEY}` } } }),
    () =>
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, '--transport', 'stdio', '--log-level', 'silent'],
        env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.baseUrl },
      }),
  ];
  for (const make of transports) {
    const client = new Client({ name: 'sdk-tasks', version: '1.0.0' });
    await client.connect(make());
    await client.listTools();
    upstream.next({ type: 'json', content: 'Via a task.' });
    const kinds: string[] = [];
    let text: string | undefined;
    for await (const message of client.experimental.tasks.callToolStream({ name: 'generate', arguments: { prompt: 'x' } }, undefined, {
      task: { ttl: 60_000 },
    })) {
      kinds.push(message.type);
      if (message.type === 'result') text = (message.result.structuredContent as { text: string }).text;
      if (message.type === 'error') throw message.error;
    }
    assert.is(kinds[0], 'taskCreated');
    assert.is(kinds.at(-1), 'result');
    assert.is(text, 'Via a task.');
    await client.close();
  }
});

test('over streamable HTTP a task outlives its session: created, the session deleted, read from a new session', async () => {
  const server: TestServer = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, MCP_HEARTBEAT_MS: '100' });
  cleanups.push(() => server.close());
  const first = await openSession(server.url);
  const stream = getStream(server.url, first);
  cleanups.push(() => stream.close());
  await stream.ready;
  upstream.next({ type: 'held', content: 'outlived' });
  const created = await raw(server.url, {
    method: 'POST',
    headers: auth(KEY, { 'mcp-session-id': first }),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' }, task: {}, _meta: { progressToken: 'g' } }, 't'),
  });
  const taskId = created.json().result.task.taskId as string;
  // Its progress, after the task was answered, comes on the session's GET stream.
  await stream.waitFor(() => stream.messages().some((m) => m.method === 'notifications/progress'));
  assert.equal(stream.messages().find((m) => m.method === 'notifications/progress').params._meta, { [RELATED]: { taskId } });
  assert.is((await raw(server.url, { method: 'DELETE', headers: auth(KEY, { 'mcp-session-id': first }) })).status, 204);
  await eventually(() => upstream.held === 1, 'the call is held upstream');
  upstream.release();
  const second = await openSession(server.url);
  const result = await raw(server.url, {
    method: 'POST',
    headers: auth(KEY, { 'mcp-session-id': second }),
    body: rpc('tasks/result', { taskId }, 'r'),
  });
  assert.is(result.json().result.structuredContent.text, 'outlived');
});

test('over streamable HTTP, 2026-07-28: the task flow with Mcp-Name on every tasks/* request', async () => {
  const clock = new ManualClock();
  const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl }, { clock, sleep: virtualSleep(clock) });
  cleanups.push(() => server.close());
  const post = (method: string, params: object, name?: string) =>
    raw(server.url, {
      method: 'POST',
      headers: modernHeaders(method, KEY, name),
      body: rpc(method, { ...params, _meta: modernMeta(DECLARED) }),
    }).then((r) => r.json());
  upstream.next({ type: 'background', inProgressPolls: 2 });
  const created = await post('tools/call', { name: 'generate', arguments: { prompt: 'x', model: 'gpt-5-pro' } }, 'generate');
  const taskId = created.result.taskId as string;
  await eventually(async () => (await post('tasks/get', { taskId }, taskId)).result.status === 'completed', 'completed');
  assert.is((await post('tasks/get', { taskId }, taskId)).result.result.structuredContent.text, 'Background answer.');
});

test.run();
