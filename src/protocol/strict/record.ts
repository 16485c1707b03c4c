import type { ProgressToken } from '../context.ts';
import type { RequestId } from '../messages.ts';
import type { RuleId } from './rules.ts';

/** Ids remembered per session for reuse checks: enough for any honest client, bounded for a hostile one. */
const REMEMBERED_IDS = 4096;

/**
 * What strict mode remembers of one client (a stdio process, an HTTP session): the ids it
 * used, its progress tokens in flight, where it is in the lifecycle, and its faults so far.
 * Made on the first message under MCP_STRICT; never with strict mode off.
 */
export class ClientRecord {
  readonly faults = new Map<RuleId, number>();
  /** The id of the client's initialize request. */
  initializeId: RequestId | undefined;
  /** notifications/initialized has arrived. */
  initialized = false;
  /** client.initialized-missing is reported once per session, not per request. */
  initializedReported = false;
  private readonly ids = new Set<RequestId>();
  private readonly order: RequestId[] = [];
  private oldest = 0;
  private readonly tokens = new Map<ProgressToken, number>();

  count(rule: RuleId): void {
    this.faults.set(rule, (this.faults.get(rule) ?? 0) + 1);
  }

  /** Remembers a request id; true when the client has used it before (within the window). */
  useId(id: RequestId): boolean {
    if (this.ids.has(id)) return true;
    this.ids.add(id);
    if (this.order.length < REMEMBERED_IDS) this.order.push(id);
    else {
      this.ids.delete(this.order[this.oldest]!);
      this.order[this.oldest] = id;
      this.oldest = (this.oldest + 1) % REMEMBERED_IDS;
    }
    return false;
  }

  knowsId(id: RequestId): boolean {
    return this.ids.has(id);
  }

  /** A request in flight carries this token; true when another one in flight already does. */
  holdToken(token: ProgressToken): boolean {
    const held = this.tokens.get(token) ?? 0;
    this.tokens.set(token, held + 1);
    return held > 0;
  }

  releaseToken(token: ProgressToken): void {
    const held = this.tokens.get(token) ?? 0;
    if (held <= 1) this.tokens.delete(token);
    else this.tokens.set(token, held - 1);
  }

  /** The faults by rule, for the summary line. */
  summary(): Record<string, number> {
    return Object.fromEntries(this.faults);
  }
}
