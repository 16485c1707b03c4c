/** Load generation for the benchmarks: MCP clients over Streamable HTTP, and direct upstream calls. */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';

export interface LoadResult {
  calls: number;
  /** CPU time (user + system) the relay spent per measured call, in µs, when its pid was given. */
  cpuPerCall?: number;
  errors: number;
  seconds: number;
  /** Milliseconds, sorted. */
  latencies: number[];
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

const ARGUMENTS = { prompt: 'Say something short.' };
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
};

/** One tools/call: initialize era or 2026-07-28 (its envelope in `_meta`), with or without a progress token. */
function callBody(id: number, era: 'initialize' | 'modern', progress: boolean): string {
  const meta = { ...(era === 'modern' ? MODERN_META : {}), ...(progress ? { progressToken: id } : {}) };
  const params = { name: 'generate', arguments: ARGUMENTS, ...(Object.keys(meta).length > 0 ? { _meta: meta } : {}) };
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params });
}

/** Reads a JSON-RPC response from a JSON or event-stream body. */
async function readReply(
  contentType: string | undefined,
  body: { text(): Promise<string> },
): Promise<{ result?: { isError?: boolean }; error?: unknown }> {
  const text = await body.text();
  if (contentType?.startsWith('text/event-stream')) {
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l.length > 6)
      .at(-1);
    return data ? (JSON.parse(data.slice(6)) as { result?: { isError?: boolean } }) : { error: 'no data' };
  }
  return JSON.parse(text) as { result?: { isError?: boolean } };
}

export interface McpLoadOptions {
  url: string;
  headers: Record<string, string>;
  clients: number;
  /** Run for this long after `warmupMs`... */
  durationMs?: number;
  warmupMs?: number;
  /** ...or make this many calls per client, the first `warmupCalls` of them not measured. */
  callsPerClient?: number;
  warmupCalls?: number;
  /** `modern`: 2026-07-28 clients, no session, the envelope and headers on every request. */
  era?: 'initialize' | 'modern';
  /** Each call carries a progress token: the upstream streams, progress comes back as events. */
  progress?: boolean;
  /** The relay's process: its CPU time over the measured calls is reported per call. */
  pid?: number;
}

/**
 * `clients` MCP clients, each with its own session (none for 2026-07-28), each calling
 * tools/call back to back. Latencies are recorded after the warm-up only.
 */
export async function mcpLoad(options: McpLoadOptions): Promise<LoadResult> {
  const pool = new Pool(options.url, { connections: options.clients, pipelining: 1, keepAliveTimeout: 60_000 });
  const base = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...options.headers };
  const post = (headers: Record<string, string>, body: string) =>
    pool.request({ path: '/mcp', method: 'POST', headers, body, headersTimeout: 120_000, bodyTimeout: 120_000 });
  const era = options.era ?? 'initialize';
  const modernHeaders = { ...base, 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'generate' };
  const sessions =
    era === 'modern'
      ? Array.from({ length: options.clients }, () => modernHeaders)
      : await Promise.all(
          Array.from({ length: options.clients }, async (_, i) => {
            const init = await post(
              base,
              JSON.stringify({
                jsonrpc: '2.0',
                id: `init-${i}`,
                method: 'initialize',
                params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
              }),
            );
            await init.body.text();
            const session = init.headers['mcp-session-id'] as string;
            const headers = { ...base, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' };
            const ready = await post(headers, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
            await ready.body.text();
            return headers;
          }),
        );
  const latencies: number[] = [];
  let errors = 0;
  let calls = 0;
  const started = performance.now();
  const measureFrom = started + (options.warmupMs ?? 0);
  const stopAt = options.durationMs === undefined ? Infinity : measureFrom + options.durationMs;
  let id = 0;
  let firstMeasured = Infinity;
  const { pid } = options;
  let cpuFrom: number | undefined;
  const cpuTimer = pid === undefined ? undefined : setTimeout(() => (cpuFrom = cpuMicros(pid)), Math.max(0, measureFrom - started));
  await Promise.all(
    sessions.map(async (headers) => {
      for (let n = 0; options.callsPerClient === undefined || n < options.callsPerClient; n++) {
        const t0 = performance.now();
        if (t0 >= stopAt) return;
        const measured = t0 >= measureFrom && n >= (options.warmupCalls ?? 0);
        if (measured && t0 < firstMeasured) firstMeasured = t0;
        try {
          const res = await post(headers, callBody(++id, era, options.progress ?? false));
          const reply = await readReply(res.headers['content-type'] as string | undefined, res.body);
          if (res.statusCode !== 200 || !reply.result || reply.result.isError) errors++;
        } catch {
          errors++;
        }
        if (measured) {
          latencies.push(performance.now() - t0);
          calls++;
        }
      }
    }),
  );
  const seconds = (performance.now() - Math.max(measureFrom, started, firstMeasured === Infinity ? started : firstMeasured)) / 1000;
  clearTimeout(cpuTimer);
  const cpuPerCall = pid !== undefined && cpuFrom !== undefined && calls > 0 ? (cpuMicros(pid) - cpuFrom) / calls : undefined;
  await pool.close();
  return { calls, errors, seconds, latencies: latencies.sort((a, b) => a - b), ...(cpuPerCall === undefined ? {} : { cpuPerCall }) };
}

/** The same Chat Completions call straight to the upstream, one at a time: the baseline for overhead. */
export async function directLoad(upstreamUrl: string, durationMs: number, warmupMs: number): Promise<LoadResult> {
  const pool = new Pool(upstreamUrl, { connections: 1 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say something short.' }], temperature: 0.2 });
  const latencies: number[] = [];
  const started = performance.now();
  const measureFrom = started + warmupMs;
  const stopAt = measureFrom + durationMs;
  for (;;) {
    const t0 = performance.now();
    if (t0 >= stopAt) break;
    const res = await pool.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
      body,
    });
    await res.body.json();
    if (t0 >= measureFrom) latencies.push(performance.now() - t0);
  }
  await pool.close();
  return { calls: latencies.length, errors: 0, seconds: durationMs / 1000, latencies: latencies.sort((a, b) => a - b) };
}

/** A process's CPU time so far (user + system), in µs, from /proc (clock ticks of 10 ms). */
export function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** Resident memory now and at its peak, in MiB, from /proc. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

let started = 0;

/**
 * Starts a server process and resolves once it prints `"port":N` (or `listening N`) on stdout or
 * stderr. Its stderr goes to a file, as a deployment's log does (journald, a container's log
 * driver, `2>>relay.log`): read back by this process, every log line would wake the load
 * generator, and charge the relay that logs for a cost that lands in its client.
 */
export async function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const logPath = join(tmpdir(), `bench-${process.pid}-${++started}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', log] });
  closeSync(log);
  const port = await new Promise<number>((resolve, reject) => {
    let seen = '';
    const done = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
    };
    const look = (text: string): void => {
      const match = /"port":(\d+)|listening (\d+)/.exec(text);
      if (match) {
        done();
        resolve(Number(match[1] ?? match[2]));
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${args.join(' ')} did not start: ${seen}${readFileSync(logPath, 'utf8').slice(0, 20_000)}`));
    }, 15_000);
    const poll = setInterval(() => look(readFileSync(logPath, 'utf8').slice(0, 20_000)), 10);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (seen.length < 20_000) seen += chunk.toString();
      look(seen);
    });
    child.on('exit', (code) => {
      done();
      reject(new Error(`${args.join(' ')} exited with ${code}: ${seen}${readFileSync(logPath, 'utf8').slice(0, 20_000)}`));
    });
  });
  return {
    child,
    port,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) {
          rmSync(logPath, { force: true });
          return resolve();
        }
        child.once('exit', () => {
          rmSync(logPath, { force: true });
          resolve();
        });
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
