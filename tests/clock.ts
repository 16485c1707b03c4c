import type { Clock, Timer } from '../src/clock.ts';

/**
 * A clock that only moves when told to: `advance(ms)` runs, in order, every timer that falls
 * due. The tests' stand-in for the system clock.
 */
export class ManualClock implements Clock {
  private time: number;
  private timers: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer = { at: this.time + Math.max(0, ms), seq: ++this.seq, fn };
    this.timers.push(timer);
    return timer as Timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    this.timers = this.timers.filter((t) => (t as Timer) !== timer);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = target;
  }
}
