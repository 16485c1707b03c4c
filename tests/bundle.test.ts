/**
 * The bundle alone, as the container image and the npm package ship it: copied into an empty
 * directory with no node_modules anywhere above, it serves stdio and HTTP against the echo
 * upstream and the fake one, and OAuth mode against a real authorization server. `npm run
 * test:versions` runs this file under Node 22 and 24 too.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { delay } from './helpers.ts';
import { raw, SseClient } from './http-helpers.ts';
import { freePort, startAuthorizationServer } from './oauth-provider.ts';

const test = suite(`the bundle alone, on Node ${process.versions.node}`);
let dir: string;
let bundle: string;
let upstream: FakeUpstream;
const children: ReturnType<typeof spawn>[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'relay-bundle-'));
  bundle = join(dir, 'openai-mcp-relay.cjs');
  copyFileSync(new URL('../dist/openai-mcp-relay.cjs', import.meta.url).pathname, bundle);
  upstream = await startFakeUpstream();
});
test.after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [bundle, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = async (pattern: RegExp, which: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpExecArray> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const match = pattern.exec(which === 'stdout' ? stdout : stderr);
      if (match) return match;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; stdout ${stdout}; stderr ${stderr}`);
      await delay(20);
    }
  };
  return { child, exited, waitFor, send: (m: object) => child.stdin!.write(`${JSON.stringify(m)}\n`), stdout: () => stdout };
}

const init = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bundle-test', version: '1' } },
};
const call = (prompt: string, meta?: object) => ({
  jsonrpc: '2.0',
  id: 2,
  method: 'tools/call',
  params: { name: 'generate', arguments: { prompt }, ...(meta ? { _meta: meta } : {}) },
});

test('the bundle is one file under 2 MB', () => {
  const size = statSync(bundle).size;
  assert.ok(size < 2 * 1024 * 1024, `${size} bytes`);
});

test('stdio with the echo upstream', async () => {
  const p = run(['--transport', 'stdio', '--upstream', 'echo'], {});
  p.send(init);
  await p.waitFor(/"id":1,"result"/);
  p.send(call('from an empty directory'));
  await p.waitFor(/"id":2,"result".*from an empty directory/);
  p.child.stdin!.end();
  assert.is(await p.exited, 0);
});

test('stdio with the fake upstream (undici loads from inside the bundle)', async () => {
  upstream.reset();
  upstream.next({ type: 'json', content: 'bundled undici works' });
  const p = run(['--transport', 'stdio'], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: upstream.baseUrl });
  p.send(init);
  await p.waitFor(/"id":1,"result"/);
  p.send(call('x'));
  await p.waitFor(/bundled undici works/);
  assert.is(upstream.requests.length, 1);
  p.child.stdin!.end();
  assert.is(await p.exited, 0);
});

test('HTTP with the echo upstream and with the fake upstream (streamed)', async () => {
  const envs: Record<string, string>[] = [{ MCP_UPSTREAM: 'echo' }, { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: upstream.baseUrl }];
  for (const env of envs) {
    upstream.reset();
    upstream.next({ type: 'stream', pieces: ['str', 'eamed'], intervalMs: 30 });
    const p = run([], { ...env, HOST: '127.0.0.1', PORT: '0', MCP_API_KEY: 'bundle-key-0123456789' });
    const port = (await p.waitFor(/"port":(\d+)/, 'stderr'))[1];
    const url = `http://127.0.0.1:${port}`;
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: 'Bearer bundle-key-0123456789',
    };
    assert.is((await raw(url, { method: 'GET', path: '/health' })).status, 200);
    const opened = await raw(url, { headers, body: init });
    assert.is(opened.status, 200);
    const session = opened.headers['mcp-session-id'] as string;
    const stream = new SseClient(url, { headers: { ...headers, 'mcp-session-id': session }, body: call('streamed', { progressToken: 1 }) });
    await stream.waitForEnd();
    const last = stream.messages().at(-1);
    assert.is(last.result.structuredContent.text, 'streamed');
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
  }
});

test('HTTP in OAuth mode: jose loads from inside the bundle and checks a real token', async () => {
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const as = await startAuthorizationServer(resource);
  try {
    const p = run([], {
      MCP_UPSTREAM: 'echo',
      HOST: '127.0.0.1',
      PORT: String(port),
      MCP_AUTH: 'oauth',
      MCP_OAUTH_ISSUER: as.issuer,
      MCP_RESOURCE_URL: resource,
    });
    await p.waitFor(/"port":(\d+)/, 'stderr');
    const url = `http://127.0.0.1:${port}`;
    assert.is((await raw(url, { method: 'GET', path: '/.well-known/oauth-protected-resource/mcp' })).json().resource, resource);
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    assert.is((await raw(url, { headers, body: init })).status, 401);
    const token = await as.token();
    assert.is((await raw(url, { headers: { ...headers, authorization: `Bearer ${token}` }, body: init })).status, 200);
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
  } finally {
    await as.close();
  }
});

test.run();
