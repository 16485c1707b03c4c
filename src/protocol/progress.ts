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
 * A call's `notifications/progress`: streamed text, merged per 50 ms tick, and heartbeats
 * while the call waits on something that says nothing (a free slot, a model thinking, a
 * background response): one whenever no progress went out for `heartbeatMs`. `progress`
 * counts the characters received plus one per heartbeat, so it strictly increases whatever
 * happens; `message` (2025-03-26 and later) is the new text, or for a heartbeat what the call
 * waits for and for how long. `finish()` flushes what is pending, before the reply; nothing is
 * sent after it.
 */
export class ProgressReporter {
  private readonly call: CallContext;
  private readonly token: ProgressToken;
  private readonly text: MergedText;
  private readonly heartbeatMs: number;
  private beats = 0;
  /** Characters already reported; a heartbeat counts on from there, so text sent later still counts higher. */
  private sentChars = 0;
  private heartbeat: Timer | undefined;
  private what = 'waiting for the upstream';
  private since: number;
  private finished = false;

  constructor(token: ProgressToken, call: CallContext, options: { intervalMs?: number; heartbeatMs?: number } = {}) {
    this.call = call;
    this.token = token;
    this.heartbeatMs = options.heartbeatMs ?? 0;
    this.since = call.app.clock.now();
    this.text = new MergedText(call.app.clock, options.intervalMs ?? 50, (message, total) => {
      this.sentChars = total;
      this.send(total + this.beats, message);
    });
    this.arm();
  }

  /** Adds text as it arrives from the upstream. */
  add(text: string): void {
    if (this.text.received === 0) this.waiting('waiting for more of the answer');
    else this.since = this.call.app.clock.now();
    this.text.add(text);
  }

  /** What the call waits for from now on (a phrase: "queued for a free upstream slot"), for heartbeats. */
  waiting(what: string): void {
    this.what = what;
    this.since = this.call.app.clock.now();
  }

  /** Sends what is pending and stops; call before the reply goes out. */
  finish(): void {
    this.finished = true;
    this.call.app.clock.clearTimeout(this.heartbeat);
    this.text.finish(!this.call.cancelled);
  }

  private send(progress: number, message: string): void {
    const params: Record<string, unknown> = { progressToken: this.token, progress };
    if (this.call.features.progressMessage) params.message = message;
    this.call.notify(notification('notifications/progress', params));
    this.arm();
  }

  private arm(): void {
    if (this.heartbeatMs <= 0 || this.finished) return;
    const { clock } = this.call.app;
    clock.clearTimeout(this.heartbeat);
    this.heartbeat = clock.setTimeout(() => {
      if (this.finished || this.call.cancelled) return;
      this.beats++;
      this.send(this.sentChars + this.beats, `${capitalize(this.what)} (${elapsed(clock.now() - this.since)} so far).`);
    }, this.heartbeatMs);
  }
}

/** A phrase as the start of a sentence. */
export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A duration as people read it: 45 s, 3 min 20 s, 1 h 5 min. */
export function elapsed(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`;
  return minutes % 60 === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
