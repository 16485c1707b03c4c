import type { CancelSignal } from '../cancel.ts';
import type { KeyRing } from '../keys.ts';
import { perKeyCap } from '../keys.ts';
import type { Limiter, Refusal, Release } from './limiter.ts';
import type { QuotaRefusal, Quotas } from './quota.ts';

export interface AdmissionOptions {
  limiter: Limiter;
  quotas: Quotas;
  keys: KeyRing;
  /** MCP_MAX_CALLS_PER_KEY; undefined: a share of the global capacity when there are several keys. */
  maxCallsPerKey: number | undefined;
  /** MCP_MAX_CONCURRENCY + MCP_MAX_QUEUE: what one key's default share is taken from. */
  capacity: number;
}

/** Why a call is refused before it reaches the upstream, as a tool result says it. */
export interface Turnaway {
  outcome: 'busy' | 'rate_limited';
  message: string;
}

/**
 * The gate between a valid call and the upstream: the caller's rate limits and token budget,
 * then a slot from the fair limiter (within the caller's own cap on calls in flight).
 */
export class Admission {
  private readonly options: AdmissionOptions;

  constructor(options: AdmissionOptions) {
    this.options = options;
  }

  /** Checks the caller's rate limits and counts the call; a refusal names the limit and when it resets. */
  quota(caller: string | undefined): Turnaway | undefined {
    const policy = this.options.keys.policy(caller);
    if (caller === undefined || !policy) return undefined;
    const refusal = this.options.quotas.admit(caller, policy);
    return refusal && { outcome: 'rate_limited', message: quotaMessage(caller, refusal) };
  }

  /** A slot, a refusal, or (a waiting call pushed out of a full queue) a rejection with PushedOut. */
  slot(caller: string | undefined, signal: CancelSignal): Promise<Release> | Turnaway {
    const { limiter, keys } = this.options;
    const policy = keys.policy(caller);
    // With one key (or none) the global limits alone apply: its share is the whole server.
    const share = keys.count > 1 ? perKeyCap(this.options.maxCallsPerKey, this.options.capacity, keys.count) : Number.POSITIVE_INFINITY;
    const maxCalls = policy?.maxConcurrency ?? this.options.maxCallsPerKey ?? share;
    const slot = limiter.acquire(caller ?? '', signal, { weight: policy?.weight ?? 1, maxCalls });
    return isRefusal(slot) ? this.turnaway(slot, policy?.maxConcurrency !== undefined) : slot;
  }

  /** Tokens a finished call used, against its key's daily budget. */
  spend(caller: string | undefined, tokens: number): void {
    if (caller !== undefined) this.options.quotas.spend(caller, tokens);
  }

  busy(): Turnaway {
    const { limiter } = this.options;
    return {
      outcome: 'busy',
      message:
        `The server is busy: ${limiter.running} calls are running and ${limiter.queued} are waiting ` +
        '(MCP_MAX_CONCURRENCY, MCP_MAX_QUEUE). Try again shortly.',
    };
  }

  private turnaway(refusal: Refusal, fromKeysFile: boolean): Turnaway {
    if (refusal.refused === 'busy') return this.busy();
    const setting = fromKeysFile ? 'max_concurrency in MCP_KEYS_FILE' : 'MCP_MAX_CALLS_PER_KEY';
    return {
      outcome: 'busy',
      message: `This key already has ${refusal.inFlight} calls in flight, its limit (${setting}). Wait for one to finish, then try again.`,
    };
  }
}

function isRefusal(value: Promise<Release> | Refusal): value is Refusal {
  return !(value instanceof Promise);
}

function quotaMessage(caller: string, refusal: QuotaRefusal): string {
  const resets = new Date(refusal.resetsAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (refusal.limit === 'requests_per_minute') {
    const seconds = Math.max(1, Math.ceil(refusal.retryInMs / 1000));
    return `Rate limit reached for key "${caller}": requests_per_minute is ${refusal.allowed}. Try again in ${seconds} s (at ${resets}).`;
  }
  return `Daily token budget reached for key "${caller}": tokens_per_day is ${refusal.allowed} and ${refusal.used} were used today (UTC). It resets at ${resets}.`;
}
