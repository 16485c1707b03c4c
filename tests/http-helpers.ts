/** Helpers for HTTP tests: a server on loopback port 0, raw requests, and an SSE reader. */
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Sleep } from '../src/clock.ts';
import type { KeyEntry } from '../src/keys.ts';
import type { Logger } from '../src/log.ts';
import { silentLogger } from '../src/log.ts';
import { createHttpTransport, type HttpOptions, type HttpTransport } from '../src/transports/http/server.ts';
import { testApp } from './helpers.ts';

export const KEY = 'client-key-0123456789abcdefghij';

export interface TestServer {
  url: string;
  port: number;
  transport: HttpTransport;
  close(graceMs?: number): Promise<void>;
}

export type TestHttpOptions = Partial<HttpOptions> & {
  /** The client keys (the relay's ring is set to these); default: one key, KEY, named "default". */
  apiKeys?: { name: string; key: string }[];
  /** Keys with policies, as a keys file gives them. */
  keyEntries?: KeyEntry[];
  /** How the relay's upstream waits (a virtual sleep on the test's clock). */
  sleep?: Sleep;
};

export async function startHttp(
  env: Record<string, string> = {},
  options: TestHttpOptions = {},
  log: Logger = silentLogger,
): Promise<TestServer> {
  const { apiKeys = [{ name: 'default', key: KEY }], keyEntries, sleep, ...rest } = options;
  const relay = testApp(env, log, rest.clock, sleep);
  relay.keys.replace(keyEntries ?? apiKeys.map((k) => ({ ...k, policy: {} })));
  const transport = createHttpTransport({
    app: relay.app,
    host: '127.0.0.1',
    port: 0,
    keys: relay.keys,
    auth: 'apikey',
    allowedOrigins: [],
    allowedHosts: [],
    stateless: false,
    sessionIdleMs: 60_000,
    maxSessions: 100,
    maxSseStreams: 100,
    maxBodyBytes: 64 * 1024,
    requestTimeoutMs: 5_000,
    transport: 'streamable-http',
    ...rest,
  });
  const address = await transport.listen();
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    transport,
    async close(graceMs = 0) {
      relay.beginShutdown();
      await transport.shutdown(graceMs);
      await relay.close();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json(): any;
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: string | object;
  /** Send the body in pieces, pausing between them. */
  trickle?: { pieces: number; intervalMs: number };
}

/** One HTTP request with full control over headers (Host included); reads the whole answer. */
export function raw(base: string, options: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(options.path ?? '/mcp', base);
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'POST',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined && options.trickle) {
      const size = Math.ceil(body.length / options.trickle.pieces);
      let offset = 0;
      const next = (): void => {
        if (req.destroyed) return;
        if (offset >= body.length) return void req.end();
        req.write(body.slice(offset, offset + size));
        offset += size;
        setTimeout(next, options.trickle!.intervalMs);
      };
      next();
    } else {
      req.end(body);
    }
  });
}

export const jsonHeaders = (extra: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${KEY}`,
  ...extra,
});

export function rpc(method: string, params?: object, id: string | number = 1): object {
  return { jsonrpc: '2.0', id, method, ...(params ? { params } : {}) };
}

export const initializeBody = (version = '2025-11-25', id: string | number = 'init'): object =>
  rpc('initialize', { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw-http', version: '1.0.0' } }, id);

/** Opens a session the way a client does; returns its id. */
export async function openSession(base: string, version = '2025-11-25', headers: Record<string, string> = {}): Promise<string> {
  const init = await raw(base, { headers: jsonHeaders(headers), body: initializeBody(version) });
  if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${init.text}`);
  const id = init.headers['mcp-session-id'] as string;
  const ready = await raw(base, {
    headers: jsonHeaders({ 'mcp-session-id': id, ...headers }),
    body: { jsonrpc: '2.0', method: 'notifications/initialized' },
  });
  if (ready.status !== 202) throw new Error(`initialized answered ${ready.status}`);
  return id;
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** A streaming request whose text/event-stream answer is read event by event. */
export class SseClient {
  readonly events: SseEvent[] = [];
  response: IncomingMessage | undefined;
  ended = false;
  private req!: ClientRequest;
  private buffer = '';
  private waiters: (() => void)[] = [];
  readonly ready: Promise<IncomingMessage>;

  constructor(base: string, options: RawRequest) {
    const url = new URL(options.path ?? '/mcp', base);
    const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    this.ready = new Promise((resolve, reject) => {
      this.req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: options.method ?? 'POST',
          headers: options.headers,
          agent: false,
        },
        (res) => {
          this.response = res;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => this.push(chunk));
          res.on('end', () => this.finish());
          res.on('close', () => this.finish());
          resolve(res);
        },
      );
      this.req.on('error', (error) => {
        this.finish();
        reject(error);
      });
      this.req.end(body);
    });
    // A test that closes the stream on purpose need not await `ready`.
    this.ready.catch(() => undefined);
  }

  private push(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n\n'); end !== -1; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: SseEvent = { data: '' };
      const data: string[] = [];
      let hasField = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        hasField = true;
        if (field === 'data') data.push(value);
        else if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
      }
      if (!hasField) continue;
      event.data = data.join('\n');
      this.events.push(event);
    }
    this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Messages (events with JSON data) received so far. */
  messages(): any[] {
    return this.events.filter((e) => e.data !== '').map((e) => JSON.parse(e.data));
  }

  async waitFor(predicate: (events: SseEvent[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for events; got ${JSON.stringify(this.events)}`);
      if (this.ended && !predicate(this.events)) throw new Error(`stream ended; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }

  async waitForEnd(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the stream to end');
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50).unref();
      });
    }
  }

  close(): void {
    this.req.destroy();
  }
}

export const MODERN = '2026-07-28';

/** The `_meta` envelope every 2026-07-28 request carries. */
export const modernMeta = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  ...extra,
});

/** The headers of a 2026-07-28 POST, with the given client key. */
export const modernHeaders = (method: string, key = KEY, name?: string): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${key}`,
  'mcp-protocol-version': MODERN,
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});

/** Opens a 2026-07-28 subscriptions/listen stream. */
export function listen(base: string, key = KEY, id: string | number = 'sub'): SseClient {
  return new SseClient(base, {
    headers: modernHeaders('subscriptions/listen', key),
    body: rpc('subscriptions/listen', { _meta: modernMeta(), notifications: {} }, id),
  });
}

/** Opens a GET event stream on a session. */
export function getStream(base: string, session: string, key = KEY): SseClient {
  return new SseClient(base, {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${key}`, 'mcp-session-id': session },
  });
}

/** Opens a 2024-11-05 /sse stream; its first event names the POST endpoint. */
export function legacyStream(base: string, key = KEY): SseClient {
  return new SseClient(base, { method: 'GET', path: '/sse', headers: { accept: 'text/event-stream', authorization: `Bearer ${key}` } });
}

export const auth = (key = KEY, extra: Record<string, string> = {}): Record<string, string> => ({
  ...jsonHeaders(extra),
  authorization: `Bearer ${key}`,
});
