/**
 * A bounded soak: tens of thousands of tools/call over HTTP against the built server, with
 * no error, and its resident memory afterwards within a stated bound of what it was before.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { delay } from './helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('soak');
const CALLS = Number(process.env.SOAK_CALLS ?? 20_000);
const CONCURRENCY = 32;
/** After a full GC, RSS may grow this much over the soak (pools filling, code warming up)... */
const RSS_BOUND_MB = 32;
/** ...and live heap this much: a leak of one small object per call would pass it. */
const HEAP_BOUND_MB = 6;

let upstream: FakeUpstream;
test.before(async () => {
  upstream = await startFakeUpstream();
});
test.after(async () => {
  await upstream.close();
});

const report = mkdtempSync(join(tmpdir(), 'relay-soak-'));
test.after(() => rmSync(report, { recursive: true, force: true }));

/** Memory after a full collection, as the server reports it (tests/gc-preload.cjs). */
async function liveMemory(pid: number): Promise<{ rss: number; heap: number }> {
  const file = join(report, 'memory.json');
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 5000;
  while (!existsSync(file) && Date.now() < deadline) await delay(20);
  await delay(20);
  const usage = JSON.parse(readFileSync(file, 'utf8')) as { rss: number; heapUsed: number };
  return { rss: usage.rss / 2 ** 20, heap: usage.heapUsed / 2 ** 20 };
}

test(`${CALLS} calls at concurrency ${CONCURRENCY}: no error; after GC, RSS within ${RSS_BOUND_MB} MB and heap within ${HEAP_BOUND_MB} MB of where they started`, async () => {
  const preload = new URL('./gc-preload.cjs', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--expose-gc', '--require', preload, BIN], {
    env: {
      GC_REPORT: join(report, 'memory.json'),
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: upstream.baseUrl,
      MCP_API_KEY: 'soak-key-0123456789abcdef',
    },
  });
  // Logs stay on (the default level: one line per request); only the start line is kept.
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString();
  });
  try {
    const deadline = Date.now() + 10_000;
    let port: string | undefined;
    while (!port && Date.now() < deadline) {
      await delay(50);
      port = /"port":(\d+)/.exec(stderr)?.[1];
    }
    assert.ok(port, `no listening port; stderr: ${stderr}`);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY, pipelining: 1 });
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: 'Bearer soak-key-0123456789abcdef',
    };
    const init = await pool.request({
      path: '/mcp',
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'soak', version: '1' } },
      }),
    });
    const session = init.headers['mcp-session-id'] as string;
    await init.body.text();
    const sessionHeaders = { ...headers, 'mcp-session-id': session };
    let errors = 0;
    let next = 0;
    const run = async (count: number): Promise<void> => {
      const stop = next + count;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < stop) {
            const id = next++;
            const res = await pool.request({
              path: '/mcp',
              method: 'POST',
              headers: sessionHeaders,
              body: JSON.stringify({
                jsonrpc: '2.0',
                id,
                method: 'tools/call',
                params: { name: 'generate', arguments: { prompt: `call ${id}` } },
              }),
            });
            const body = (await res.body.json()) as { id: number; result?: { isError?: boolean } };
            if (res.statusCode !== 200 || body.id !== id || !body.result || body.result.isError) errors++;
          }
        }),
      );
    };
    await run(2_000);
    const before = await liveMemory(child.pid!);
    const started = Date.now();
    await run(CALLS);
    const seconds = (Date.now() - started) / 1000;
    const after = await liveMemory(child.pid!);
    await pool.close();
    process.stdout.write(
      `    soak: ${CALLS} calls in ${seconds.toFixed(1)} s (${Math.round(CALLS / seconds)}/s); ` +
        `RSS ${before.rss.toFixed(1)} -> ${after.rss.toFixed(1)} MB, heap ${before.heap.toFixed(1)} -> ${after.heap.toFixed(1)} MB\n`,
    );
    assert.is(errors, 0);
    assert.ok(after.rss - before.rss < RSS_BOUND_MB, `RSS grew from ${before.rss.toFixed(1)} to ${after.rss.toFixed(1)} MB`);
    assert.ok(after.heap - before.heap < HEAP_BOUND_MB, `heap grew from ${before.heap.toFixed(1)} to ${after.heap.toFixed(1)} MB`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
  }
});

test.run();
