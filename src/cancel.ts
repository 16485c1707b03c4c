/**
 * What the server's own code needs of a cancellation signal. An AbortSignal has all of it;
 * so has CallCancel, the lighter one every request gets.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Anything a cancel can abort: a request's CallCancel, a task's AbortController. */
export interface Abortable {
  abort(reason?: unknown): void;
}

/**
 * A request's cancellation, one per request, aborted by every cancel path and handed to the
 * upstream call, as an AbortController would be, without the EventTarget underneath: Node's
 * AbortController cost about 12 us and 1.5 KB per request (its signal is an EventTarget made on
 * first access, and each listener goes through the event machinery), for a signal that has one
 * or two listeners in its life. undici accepts it as it accepts an AbortSignal: it reads
 * `aborted` and `reason` and adds and removes an `abort` listener (lib/api/abort-signal.js).
 * Listeners run once, in order, on the first abort; one added after it never runs (as with an
 * AbortSignal, whose event has been dispatched).
 */
export class CallCancel implements CancelSignal, Abortable {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  get signal(): CancelSignal {
    return this;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason ?? new DOMException('This operation was aborted', 'AbortError');
    const listeners = this.listeners;
    this.listeners = undefined;
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        // As an EventTarget does: the listener's failure is not the aborter's.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    if (this.listeners) this.listeners.push(listener);
    else this.listeners = [listener];
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at !== -1) this.listeners!.splice(at, 1);
  }
}
