/** Benchmark scenarios beside the load runs: whole-process start-up, idle memory, memory held per session and per stream. */
import { spawn } from 'node:child_process';
import { Pool } from 'undici';
import { KEY, OURS_BIN, REF_BIN, serveOurs } from './contestants.ts';
import { memoryOf } from './load.ts';

const INIT =
  '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n';
const CALL =
  '{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generate","arguments":{"prompt":"hi"}}}\n';
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** stdio, whole process: spawn to the initialize reply, and to the first tools/call reply. */
export async function coldStart(name: 'ours' | 'sdk', upstreamPort: number): Promise<{ init: number; call: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, name === 'ours' ? [OURS_BIN, '--transport', 'stdio'] : [REF_BIN, 'stdio'], {
    env: { PATH: process.env.PATH ?? '', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `http://127.0.0.1:${upstreamPort}/v1` },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  let init = 0;
  let call = 0;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const line of lines) {
        const id = (JSON.parse(line) as { id?: unknown }).id;
        if (id === 1) {
          init = performance.now() - started;
          child.stdin!.write(CALL);
        } else if (id === 2) {
          call = performance.now() - started;
          resolve();
        }
      }
    });
    child.on('exit', () => reject(new Error(`${name} exited: ${out}`)));
    child.stdin!.write(INIT);
  });
  child.removeAllListeners('exit');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { init, call };
}

/** Bare Node, whole process: `node -e 0`, spawn to exit (the floor any Node server's start-up stands on). */
export async function bareNodeStart(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return performance.now() - started;
}

/**
 * Bare Node answering one line on stdio: spawn to its reply, the same measure as the relays'
 * start-up (`node -e 0` is spawn to exit, and a process's exit costs more than its reply).
 */
export async function bareNodeEcho(): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ['-e', "process.stdin.once('data', () => process.stdout.write('{}\\n'))"], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  await new Promise<void>((resolve) => {
    child.stdout!.once('data', () => resolve());
    child.stdin!.write(INIT);
  });
  const elapsed = performance.now() - started;
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return elapsed;
}

/** Bare Node's resident memory, idle, 0.5 s after start (as the relays' idle figure is taken). */
export async function bareNodeIdleRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await settle(500);
  const { rss } = memoryOf(child.pid!);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return rss;
}

/**
 * Memory this relay holds per idle session, and per open event stream (a session's GET
 * stream, its TCP connection included): RSS before and after opening `count` of each, over
 * `count`, in KiB.
 */
export async function memoryPerSessionAndStream(upstreamPort: number, count: number): Promise<{ session: number; stream: number }> {
  const server = await serveOurs(upstreamPort);
  const url = `http://127.0.0.1:${server.port}`;
  const auth = { authorization: `Bearer ${KEY}` };
  await settle(1000);
  const before = memoryOf(server.child.pid!).rss;
  const control = new Pool(url, { connections: 16 });
  const sessions: string[] = [];
  for (let i = 0; i < count; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, count - i) }, async () => {
        const res = await control.request({
          path: '/mcp',
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: INIT.trim(),
        });
        await res.body.text();
        return res.headers['mcp-session-id'] as string;
      }),
    );
    sessions.push(...batch);
  }
  await settle(2000);
  const withSessions = memoryOf(server.child.pid!).rss;
  const streams = new Pool(url, { connections: count + 1 });
  const open = await Promise.all(
    sessions.map((session) =>
      streams.request({
        path: '/mcp',
        method: 'GET',
        headers: { ...auth, accept: 'text/event-stream', 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
        bodyTimeout: 0,
      }),
    ),
  );
  await settle(2000);
  const withStreams = memoryOf(server.child.pid!).rss;
  for (const res of open) res.body.destroy();
  await streams.destroy();
  await control.close();
  await server.stop();
  return { session: ((withSessions - before) * 1024) / count, stream: ((withStreams - withSessions) * 1024) / count };
}
