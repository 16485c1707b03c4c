import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { Context, ServerApp } from '../../protocol/context.ts';
import { eraOf, type McpHeaders } from '../../protocol/era.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { handle } from '../../protocol/handle.ts';
import { isObject, type Reply } from '../../protocol/messages.ts';
import { CancelScopes, Session } from '../../protocol/session.ts';
import { DEFAULT_HTTP_VERSION, featuresOf, isInitializeEraVersion } from '../../protocol/versions.ts';
import { PostExchange } from './exchange.ts';
import { readMessage } from './message.ts';
import { type Headers, sendRpcError, sendUnavailable, sendUnsupportedVersion } from './reply.ts';
import { type Acceptance, acceptance, header } from './request.ts';
import { HttpSession, type SessionStore } from './sessions.ts';
import { checkHeaders, reportSessionIdMissing } from './strict-http.ts';
import type { StreamRegistry, StreamSlot } from './sse.ts';

export interface StreamableOptions {
  app: ServerApp;
  store: SessionStore;
  stateless: boolean;
  maxBodyBytes: number;
  streams: StreamRegistry;
  clock: Clock;
}

/** Where a request without an API key's name came from (MCP_AUTH=none): one object for all. */
const ANONYMOUS = { transport: 'streamable-http' } as const;

/** Who is asking, as the server has established it. */
export interface Caller {
  /** The API key's name ('' with MCP_AUTH=none). */
  key: string;
  /** Headers every answer carries (CORS). */
  headers: Headers;
}

/** How one POST is served: on which protocol state, and what its connection closing means. */
interface Dispatch {
  protocol: Session;
  /** In a session, events are logged for a resume and a disconnect is not a cancel. */
  session: HttpSession | undefined;
  /** A session this POST opens (initialize): stored, and named in Mcp-Session-Id, if it succeeds. */
  opens?: HttpSession;
  /** A stream slot taken before the request ran (a subscription). */
  slot?: StreamSlot;
}

/** The MCP header values of a request, as plain data for the protocol core. */
export function mcpHeadersOf(req: IncomingMessage): McpHeaders {
  return { protocolVersion: header(req, 'mcp-protocol-version'), method: header(req, 'mcp-method'), name: header(req, 'mcp-name') };
}

/**
 * The Streamable HTTP transport's POST on /mcp. Which era a message belongs to is the
 * protocol core's decision (`eraOf`, from the body and the header values); this routes it to
 * the right protocol state and frames the answer, whose status the reply decides. One path
 * (`dispatch`) serves every POST: 2026-07-28 requests, stateless ones, a session's, and the
 * initialize that opens a session.
 */
export class StreamablePost {
  private readonly options: StreamableOptions;
  /** Stateless mode: each key's requests in flight, so a cancel in a POST of its own finds its call. */
  private readonly scopes = new CancelScopes();

  constructor(options: StreamableOptions) {
    this.options = options;
  }

  async post(req: IncomingMessage, res: ServerResponse, caller: Caller): Promise<void> {
    const { options } = this;
    const { headers } = caller;
    const accept = acceptance(header(req, 'accept'));
    if (!accept.json && !accept.sse) {
      if (options.app.strict !== 'off')
        checkHeaders(req, accept, { app: options.app, key: caller.key, session: undefined, revision: undefined }, 'POST');
      return sendRpcError(
        res,
        406,
        ErrorCode.ServerError,
        'Not Acceptable: Accept must allow application/json or text/event-stream',
        headers,
      );
    }
    const read = await readMessage(req, res, options.maxBodyBytes, headers);
    if (!read) return;
    const { message } = read;
    const mcpHeaders = mcpHeadersOf(req);

    const strict = options.app.strict !== 'off';
    if (eraOf(message, mcpHeaders) === 'modern') {
      if (strict && this.strictRefused(req, res, accept, caller, undefined, '2026-07-28')) return;
      // No session, no initialize; a subscription is nothing but a stream, so it needs a slot first.
      let slot: StreamSlot | undefined;
      if (isObject(message) && message.method === 'subscriptions/listen' && 'id' in message) {
        const taken = options.streams.take(caller.key);
        if (typeof taken === 'string') return sendUnavailable(res, taken, headers);
        slot = taken;
      }
      return this.dispatch(res, message, accept, caller, mcpHeaders, {
        protocol: new Session({ stateless: true }),
        session: undefined,
        ...(slot ? { slot } : {}),
      });
    }

    const version = mcpHeaders.protocolVersion;
    if (version !== undefined && !isInitializeEraVersion(version)) {
      return sendUnsupportedVersion(res, version, headers);
    }
    if (options.stateless) {
      if (strict && this.strictRefused(req, res, accept, caller, undefined, version ?? DEFAULT_HTTP_VERSION)) return;
      const protocol = new Session({ stateless: true, version: version ?? DEFAULT_HTTP_VERSION, scope: this.scopes.of(caller.key) });
      return this.dispatch(res, message, accept, caller, mcpHeaders, { protocol, session: undefined });
    }
    const sessionId = header(req, 'mcp-session-id');
    if (sessionId === undefined) {
      if (!isInitialize(message)) {
        // A ping may come before any session (the spec allows it); anything else is missing its session.
        if (strict && !isPing(message)) reportSessionIdMissing(req, options.app, caller.key, message);
        return sendRpcError(
          res,
          400,
          ErrorCode.ServerError,
          'Bad Request: Mcp-Session-Id header is required (send initialize first to get one)',
          headers,
        );
      }
      if (strict && this.strictRefused(req, res, accept, caller, undefined, requestedVersion(message))) return;
      const noRoom = options.store.reserve(caller.key);
      if (noRoom) return sendUnavailable(res, noRoom, headers);
      const opens = new HttpSession('streamable', caller.key, options.store.eventBudget, options.clock);
      return this.dispatch(res, message, accept, caller, mcpHeaders, { protocol: opens.protocol, session: undefined, opens });
    }
    const session = this.session(sessionId, caller);
    if (!session) return sendRpcError(res, 404, ErrorCode.SessionNotFound, 'Session not found', headers);
    if (strict && this.strictRefused(req, res, accept, caller, session, session.protocol.version)) return;
    return this.dispatch(res, message, accept, caller, mcpHeaders, { protocol: session.protocol, session });
  }

  /** MCP_STRICT: the POST's headers against the revision in use; true when a refusal was sent (reject). */
  private strictRefused(
    req: IncomingMessage,
    res: ServerResponse,
    accept: Acceptance,
    caller: Caller,
    session: HttpSession | undefined,
    revision: string | undefined,
  ): boolean {
    const refusal = checkHeaders(req, accept, { app: this.options.app, key: caller.key, session, revision }, 'POST');
    if (refusal) sendRpcError(res, refusal.status, ErrorCode.ServerError, refusal.message, caller.headers);
    return refusal !== undefined;
  }

  /** A session the caller may use: it exists, is open, and was opened with the caller's key. */
  session(id: string, caller: Caller): HttpSession | undefined {
    const session = this.options.store.get(id);
    return session && session.kind === 'streamable' && session.owner === caller.key ? session : undefined;
  }

  private async dispatch(
    res: ServerResponse,
    message: unknown,
    accept: Acceptance,
    caller: Caller,
    mcpHeaders: McpHeaders,
    how: Dispatch,
  ): Promise<void> {
    const { session, protocol, opens } = how;
    const exchange = new PostExchange({
      streams: this.options.streams,
      clock: this.options.clock,
      owner: caller.key,
      res,
      accept,
      headers: caller.headers,
      session,
      prime: session !== undefined && protocol.version !== undefined && featuresOf(protocol.version).primingEvent,
      hasRequests: hasRequests(message),
      ...(how.slot ? { slot: how.slot } : {}),
    });
    // In a session a disconnect is not a cancel (the client can resume); without one nothing
    // could receive the reply, so this POST's own protocol state is closed and its calls
    // cancelled (2026-07-28: closing the stream is the cancel).
    const gone = session || opens ? undefined : protocol;
    const onClose = (): void => {
      if (res.writableFinished) return;
      exchange.detach();
      gone?.close('the transport closed');
    };
    res.on('close', onClose);
    const ctx: Context = {
      app: this.options.app,
      session: protocol,
      notify: (m) => exchange.notify(m),
      origin: caller.key ? { transport: 'streamable-http', key: caller.key } : ANONYMOUS,
      headers: mcpHeaders,
      // A session's GET stream carries what comes after a reply (a task's progress); stateless has none.
      ...(session ? { home: (m) => session.stream?.send(JSON.stringify(m)) } : {}),
    };
    const ended = session?.beginExchange();
    let reply: Reply | undefined;
    try {
      reply = await handle(message, ctx);
    } finally {
      ended?.();
      res.off('close', onClose);
    }
    if (!opens) return exchange.finish(reply);
    const opened = reply !== undefined && !Array.isArray(reply) && 'result' in reply;
    const noRoom = opened ? this.options.store.add(opens) : undefined;
    if (noRoom) return sendUnavailable(res, noRoom, caller.headers);
    exchange.finish(reply, opened ? { 'mcp-session-id': opens.id } : undefined);
  }
}

/** The version an initialize asks for, when this server serves it (strict mode reads rules by it). */
function requestedVersion(message: unknown): string | undefined {
  const params = isObject(message) && isObject(message.params) ? message.params : undefined;
  return isInitializeEraVersion(params?.protocolVersion) ? params.protocolVersion : undefined;
}

function isPing(message: unknown): boolean {
  return isObject(message) && message.method === 'ping';
}

function isInitialize(message: unknown): boolean {
  return isObject(message) && message.method === 'initialize' && 'id' in message;
}

function hasRequests(message: unknown): boolean {
  const items = Array.isArray(message) ? message : [message];
  return items.some((item) => isObject(item) && 'method' in item && 'id' in item);
}
