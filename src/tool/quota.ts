import type { Clock } from '../clock.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A limit a call ran into: which one, and when it lets calls through again (epoch ms). */
export interface QuotaRefusal {
  limit: 'requests_per_minute' | 'tokens_per_day';
  allowed: number;
  used: number;
  resetsAt: number;
  /** How long until then. */
  retryInMs: number;
}

interface KeyUsage {
  /** Start times of the calls in the last minute, oldest first (a ring of `requests_per_minute` slots). */
  starts: number[];
  day: number;
  tokens: number;
}

/**
 * Per-key rate limits and token budgets, for one process. `requests_per_minute` is a sliding
 * window (at most N calls started in any 60 s); `tokens_per_day` counts the total tokens the
 * upstream reported for calls of the current UTC day. Both are checked before a call goes
 * upstream; tokens are counted when its usage comes back, so calls already in flight may
 * take a key a little past its budget.
 */
export class Quotas {
  private readonly clock: Clock;
  private readonly usage = new Map<string, KeyUsage>();
  private pruneAt = 1024;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Checks both limits and, when they allow it, counts the call as started. */
  admit(key: string, limits: { requestsPerMinute?: number; tokensPerDay?: number }): QuotaRefusal | undefined {
    const { requestsPerMinute: rpm, tokensPerDay: tpd } = limits;
    if (rpm === undefined && tpd === undefined) return undefined;
    const now = this.clock.now();
    const usage = this.usageOf(key, now);
    if (tpd !== undefined && usage.tokens >= tpd) {
      const resetsAt = (usage.day + 1) * DAY_MS;
      return { limit: 'tokens_per_day', allowed: tpd, used: usage.tokens, resetsAt, retryInMs: resetsAt - now };
    }
    if (rpm !== undefined) {
      const { starts } = usage;
      while (starts.length > 0 && starts[0]! <= now - MINUTE_MS) starts.shift();
      if (starts.length >= rpm) {
        const resetsAt = starts[starts.length - rpm]! + MINUTE_MS;
        return { limit: 'requests_per_minute', allowed: rpm, used: starts.length, resetsAt, retryInMs: resetsAt - now };
      }
      starts.push(now);
    }
    return undefined;
  }

  /** Adds the tokens a finished call used to its key's day. */
  spend(key: string, tokens: number): void {
    if (!(tokens > 0)) return;
    const usage = this.usage.get(key);
    if (!usage) return; // the key has no token budget (admit kept no record)
    usage.tokens += tokens;
  }

  private usageOf(key: string, now: number): KeyUsage {
    const day = Math.floor(now / DAY_MS);
    let usage = this.usage.get(key);
    if (!usage) {
      // Callers can be many (every OAuth subject under a "*" entry): records with nothing left to count go.
      if (this.usage.size >= this.pruneAt) this.prune(now, day);
      usage = { starts: [], day, tokens: 0 };
      this.usage.set(key, usage);
    }
    if (usage.day !== day) {
      usage.day = day;
      usage.tokens = 0;
    }
    return usage;
  }

  /** Drops records of earlier days with no call in the last minute; the next pass waits for twice as many. */
  private prune(now: number, day: number): void {
    for (const [key, usage] of this.usage) {
      const recent = usage.starts.length > 0 && usage.starts[usage.starts.length - 1]! > now - MINUTE_MS;
      if (!recent && (usage.day !== day || usage.tokens === 0)) this.usage.delete(key);
    }
    this.pruneAt = Math.max(1024, this.usage.size * 2);
  }
}
