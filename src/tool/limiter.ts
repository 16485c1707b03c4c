/**
 * Bounds the upstream calls running at once. Calls past the limit wait in a bounded FIFO
 * queue; past that, `acquire` answers 'busy' at once. A waiting call whose signal aborts
 * (cancelled, or out of time) leaves the queue.
 */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  fail: (reason: unknown) => void;
}

export class Limiter {
  private readonly maxActive: number;
  private readonly maxQueue: number;
  private active = 0;
  // A Set keeps insertion order and removes in O(1) when a waiter gives up.
  private readonly waiting = new Set<Waiter>();

  constructor(maxActive: number, maxQueue: number) {
    this.maxActive = maxActive;
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.size;
  }

  acquire(signal: AbortSignal): Promise<Release> | 'busy' {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.maxActive) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.size >= this.maxQueue) return 'busy';
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiting.delete(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: reject,
      };
      this.waiting.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.values().next();
      if (next.done) {
        this.active--;
        return;
      }
      // The slot passes straight to the next waiter.
      this.waiting.delete(next.value);
      next.value.grant(this.releaser());
    };
  }
}
