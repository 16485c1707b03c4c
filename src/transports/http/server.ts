import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../clock.ts';
import { perKeyCap, type KeyRing } from '../../keys.ts';
import type { ServerApp } from '../../protocol/context.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import type { OAuthSettings } from '../../oauth-settings.ts';
import { apiKeyAuthentication, type Authenticator, noAuthentication } from './auth.ts';
import { OAuthGate } from './oauth/gate.ts';
import { ConnectionGuard, defaultMaxConnections } from './connections.ts';
import { EventBudget } from './event-log.ts';
import { LegacySseEndpoint, MESSAGES_PATH } from './legacy-sse.ts';
import { hostHeaderProblem, Perimeter } from './perimeter.ts';
import { answerClientError, sendHealth, sendMetrics } from './plain-pages.ts';
import { sendEmpty, sendJson, sendRpcError } from './reply.ts';
import { type HttpSession, SessionStore } from './sessions.ts';
import { sessionEnded } from './strict-http.ts';
import { StreamRegistry } from './sse.ts';
import { SessionStreams } from './session-streams.ts';
import { StreamablePost, type Caller } from './streamable.ts';

export interface HttpOptions {
  app: ServerApp;
  host: string;
  port: number;
  /** Client keys (the relay's own ring, so per-key policy and authentication agree). */
  keys: KeyRing;
  auth: 'apikey' | 'none' | 'oauth';
  /** MCP_AUTH=oauth: the authorization server and this resource. */
  oauth?: OAuthSettings | undefined;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  stateless: boolean;
  sessionIdleMs: number;
  maxSessions: number;
  maxSseStreams: number;
  /** Per-key caps; undefined: the global cap with one key, a quarter of it with several. */
  maxSessionsPerKey?: number | undefined;
  maxStreamsPerKey?: number | undefined;
  /** An event stream with no end of its own (GET /mcp, /sse) ends after this long carrying nothing. */
  streamIdleMs?: number;
  /** What every session's replay log may hold together, in characters (32 MiB; a quarter per key with several). */
  replayBudget?: number;
  /** Most TCP connections; undefined: derived from the open-file limit. */
  maxConnections?: number | undefined;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /** Shown by /health. */
  transport: string;
  clock?: Clock;
}

export interface HttpTransport {
  readonly server: Server;
  /** Resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Stops accepting, lets calls in flight finish for up to `graceMs`, then aborts what is left
   * (those calls get no reply), ends every stream and closes every connection.
   */
  shutdown(graceMs: number): Promise<void>;
}

const MCP_PATH = '/mcp';
const SSE_PATH = '/sse';
const HEALTH_PATH = '/health';
const METRICS_PATH = '/metrics';
const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
  'access-control-allow-headers':
    'Authorization, X-API-Key, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name',
  'access-control-max-age': '600',
};

/**
 * Both HTTP transports on bare node:http: Streamable HTTP at /mcp, the 2024-11-05 SSE
 * transport at /sse and /messages, and /health. Every request passes the perimeter
 * (Host, Origin), then authentication, before it reaches an endpoint.
 */
export function createHttpTransport(options: HttpOptions): HttpTransport {
  const { app } = options;
  const log = app.log;
  const clock = options.clock ?? systemClock;
  const started = clock.now();
  const { keys } = options;
  const authenticator = authenticatorFor(options, clock);
  const perimeter = new Perimeter({ bindHost: options.host, allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins });
  // Per-key shares follow the keys configured now (a SIGHUP may change how many there are).
  const share = (configured: number | undefined, global: number) => () => perKeyCap(configured, global, keys.count);
  const replayBudget = options.replayBudget ?? 32 * 1024 * 1024;
  const budget = new EventBudget(replayBudget, () => perKeyCap(undefined, replayBudget, keys.count));
  const store = new SessionStore({
    maxSessions: options.maxSessions,
    maxPerOwner: share(options.maxSessionsPerKey, options.maxSessions),
    idleMs: options.sessionIdleMs,
    log,
    clock,
    budget,
    // Strict mode: one summary line per session, and a fault for one the client never ended.
    ...(app.strict !== 'off' ? { onEnd: (session: HttpSession, reason: string) => sessionEnded(app, session, reason) } : {}),
  });
  const streams = new StreamRegistry({
    maxStreams: options.maxSseStreams,
    maxPerOwner: share(options.maxStreamsPerKey, options.maxSseStreams),
    idleMs: options.streamIdleMs ?? 600_000,
    clock,
  });
  const headersTimeout = Math.min(10_000, options.requestTimeoutMs);
  // A connection silent for this long is closed; one that started a request meanwhile gets
  // Node's own 408 first (its headers timeout is checked every second).
  const silentMs = 2 * headersTimeout + 1_000;
  const connections = new ConnectionGuard(options.maxConnections ?? defaultMaxConnections(256), silentMs, clock);
  let active = 0;
  let idleWaiters: (() => void)[] = [];
  let draining = false;

  const settled = (): void => {
    active--;
    if (active === 0) for (const wake of idleWaiters.splice(0)) wake();
  };
  const track = <T>(work: Promise<T>): Promise<T> => {
    active++;
    return work.finally(settled);
  };

  app.telemetry.registry.gauge('mcp_sessions_open', 'Open sessions, by transport.', () => [
    [{ transport: 'streamable-http' }, store.count('streamable')],
    [{ transport: 'sse' }, store.count('legacy')],
  ]);
  app.telemetry.registry.gauge(
    'mcp_sse_streams_open',
    'Open event streams (GET /mcp, /sse, subscriptions, POST answers that stream).',
    () => [[{}, streams.size]],
  );
  app.telemetry.registry.gauge('http_connections_open', 'Open TCP connections.', () => [[{}, connections.stats.open]]);
  app.telemetry.registry.counterFrom(
    'http_connections_refused_total',
    'Connections closed at once at MCP_MAX_CONNECTIONS, or evicted (idle) to make room.',
    () => [
      [{ action: 'refused' }, connections.stats.refused],
      [{ action: 'evicted' }, connections.stats.evicted],
    ],
  );

  const common = { app, store, maxBodyBytes: options.maxBodyBytes, streams, clock };
  const streamable = new StreamablePost({ ...common, stateless: options.stateless });
  const sessionStreams = new SessionStreams({ app, store, stateless: options.stateless, streams, clock, post: streamable });
  const legacy = new LegacySseEndpoint(common);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const badHost = hostHeaderProblem(req);
    if (badHost) return sendJson(res, 400, { error: 'bad_request', message: badHost });
    if (path === HEALTH_PATH) {
      const uptimeSeconds = Math.floor((clock.now() - started) / 1000);
      return sendHealth(req, res, {
        draining,
        version: app.version,
        uptimeSeconds,
        transport: options.transport,
        ...authenticator.health?.(),
      });
    }
    const known = path === MCP_PATH || path === SSE_PATH || path === MESSAGES_PATH || path === METRICS_PATH;
    if (draining) return refuseWhileDraining(res);
    let hostProblem = perimeter.checkHost(req);
    // OAuth metadata is public: any origin may read it (browser clients discover with it).
    if (!hostProblem && authenticator.serve?.(req, res, path)) return;
    hostProblem ??= perimeter.checkOrigin(req);
    if (hostProblem) {
      log.warn('request refused at the perimeter', { path: path.slice(0, 100), reason: hostProblem });
      return sendRpcError(res, 403, ErrorCode.ServerError, hostProblem);
    }
    const cors = perimeter.corsHeaders(req);
    if (req.method === 'OPTIONS' && known) return sendEmpty(res, 204, { ...cors, ...PREFLIGHT_HEADERS });

    // Keys are checked synchronously: only OAuth needs an await (no extra turn per request otherwise).
    const answer = authenticator.authenticate(req, res, cors, path);
    const key = answer instanceof Promise ? await answer : answer;
    if (key === undefined) return;
    // The token check may have taken a moment: the server may have begun to stop meanwhile.
    if (draining) return refuseWhileDraining(res);
    if (key !== '') connections.authenticated(req.socket);
    const caller: Caller = { key, headers: cors };
    const method = req.method ?? '';
    switch (path) {
      case MCP_PATH:
        // A POST counts as in flight until its answer is written whole, so shutdown waits for it.
        if (method === 'POST') return track(streamable.post(req, res, caller));
        if (method === 'GET') return sessionStreams.get(req, res, caller);
        if (method === 'DELETE') return sessionStreams.delete(req, res, caller);
        return methodNotAllowed(res, sessionStreams.allow, cors);
      case SSE_PATH:
        if (method === 'GET') return legacy.open(req, res, caller);
        return methodNotAllowed(res, 'GET', cors);
      case METRICS_PATH:
        if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD', cors);
        return sendMetrics(req, res, app.telemetry.registry);
      case MESSAGES_PATH:
        if (method === 'POST')
          return track(legacy.message(req, res, caller, new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1))));
        return methodNotAllowed(res, 'POST', cors);
      default:
        return sendJson(
          res,
          404,
          {
            error: 'not_found',
            message: `No endpoint at ${JSON.stringify(path.slice(0, 100))}; MCP is served at ${MCP_PATH} (and ${SSE_PATH})`,
          },
          cors,
        );
    }
  };

  const server = createServer(
    // A slow client gets this long for its headers, and MCP_REQUEST_TIMEOUT_MS for the whole
    // request, body included; past either, clientError below answers 408 with a JSON body.
    {
      headersTimeout,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: 5_000,
      // How often those timeouts are checked (Node's default, 30 s, lets slow clients linger).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      // A request answered before its body was read says `Connection: close` (reply.ts), and
      // the guard's lingering close throws the rest away before the connection ends.
      connections.request(req, res);
      route(req, res).catch((error: unknown) => {
        log.error('unexpected failure serving an HTTP request', { error });
        if (!res.headersSent) sendRpcError(res, 500, ErrorCode.InternalError, 'Internal error');
        else res.destroy();
      });
    },
  );
  connections.attach(server);
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket, options.requestTimeoutMs, log));

  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    async shutdown(graceMs: number) {
      draining = true;
      authenticator.close?.();
      server.close();
      server.closeIdleConnections();
      if (active > 0 || store.inFlight() > 0) {
        await new Promise<void>((resolve) => {
          const timer = clock.setTimeout(resolve, graceMs);
          idleWaiters.push(() => {
            clock.clearTimeout(timer);
            resolve();
          });
        });
      }
      idleWaiters = [];
      store.closeAll('the server is shutting down');
      // Let aborted calls settle their answers before the connections go.
      await new Promise((resolve) => setImmediate(resolve));
      streams.endAll();
      server.closeAllConnections();
    },
  };
}

function refuseWhileDraining(res: ServerResponse): void {
  sendRpcError(res, 503, ErrorCode.ServerError, 'Service Unavailable: the server is shutting down', {
    connection: 'close',
    'retry-after': 5,
  });
}

function authenticatorFor(options: HttpOptions, clock: Clock): Authenticator {
  if (options.auth === 'none') return noAuthentication;
  if (options.auth === 'apikey') return apiKeyAuthentication(options.keys, options.app.log);
  if (!options.oauth) throw new Error('MCP_AUTH=oauth needs its settings');
  return new OAuthGate(options.oauth, options.keys, clock, options.app.log);
}

function methodNotAllowed(res: ServerResponse, allow: string, headers: Record<string, string>): void {
  sendRpcError(res, 405, ErrorCode.ServerError, `Method Not Allowed: use ${allow}`, { ...headers, allow });
}
