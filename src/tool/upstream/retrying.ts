import { sleepOn, systemClock, type Clock, type Sleep } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import { DeadlineExceeded, UpstreamError } from './errors.ts';
import type { CancelSignal } from '../../cancel.ts';
import type { CompleteOptions, Completion, RetryNotice, Upstream, UpstreamCall } from './types.ts';

export interface RetryOptions {
  maxRetries: number;
  log: Logger;
  /** Told after every attempt: its HTTP status (none for a connection failure) and duration. */
  onAttempt?: (status: number | undefined, seconds: number) => void;
  /** First backoff; doubles per attempt, up to `maxDelayMs`, each with ±25 % jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  /** Deadlines are read on this clock; waits between attempts are taken with `sleep` (its clock by default). */
  clock?: Clock;
  sleep?: Sleep;
}

/**
 * Retries what may succeed a moment later (408, 409, 429, 5xx, connection failures), with
 * exponential backoff and jitter, honouring `retry-after-ms` and `Retry-After`, never past
 * the call's deadline. A streamed call is not retried once text has reached the client.
 * The final error says how many attempts were made and the last upstream status.
 */
export function withRetries(upstream: Upstream, options: RetryOptions): Upstream {
  const base = options.baseDelayMs ?? 500;
  const cap = options.maxDelayMs ?? 8_000;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? sleepOn(clock);

  async function complete(request: UpstreamCall, call: CompleteOptions): Promise<Completion> {
    // Only a streamed call needs watching for text already sent.
    const delivery = call.onText ? new Delivery(call, call.onText) : undefined;
    const attemptOptions = delivery ?? call;
    let last: UpstreamError | undefined;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const completion = await upstream.complete(request, attemptOptions);
        options.onAttempt?.(completion.status, (performance.now() - started) / 1000);
        completion.attempts = attempt;
        return completion;
      } catch (error) {
        if (!(error instanceof UpstreamError)) throw error;
        options.onAttempt?.(error.status, (performance.now() - started) / 1000);
        last = error;
        if (error.failure === 'timeout' || !error.retryable || delivery?.delivered || attempt > options.maxRetries) {
          throw finalError(error, attempt, last);
        }
        const backoff = Math.min(cap, base * 2 ** (attempt - 1)) * (0.75 + random() * 0.5);
        const wait = Math.round(error.retryAfterMs ?? backoff);
        if (clock.now() + wait >= call.deadline) throw finalError(error, attempt, last, ' No time was left to retry before the deadline.');
        const status = error.status === undefined ? 'no response' : `HTTP ${error.status}`;
        options.log.warn('upstream attempt failed; retrying', {
          attempt,
          of: options.maxRetries + 1,
          status: error.status,
          failure: error.failure,
          retry_in_ms: wait,
          upstream_request_id: error.requestId,
        });
        call.onRetry?.({
          attempt,
          status: error.status,
          waitMs: wait,
          message: `Upstream attempt ${attempt} of ${options.maxRetries + 1} failed (${status}); retrying in ${(wait / 1000).toFixed(1)} s.`,
        });
        try {
          await sleep(wait, call.signal);
        } catch (reason) {
          if (reason instanceof DeadlineExceeded) throw finalError(timeoutError(reason), attempt, last);
          throw reason;
        }
      }
    }
  }

  const wrapped: Upstream = { name: upstream.name, complete, close: () => upstream.close() };
  return upstream.background ? { ...wrapped, background: upstream.background } : wrapped;
}

function timeoutError(reason: DeadlineExceeded): UpstreamError {
  return new UpstreamError('timeout', reason.message);
}

function finalError(error: UpstreamError, attempts: number, last: UpstreamError | undefined, note = ''): UpstreamError {
  const status = error.status ?? last?.status;
  const summary = ` (attempts: ${attempts}; last upstream status: ${status === undefined ? 'none' : `HTTP ${status}`})`;
  return error.withNote(`${note}${summary}`, attempts);
}

/** A streamed call's options, noting whether any text has reached the client (after which no retry). */
class Delivery implements CompleteOptions {
  delivered = false;
  readonly onText: (text: string) => void;

  constructor(
    private readonly call: CompleteOptions,
    onText: (text: string) => void,
  ) {
    this.onText = (text) => {
      this.delivered = true;
      onText(text);
    };
  }

  get signal(): CancelSignal {
    return this.call.signal;
  }
  get deadline(): number {
    return this.call.deadline;
  }
  get onReasoning(): ((text: string) => void) | undefined {
    return this.call.onReasoning;
  }
  onRetry(notice: RetryNotice): void {
    this.call.onRetry?.(notice);
  }
  onBackground(responseId: string): void {
    this.call.onBackground?.(responseId);
  }
  onWaiting(what: string): void {
    this.call.onWaiting?.(what);
  }
}
