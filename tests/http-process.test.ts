import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { delay } from './helpers.ts';
import { initializeBody, raw, rpc } from './http-helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('the built server over HTTP');
let upstream: FakeUpstream;
const children: ChildProcessWithoutNullStreams[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
});
test.after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await upstream.close();
});

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string>, args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_API_KEY: 'sk-upstream-secret-123456',
      OPENAI_BASE_URL: upstream.baseUrl,
      ...env,
    },
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!/listening/.test(stderr)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`did not start: ${stderr}`);
    await delay(20);
  }
  const port = /"port":(\d+)/.exec(stderr)![1];
  return { child, url: `http://127.0.0.1:${port}`, stdout: () => stdout, stderr: () => stderr, exited };
}

const headers = (key: string) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${key}`,
});

test('with no key configured, one is generated and shown on stderr only, and it works', async () => {
  const server = await start({});
  const match = /Generated MCP API Key: ([A-Za-z0-9_-]+)/.exec(server.stderr());
  assert.ok(match, server.stderr());
  const key = match![1]!;
  assert.ok(Buffer.from(key, 'base64url').length >= 32);
  assert.match(server.stderr(), /MCP_API_KEY/);
  assert.is(server.stdout(), '');
  assert.is((await raw(server.url, { headers: headers(key), body: initializeBody() })).status, 200);
  assert.is((await raw(server.url, { headers: headers('wrong'), body: initializeBody() })).status, 401);
  // Nothing secret in the logs: not the upstream key, and the client key only in that one line.
  assert.not.ok(server.stderr().includes('sk-upstream-secret'));
  assert.is(server.stderr().split(key).length - 1, 1);
  server.child.kill('SIGTERM');
  assert.is(await server.exited, 0);
});

test('a configured key is used and never printed; the start message names the endpoint', async () => {
  const server = await start({ MCP_API_KEY: 'configured-key-abcdefghijklmnop' });
  assert.not.match(server.stderr(), /Generated MCP API Key/);
  assert.not.ok(server.stderr().includes('configured-key'));
  assert.match(server.stderr(), /streamable HTTP endpoint http:\/\/127\.0\.0\.1:\d+\/mcp/);
  assert.is((await raw(server.url, { headers: headers('configured-key-abcdefghijklmnop'), body: initializeBody() })).status, 200);
  server.child.kill('SIGINT');
  assert.is(await server.exited, 0);
});

test('MCP_TRANSPORT=sse advertises /sse; MCP_AUTH=none on a public address warns', async () => {
  const sse = await start({ MCP_TRANSPORT: 'sse', MCP_AUTH: 'none', HOST: '0.0.0.0' });
  assert.match(sse.stderr(), /SSE endpoint http:\/\/0\.0\.0\.0:\d+\/sse/);
  assert.match(sse.stderr(), /authentication is off/);
  const health = await raw(sse.url, { method: 'GET', path: '/health' });
  assert.is(health.json().transport, 'sse');
  sse.child.kill('SIGTERM');
  assert.is(await sse.exited, 0);
});

test('SIGTERM: calls in flight finish within MCP_SHUTDOWN_GRACE_MS, the rest are aborted, exit 0', async () => {
  const server = await start({ MCP_API_KEY: 'k-abcdefghijklmnopqrstuvwxyz', MCP_SHUTDOWN_GRACE_MS: '1000' });
  const h = headers('k-abcdefghijklmnopqrstuvwxyz');
  const init = await raw(server.url, { headers: h, body: initializeBody() });
  const session = init.headers['mcp-session-id'] as string;
  upstream.reset();
  upstream.next({ type: 'json', content: 'made it', delayMs: 300 }, { type: 'hang' });
  const quick = raw(server.url, {
    headers: { ...h, 'mcp-session-id': session },
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'a' } }, 'quick'),
  });
  const stuck = raw(server.url, {
    headers: { ...h, 'mcp-session-id': session },
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'b' } }, 'stuck'),
  }).catch((e: Error) => e);
  const requests = await upstream.waitForRequests(2);
  const at = Date.now();
  server.child.kill('SIGTERM');
  assert.is((await quick).json().result.structuredContent.text, 'made it');
  assert.is(await server.exited, 0);
  const took = Date.now() - at;
  assert.ok(took >= 900 && took < 2500, `exited after ${took} ms`);
  const closed = await requests[1]!.closed;
  assert.ok(closed.aborted);
  // Aborted promptly once the grace period is over.
  assert.ok(closed.at - (at + 1000) < 200, `upstream closed ${closed.at - at} ms after SIGTERM`);
  const stuckAnswer = await stuck;
  assert.ok(stuckAnswer instanceof Error || !stuckAnswer.text.includes('"id":"stuck"'));
});

test('a port in use stops the start with a clear message', async () => {
  const first = await start({ MCP_AUTH: 'none' });
  const port = new URL(first.url).port;
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: port, MCP_UPSTREAM: 'echo', MCP_AUTH: 'none' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.is(code, 1);
  assert.match(stderr, /cannot listen on port \d+ of the HOST address \(EADDRINUSE\)/);
  first.child.kill('SIGTERM');
  await first.exited;
});

test.run();
