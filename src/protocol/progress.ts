import type { Timer } from '../clock.ts';
import type { CallContext, ProgressToken } from './context.ts';
import { notification } from './messages.ts';

/**
 * Turns streamed text into `notifications/progress`, merged per tick: at most one
 * notification per interval, nothing lost, text in order, `progress` strictly increasing
 * (characters received). `finish()` flushes what is pending; nothing is sent after it.
 */
export class ProgressReporter {
  private readonly token: ProgressToken;
  private readonly call: CallContext;
  private readonly intervalMs: number;
  private pending = '';
  private received = 0;
  private lastSentAt = -Infinity;
  private timer: Timer | undefined;
  private finished = false;

  constructor(token: ProgressToken, call: CallContext, intervalMs = 50) {
    this.token = token;
    this.call = call;
    this.intervalMs = intervalMs;
  }

  /** Adds text as it arrives from the upstream. */
  add(text: string): void {
    if (this.finished || text.length === 0) return;
    this.pending += text;
    this.received += text.length;
    if (this.timer) return;
    const { clock } = this.call.app;
    const wait = this.lastSentAt + this.intervalMs - clock.now();
    if (wait <= 0) this.flush();
    else this.timer = clock.setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending and stops; call before the reply goes out. */
  finish(): void {
    if (this.finished) return;
    if (!this.call.cancelled) this.flush();
    this.finished = true;
    this.clearTimer();
  }

  private flush(): void {
    this.clearTimer();
    if (this.pending.length === 0 || this.finished) return;
    const params: Record<string, unknown> = { progressToken: this.token, progress: this.received };
    if (this.call.features.progressMessage) params.message = this.pending;
    this.pending = '';
    this.lastSentAt = this.call.app.clock.now();
    this.call.notify(notification('notifications/progress', params));
  }

  private clearTimer(): void {
    this.call.app.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
