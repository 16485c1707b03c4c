import type { ProgressToken } from '../context.ts';
import type { RequestId } from '../messages.ts';
import type { RuleId } from './rules.ts';

/** Ids remembered per session: enough for any honest client, bounded for a hostile one. */
const REMEMBERED_IDS = 4096;
/** A longer string id is remembered by its length and a hash: the window's memory stays bounded. */
const LONG_ID = 64;

/** The last REMEMBERED_IDS ids seen, newest last; an id seen again moves to the front of the line. */
class IdWindow {
  private readonly counts = new Map<RequestId, number>();
  private readonly ring: RequestId[] = [];
  private next = 0;

  has(id: RequestId): boolean {
    return this.counts.has(key(id));
  }

  add(id: RequestId): void {
    const k = key(id);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    if (this.ring.length < REMEMBERED_IDS) {
      this.ring.push(k);
      return;
    }
    const old = this.ring[this.next]!;
    const left = (this.counts.get(old) ?? 1) - 1;
    if (left > 0) this.counts.set(old, left);
    else this.counts.delete(old);
    this.ring[this.next] = k;
    this.next = (this.next + 1) % REMEMBERED_IDS;
  }
}

/** What an id is remembered as: itself, or for a long string its length and an FNV-1a hash (a collision only hides a fault). */
function key(id: RequestId): RequestId {
  if (typeof id !== 'string' || id.length <= LONG_ID) return id;
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return `\u0000${id.length}:${(hash >>> 0).toString(36)}`;
}

/**
 * What strict mode remembers of one client (a stdio process, an HTTP session): the ids it
 * used, its progress tokens in flight, where it is in the lifecycle, and its faults so far.
 * Made on the first message under MCP_STRICT; never with strict mode off. Every part is bounded.
 */
export class ClientRecord {
  readonly faults = new Map<RuleId, number>();
  /** The id of the client's initialize request. */
  initializeId: RequestId | undefined;
  /** notifications/initialized has arrived (after initialize). */
  initialized = false;
  /** client.initialized-missing is reported once per session, not per request. */
  initializedReported = false;
  /** Initialize-era ids (any reuse in the session is a fault) and 2026-07-28 ones (only ids in flight are). */
  private readonly sessionIds = new IdWindow();
  private readonly modernIds = new IdWindow();
  /** Progress tokens of requests in flight, with the requests holding them. */
  private readonly tokens = new Map<ProgressToken, RequestId[]>();

  /** Counts a fault; true when it should also be told (the first 3 of a rule, then the 4th, 8th, 16th, ...). */
  count(rule: RuleId): boolean {
    const seen = (this.faults.get(rule) ?? 0) + 1;
    this.faults.set(rule, seen);
    return seen <= 3 || (seen & (seen - 1)) === 0;
  }

  /** Remembers an initialize-era request id; true when the client used it before in the session. */
  useId(id: RequestId): boolean {
    const used = this.sessionIds.has(id);
    this.sessionIds.add(id);
    return used;
  }

  useModernId(id: RequestId): void {
    this.modernIds.add(id);
  }

  /** A request just ended: its id stays known for a cancel racing its answer. */
  ended(id: RequestId, modern: boolean): void {
    (modern ? this.modernIds : this.sessionIds).add(id);
  }

  knowsId(id: RequestId): boolean {
    return this.sessionIds.has(id) || this.modernIds.has(id);
  }

  /** Request `id` carries this token; true when another request still in flight already does. */
  holdToken(token: ProgressToken, id: RequestId, inFlight: (id: RequestId) => boolean): boolean {
    const holders = (this.tokens.get(token) ?? []).filter(inFlight);
    const reused = holders.length > 0;
    holders.push(id);
    this.tokens.set(token, holders);
    return reused;
  }

  releaseToken(token: ProgressToken, id: RequestId): void {
    const holders = this.tokens.get(token)?.filter((holder) => holder !== id) ?? [];
    if (holders.length === 0) this.tokens.delete(token);
    else this.tokens.set(token, holders);
  }

  /** The faults by rule, for the summary line. */
  summary(): Record<string, number> {
    return Object.fromEntries(this.faults);
  }
}
