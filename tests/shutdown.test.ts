/**
 * Shutdown under load: every call that gets a reply gets a whole one, calls that cannot finish
 * within the grace period get none (their upstream requests are aborted), and the process
 * exits 0 without hanging past the grace period.
 */
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { delay, eventually } from './helpers.ts';
import { raw, SseClient } from './http-helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('shutdown under load');
let upstream: FakeUpstream;
test.before(async () => {
  upstream = await startFakeUpstream();
});
test.after(async () => {
  await upstream.close();
});

const GRACE_MS = 1500;
const KEY = 'shutdown-key-0123456789abcdef';

test(`SIGTERM with ${GRACE_MS} ms of grace: whole replies or none, aborted upstreams, exit 0 in time`, async () => {
  const words = Array.from({ length: 8 }, (_, i) => `w${i} `);
  // 60 streamed calls that finish in about 800 ms, 20 that would never finish.
  upstream.fallback = (request) =>
    String((request.body.messages as { content: string }[])[0]!.content).startsWith('stuck')
      ? { type: 'hang' }
      : { type: 'stream', pieces: words, intervalMs: 100 };
  const child = spawn(process.execPath, [BIN], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: upstream.baseUrl,
      MCP_API_KEY: KEY,
      MCP_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'warn',
      MCP_STATELESS: 'true',
    },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    // With LOG_LEVEL=warn the start line is hidden; the HTTP server answers /health when up.
    const port = await findPort(child.pid!);
    const url = `http://127.0.0.1:${port}`;
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${KEY}`,
      'mcp-protocol-version': '2025-11-25',
    };
    const calls = Array.from({ length: 80 }, (_, i) => {
      const prompt = i < 60 ? `call ${i}` : `stuck ${i}`;
      return new SseClient(url, {
        headers,
        body: {
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: 'generate', arguments: { prompt }, _meta: { progressToken: i } },
        },
      });
    });
    await upstream.waitForRequests(80, 10_000);
    child.kill('SIGTERM');
    // Draining: /health says 503, or the listener is already closed to new connections.
    await eventually(
      async () => (await raw(url, { method: 'GET', path: '/health' }).catch(() => ({ status: 0 }))).status !== 200,
      'the server began to drain',
    );
    const refused = await raw(url, { headers, body: { jsonrpc: '2.0', id: 'late', method: 'ping' } }).catch((e: Error) => e);
    assert.ok(refused instanceof Error || refused.status === 503, 'no new work while draining');
    // The grace period itself is tested on a manual clock (http-sessions); here: it ends, exit 0.
    assert.is(await exited, 0);
    await Promise.all(calls.map((c) => c.waitForEnd(2000).catch(() => undefined)));
    for (const [i, call] of calls.entries()) {
      const replies = call.messages().filter((m) => 'result' in m || 'error' in m);
      if (i < 60) {
        assert.is(replies.length, 1, `call ${i} finished within the grace period and got its reply`);
        assert.is(replies[0].result.structuredContent.text, words.join(''), `call ${i}'s reply is whole`);
      } else {
        assert.is(replies.length, 0, `call ${i} could not finish and got no reply`);
      }
    }
    for (const request of upstream.requests.slice(60)) assert.ok((await request.closed).aborted);
  } finally {
    upstream.fallback = () => ({ type: 'json' });
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

async function findPort(pid: number): Promise<string> {
  const { readdirSync, readlinkSync, readFileSync } = await import('node:fs');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      const inodes = new Set(
        readdirSync(`/proc/${pid}/fd`).map((fd) => /socket:\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]),
      );
      for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols[3] === '0A' && inodes.has(cols[9])) return String(parseInt(cols[1]!.split(':')[1]!, 16));
      }
    } catch {
      // not up yet
    }
    await delay(30);
  }
  throw new Error('the server did not start listening');
}

test.run();
