import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { Context, ServerApp } from '../../protocol/context.ts';
import { ErrorCode } from '../../protocol/errors.ts';
import { handle } from '../../protocol/handle.ts';
import type { OutgoingMessage, Reply } from '../../protocol/messages.ts';
import { isInitializeEraVersion } from '../../protocol/versions.ts';
import { readMessage } from './message.ts';
import { sendEmpty, sendRpcError, sendUnavailable, sendUnsupportedVersion } from './reply.ts';
import { acceptance, header } from './request.ts';
import { HttpSession, type SessionStore } from './sessions.ts';
import { SseSink, type StreamRegistry } from './sse.ts';
import type { Caller } from './streamable.ts';

export interface LegacySseOptions {
  app: ServerApp;
  store: SessionStore;
  maxBodyBytes: number;
  streams: StreamRegistry;
  clock: Clock;
}

export const MESSAGES_PATH = '/messages';

/**
 * The 2024-11-05 HTTP+SSE transport: GET /sse opens the session's stream, whose first event
 * (`endpoint`) names the URI to POST messages to; replies and notifications go out on the
 * stream as `message` events. Closing the stream ends the session and aborts its calls; so
 * does MCP_STREAM_IDLE_MS of silence on it (the only end this transport allows).
 */
export class LegacySseEndpoint {
  private readonly options: LegacySseOptions;

  constructor(options: LegacySseOptions) {
    this.options = options;
  }

  open(req: IncomingMessage, res: ServerResponse, caller: Caller): void {
    const { store } = this.options;
    if (!acceptance(header(req, 'accept')).sse) {
      return sendRpcError(res, 406, ErrorCode.ServerError, 'Not Acceptable: Accept must allow text/event-stream', caller.headers);
    }
    const slot = this.options.streams.take(caller.key);
    if (typeof slot === 'string') return sendUnavailable(res, slot, caller.headers);
    const session = new HttpSession('legacy', caller.key, store.eventBudget, this.options.clock);
    const noRoom = store.add(session);
    if (noRoom) {
      slot.release();
      return sendUnavailable(res, noRoom, caller.headers);
    }
    const sink = new SseSink(this.options.streams, slot, res, this.options.clock, { headers: caller.headers, endsWhenIdle: true });
    session.stream = sink;
    // Nothing else could receive the replies, so the session ends with its stream.
    sink.onClose(() => store.delete(session.id, 'its event stream closed'));
    sink.send(`${MESSAGES_PATH}?sessionId=${session.id}`, undefined, 'endpoint');
  }

  async message(req: IncomingMessage, res: ServerResponse, caller: Caller, query: URLSearchParams): Promise<void> {
    const { headers } = caller;
    const sessionId = query.get('sessionId');
    if (!sessionId) return sendRpcError(res, 400, ErrorCode.ServerError, 'Bad Request: the sessionId query parameter is required', headers);
    const session = this.options.store.get(sessionId);
    if (session?.kind !== 'legacy' || session.owner !== caller.key || !session.stream?.isOpen) {
      return sendRpcError(res, 404, ErrorCode.SessionNotFound, 'Session not found', headers);
    }
    const version = header(req, 'mcp-protocol-version');
    if (version !== undefined && !isInitializeEraVersion(version)) {
      return sendUnsupportedVersion(res, version, headers);
    }
    const read = await readMessage(req, res, this.options.maxBodyBytes, headers);
    if (!read) return;
    const { message } = read;
    // Accepted: everything this message causes goes out on the session's stream.
    sendEmpty(res, 202, headers);
    const send = (out: OutgoingMessage | Reply): void => {
      for (const item of Array.isArray(out) ? out : [out]) session.stream?.send(JSON.stringify(item), undefined, 'message');
    };
    const ctx: Context = {
      app: this.options.app,
      session: session.protocol,
      notify: send,
      home: send,
      origin: { transport: 'sse', key: caller.key || undefined },
    };
    const ended = session.beginExchange();
    try {
      const reply = await handle(message, ctx);
      if (reply !== undefined) send(reply);
    } finally {
      ended();
    }
  }
}
