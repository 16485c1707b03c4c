import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly } from './helpers.ts';
import { BIN, StdioProcess } from './stdio-process.ts';

const test = suite('the built server over stdio');
const KEY = 'sk-stdio-test-key-abcdef123456';
let upstream: FakeUpstream;
const processes: StdioProcess[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  for (const c of sdkClients) await c.close().catch(() => undefined);
  for (const p of processes) p.kill();
  await upstream.close();
});

function spawnRelay(args: string[] = [], env: Record<string, string> = {}): StdioProcess {
  const p = new StdioProcess(args, { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', ...env });
  processes.push(p);
  return p;
}

const sdkClients: Client[] = [];

/** The request's log line (written after its reply, on the next tick), from the process's stderr. */
function requestLogLine(stderr: string, id: string): Record<string, unknown> | undefined {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .find((line) => line.msg === 'request' && line.id === id);
}

async function sdkClient(args: string[], env: Record<string, string>) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...args],
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'sdk-test', version: '1.0.0' });
  sdkClients.push(client);
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

test('the official SDK client: initialize, tools/list, tools/call against the fake upstream', async () => {
  const { client, stderr } = await sdkClient(['--transport', 'stdio'], {
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: upstream.baseUrl,
    OPENAI_MODEL: 'gpt-test',
  });
  assert.is(client.getServerVersion()?.name, 'openai-mcp-relay');
  assert.ok(client.getServerCapabilities()?.tools);
  assert.ok(client.getServerCapabilities()?.logging);
  const { tools } = await client.listTools();
  assert.equal(
    tools.map((t) => t.name),
    ['generate'],
  );
  upstream.next({ type: 'json', content: 'Paris.' });
  const result = await client.callTool({ name: 'generate', arguments: { prompt: 'Capital of France?' } });
  assert.equal(result.structuredContent, {
    text: 'Paris.',
    model: 'gpt-test',
    finish_reason: 'stop',
    usage: { prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 },
    request_id: (result.structuredContent as { request_id: string }).request_id,
  });
  assert.match((result.structuredContent as { request_id: string }).request_id, /^req_fake_/);
  assert.equal(upstream.requests[0]!.body.messages, [{ role: 'user', content: 'Capital of France?' }]);
  // Progress through the SDK's own onprogress hook.
  upstream.next({ type: 'stream', pieces: ['Ber', 'lin', '.'], intervalMs: 60 });
  const seen: { progress: number; message?: string }[] = [];
  const streamed = await client.callTool({ name: 'generate', arguments: { prompt: 'Capital of Germany?' } }, undefined, {
    onprogress: (p) => void seen.push(p),
  });
  assert.is((streamed.structuredContent as { text: string }).text, 'Berlin.');
  assert.ok(seen.length >= 2);
  assert.is(seen.map((p) => p.message).join(''), 'Berlin.');
  // Progress keeps alive a client that resets its request timeout on progress.
  upstream.next({ type: 'stream', pieces: ['s', 'l', 'o', 'w', 'l', 'y'], intervalMs: 120 });
  const kept = await client.callTool({ name: 'generate', arguments: { prompt: 'slowly' } }, undefined, {
    timeout: 400,
    resetTimeoutOnProgress: true,
    onprogress: () => undefined,
  });
  assert.is((kept.structuredContent as { text: string }).text, 'slowly');
  // A failed upstream call reaches the SDK as an isError result.
  upstream.next({ type: 'error', status: 401, message: `Incorrect API key provided: ${KEY}` });
  const failed = await client.callTool({ name: 'generate', arguments: { prompt: 'x' } });
  assert.is(failed.isError, true);
  assert.not.ok(JSON.stringify(failed).includes(KEY));
  await client.close();
  assert.not.ok(stderr().includes(KEY));
});

test('the official SDK client against the echo upstream, no key', async () => {
  const { client } = await sdkClient(['--transport', 'stdio', '--upstream', 'echo'], {});
  const result = await client.callTool({ name: 'generate', arguments: { prompt: 'echo me' } });
  assert.is((result.structuredContent as { text: string }).text, 'echo me');
  const invalid = await client.callTool({ name: 'generate', arguments: { prompt: 'x', temperature: 7 } });
  assert.is(invalid.isError, true);
  await client.close();
});

test('every byte on stdout is a JSON-RPC message, errors included; logs go to stderr', async () => {
  const p = spawnRelay(['--log-level', 'debug']);
  await p.initialize();
  p.send('this is not json');
  p.send('{"jsonrpc":"2.0","id":');
  p.send({ jsonrpc: '2.0', id: 2, method: 'nope' });
  p.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'hi' } } });
  p.send([{ jsonrpc: '2.0', id: 4, method: 'ping' }]);
  await p.waitFor((m) => m.id === 3);
  await p.waitFor((m) => m.id === null && m.error?.code === -32600 && /batches/.test(m.error.message));
  assert.is(p.messages.filter((m) => m.error?.code === -32700).length, 2);
  assert.is(p.messages.find((m) => m.id === 2)?.error?.code, -32601);
  assert.equal(p.junk, []);
  assert.match(p.stderr, /serving MCP over stdio/);
  p.child.stdin.end();
  assert.equal(await p.exited, { code: 0, signal: null });
});

test('a line over MCP_MAX_BODY_BYTES is refused and the server reads on; invalid UTF-8 is a parse error', async () => {
  const p = spawnRelay([], { MCP_MAX_BODY_BYTES: '2048' });
  await p.initialize();
  p.send({ jsonrpc: '2.0', id: 'big', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x'.repeat(5000) } } });
  const refused = await p.waitFor((m) => m.id === null && m.error?.code === -32600);
  assert.match(refused.error!.message, /exceeds the limit of 2048/);
  p.child.stdin.write(Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a]));
  await p.waitFor((m) => m.error?.code === -32700 && /UTF-8/.test(m.error.message));
  assert.equal((await p.request({ id: 'after', method: 'ping' })).result, {});
  assert.is(upstream.requests.length, 0);
  p.kill();
});

test('closing stdin aborts the upstream call, sends no reply and exits 0', async () => {
  const p = spawnRelay();
  await p.initialize();
  upstream.next({ type: 'hang' });
  p.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' } } });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () => p.child.stdin.end());
  assert.equal(await p.exited, { code: 0, signal: null });
  assert.not.ok(p.messages.some((m) => m.id === 'slow'));
  assert.is(requestLogLine(p.stderr, 'slow')?.outcome, 'cancelled', 'the call still has its log line');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} aborts calls in flight and ends the process promptly`, async () => {
    // A grace period far longer than the test waits: exiting at all shows the call was aborted, not waited for.
    const p = spawnRelay([], { MCP_SHUTDOWN_GRACE_MS: '600000' });
    await p.initialize();
    upstream.next({ type: 'hang' });
    p.send({ jsonrpc: '2.0', id: 'slow', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' } } });
    const [request] = await upstream.waitForRequests(1);
    p.child.kill(signal);
    const gaveUp = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`still running 30 s after ${signal}`)), 30_000).unref(),
    );
    const exit = await Promise.race([p.exited, gaveUp]);
    assert.is(exit.code, 0);
    assert.ok((await request!.closed).aborted);
    assert.not.ok(p.messages.some((m) => m.id === 'slow'));
    assert.is(requestLogLine(p.stderr, 'slow')?.outcome, 'cancelled', 'the call still has its log line');
  });
}

test('notifications/cancelled over stdio closes the upstream connection and the call gets no reply', async () => {
  const p = spawnRelay();
  await p.initialize();
  upstream.next({ type: 'hang' });
  p.send({ jsonrpc: '2.0', id: 0, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'x' } } });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () =>
    p.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 0, reason: 'stop' } }),
  );
  // A later request's reply comes; the cancelled one's never does (it settled when its upstream went).
  assert.equal((await p.request({ id: 'after', method: 'ping' })).result, {});
  assert.not.ok(p.messages.some((m) => m.id === 0));
  p.child.stdin.end();
  assert.is((await p.exited).code, 0);
});

test.run();
