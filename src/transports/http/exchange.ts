import type { ServerResponse } from 'node:http';
import type { Clock } from '../../clock.ts';
import type { OutgoingMessage, Reply } from '../../protocol/messages.ts';
import type { Headers } from './reply.ts';
import { sendEmpty, sendJson } from './reply.ts';
import type { HttpSession, LiveStream } from './sessions.ts';
import { SseSink, type StreamRegistry, type StreamSlot } from './sse.ts';
import { httpStatusFor } from './status.ts';

export interface ExchangeOptions {
  streams: StreamRegistry;
  clock: Clock;
  /** Whose stream slots an event stream takes (the caller's key name). */
  owner: string;
  /** A slot taken before the request ran (subscriptions are nothing but a stream). */
  slot?: StreamSlot;
  res: ServerResponse;
  accept: { json: boolean; sse: boolean };
  /** Headers every answer carries (CORS, Mcp-Session-Id for a new session). */
  headers: Headers;
  /** In a session, the stream's events are logged under ids so the client can resume. */
  session: HttpSession | undefined;
  /** Send a priming event first (clients on 2025-11-25 and later). */
  prime: boolean;
  /** The POST carries at least one request, so it is owed a response stream or body. */
  hasRequests: boolean;
}

/**
 * The answer to one POST on /mcp. It starts undecided: a reply alone goes out as
 * application/json; a notification before the reply (progress, logs) turns the answer into
 * a text/event-stream, when the client accepts one. In a session the stream is logged, so a
 * client that lost the connection can resume it with Last-Event-ID; the call itself runs on.
 * A stream takes one of the owner's stream slots; with none free the answer stays JSON and
 * its notifications are dropped (the call itself is never refused for want of a stream).
 */
export class PostExchange {
  private readonly options: ExchangeOptions;
  /** The session's record of this stream, made once the answer streams or the client goes. */
  private live: LiveStream | undefined;
  private sink: SseSink | undefined;
  private mode: 'pending' | 'sse' | 'done' = 'pending';
  private reserved: StreamSlot | undefined;

  constructor(options: ExchangeOptions) {
    this.options = options;
    this.reserved = options.slot;
  }

  private ensureLive(): LiveStream | undefined {
    const { session, hasRequests } = this.options;
    if (!this.live && session && hasRequests) {
      this.live = { key: session.nextStreamKey('p'), sink: undefined };
      session.liveStreams.set(this.live.key, this.live);
    }
    return this.live;
  }

  /** A notification about the request being served. Dropped when no stream can carry it. */
  notify(message: OutgoingMessage): void {
    if (this.mode === 'done') return;
    if (this.mode === 'pending') {
      // No stream can carry it (and none was announced, so none can be resumed): dropped.
      if (!this.options.accept.sse || this.options.res.destroyed || !this.startStream()) return;
    }
    this.emit(message);
  }

  /**
   * The reply (or none, for notifications and cancelled requests); ends the answer. A JSON
   * answer's status comes from the reply (httpStatusFor); one that is not 200 is sent as JSON
   * even to a client that accepts only event streams, since a stream's status is always 200.
   * `extraHeaders` join the answer's headers (Mcp-Session-Id for a session just opened).
   */
  finish(reply: Reply | undefined, extraHeaders?: Headers): void {
    if (this.mode === 'done') return;
    const { res, accept, hasRequests } = this.options;
    const headers = extraHeaders ? { ...this.options.headers, ...extraHeaders } : this.options.headers;
    if (this.mode === 'pending') {
      if (reply === undefined) {
        if (!hasRequests) sendEmpty(res, 202, headers);
        // A cancelled request gets no reply: an event stream that ends with no further event.
        else if (!accept.sse || !this.startStream()) sendEmpty(res, 204, headers);
      } else {
        const status = httpStatusFor(reply, hasRequests);
        if (!res.destroyed && (status !== 200 || accept.json || !accept.sse || !this.startStream())) {
          this.mode = 'done';
          this.endLive();
          this.releaseReserved();
          sendJson(res, status, reply, headers);
          return;
        }
        if (res.destroyed) this.emit(reply);
      }
    }
    if (this.mode === 'sse' && reply !== undefined) this.emit(reply);
    this.mode = 'done';
    this.endLive();
    this.releaseReserved();
    this.sink?.end();
  }

  /** The client went away: in a session the call runs on and its events wait in the log. */
  detach(): void {
    const live = this.ensureLive();
    if (live) live.sink = undefined;
    this.sink = undefined;
  }

  /** Turns the answer into an event stream; false when no stream slot is free. */
  private startStream(): boolean {
    const { res, headers, session, prime } = this.options;
    if (res.destroyed || res.headersSent) {
      // Detached: in a session the events still go to the log, for a resume.
      this.mode = 'sse';
      return true;
    }
    const slot = this.reserved ?? this.options.streams.take(this.options.owner);
    this.reserved = undefined;
    if (typeof slot === 'string') return false;
    this.mode = 'sse';
    this.sink = new SseSink(this.options.streams, slot, res, this.options.clock, { headers });
    const live = this.ensureLive();
    if (live && session) {
      live.sink = this.sink;
      if (prime) this.sink.prime(session.events.nextId(live.key));
    }
    return true;
  }

  private releaseReserved(): void {
    this.reserved?.release();
    this.reserved = undefined;
  }

  private emit(reply: Reply | OutgoingMessage): void {
    // A batch reply goes out as one event per response: clients parse events one message each.
    for (const message of Array.isArray(reply) ? reply : [reply]) {
      const data = JSON.stringify(message);
      const { session } = this.options;
      if (this.live && session) {
        const id = session.events.append(this.live.key, data);
        this.live.sink?.send(data, id);
      } else {
        this.sink?.send(data);
      }
    }
  }

  private endLive(): void {
    if (!this.live || !this.options.session) return;
    const { liveStreams, events } = this.options.session;
    if (liveStreams.get(this.live.key) === this.live) liveStreams.delete(this.live.key);
    // Delivered whole on a connection that is still open: nothing will need replaying.
    if (this.live.sink?.isOpen) events.drop(this.live.key);
    // A resumed connection that is carrying this stream ends with it.
    if (this.live.sink && this.live.sink !== this.sink) this.live.sink.end();
  }
}
