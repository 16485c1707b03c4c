/**
 * Benchmarks: this relay beside the reference relay on the official SDKs and the ceiling relay
 * (the least work a relay can do), measured in one run, alternating, against a fast local fake
 * upstream (bench/upstream.mjs) in its own process, so every figure is read as a ratio.
 *
 *   npm run bench [-- --rounds 2 --seconds 4 --warm 3 --cold 15 --slow-calls 10 --slow-rounds 3 --write]
 *
 * --write puts the tables into BENCHMARKS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildReference, headersFor, type Name, rotation, serve, serveOurs, upstreamUrl } from './contestants.ts';
import { directLoad, type LoadResult, mcpLoad, type McpLoadOptions, memoryOf, percentile, startProcess } from './load.ts';
import { type Figures, report } from './report.ts';
import { bareNodeEcho, bareNodeIdleRss, bareNodeStart, coldStart, memoryPerSessionAndStream } from './scenarios.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const options = {
  rounds: flag('rounds', 2),
  seconds: flag('seconds', 4),
  cold: flag('cold', 15),
  slowClients: flag('slow-clients', 1000),
  slowCalls: flag('slow-calls', 10),
  slowRounds: flag('slow-rounds', 3),
  held: flag('held', 1000),
  warm: flag('warm', 3),
};
const root = new URL('../', import.meta.url).pathname;
const CONCURRENCY = [1, 16, 64];
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  await buildReference();
  const fast = await startProcess(process.execPath, [`${root}bench/upstream.mjs`, '0'], {});
  const slow = await startProcess(process.execPath, [`${root}bench/upstream.mjs`, '1000'], {});
  const figures: Figures = {
    options,
    loads: { ours: {}, sdk: {}, ceiling: {} },
    idle: { ours: [], sdk: [], ceiling: [] },
    settled: { ours: [], sdk: [], ceiling: [] },
    peak: { ours: [], sdk: [], ceiling: [] },
    direct: [],
    variants: {},
    slow: {},
    cold: { ours: { init: [], call: [] }, sdk: { init: [], call: [] } },
    bareStart: [],
    bareEcho: [],
    bareRss: [],
    held: { session: 0, stream: 0 },
  };
  const load = (port: number, headers: Record<string, string>, clients: number, more: Partial<McpLoadOptions> = {}) =>
    mcpLoad({ url: `http://127.0.0.1:${port}`, headers, clients, durationMs: options.seconds * 1000, warmupMs: 1000, ...more });

  // Every contestant runs the same unmeasured load first, so that each figure is taken in the
  // steady state a long-running service is in: without it, the first scenario (c=1) measured how
  // fast V8 tiers up each relay's code (the interpreter and the optimizing compiler), which
  // grows with the code a call runs, rather than what a call costs.
  const warmUp = (port: number, headers: Record<string, string>, more: Partial<McpLoadOptions> = {}) =>
    options.warm > 0 ? load(port, headers, 64, { ...more, durationMs: options.warm * 1000, warmupMs: 0 }) : Promise.resolve();

  // --- throughput, latency, overhead, RSS: the three contestants, rotating ------------------------
  for (let round = 0; round < options.rounds; round++) {
    figures.direct.push(await directLoad(upstreamUrl(fast.port), options.seconds * 1000, 500));
    for (const name of rotation(round)) {
      const server = await serve(name, fast.port);
      await settle(500);
      figures.idle[name].push(memoryOf(server.child.pid!).rss);
      if (round === 0) {
        // After 10 s with nothing to do, V8's memory reducer has shrunk the heaps.
        await settle(10_000);
        figures.settled[name].push(memoryOf(server.child.pid!).rss);
      }
      await warmUp(server.port, headersFor(name));
      for (const clients of CONCURRENCY) {
        const result = await load(server.port, headersFor(name), clients, { pid: server.child.pid! });
        append(figures.loads[name], clients, result);
        log(`round ${round + 1} ${name} c=${clients}: ${describe(result)}`);
      }
      figures.peak[name].push(memoryOf(server.child.pid!).peak);
      await server.stop();
    }
  }

  // --- this relay's variants: 2026-07-28 clients, calls with progress, the Responses API --------------
  const variants: Record<string, { env?: Record<string, string>; load?: Partial<McpLoadOptions> }> = {
    initialize: {},
    modern: { load: { era: 'modern' } },
    progress: { load: { progress: true } },
    chat: { env: { OPENAI_API: 'chat' } },
    responses: { env: { OPENAI_API: 'responses' } },
  };
  const variantNames = Object.keys(variants);
  for (let round = 0; round < options.rounds; round++) {
    for (const variant of variantNames.map((_, i) => variantNames[(i + round) % variantNames.length]!)) {
      const { env, load: extra } = variants[variant]!;
      const server = await serveOurs(fast.port, env);
      await settle(500);
      await warmUp(server.port, headersFor('ours'), extra);
      for (const clients of [1, 64]) {
        const result = await load(server.port, headersFor('ours'), clients, { ...extra, pid: server.child.pid! });
        figures.variants[variant] = figures.variants[variant] ?? {};
        append(figures.variants[variant], clients, result);
        log(`round ${round + 1} ${variant} c=${clients}: ${describe(result)}`);
      }
      await server.stop();
    }
  }

  // --- start-up and idle memory, whole processes --------------------------------------------------
  for (let run = 0; run < options.cold; run++) {
    for (const name of (run % 2 === 0 ? ['ours', 'sdk'] : ['sdk', 'ours']) as ('ours' | 'sdk')[]) {
      const timing = await coldStart(name, fast.port);
      figures.cold[name].init.push(timing.init);
      figures.cold[name].call.push(timing.call);
    }
    figures.bareStart.push(await bareNodeStart());
    figures.bareEcho.push(await bareNodeEcho());
  }
  for (let run = 0; run < 3; run++) figures.bareRss.push(await bareNodeIdleRss());

  // --- memory held per idle session and per open event stream --------------------------------------
  figures.held = await memoryPerSessionAndStream(fast.port, options.held);
  log(`held: ${figures.held.session.toFixed(1)} KiB per session, ${figures.held.stream.toFixed(1)} KiB per stream`);

  // --- many slow calls ---------------------------------------------------------------------------
  // RSS peaks move by tens of MiB between runs (where a major GC falls in the waves of
  // answers), so each contestant runs this several times, alternating, and the medians count.
  for (let round = 0; round < options.slowRounds; round++) {
    for (const name of rotation(round)) {
      const server = await serve(name, slow.port);
      // Every client's first call opens the relay's upstream connections: a warm-up, not measured.
      const result = await mcpLoad({
        url: `http://127.0.0.1:${server.port}`,
        headers: headersFor(name),
        clients: options.slowClients,
        callsPerClient: options.slowCalls + 1,
        warmupCalls: 1,
      });
      const runs = figures.slow[name] ?? [];
      runs.push({ result, peak: memoryOf(server.child.pid!).peak });
      figures.slow[name] = runs;
      log(`slow round ${round + 1} ${name}: ${describe(result)}, RSS peak ${memoryOf(server.child.pid!).peak.toFixed(0)} MiB`);
      await server.stop();
    }
  }
  await fast.stop();
  await slow.stop();

  const { text, errors } = report(figures);
  process.stdout.write(`\n${text}\n`);
  if (args.includes('--write')) {
    const path = `${root}BENCHMARKS.md`;
    const current = readFileSync(path, 'utf8');
    writeFileSync(path, current.replace(/<!-- results -->[\s\S]*<!-- \/results -->/, `<!-- results -->\n${text}\n<!-- /results -->`));
  }
  process.exitCode = errors > 0 ? 1 : 0;
}

function append(table: Record<number, LoadResult[]>, clients: number, result: LoadResult): void {
  const list = table[clients] ?? [];
  list.push(result);
  table[clients] = list;
}

function describe(r: LoadResult): string {
  return `${(r.calls / r.seconds).toFixed(0)} calls/s, p50 ${percentile(r.latencies, 50).toFixed(3)} ms, errors ${r.errors}`;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

export type { Name };
await main();
