/**
 * The benchmark's contestants, each started as its own process against the same fake upstream:
 * this relay (the bundle, production defaults: auth on, one log line per request), the
 * reference relay on the official SDKs, and the ceiling relay (the least work a relay can do).
 */
import { build } from 'esbuild';
import { startProcess } from './load.ts';

export type Name = 'ours' | 'sdk' | 'ceiling';
export const NAMES: readonly Name[] = ['ours', 'sdk', 'ceiling'];
export const LABELS: Record<Name, string> = { ours: 'this relay', sdk: 'SDK relay', ceiling: 'ceiling relay' };

const root = new URL('../', import.meta.url).pathname;
export const OURS_BIN = `${root}dist/openai-mcp-relay.cjs`;
export const REF_BIN = `${root}bench/.build/reference-relay.mjs`;
export const CEILING_BIN = `${root}bench/ceiling-relay.mjs`;
export const KEY = 'bench-key-0123456789abcdefghij';

/** Bundles the reference relay with its packages external, as an application using them is. */
export async function buildReference(): Promise<void> {
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
}

export const upstreamUrl = (port: number): string => `http://127.0.0.1:${port}`;

/** This relay over HTTP, with limits high enough that the load measures speed, not refusals. */
export function serveOurs(upstreamPort: number, env: Record<string, string> = {}) {
  return startProcess(process.execPath, [OURS_BIN], {
    HOST: '127.0.0.1',
    PORT: '0',
    OPENAI_API_KEY: 'k',
    OPENAI_BASE_URL: `${upstreamUrl(upstreamPort)}/v1`,
    MCP_API_KEY: KEY,
    MCP_MAX_CONCURRENCY: '4096',
    MCP_MAX_QUEUE: '4096',
    MCP_MAX_SESSIONS: '4096',
    MCP_MAX_SSE_STREAMS: '4096',
    ...env,
  });
}

export function serve(name: Name, upstreamPort: number) {
  if (name === 'ours') return serveOurs(upstreamPort);
  const env = { PORT: '0', OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `${upstreamUrl(upstreamPort)}/v1` };
  return name === 'sdk' ? startProcess(process.execPath, [REF_BIN, 'http'], env) : startProcess(process.execPath, [CEILING_BIN], env);
}

export const headersFor = (name: Name): Record<string, string> => (name === 'ours' ? { authorization: `Bearer ${KEY}` } : {});

/** The contestants in a rotating order, so no one always goes first. */
export function rotation(round: number): Name[] {
  return NAMES.map((_, i) => NAMES[(i + round) % NAMES.length]!);
}
