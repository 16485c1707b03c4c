/**
 * Logs never grow memory: with the process reading its stderr stalled (a log shipper that
 * hangs), a flood of requests at debug level keeps live memory within a bound, lines past the
 * buffer are dropped and counted, one line says how many once stderr drains, and protocol
 * output on stdout is never dropped.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { delay } from './helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('isolation: logs under a stalled stderr');
/** Live memory (heap + external, after a full GC) may grow this much while ~40 MB of log lines are produced. */
const BOUND_MB = 12;
const PROMPT = 'p'.repeat(1900);
const report = mkdtempSync(join(tmpdir(), 'relay-logs-'));
test.after(() => rmSync(report, { recursive: true, force: true }));

function start(args: string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  const preload = new URL('./gc-preload.cjs', import.meta.url).pathname;
  return spawn(process.execPath, ['--expose-gc', '--require', preload, BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', GC_REPORT: join(report, 'memory.json'), LOG_LEVEL: 'debug', MCP_UPSTREAM: 'echo', ...env },
  });
}

async function liveMb(child: ChildProcessWithoutNullStreams): Promise<number> {
  const file = join(report, 'memory.json');
  rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (let i = 0; i < 250 && !existsSync(file); i++) await delay(20);
  await delay(20);
  const usage = JSON.parse(readFileSync(file, 'utf8')) as { heapUsed: number; external: number; arrayBuffers: number };
  return (usage.heapUsed + usage.external) / 2 ** 20;
}

async function stopped(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

test('HTTP at debug level: memory stays bounded, dropped lines are counted in /metrics and reported once stderr drains', async () => {
  const child = start([], { HOST: '127.0.0.1', PORT: '0', MCP_API_KEY: 'log-key-0123456789abcdef' });
  try {
    let stderr = '';
    const onData = (d: Buffer) => (stderr += d.toString());
    child.stderr.on('data', onData);
    for (let i = 0; i < 250 && !/"port":\d+/.test(stderr); i++) await delay(20);
    const port = /"port":(\d+)/.exec(stderr)![1];
    // The log reader stalls: nothing more is read from the pipe.
    child.stderr.off('data', onData);
    child.stderr.pause();
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 16 });
    const headers = { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer log-key-0123456789abcdef' };
    const send = async (body: object) => {
      const res = await pool.request({ path: '/mcp', method: 'POST', headers, body: JSON.stringify(body) });
      return { status: res.statusCode, text: await res.body.text() };
    };
    const calls = async (count: number) => {
      let next = 0;
      let failures = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < count) {
            const id = next++;
            const answer = await send({
              jsonrpc: '2.0',
              id,
              method: 'tools/call',
              params: { name: 'generate', arguments: { prompt: PROMPT } },
            });
            if (answer.status !== 200 || !answer.text.includes(`"id":${id}`)) failures++;
          }
        }),
      );
      return failures;
    };
    // Stateless-style calls (no session) need a version header to skip initialize: use a session.
    const init = await pool.request({
      path: '/mcp',
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'i',
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'logs', version: '1' } },
      }),
    });
    const session = init.headers['mcp-session-id'] as string;
    await init.body.text();
    Object.assign(headers, { 'mcp-session-id': session });
    assert.is(await calls(1000), 0);
    const before = await liveMb(child);
    assert.is(await calls(20_000), 0, 'every call was answered');
    const after = await liveMb(child);
    assert.ok(after - before < BOUND_MB, `live memory grew from ${before.toFixed(1)} to ${after.toFixed(1)} MB with stderr stalled`);
    const metrics = await pool.request({ path: '/metrics', method: 'GET', headers: { authorization: headers.authorization } });
    const dropped = Number(/^log_lines_dropped_total (\d+)$/m.exec(await metrics.body.text())?.[1]);
    assert.ok(dropped > 10_000, `log_lines_dropped_total counts the lost lines (${dropped})`);
    await pool.close();
    // The reader comes back: what was buffered arrives, then one line says how many were lost.
    let later = '';
    child.stderr.on('data', (d: Buffer) => (later += d.toString()));
    child.stderr.resume();
    for (let i = 0; i < 250 && !/log lines dropped/.test(later); i++) await delay(20);
    const notice = later.split('\n').find((line) => line.includes('log lines dropped'));
    assert.ok(notice, 'a line reports the drop');
    assert.ok(Number(JSON.parse(notice!).dropped) > 0);
  } finally {
    await stopped(child);
  }
});

test('stdio at debug level: every reply reaches stdout while stderr is stalled; memory stays bounded', async () => {
  const child = start(['--transport', 'stdio'], {});
  try {
    child.stderr.pause();
    let replies = 0;
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      replies += lines.filter((line) => line.includes('"result"')).length;
    });
    const line = (id: number | string, method: string, params: object) => `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;
    child.stdin.write(
      line('i', 'initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'logs', version: '1' } }),
    );
    const burst = async (from: number, count: number) => {
      for (let id = from; id < from + count; id++) {
        if (!child.stdin.write(line(id, 'tools/call', { name: 'generate', arguments: { prompt: PROMPT } })))
          await new Promise((resolve) => child.stdin.once('drain', resolve));
      }
      const target = 1 + from + count;
      for (let i = 0; i < 1500 && replies < target; i++) await delay(20);
    };
    await burst(0, 1000);
    const before = await liveMb(child);
    await burst(1000, 15_000);
    assert.is(replies, 16_001, 'no protocol message was dropped');
    const after = await liveMb(child);
    assert.ok(after - before < BOUND_MB, `live memory grew from ${before.toFixed(1)} to ${after.toFixed(1)} MB with stderr stalled`);
  } finally {
    await stopped(child);
  }
});

test.run();
