/**
 * Benchmarks: this relay against a reference relay built on the official MCP SDK and the
 * openai SDK (bench/reference-relay.ts), measured in the same run, alternating, against a fast
 * local fake upstream (bench/upstream.mjs) in its own process.
 *
 *   npm run bench [-- --rounds 2 --seconds 4 --cold 15 --write]
 *
 * --write puts the tables into BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { directLoad, mcpLoad, memoryOf, percentile, startProcess, type LoadResult } from './load.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const ROUNDS = flag('rounds', 2);
const SECONDS = flag('seconds', 4);
const COLD_RUNS = flag('cold', 15);
const SLOW_CLIENTS = flag('slow-clients', 1000);
const SLOW_CALLS = flag('slow-calls', 10);
const root = new URL('../', import.meta.url).pathname;
const OURS_BIN = `${root}dist/openai-mcp-relay.cjs`;
const REF_BIN = `${root}bench/.build/reference-relay.mjs`;
const KEY = 'bench-key-0123456789abcdefghij';

type Name = 'ours' | 'sdk';
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;

async function main(): Promise<void> {
  await build({
    entryPoints: [`${root}bench/reference-relay.ts`],
    outfile: REF_BIN,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  const fast = await startProcess(process.execPath, [`${root}bench/upstream.mjs`, '0'], {});
  const slow = await startProcess(process.execPath, [`${root}bench/upstream.mjs`, '1000'], {});
  const upstreamUrl = (port: number) => `http://127.0.0.1:${port}`;

  const serveOurs = (upstreamPort: number, env: Record<string, string> = {}) =>
    startProcess(process.execPath, [OURS_BIN], {
      HOST: '127.0.0.1',
      PORT: '0',
      OPENAI_API_KEY: 'k',
      OPENAI_BASE_URL: `${upstreamUrl(upstreamPort)}/v1`,
      MCP_API_KEY: KEY,
      MCP_MAX_CONCURRENCY: '4096',
      MCP_MAX_QUEUE: '4096',
      MCP_MAX_SESSIONS: '4096',
      ...env,
    });
  const serve = (name: Name, upstreamPort: number) =>
    name === 'ours'
      ? serveOurs(upstreamPort)
      : startProcess(process.execPath, [REF_BIN, 'http'], {
          PORT: '0',
          OPENAI_API_KEY: 'k',
          OPENAI_BASE_URL: `${upstreamUrl(upstreamPort)}/v1`,
        });
  const headersFor = (name: Name): Record<string, string> => (name === 'ours' ? { authorization: `Bearer ${KEY}` } : {});

  // --- throughput, latency, overhead, RSS -------------------------------------------------
  const loads: Record<Name, Record<number, LoadResult[]>> = { ours: { 1: [], 16: [], 64: [] }, sdk: { 1: [], 16: [], 64: [] } };
  const idle: Record<Name, number[]> = { ours: [], sdk: [] };
  const settled: Record<Name, number[]> = { ours: [], sdk: [] };
  const peak: Record<Name, number[]> = { ours: [], sdk: [] };
  const direct: LoadResult[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    direct.push(await directLoad(upstreamUrl(fast.port), SECONDS * 1000, 500));
    const order: Name[] = round % 2 === 0 ? ['ours', 'sdk'] : ['sdk', 'ours'];
    for (const name of order) {
      const server = await serve(name, fast.port);
      await new Promise((r) => setTimeout(r, 500));
      idle[name].push(memoryOf(server.child.pid!).rss);
      if (round === 0) {
        // After 10 s with nothing to do, V8's memory reducer has shrunk both heaps.
        await new Promise((r) => setTimeout(r, 10_000));
        settled[name].push(memoryOf(server.child.pid!).rss);
      }
      for (const clients of [1, 16, 64]) {
        const result = await mcpLoad({
          url: `http://127.0.0.1:${server.port}`,
          headers: headersFor(name),
          clients,
          durationMs: SECONDS * 1000,
          warmupMs: 1000,
        });
        loads[name][clients]!.push(result);
        log(
          `round ${round + 1} ${name} c=${clients}: ${rate(result)} calls/s, p50 ${percentile(result.latencies, 50).toFixed(2)} ms, errors ${result.errors}`,
        );
      }
      peak[name].push(memoryOf(server.child.pid!).peak);
      await server.stop();
    }
  }

  // --- the Responses path beside Chat Completions (this relay only, same upstream) ---------------
  const apis: Record<'chat' | 'responses', { c1: LoadResult[]; c64: LoadResult[] }> = {
    chat: { c1: [], c64: [] },
    responses: { c1: [], c64: [] },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const api of (round % 2 === 0 ? ['chat', 'responses'] : ['responses', 'chat']) as ('chat' | 'responses')[]) {
      const server = await serveOurs(fast.port, { OPENAI_API: api });
      await new Promise((r) => setTimeout(r, 500));
      for (const [clients, into] of [
        [1, apis[api].c1],
        [64, apis[api].c64],
      ] as const) {
        const result = await mcpLoad({
          url: `http://127.0.0.1:${server.port}`,
          headers: headersFor('ours'),
          clients,
          durationMs: SECONDS * 1000,
          warmupMs: 1000,
        });
        into.push(result);
        log(
          `round ${round + 1} ${api} c=${clients}: ${rate(result)} calls/s, p50 ${percentile(result.latencies, 50).toFixed(3)} ms, errors ${result.errors}`,
        );
      }
      await server.stop();
    }
  }

  // --- stdio cold start ---------------------------------------------------------------------
  const cold: Record<Name, { init: number[]; call: number[] }> = { ours: { init: [], call: [] }, sdk: { init: [], call: [] } };
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const name of (run % 2 === 0 ? ['ours', 'sdk'] : ['sdk', 'ours']) as Name[]) {
      const timing = await coldStart(name, fast.port);
      cold[name].init.push(timing.init);
      cold[name].call.push(timing.call);
    }
  }
  log(`cold start medians: ours ${median(cold.ours.init).toFixed(0)} ms, sdk ${median(cold.sdk.init).toFixed(0)} ms`);

  // --- many slow calls ---------------------------------------------------------------------
  const slowRuns: Record<Name, { result: LoadResult; peak: number }[]> = { ours: [], sdk: [] };
  for (const name of ['ours', 'sdk'] as Name[]) {
    const server = await serve(name, slow.port);
    // Every client's first call opens the relay's upstream connections: a warm-up, not measured.
    const result = await mcpLoad({
      url: `http://127.0.0.1:${server.port}`,
      headers: headersFor(name),
      clients: SLOW_CLIENTS,
      callsPerClient: SLOW_CALLS + 1,
      warmupCalls: 1,
    });
    slowRuns[name].push({ result, peak: memoryOf(server.child.pid!).peak });
    log(
      `slow ${name}: ${rate(result)} calls/s, p50 ${percentile(result.latencies, 50).toFixed(0)} ms, p99 ${percentile(result.latencies, 99).toFixed(0)} ms, errors ${result.errors}`,
    );
    await server.stop();
  }
  await fast.stop();
  await slow.stop();

  // --- report --------------------------------------------------------------------------------
  const best = (name: Name, clients: number) => {
    const runs = loads[name][clients]!;
    const throughput = median(runs.map((r) => r.calls / r.seconds));
    const p = (q: number) => median(runs.map((r) => percentile(r.latencies, q)));
    return { throughput, p50: p(50), p90: p(90), p99: p(99), errors: runs.reduce((s, r) => s + r.errors, 0) };
  };
  const directP50 = median(direct.map((r) => percentile(r.latencies, 50)));
  const lines: string[] = [];
  lines.push('| scenario | this relay | SDK relay | ratio |', '|---|---|---|---|');
  for (const clients of [1, 16, 64]) {
    const o = best('ours', clients);
    const s = best('sdk', clients);
    lines.push(
      `| throughput, c=${clients} (calls/s) | ${o.throughput.toFixed(0)} | ${s.throughput.toFixed(0)} | ${(o.throughput / s.throughput).toFixed(2)}x |`,
    );
    lines.push(
      `| latency p50 / p90 / p99, c=${clients} (ms) | ${o.p50.toFixed(2)} / ${o.p90.toFixed(2)} / ${o.p99.toFixed(2)} | ${s.p50.toFixed(2)} / ${s.p90.toFixed(2)} / ${s.p99.toFixed(2)} | ${(o.p50 / s.p50).toFixed(2)} |`,
    );
  }
  const overhead = { ours: best('ours', 1).p50 - directP50, sdk: best('sdk', 1).p50 - directP50 };
  lines.push(
    `| relay overhead p50, c=1 (ms over a direct call of ${directP50.toFixed(3)} ms) | ${overhead.ours.toFixed(3)} | ${overhead.sdk.toFixed(3)} | ${(overhead.ours / overhead.sdk).toFixed(2)} |`,
  );
  const coldInit = { ours: median(cold.ours.init), sdk: median(cold.sdk.init) };
  const coldCall = { ours: median(cold.ours.call), sdk: median(cold.sdk.call) };
  lines.push(
    `| stdio cold start: spawn to initialize reply (ms) | ${coldInit.ours.toFixed(0)} | ${coldInit.sdk.toFixed(0)} | ${(coldInit.ours / coldInit.sdk).toFixed(2)} |`,
  );
  lines.push(
    `| stdio cold start: spawn to first tools/call reply (ms) | ${coldCall.ours.toFixed(0)} | ${coldCall.sdk.toFixed(0)} | ${(coldCall.ours / coldCall.sdk).toFixed(2)} |`,
  );
  const idleRss = { ours: median(idle.ours), sdk: median(idle.sdk) };
  const peakRss = { ours: median(peak.ours), sdk: median(peak.sdk) };
  lines.push(
    `| RSS at idle, 0.5 s after start (MiB) | ${idleRss.ours.toFixed(1)} | ${idleRss.sdk.toFixed(1)} | ${(idleRss.ours / idleRss.sdk).toFixed(2)} |`,
  );
  const settledRss = { ours: median(settled.ours), sdk: median(settled.sdk) };
  lines.push(
    `| RSS at idle, 10 s after start (MiB) | ${settledRss.ours.toFixed(1)} | ${settledRss.sdk.toFixed(1)} | ${(settledRss.ours / settledRss.sdk).toFixed(2)} |`,
  );
  lines.push(
    `| RSS peak under load, c up to 64 (MiB) | ${peakRss.ours.toFixed(1)} | ${peakRss.sdk.toFixed(1)} | ${(peakRss.ours / peakRss.sdk).toFixed(2)} |`,
  );
  const slowOf = (name: Name) => {
    const { result, peak: p } = slowRuns[name][0]!;
    return {
      throughput: result.calls / result.seconds,
      p50: percentile(result.latencies, 50),
      p99: percentile(result.latencies, 99),
      peak: p,
      errors: result.errors,
    };
  };
  const so = slowOf('ours');
  const ss = slowOf('sdk');
  lines.push(
    `| ${SLOW_CLIENTS} clients × ${SLOW_CALLS} calls, upstream answers after 1 s: throughput (calls/s) | ${so.throughput.toFixed(0)} | ${ss.throughput.toFixed(0)} | ${(so.throughput / ss.throughput).toFixed(2)}x |`,
  );
  lines.push(
    `| same: latency p50 / p99 (ms) | ${so.p50.toFixed(0)} / ${so.p99.toFixed(0)} | ${ss.p50.toFixed(0)} / ${ss.p99.toFixed(0)} | ${(so.p50 / ss.p50).toFixed(2)} |`,
  );
  lines.push(`| same: RSS peak (MiB) | ${so.peak.toFixed(1)} | ${ss.peak.toFixed(1)} | ${(so.peak / ss.peak).toFixed(2)} |`);
  const apiFigures = (api: 'chat' | 'responses') => ({
    throughput: median(apis[api].c64.map((r) => r.calls / r.seconds)),
    overhead: median(apis[api].c1.map((r) => percentile(r.latencies, 50))) - directP50,
    errors: [...apis[api].c1, ...apis[api].c64].reduce((sum, r) => sum + r.errors, 0),
  });
  const chatApi = apiFigures('chat');
  const responsesApi = apiFigures('responses');
  const apiLines = [
    '| this relay, same upstream | Chat Completions | Responses API | ratio |',
    '|---|---|---|---|',
    `| throughput, c=64 (calls/s) | ${chatApi.throughput.toFixed(0)} | ${responsesApi.throughput.toFixed(0)} | ${(responsesApi.throughput / chatApi.throughput).toFixed(2)} |`,
    `| relay overhead p50, c=1 (ms) | ${chatApi.overhead.toFixed(3)} | ${responsesApi.overhead.toFixed(3)} | ${(responsesApi.overhead / chatApi.overhead).toFixed(2)} |`,
  ];
  const errors =
    [1, 16, 64].reduce((s, c) => s + best('ours', c).errors + best('sdk', c).errors, 0) +
    so.errors +
    ss.errors +
    chatApi.errors +
    responsesApi.errors;

  const targets: [string, boolean, string][] = [
    [
      'throughput at c=64 at least 3x the SDK relay',
      best('ours', 64).throughput >= 3 * best('sdk', 64).throughput,
      `${(best('ours', 64).throughput / best('sdk', 64).throughput).toFixed(2)}x`,
    ],
    ['relay overhead p50 under 0.5 ms', overhead.ours < 0.5, `${overhead.ours.toFixed(3)} ms`],
    [
      'stdio cold start (spawn to initialize reply) at most 0.4 of the SDK relay',
      coldInit.ours <= 0.4 * coldInit.sdk,
      `${(coldInit.ours / coldInit.sdk).toFixed(2)}`,
    ],
    ['RSS at idle at most 0.6 of the SDK relay', idleRss.ours <= 0.6 * idleRss.sdk, `${(idleRss.ours / idleRss.sdk).toFixed(2)}`],
    ["1000 slow calls: p50 within 100 ms of the upstream's 1 s", so.p50 <= 1100, `${so.p50.toFixed(0)} ms`],
    ['1000 slow calls: RSS peak at most half the SDK relay', so.peak <= 0.5 * ss.peak, `${(so.peak / ss.peak).toFixed(2)}`],
    [
      'Responses API throughput at c=64 within 10% of Chat Completions',
      responsesApi.throughput >= 0.9 * chatApi.throughput,
      `${(responsesApi.throughput / chatApi.throughput).toFixed(2)}`,
    ],
    [
      'Responses API overhead p50 at c=1 within 10% of Chat Completions',
      responsesApi.overhead <= 1.1 * chatApi.overhead,
      `${(responsesApi.overhead / chatApi.overhead).toFixed(2)}`,
    ],
  ];
  const targetLines = [
    '| target | result | met |',
    '|---|---|---|',
    ...targets.map(([what, met, value]) => `| ${what} | ${value} | ${met ? 'yes' : 'NO'} |`),
  ];
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.versions.node}, ${process.platform}`;
  const report = [
    `Run on ${new Date().toISOString().slice(0, 10)}: ${machine}.`,
    `Command: \`npm run bench -- --rounds ${ROUNDS} --seconds ${SECONDS} --cold ${COLD_RUNS} --slow-calls ${SLOW_CALLS}\`. Errors across all runs: ${errors}.`,
    '',
    ...lines,
    '',
    ...apiLines,
    '',
    ...targetLines,
  ].join('\n');
  process.stdout.write(`\n${report}\n`);
  if (args.includes('--write')) {
    const path = `${root}BENCHMARKS.md`;
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.replace(/<!-- results -->[\s\S]*<!-- \/results -->/, `<!-- results -->\n${report}\n<!-- /results -->`));
  }
  process.exitCode = errors > 0 ? 1 : 0;
}

async function coldStart(name: Name, upstreamPort: number): Promise<{ init: number; call: number }> {
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
          child.stdin!.write(
            '{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generate","arguments":{"prompt":"hi"}}}\n',
          );
        } else if (id === 2) {
          call = performance.now() - started;
          resolve();
        }
      }
    });
    child.on('exit', () => reject(new Error(`${name} exited: ${out}`)));
    child.stdin!.write(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}\n',
    );
  });
  child.removeAllListeners('exit');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return { init, call };
}

const rate = (r: LoadResult): string => (r.calls / r.seconds).toFixed(0);
function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

await main();
