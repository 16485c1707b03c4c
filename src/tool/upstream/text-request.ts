import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../../cancel.ts';
import { UpstreamError } from './errors.ts';

export interface TextResponse {
  statusCode: number;
  /** As undici gives them: name, value, name, value... (parsed only where needed: headerValue, or undici's parser for errors). */
  rawHeaders: Buffer[];
  text: string;
}

/** How far a body is read: an answer past `answer` bytes is refused; an error body past `error` is cut there. */
export interface BodyCaps {
  answer: number;
  error: number;
}

/** The connection failed after the status line came in: the caller says what that means. */
export class BrokenResponse {
  constructor(
    readonly cause: unknown,
    readonly statusCode: number,
    readonly rawHeaders: Buffer[],
  ) {}
}

/** The first value of the header `name` (lower case), as undici's parser would give it. */
export function headerValue(rawHeaders: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) return rawHeaders[i + 1]!.toString('latin1');
  }
  return undefined;
}

/**
 * What a call makes of its answer, applied by the handler as the answer completes: the
 * caller needs no async frame of its own waiting for it (a frame is memory held while the
 * upstream thinks, a few hundred bytes for each of thousands of slow calls).
 */
export interface AnswerReader<T> {
  /** The answer from the whole response; what it throws is passed to `failed`. */
  read(response: TextResponse): T;
  /** What the call fails with, for what failed: a failure before the status line, a BrokenResponse after it, or what `read` threw. */
  failed(error: unknown): unknown;
}

const AS_IS: AnswerReader<TextResponse> = { read: (response) => response, failed: (error) => error };

/**
 * A request whose answer is read whole, straight from undici's dispatcher handler: no response
 * stream, no per-request async resource, one promise. undici's `request` builds a Readable and
 * its consumers for a body this client only ever reads to its end (about 4 KB of the 39 a call
 * allocated). Rejects with `reader.failed` of the failure before the status line, a
 * BrokenResponse after it, or an UpstreamError for an answer past its cap.
 */
export function requestText<T = TextResponse>(
  dispatcher: Dispatcher,
  options: Omit<Dispatcher.DispatchOptions, 'signal'> & { signal: CancelSignal },
  caps: BodyCaps,
  reader: AnswerReader<T> = AS_IS as unknown as AnswerReader<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const handler = new TextHandler(options.signal, caps, reader, resolve, reject);
    try {
      // undici's core does not read the signal (its `request` API does): the handler listens to it.
      dispatcher.dispatch(options as Dispatcher.DispatchOptions, handler);
    } catch (error) {
      handler.onError(error);
    }
  });
}

/** undici's handler interface (onConnect, onHeaders, onData, onComplete, onError): one request's answer into a string. */
export class TextHandler<T = TextResponse> {
  private abortRequest: ((reason?: Error) => void) | undefined;
  private statusCode = 0;
  private rawHeaders: Buffer[] = [];
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private cap = 0;
  private settled = false;
  private readonly onAbort = (): void => this.abortRequest?.(this.signal.reason as Error);

  constructor(
    private readonly signal: CancelSignal,
    private readonly caps: BodyCaps,
    private readonly reader: AnswerReader<T>,
    private readonly resolve: (answer: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    signal.addEventListener('abort', this.onAbort);
  }

  onConnect(abort: (reason?: Error) => void): void {
    // Cancelled while the request waited for a connection.
    if (this.signal.aborted) return abort(this.signal.reason as Error);
    this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // informational: the answer is still to come
    this.statusCode = statusCode;
    this.rawHeaders = rawHeaders;
    this.cap = statusCode >= 400 ? this.caps.error : this.caps.answer;
    return true;
  }

  onData(chunk: Buffer): boolean {
    const room = this.cap - this.bytes;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      return true;
    }
    if (this.statusCode < 400) {
      this.fail(new UpstreamError('protocol', "The upstream's answer exceeds the size limit."));
    } else {
      // An error body has said enough: what fits is kept.
      this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.cap;
      this.finish();
    }
    this.abortRequest?.();
    return false;
  }

  onComplete(): void {
    this.finish();
  }

  onError(error: unknown): void {
    this.fail(this.statusCode === 0 ? error : new BrokenResponse(error, this.statusCode, this.rawHeaders));
  }

  private finish(): void {
    if (this.settle()) return;
    const { chunks } = this;
    const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, this.bytes).toString('utf8');
    let answer: T;
    try {
      answer = this.reader.read({ statusCode: this.statusCode, rawHeaders: this.rawHeaders, text });
    } catch (error) {
      return this.reject(this.reader.failed(error));
    }
    this.resolve(answer);
  }

  private fail(error: unknown): void {
    if (!this.settle()) this.reject(this.reader.failed(error));
  }

  /** True when the answer was already given; else marks it given and lets go of the signal. */
  private settle(): boolean {
    if (this.settled) return true;
    this.settled = true;
    this.signal.removeEventListener('abort', this.onAbort);
    return false;
  }
}
