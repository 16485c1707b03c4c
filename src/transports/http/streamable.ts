import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { Context, ServerApp } from '../../protocol/context.ts';
import { handle } from '../../protocol/handle.ts';
import { classify, errorResponse, isObject, type Reply } from '../../protocol/messages.ts';
import type { ModernRejection } from '../../protocol/modern.ts';
import { CancelScopes, Session } from '../../protocol/session.ts';
import {
  DEFAULT_HTTP_VERSION,
  isInitializeEraVersion,
  isModernVersionString,
  isSupportedVersion,
  type InitializeEraVersion,
} from '../../protocol/versions.ts';
import { EventLog } from './event-log.ts';
import { PostExchange } from './exchange.ts';
import { checkModernHeaders } from './modern-headers.ts';
import { sendEmpty, sendJson, sendRpcError, sendUnavailable, TransportErrorCode, type Headers } from './reply.ts';
import { readMessage } from './message.ts';
import { acceptance, header } from './request.ts';
import { HttpSession, type SessionStore } from './sessions.ts';
import { SseSink, type StreamRegistry } from './sse.ts';

export interface StreamableOptions {
  app: ServerApp;
  store: SessionStore;
  stateless: boolean;
  maxBodyBytes: number;
  streams: StreamRegistry;
  clock: Clock;
}

/** Who is asking, as the server has established it. */
export interface Caller {
  /** The API key's name ('' with MCP_AUTH=none). */
  key: string;
  /** Headers every answer carries (CORS). */
  headers: Headers;
}

const ALLOW = 'GET, POST, DELETE';
const STATELESS_ALLOW = 'POST';

/** The Streamable HTTP transport's endpoint, /mcp: POST, GET and DELETE. */
export class StreamableEndpoint {
  private readonly options: StreamableOptions;
  /** Stateless mode: each key's requests in flight, so a cancel in a POST of its own finds its call. */
  private readonly scopes = new CancelScopes();

  constructor(options: StreamableOptions) {
    this.options = options;
  }

  get allow(): string {
    return this.options.stateless ? STATELESS_ALLOW : ALLOW;
  }

  async post(req: IncomingMessage, res: ServerResponse, caller: Caller): Promise<void> {
    const { options } = this;
    const headers = caller.headers;
    const accept = acceptance(header(req, 'accept'));
    if (!accept.json && !accept.sse) {
      return sendRpcError(
        res,
        406,
        TransportErrorCode.Generic,
        'Not Acceptable: Accept must allow application/json or text/event-stream',
        headers,
      );
    }
    const read = await readMessage(req, res, options.maxBodyBytes, headers);
    if (!read) return;
    const { message } = read;
    const version = header(req, 'mcp-protocol-version');
    // 2026-07-28 requests (by header or by body) are told apart before anything else.
    const modernHeader = version !== undefined && isModernVersionString(version.trim());
    if (modernHeader || isModernMessage(message)) return this.serveModern(req, res, message, accept, caller, modernHeader);
    if (version !== undefined && !isInitializeEraVersion(version)) {
      return sendRpcError(
        res,
        400,
        TransportErrorCode.Generic,
        `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version.slice(0, 40))}`,
        headers,
      );
    }

    if (options.stateless) {
      const protocol = new Session({ stateless: true, version: version ?? DEFAULT_HTTP_VERSION, scope: this.scopes.of(caller.key) });
      return this.serve(req, res, message, accept, caller, undefined, protocol);
    }

    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined) {
      if (!isInitialize(message)) {
        return sendRpcError(
          res,
          400,
          TransportErrorCode.Generic,
          'Bad Request: Mcp-Session-Id header is required (send initialize first to get one)',
          headers,
        );
      }
      return this.initialize(req, res, message, accept, caller);
    }
    const session = this.session(sessionId, caller);
    if (!session) return sendRpcError(res, 404, TransportErrorCode.SessionNotFound, 'Session not found', headers);
    return this.serve(req, res, message, accept, caller, session, session.protocol);
  }

  /** The session a GET or DELETE names, or undefined once the refusal has been sent. */
  private sessionOf(req: IncomingMessage, res: ServerResponse, caller: Caller, method: 'GET' | 'DELETE'): HttpSession | undefined {
    const { headers } = caller;
    if (this.options.stateless) {
      const what = method === 'GET' ? 'has no GET stream' : 'has no sessions';
      sendRpcError(res, 405, TransportErrorCode.Generic, `Method Not Allowed: stateless mode ${what}`, {
        ...headers,
        allow: STATELESS_ALLOW,
      });
      return undefined;
    }
    const sessionId = header(req, 'mcp-session-id');
    const refusal = this.sessionlessRefusal(req, sessionId, method);
    if (refusal) {
      sendRpcError(res, refusal.status, refusal.code, refusal.message, { ...headers, ...refusal.headers });
      return undefined;
    }
    if (method === 'GET' && !acceptance(header(req, 'accept')).sse) {
      sendRpcError(res, 406, TransportErrorCode.Generic, 'Not Acceptable: Accept must allow text/event-stream', headers);
      return undefined;
    }
    if (sessionId === undefined) {
      sendRpcError(res, 400, TransportErrorCode.Generic, 'Bad Request: Mcp-Session-Id header is required', headers);
      return undefined;
    }
    const session = this.session(sessionId, caller);
    if (!session) sendRpcError(res, 404, TransportErrorCode.SessionNotFound, 'Session not found', headers);
    return session;
  }

  get(req: IncomingMessage, res: ServerResponse, caller: Caller): void {
    const { headers } = caller;
    const session = this.sessionOf(req, res, caller, 'GET');
    if (!session) return;
    session.touch();

    const lastEventId = header(req, 'last-event-id');
    if (lastEventId !== undefined) {
      const position = EventLog.parse(lastEventId);
      if (!position) return sendRpcError(res, 400, TransportErrorCode.Generic, 'Bad Request: malformed Last-Event-ID', headers);
      // The GET stream carries no messages of its own: resuming it is opening it again.
      if (!position.stream.startsWith('g')) return this.resume(res, session, position, caller);
    }

    if (session.stream?.isOpen)
      return sendRpcError(res, 409, TransportErrorCode.Generic, 'Conflict: this session already has an open GET stream', headers);
    const slot = this.options.streams.take(caller.key);
    if (typeof slot === 'string') return sendUnavailable(res, slot, headers);
    // It carries nothing of its own here, so it ends after MCP_STREAM_IDLE_MS; the client reconnects.
    const sink = new SseSink(this.options.streams, slot, res, this.options.clock, { headers, endsWhenIdle: true });
    session.stream = sink;
    if (primes(session.protocol.version)) sink.prime(session.events.nextId(session.nextStreamKey('g')));
    sink.onClose(() => {
      if (session.stream === sink) session.stream = undefined;
    });
  }

  delete(req: IncomingMessage, res: ServerResponse, caller: Caller): void {
    const session = this.sessionOf(req, res, caller, 'DELETE');
    if (!session) return;
    this.options.store.delete(session.id, 'deleted by the client');
    sendEmpty(res, 204, caller.headers);
  }

  /**
   * GET and DELETE belong to initialize-era sessions: without a session id, a 2026-07-28
   * client gets 405 (that revision has neither); any other version header must be one we serve.
   */
  private sessionlessRefusal(
    req: IncomingMessage,
    sessionId: string | undefined,
    method: string,
  ): { status: number; code: number; message: string; headers?: Headers } | undefined {
    const version = header(req, 'mcp-protocol-version')?.trim();
    if (version === undefined) return undefined;
    if (sessionId === undefined && isModernVersionString(version)) {
      // 2026-07-28 reserves -32000..-32019 for legacy use, so this refusal uses -32600.
      return {
        status: 405,
        code: -32600,
        message: `Method Not Allowed: protocol ${version} has no ${method} on the MCP endpoint; POST requests`,
        headers: { allow: 'POST' },
      };
    }
    if (!isSupportedVersion(version)) {
      return {
        status: 400,
        code: TransportErrorCode.Generic,
        message: `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version.slice(0, 40))}`,
      };
    }
    return undefined;
  }

  /**
   * A 2026-07-28 request: no session, no initialize, headers checked against the body, and
   * a disconnect cancels (nothing can resume). Envelope, header and version refusals are 400;
   * an unknown method is 404.
   */
  private async serveModern(
    req: IncomingMessage,
    res: ServerResponse,
    message: unknown,
    accept: { json: boolean; sse: boolean },
    caller: Caller,
    modernHeader: boolean,
  ): Promise<void> {
    const { headers } = caller;
    if (Array.isArray(message)) {
      return sendJson(
        res,
        400,
        errorResponse(null, { code: -32600, message: 'Invalid Request: JSON-RPC batches are not part of protocol 2026-07-28' }),
        headers,
      );
    }
    const incoming = classify(message);
    // A subscription is nothing but a stream, so it needs a stream slot before it starts.
    let slot;
    if (incoming.kind === 'request' && incoming.message.method === 'subscriptions/listen') {
      slot = this.options.streams.take(caller.key);
      if (typeof slot === 'string') return sendUnavailable(res, slot, headers);
    }
    const exchange = new PostExchange({
      ...this.exchangeBase(res, accept, caller),
      headers,
      session: undefined,
      prime: false,
      hasRequests: incoming.kind === 'request',
      ...(slot ? { slot } : {}),
    });
    const gone = new AbortController();
    const onClose = (): void => {
      if (res.writableFinished) return;
      exchange.detach();
      gone.abort();
    };
    res.on('close', onClose);
    let rejected: ModernRejection | undefined;
    const ctx: Context = {
      app: this.options.app,
      session: new Session({ stateless: true }),
      notify: (m) => exchange.notify(m),
      signal: gone.signal,
      origin: { transport: 'streamable-http', key: caller.key || undefined },
      modern: modernHeader,
      checkHeaders: (request) => checkModernHeaders(req, request),
      onModernRejection: (stage) => (rejected = stage),
    };
    let reply: Reply | undefined;
    try {
      reply = await handle(message, ctx);
    } finally {
      res.off('close', onClose);
    }
    const code = reply !== undefined && !Array.isArray(reply) && 'error' in reply ? reply.error.code : undefined;
    exchange.finish(reply, rejected ? 400 : code === -32601 ? 404 : undefined);
  }

  /** A session the caller may use: it exists, is open, and was opened with the caller's key. */
  private session(id: string, caller: Caller): HttpSession | undefined {
    const session = this.options.store.get(id);
    return session && session.kind === 'streamable' && session.owner === caller.key ? session : undefined;
  }

  private async initialize(
    req: IncomingMessage,
    res: ServerResponse,
    message: unknown,
    accept: { json: boolean; sse: boolean },
    caller: Caller,
  ): Promise<void> {
    const { store } = this.options;
    const noRoom = store.reserve(caller.key);
    if (noRoom) return sendUnavailable(res, noRoom, caller.headers);
    const session = new HttpSession('streamable', caller.key, store.eventBudget, this.options.clock);
    const reply = await handle(message, {
      app: this.options.app,
      session: session.protocol,
      notify: () => undefined,
      origin: { transport: 'streamable-http', key: caller.key || undefined },
    });
    const ok = reply !== undefined && !Array.isArray(reply) && 'result' in reply;
    const lateNoRoom = ok ? store.add(session) : undefined;
    if (lateNoRoom) return sendUnavailable(res, lateNoRoom, caller.headers);
    const exchange = new PostExchange({
      ...this.exchangeBase(res, accept, caller),
      headers: ok ? { ...caller.headers, 'mcp-session-id': session.id } : caller.headers,
      session: undefined,
      prime: false,
      hasRequests: true,
    });
    exchange.finish(reply);
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    message: unknown,
    accept: { json: boolean; sse: boolean },
    caller: Caller,
    session: HttpSession | undefined,
    protocol: Session,
  ): Promise<void> {
    const { headers } = caller;
    const exchange = new PostExchange({
      streams: this.options.streams,
      clock: this.options.clock,
      owner: caller.key,
      res,
      accept,
      headers,
      session,
      prime: session !== undefined && primes(protocol.version),
      hasRequests: hasRequests(message),
    });
    // In a session a disconnect is not a cancel (the client can resume); without one, nothing
    // could receive the reply, so the call is aborted.
    const gone = session ? undefined : new AbortController();
    const onClose = (): void => {
      if (res.writableFinished) return;
      exchange.detach();
      gone?.abort();
    };
    res.on('close', onClose);
    const ctx: Context = {
      app: this.options.app,
      session: protocol,
      notify: (m) => exchange.notify(m),
      origin: { transport: 'streamable-http', key: caller.key || undefined },
      ...(gone ? { signal: gone.signal } : {}),
    };
    const ended = session?.beginExchange();
    let reply: Reply | undefined;
    try {
      reply = await handle(message, ctx);
    } finally {
      ended?.();
      res.off('close', onClose);
    }
    exchange.finish(reply);
  }

  private exchangeBase(res: ServerResponse, accept: { json: boolean; sse: boolean }, caller: Caller) {
    return { streams: this.options.streams, clock: this.options.clock, owner: caller.key, res, accept };
  }

  private resume(res: ServerResponse, session: HttpSession, position: { stream: string; seq: number }, caller: Caller): void {
    const { headers } = caller;
    const live = session.liveStreams.get(position.stream);
    const missed = session.events.after(position.stream, position.seq);
    if (!live && missed.length === 0) {
      // The stream has ended and nothing is left to replay: stop clients that would poll forever.
      return sendRpcError(
        res,
        405,
        TransportErrorCode.Generic,
        'Method Not Allowed: that stream has ended and has nothing left to replay',
        { ...headers, allow: ALLOW },
      );
    }
    const slot = this.options.streams.take(caller.key);
    if (typeof slot === 'string') return sendUnavailable(res, slot, headers);
    const sink = new SseSink(this.options.streams, slot, res, this.options.clock, { headers });
    for (const event of missed) sink.send(event.data, event.id);
    if (!live) return sink.end();
    live.sink?.end();
    live.sink = sink;
    sink.onClose(() => {
      if (live.sink === sink) live.sink = undefined;
    });
  }
}

/** A single request whose `_meta` names its protocol version. */
function isModernMessage(message: unknown): boolean {
  if (!isObject(message) || !('id' in message) || !isObject(message.params)) return false;
  const meta = message.params._meta;
  return isObject(meta) && 'io.modelcontextprotocol/protocolVersion' in meta;
}

function isInitialize(message: unknown): boolean {
  return isObject(message) && message.method === 'initialize' && 'id' in message;
}

function hasRequests(message: unknown): boolean {
  const items = Array.isArray(message) ? message : [message];
  return items.some((item) => isObject(item) && 'method' in item && 'id' in item);
}

/** Clients on 2025-11-25 and later get a priming event at the start of each stream. */
function primes(version: InitializeEraVersion | undefined): boolean {
  return version !== undefined && version >= '2025-11-25';
}
