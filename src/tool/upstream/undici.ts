/**
 * The part of undici this client uses, loaded on the first upstream call: a keep-alive Agent
 * (EnvHttpProxyAgent when a proxy variable is set), its header parser, and the dispatcher
 * API's `stream` (requests read whole go straight to the dispatcher: text-request.ts).
 * Importing these modules rather than undici's index keeps fetch, WebSocket, the mock and
 * cache layers out of the bundle, and a plain Agent skips the per-request URL parse and
 * NO_PROXY check EnvHttpProxyAgent makes when no proxy is configured.
 */
import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../../cancel.ts';
import Agent from 'undici/lib/dispatcher/agent.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import streamApi from 'undici/lib/api/api-stream.js';
import util from 'undici/lib/core/util.js';

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

export type { Dispatcher };

/** Proxy variables are read once, when the first call creates the pool. */
export function createDispatcher(options: { keepAliveTimeout: number; keepAliveMaxTimeout: number }): Dispatcher {
  const proxied = PROXY_VARIABLES.some((name) => process.env[name]);
  // No connection cap: a pool smaller than the calls in flight caps throughput at
  // pool size / upstream latency (../shared/MEASURED.md).
  return proxied ? new EnvHttpProxyAgent(options) : new Agent(options);
}

/**
 * A request's options, its signal a CancelSignal: undici reads only `aborted`, `reason` and
 * add/removeEventListener('abort') of it (lib/api/abort-signal.js), which a request's
 * CallCancel has, so it is handed over as the AbortSignal undici's types name.
 */
export type UpstreamRequest = Omit<Dispatcher.RequestOptions, 'signal'> & { signal: CancelSignal };

export function stream(
  dispatcher: Dispatcher,
  options: UpstreamRequest,
  factory: Dispatcher.StreamFactory,
): Promise<Dispatcher.StreamData> {
  return streamApi.call(dispatcher, options as Dispatcher.RequestOptions, factory);
}

/** Raw response headers as an object, names lower-cased (what `request` hands back). */
export const parseHeaders = (raw: Buffer[]): Record<string, string | string[] | undefined> => util.parseHeaders(raw);
