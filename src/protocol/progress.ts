import type { Clock, Timer } from '../clock.ts';
import type { CallContext, ProgressToken } from './context.ts';
import { notification } from './messages.ts';

/**
 * Text that arrives in pieces, sent on merged per tick: at most one `send` per interval,
 * nothing lost, in order. `finish()` sends what is pending (unless told not to); nothing is
 * sent after it.
 */
export class MergedText {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly send: (text: string, total: number) => void;
  private pending = '';
  private total = 0;
  private lastSentAt = -Infinity;
  private timer: Timer | undefined;
  private finished = false;

  constructor(clock: Clock, intervalMs: number, send: (text: string, total: number) => void) {
    this.clock = clock;
    this.intervalMs = intervalMs;
    this.send = send;
  }

  /** Characters added so far. */
  get received(): number {
    return this.total;
  }

  add(text: string): void {
    if (this.finished || text.length === 0) return;
    this.pending += text;
    this.total += text.length;
    if (this.timer) return;
    const wait = this.lastSentAt + this.intervalMs - this.clock.now();
    if (wait <= 0) this.flush();
    else this.timer = this.clock.setTimeout(() => this.flush(), wait);
  }

  finish(flush = true): void {
    if (this.finished) return;
    if (flush) this.flush();
    this.finished = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.finished) return;
    const text = this.pending;
    this.pending = '';
    this.lastSentAt = this.clock.now();
    this.send(text, this.total);
  }
}

/**
 * Turns streamed text into `notifications/progress`, merged per 50 ms tick: `progress` is
 * the characters received (strictly increasing), `message` the new text (2025-03-26 and
 * later). `finish()` flushes what is pending, before the reply; nothing is sent after it.
 */
export class ProgressReporter {
  private readonly call: CallContext;
  private readonly text: MergedText;

  constructor(token: ProgressToken, call: CallContext, intervalMs = 50) {
    this.call = call;
    this.text = new MergedText(call.app.clock, intervalMs, (message, total) => {
      const params: Record<string, unknown> = { progressToken: token, progress: total };
      if (call.features.progressMessage) params.message = message;
      call.notify(notification('notifications/progress', params));
    });
  }

  /** Adds text as it arrives from the upstream. */
  add(text: string): void {
    this.text.add(text);
  }

  /** Sends what is pending and stops; call before the reply goes out. */
  finish(): void {
    this.text.finish(!this.call.cancelled);
  }
}
