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
 * A request whose answer is read whole, straight from undici's dispatcher handler: no response
 * stream, no per-request async resource, one promise. undici's `request` builds a Readable and
 * its consumers for a body this client only ever reads to its end (about 4 KB of the 39 a call
 * allocated). Rejects with the failure before the status line, a BrokenResponse after it, or
 * an UpstreamError for an answer past its cap.
 */
export function requestText(
  dispatcher: Dispatcher,
  options: Omit<Dispatcher.DispatchOptions, 'signal'> & { signal: CancelSignal },
  caps: BodyCaps,
): Promise<TextResponse> {
  return new Promise((resolve, reject) => {
    // undici's core does not read the signal (its `request` API does): the handler listens to it.
    dispatcher.dispatch(options as Dispatcher.DispatchOptions, new TextHandler(options.signal, caps, resolve, reject));
  });
}

/** undici's handler interface (onConnect, onHeaders, onData, onComplete, onError): one request's answer into a string. */
export class TextHandler {
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
    private readonly resolve: (response: TextResponse) => void,
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
    this.resolve({ statusCode: this.statusCode, rawHeaders: this.rawHeaders, text });
  }

  private fail(error: unknown): void {
    if (!this.settle()) this.reject(error);
  }

  /** True when the answer was already given; else marks it given and lets go of the signal. */
  private settle(): boolean {
    if (this.settled) return true;
    this.settled = true;
    this.signal.removeEventListener('abort', this.onAbort);
    return false;
  }
}
