import type { CancelSignal } from '../cancel.ts';
/**
 * Upstream slots shared fairly between callers (API keys). At most `maxActive` calls run at
 * once; more wait, each caller in a queue of its own, and a freed slot goes to the callers'
 * queues in turn: deficit round-robin with a unit cost per call (each caller's turn grants
 * `weight` calls), so a caller that floods waits behind its own calls, not in front of
 * everyone else's. A caller that starts waiting joins the end of the round, so it is served
 * within one round of turns: with a flood running on every slot, a quiet caller's call waits
 * for as many releases as there are callers ahead of it, well within one upstream call.
 *
 * The waiting room holds at most `maxQueue` calls in all. When it is full, an arriving call
 * takes the place of the newest call of the caller holding the most places (per unit of
 * weight), if that caller holds more than the newcomer would: longest-queue drop, so a
 * flood cannot keep a quiet caller's calls out. A caller also has a cap of its own on its
 * calls in flight, running or waiting (`maxCalls`); past it, its new calls are refused.
 */
import { LocalError } from '../errors.ts';

export type Release = () => void;

/** Why a call got no slot. `busy`: the waiting room is full; `caller`: the caller is at its own cap. */
export type Refusal = { refused: 'busy' } | { refused: 'caller'; inFlight: number; limit: number };

/** The rejection of a waiting call whose place was given to another caller's call. */
export class PushedOut extends LocalError {
  constructor() {
    super('PUSHED_OUT', 'the call lost its place in the queue to a caller with a smaller share');
  }
}

export interface CallerShare {
  /** Its share of slots in the round-robin (1 unless the keys file says otherwise). */
  weight: number;
  /** Its calls in flight at most, running or waiting. */
  maxCalls: number;
}

interface Waiter {
  readonly caller: Caller;
  grant(release: Release): void;
  reject(reason: unknown): void;
}

interface Caller {
  readonly name: string;
  weight: number;
  running: number;
  /** FIFO; a Set removes a waiter that gives up in O(1). */
  readonly waiting: Set<Waiter>;
  /** Calls this caller may still be granted in its current turn. */
  deficit: number;
}

export class Limiter {
  private readonly maxActive: number;
  private readonly maxQueue: number;
  private active = 0;
  private waitingCount = 0;
  private readonly callers = new Map<string, Caller>();
  /** Callers with waiting calls, in round-robin order; `cursor` is the one whose turn it is. */
  private ring: Caller[] = [];
  private cursor = 0;

  constructor(maxActive: number, maxQueue: number) {
    this.maxActive = maxActive;
    this.maxQueue = maxQueue;
  }

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waitingCount;
  }

  /** Calls in flight (running or waiting) of one caller. */
  inFlight(name: string): number {
    const caller = this.callers.get(name);
    return caller ? caller.running + caller.waiting.size : 0;
  }

  acquire(name: string, signal: CancelSignal, share: CallerShare): Promise<Release> | Refusal {
    if (signal.aborted) return Promise.reject(signal.reason);
    const caller = this.callerOf(name, share.weight);
    const inFlight = caller.running + caller.waiting.size;
    if (inFlight >= share.maxCalls) {
      this.forgetIfIdle(caller);
      return { refused: 'caller', inFlight, limit: share.maxCalls };
    }
    if (this.active < this.maxActive && this.waitingCount === 0) {
      this.active++;
      caller.running++;
      return Promise.resolve(this.releaser(caller));
    }
    if (this.waitingCount >= this.maxQueue && !this.pushOutFor(caller)) {
      this.forgetIfIdle(caller);
      return { refused: 'busy' };
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        this.unqueue(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        caller,
        grant: (release) => {
          signal.removeEventListener('abort', onAbort);
          resolve(release);
        },
        reject: (reason) => {
          signal.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      this.enqueue(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private callerOf(name: string, weight: number): Caller {
    let caller = this.callers.get(name);
    if (!caller) {
      caller = { name, weight, running: 0, waiting: new Set(), deficit: 0 };
      this.callers.set(name, caller);
    }
    caller.weight = weight; // a reloaded keys file may have changed it
    return caller;
  }

  private forgetIfIdle(caller: Caller): void {
    if (caller.running === 0 && caller.waiting.size === 0) this.callers.delete(caller.name);
  }

  /** Longest-queue drop: frees a place by refusing the newest call of the heaviest caller. */
  private pushOutFor(newcomer: Caller): boolean {
    let heaviest: Caller | undefined;
    for (const caller of this.ring) {
      if (!heaviest || caller.waiting.size / caller.weight > heaviest.waiting.size / heaviest.weight) heaviest = caller;
    }
    if (!heaviest || heaviest === newcomer) return false;
    if (heaviest.waiting.size / heaviest.weight <= (newcomer.waiting.size + 1) / newcomer.weight) return false;
    const newest = [...heaviest.waiting].at(-1)!;
    this.unqueue(newest);
    newest.reject(new PushedOut());
    return true;
  }

  private enqueue(waiter: Waiter): void {
    const { caller } = waiter;
    if (caller.waiting.size === 0) {
      // The first to wait starts the round: its turn begins now.
      if (this.ring.length === 0) {
        this.cursor = 0;
        caller.deficit = caller.weight;
      }
      this.ring.push(caller);
    }
    caller.waiting.add(waiter);
    this.waitingCount++;
  }

  private unqueue(waiter: Waiter): void {
    const { caller } = waiter;
    if (!caller.waiting.delete(waiter)) return;
    this.waitingCount--;
    if (caller.waiting.size === 0) this.leaveRing(caller);
    this.forgetIfIdle(caller);
  }

  private leaveRing(caller: Caller): void {
    const at = this.ring.indexOf(caller);
    if (at === -1) return;
    this.ring.splice(at, 1);
    caller.deficit = 0;
    if (this.ring.length === 0) {
      this.cursor = 0;
    } else if (at < this.cursor) {
      this.cursor--;
    } else if (at === this.cursor) {
      // The turn passes to the next caller now, so one that leaves and comes straight back
      // joins behind it rather than taking the next slot again.
      this.cursor = at % this.ring.length;
      const next = this.ring[this.cursor]!;
      next.deficit += next.weight;
    }
  }

  /** The caller whose turn it is; a turn that is used up passes to the next, which gets `weight` calls. */
  private nextCaller(): Caller {
    for (;;) {
      const caller = this.ring[this.cursor]!;
      if (caller.deficit >= 1) return caller;
      this.cursor = (this.cursor + 1) % this.ring.length;
      this.ring[this.cursor]!.deficit += this.ring[this.cursor]!.weight;
    }
  }

  private releaser(caller: Caller): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      caller.running--;
      this.active--;
      this.forgetIfIdle(caller);
      this.dispatch();
    };
  }

  private dispatch(): void {
    while (this.active < this.maxActive && this.waitingCount > 0) {
      const caller = this.nextCaller();
      const waiter = caller.waiting.values().next().value!;
      caller.deficit--;
      caller.waiting.delete(waiter);
      this.waitingCount--;
      caller.running++;
      this.active++;
      if (caller.waiting.size === 0) this.leaveRing(caller);
      waiter.grant(this.releaser(caller));
    }
  }
}
