import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { ServerApp } from '../../protocol/context.ts';
import { eraOf } from '../../protocol/era.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { featuresOf, isSupportedVersion } from '../../protocol/versions.ts';
import { EventLog } from './event-log.ts';
import { type Headers, sendEmpty, sendRpcError, sendUnavailable, sendUnsupportedVersion } from './reply.ts';
import { acceptance, header } from './request.ts';
import type { HttpSession, SessionStore } from './sessions.ts';
import { SseSink, type StreamRegistry } from './sse.ts';
import { checkHeaders, reportSessionIdMissing } from './strict-http.ts';
import { type Caller, mcpHeadersOf, type StreamablePost } from './streamable.ts';

export const ALLOW = 'GET, POST, DELETE';
export const STATELESS_ALLOW = 'POST';

export interface SessionStreamsOptions {
  app: ServerApp;
  store: SessionStore;
  stateless: boolean;
  streams: StreamRegistry;
  clock: Clock;
  /** Whose sessions are whose. */
  post: StreamablePost;
}

/**
 * GET and DELETE on /mcp: a session's own event stream (opened, or resumed with
 * Last-Event-ID), and the end of a session. Both belong to initialize-era sessions.
 */
export class SessionStreams {
  private readonly options: SessionStreamsOptions;

  constructor(options: SessionStreamsOptions) {
    this.options = options;
  }

  get allow(): string {
    return this.options.stateless ? STATELESS_ALLOW : ALLOW;
  }

  get(req: IncomingMessage, res: ServerResponse, caller: Caller): void {
    const { headers } = caller;
    const session = this.sessionOf(req, res, caller, 'GET');
    if (!session) return;
    session.touch();

    const lastEventId = header(req, 'last-event-id');
    if (lastEventId !== undefined) {
      const position = EventLog.parse(lastEventId);
      if (!position) return sendRpcError(res, 400, ErrorCode.ServerError, 'Bad Request: malformed Last-Event-ID', headers);
      // The GET stream carries no messages of its own: resuming it is opening it again.
      if (!position.stream.startsWith('g')) return this.resume(res, session, position, caller);
    }

    if (session.stream?.isOpen) {
      return sendRpcError(res, 409, ErrorCode.ServerError, 'Conflict: this session already has an open GET stream', headers);
    }
    const slot = this.options.streams.take(caller.key);
    if (typeof slot === 'string') return sendUnavailable(res, slot, headers);
    // It carries nothing of its own here, so it ends after MCP_STREAM_IDLE_MS; the client reconnects.
    const sink = new SseSink(this.options.streams, slot, res, this.options.clock, { headers, endsWhenIdle: true });
    session.stream = sink;
    const version = session.protocol.version;
    if (version !== undefined && featuresOf(version).primingEvent) sink.prime(session.events.nextId(session.nextStreamKey('g')));
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

  /** The session a GET or DELETE names, or undefined once the refusal has been sent. */
  private sessionOf(req: IncomingMessage, res: ServerResponse, caller: Caller, method: 'GET' | 'DELETE'): HttpSession | undefined {
    const { headers } = caller;
    if (this.options.stateless) {
      const what = method === 'GET' ? 'has no GET stream' : 'has no sessions';
      sendRpcError(res, 405, ErrorCode.ServerError, `Method Not Allowed: stateless mode ${what}`, { ...headers, allow: STATELESS_ALLOW });
      return undefined;
    }
    const sessionId = header(req, 'mcp-session-id');
    const refused = this.sessionlessRefusal(req, res, sessionId, method, headers);
    if (refused) return undefined;
    const strict = this.options.app.strict !== 'off';
    const accept = acceptance(header(req, 'accept'));
    if (method === 'GET' && !accept.sse) {
      if (strict) checkHeaders(req, accept, { app: this.options.app, key: caller.key, session: undefined, revision: undefined }, method);
      sendRpcError(res, 406, ErrorCode.ServerError, 'Not Acceptable: Accept must allow text/event-stream', headers);
      return undefined;
    }
    if (sessionId === undefined) {
      if (strict) reportSessionIdMissing(req, this.options.app, caller.key, undefined);
      sendRpcError(res, 400, ErrorCode.ServerError, 'Bad Request: Mcp-Session-Id header is required', headers);
      return undefined;
    }
    const session = this.options.post.session(sessionId, caller);
    if (!session) sendRpcError(res, 404, ErrorCode.SessionNotFound, 'Session not found', headers);
    else if (strict) {
      const scene = { app: this.options.app, key: caller.key, session, revision: session.protocol.version };
      const refusal = checkHeaders(req, accept, scene, method);
      if (refusal) {
        sendRpcError(res, refusal.status, ErrorCode.ServerError, refusal.message, headers);
        return undefined;
      }
    }
    return session;
  }

  /**
   * Without a session id, a 2026-07-28 client (as the core tells from its version header) gets
   * 405: that revision has neither GET nor DELETE. Any version header must name one we serve.
   * True when a refusal was sent.
   */
  private sessionlessRefusal(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
    method: string,
    headers: Headers,
  ): boolean {
    const mcpHeaders = mcpHeadersOf(req);
    const version = mcpHeaders.protocolVersion?.trim();
    if (version === undefined) return false;
    if (sessionId === undefined && eraOf(undefined, mcpHeaders) === 'modern') {
      // 2026-07-28 reserves -32000..-32019 for legacy use, so this refusal uses -32600.
      const message = `Method Not Allowed: protocol ${version} has no ${method} on the MCP endpoint; POST requests`;
      sendRpcError(res, 405, ErrorCode.InvalidRequest, message, { ...headers, allow: 'POST' });
      return true;
    }
    if (!isSupportedVersion(version)) {
      sendUnsupportedVersion(res, version, headers);
      return true;
    }
    return false;
  }

  private resume(res: ServerResponse, session: HttpSession, position: { stream: string; seq: number }, caller: Caller): void {
    const { headers } = caller;
    const live = session.liveStreams.get(position.stream);
    const missed = session.events.after(position.stream, position.seq);
    if (!live && missed.length === 0) {
      // The stream has ended and nothing is left to replay: stop clients that would poll forever.
      return sendRpcError(res, 405, ErrorCode.ServerError, 'Method Not Allowed: that stream has ended and has nothing left to replay', {
        ...headers,
        allow: ALLOW,
      });
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
