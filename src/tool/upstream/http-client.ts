import type { CancelSignal } from '../../cancel.ts';
import { Writable } from 'node:stream';
import type { Clock } from '../../clock.ts';
import { DeadlineExceeded, retryAfterMs, statusAdvice, statusSummary, UpstreamError, upstreamMessageOf, type Redactor } from './errors.ts';
import { errorCode, headerOf, parseJson } from './body.ts';
import { SseParser, type StreamEvent } from './sse.ts';
import { JsonReader } from './json-reader.ts';
import { requestText, type BodyCaps } from './text-request.ts';

export type Undici = typeof import('./undici.ts');
type Dispatcher = import('./undici.ts').Dispatcher;
type ResponseHeaders = Record<string, string | string[] | undefined>;
type Loaded = { undici: Undici; dispatcher: Dispatcher };

/** Error bodies are read this far, and no further. */
const ERROR_BODY_CAP = 64 * 1024;
/** After an event stream says it is done, the upstream gets this long to end the response. */
const DRAIN_AFTER_DONE_MS = 1_000;

export interface HttpClientOptions {
  baseUrl: string;
  apiKey: string;
  userAgent: string;
  clock: Clock;
  redact: Redactor;
  /** Largest accepted response body (non-streamed) or streamed answer, in bytes. */
  maxResponseBytes?: number;
}

/** What one call allows: its signal (cancel, deadline) and when it must be over (epoch ms, on the clock). */
export interface CallBudget {
  signal: CancelSignal;
  deadline: number;
  /** An event stream silent this long counts as a broken connection (undici's body timeout); default: the deadline. */
  idleMs?: number;
}

export interface JsonAnswer {
  body: unknown;
  status: number;
  requestId: string | undefined;
}

/** `done`: the stream's answer is complete (its terminal event); nothing more is needed from it. */
export type EventVerdict = 'done' | undefined;

export interface StreamAnswer {
  status: number;
  requestId: string | undefined;
  /** The stream said it was done (else it simply ended). */
  done: boolean;
  /** The upstream ignored `stream: true` and answered JSON. */
  json?: unknown;
}

/**
 * The thin HTTP client under every upstream API: undici's dispatcher API (`request` for JSON,
 * `stream` for event streams) on one keep-alive pool that honours HTTPS_PROXY/NO_PROXY,
 * loaded on the first call. Error statuses become UpstreamErrors quoting the upstream's
 * message (redacted); bodies are capped; undici's own timers never cut what the deadline allows.
 */
export class UpstreamHttp {
  private readonly options: HttpClientOptions;
  private readonly origin: string;
  private readonly basePath: string;
  private readonly maxResponseBytes: number;
  private readonly caps: BodyCaps;
  private readonly jsonHeaders: Record<string, string>;
  private readonly streamHeaders: Record<string, string>;
  private loaded: Promise<Loaded> | undefined;
  /** The loaded client, once it is: later calls need not wait a turn for it. */
  private ready: Loaded | undefined;

  constructor(options: HttpClientOptions) {
    this.options = options;
    const url = new URL(options.baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
    this.caps = { answer: this.maxResponseBytes, error: ERROR_BODY_CAP };
    // Built once: every call sends the same headers.
    const headers = (accept: string) => ({
      'content-type': 'application/json',
      accept,
      authorization: `Bearer ${options.apiKey}`,
      'user-agent': options.userAgent,
    });
    this.jsonHeaders = headers('application/json');
    this.streamHeaders = headers('text/event-stream');
  }

  /** A request answered with JSON. */
  json(method: 'GET' | 'POST', path: string, body: unknown, call: CallBudget): Promise<JsonAnswer> {
    return this.decoded(method, path, body, call, asAnswer, undefined);
  }

  /**
   * A request answered with JSON, made into `decode(answer, arg)` as it arrives: no async
   * frame waits for it, neither here nor in the caller (see AnswerReader).
   */
  decoded<T, A>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    call: CallBudget,
    decode: (answer: JsonAnswer, arg: A) => T,
    arg: A,
  ): Promise<T> {
    const { ready } = this;
    if (!ready) return this.load().then(() => this.decoded(method, path, body, call, decode, arg));
    const options = this.requestOptions(method, path, body, call, this.jsonHeaders);
    return requestText(ready.dispatcher, options, this.caps, new JsonReader(this, ready.undici, call, decode, arg));
  }

  /**
   * A request answered with an event stream: each event goes to `onEvent`, in order, until
   * the stream ends or `onEvent` says it is done. A done stream is answered at once; the
   * upstream gets a moment to end the response (so the connection can be reused), then the
   * request is cut. An upstream that answers JSON instead is accepted (`json`).
   */
  async events(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    call: CallBudget,
    onEvent: (event: StreamEvent, requestId: string | undefined) => EventVerdict,
  ): Promise<StreamAnswer> {
    const { undici, dispatcher } = this.ready ?? (await this.load());
    try {
      let status = 0;
      let requestId: string | undefined;
      let responseHeaders: ResponseHeaders = {};
      let plain: { chunks: Buffer[]; bytes: number; cap: number } | undefined;
      let sink: Writable | undefined;
      let done = false;
      let markDone!: () => void;
      const doneSignal = new Promise<void>((resolve) => (markDone = resolve));
      const parser = new SseParser((event) => {
        if (done) return;
        if (onEvent(event, requestId) === 'done') {
          done = true;
          markDone();
        }
      });
      const receive = undici.stream(
        dispatcher,
        this.requestOptions(method, path, body, call, this.streamHeaders),
        ({ statusCode, headers }) => {
          status = statusCode;
          responseHeaders = headers;
          requestId = this.requestIdOf(headers);
          // Error bodies, and upstreams that ignore `stream: true`, are collected whole (capped).
          if (statusCode >= 400 || !(headerOf(headers, 'content-type') ?? '').includes('text/event-stream')) {
            plain = { chunks: [], bytes: 0, cap: statusCode >= 400 ? ERROR_BODY_CAP : this.maxResponseBytes };
          }
          const collecting = plain;
          sink = new Writable({
            write: (chunk: Buffer, _encoding, callback) => {
              try {
                if (!collecting) {
                  parser.push(chunk);
                  return callback();
                }
                const room = collecting.cap - collecting.bytes;
                if (chunk.length >= room) {
                  collecting.chunks.push(chunk.subarray(0, room));
                  collecting.bytes += room;
                  // Past the cap: an answer is too large; an error body has said enough.
                  if (statusCode < 400) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
                  done = true;
                  markDone();
                  return callback();
                }
                collecting.chunks.push(chunk);
                collecting.bytes += chunk.length;
                callback();
              } catch (error) {
                callback(error as Error);
              }
            },
          });
          return sink;
        },
      );
      const settled = receive.then(
        () => false,
        (error: unknown) => {
          // Once the status line is in, a failure is a connection broken mid-answer.
          if (status === 0 || error instanceof UpstreamError || call.signal.aborted) throw error;
          throw this.brokenAnswer(error, status, requestId);
        },
      );
      if (await Promise.race([settled, doneSignal.then(() => true)])) {
        // Answered: let the response end by itself for a moment, then cut it.
        const timer = this.options.clock.setTimeout(() => sink?.destroy(), DRAIN_AFTER_DONE_MS);
        void settled.catch(() => undefined).finally(() => this.options.clock.clearTimeout(timer));
      } else {
        parser.end();
      }
      if (plain) {
        const text = Buffer.concat(plain.chunks).toString('utf8');
        if (status >= 400) throw this.httpError(status, text, requestId, responseHeaders);
        return { status, requestId, done: true, json: parseJson(text, requestId) };
      }
      return { status, requestId, done };
    } catch (error) {
      throw this.failureOf(call, error);
    }
  }

  async close(): Promise<void> {
    if (this.loaded) await (await this.loaded).dispatcher.close().catch(() => undefined);
  }

  private load(): Promise<Loaded> {
    this.loaded ??= import('./undici.ts').then((undici) => {
      this.ready = { undici, dispatcher: undici.createDispatcher({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 }) };
      return this.ready;
    });
    return this.loaded;
  }

  private requestOptions(method: 'GET' | 'POST', path: string, body: unknown, call: CallBudget, headers: Record<string, string>) {
    // undici's own timers (300 s by default) must not cut a call the deadline still allows.
    const remaining = Math.max(1, call.deadline - this.options.clock.now());
    return {
      origin: this.origin,
      path: `${this.basePath}${path}`,
      method,
      headers,
      ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
      signal: call.signal,
      headersTimeout: remaining,
      bodyTimeout: call.idleMs === undefined ? remaining : Math.min(remaining, call.idleMs),
    };
  }

  /** What escaped a call, as the call's failure: timeout, cancel, or the network. */
  failureOf(call: CallBudget, error: unknown): unknown {
    if (call.signal.aborted) {
      const reason: unknown = call.signal.reason;
      if (reason instanceof DeadlineExceeded) return new UpstreamError('timeout', reason.message);
      return reason ?? error;
    }
    return error instanceof UpstreamError ? error : this.networkError(error);
  }

  /** The upstream's request id, for support tickets: only when it is plain and holds no secret. */
  requestIdOf(headers: ResponseHeaders): string | undefined {
    return this.plainRequestId(headerOf(headers, 'x-request-id'));
  }

  plainRequestId(id: string | undefined): string | undefined {
    if (id === undefined || !/^[\w.:/+=-]{1,200}$/.test(id)) return undefined;
    return this.options.redact(id) === id ? id : undefined;
  }

  httpError(status: number, body: string, requestId: string | undefined, headers: ResponseHeaders): UpstreamError {
    const upstreamMessage = upstreamMessageOf(body, this.options.redact);
    const said = upstreamMessage ? `: ${upstreamMessage.replace(/\.$/, '')}` : '';
    const wait = retryAfterMs(headers, this.options.clock.now());
    return new UpstreamError('http', `${statusSummary(status)} (HTTP ${status})${said}. ${statusAdvice(status)}`, {
      status,
      requestId,
      ...(wait !== undefined ? { retryAfterMs: wait } : {}),
      ...(upstreamMessage ? { upstreamMessage } : {}),
    });
  }

  brokenAnswer(error: unknown, status: number, requestId: string | undefined): UpstreamError {
    return new UpstreamError('network', `The upstream's connection broke mid-answer (${errorCode(error)}).`, {
      status,
      requestId,
      retryable: true,
      cause: error,
    });
  }

  private networkError(error: unknown): UpstreamError {
    return new UpstreamError(
      'network',
      `Could not reach the upstream at ${this.origin} (${errorCode(error)}). Check OPENAI_BASE_URL, the network, and any HTTPS_PROXY/NO_PROXY settings.`,
      { cause: error },
    );
  }
}

const asAnswer = (answer: JsonAnswer): JsonAnswer => answer;
