import type { Clock, Timer } from '../../clock.ts';
import { crypto } from '../../lazy.ts';
import type { Logger } from '../../log.ts';
import { Session } from '../../protocol/session.ts';
import { type EventBudget, EventLog } from './event-log.ts';
import type { SseSink } from './sse.ts';

/** A stream in the spec's sense (a POST's response stream), which may outlive its connection. */
export interface LiveStream {
  readonly key: string;
  sink: SseSink | undefined;
}

/** One HTTP client session: its protocol state, its owner, its streams and its replay log. */
export class HttpSession {
  readonly id: string;
  readonly kind: 'streamable' | 'legacy';
  /** The name of the API key that opened it; other keys cannot use it. */
  readonly owner: string;
  readonly protocol = new Session();
  readonly events: EventLog;
  readonly liveStreams = new Map<string, LiveStream>();
  /** The GET stream (streamable) or the /sse stream (legacy). */
  stream: SseSink | undefined;
  lastActivity: number;
  private activeExchanges = 0;
  private streamCount = 0;
  private readonly clock: Clock;

  constructor(kind: 'streamable' | 'legacy', owner: string, budget: EventBudget, clock: Clock) {
    this.events = new EventLog(budget, owner);
    // 192 random bits in base64url: visible ASCII, as the transport spec requires.
    this.id = crypto().randomBytes(24).toString('base64url');
    this.kind = kind;
    this.owner = owner;
    this.clock = clock;
    this.lastActivity = clock.now();
  }

  get closed(): boolean {
    return this.protocol.closed;
  }

  /** Serving a request: never evicted. An open stream alone (GET, or legacy /sse) is not busy. */
  get busy(): boolean {
    return this.activeExchanges > 0 || this.protocol.running > 0;
  }

  /** The client has been quiet for `idleMs`, and nothing is in flight. */
  expired(now: number, idleMs: number): boolean {
    return now - this.lastActivity >= idleMs;
  }

  touch(): void {
    this.lastActivity = this.clock.now();
  }

  /** A POST is being served; the returned function says it is over. */
  beginExchange(): () => void {
    this.activeExchanges++;
    this.touch();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.activeExchanges--;
      this.touch();
    };
  }

  nextStreamKey(prefix: string): string {
    return `${prefix}${++this.streamCount}`;
  }

  /** Ends the session: calls in flight are aborted (no replies) and its streams end. */
  close(reason: string): void {
    if (this.closed) return;
    this.protocol.close(reason);
    this.events.clear();
    this.stream?.end();
    for (const live of this.liveStreams.values()) live.sink?.end();
    this.liveStreams.clear();
  }
}

export interface SessionStoreOptions {
  maxSessions: number;
  /** MCP_MAX_SESSIONS_PER_KEY, resolved for the keys configured now. */
  maxPerOwner: () => number;
  idleMs: number;
  log: Logger;
  clock: Clock;
  /** The replay logs' budget, shared by every session (and split by owner). */
  budget: EventBudget;
  /** Told of every session that ends, with why (strict mode's summary). */
  onEnd?: (session: HttpSession, reason: string) => void;
}

/** Why a session could not be made. */
export type NoRoom = 'MCP_MAX_SESSIONS' | 'MCP_MAX_SESSIONS_PER_KEY';

/**
 * All sessions of both HTTP transports. A session whose client has been quiet for `idleMs`
 * expires, and calls it still has in flight are aborted. Room for a new session is made only
 * from idle sessions (never a busy one): at the owner's own cap, from the owner's own; at the
 * global cap, from the key holding the most sessions when it holds more than the newcomer,
 * else from the newcomer's own. When none is idle the new session is refused.
 */
export class SessionStore {
  readonly eventBudget: EventBudget;
  private readonly sessions = new Map<string, HttpSession>();
  private readonly held = new Map<string, number>();
  private readonly options: SessionStoreOptions;
  private sweeper: Timer | undefined;
  private stopped = false;

  constructor(options: SessionStoreOptions) {
    this.options = options;
    this.eventBudget = options.budget;
    this.schedule();
  }

  get size(): number {
    return this.sessions.size;
  }

  heldBy(owner: string): number {
    return this.held.get(owner) ?? 0;
  }

  count(kind: HttpSession['kind']): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.kind === kind) count++;
    return count;
  }

  get(id: string): HttpSession | undefined {
    const session = this.sessions.get(id);
    return session && !session.closed ? session : undefined;
  }

  /** Makes room for one more session of `owner`, evicting an idle one if need be. */
  reserve(owner: string): NoRoom | undefined {
    if (this.heldBy(owner) >= this.options.maxPerOwner()) {
      return this.evictFrom(owner) ? undefined : 'MCP_MAX_SESSIONS_PER_KEY';
    }
    if (this.sessions.size < this.options.maxSessions) return undefined;
    let heaviest: string | undefined;
    for (const [name, count] of this.held) if (name !== owner && (heaviest === undefined || count > this.heldBy(heaviest))) heaviest = name;
    if (heaviest !== undefined && this.heldBy(heaviest) > this.heldBy(owner) && this.evictFrom(heaviest)) return undefined;
    return this.evictFrom(owner) ? undefined : 'MCP_MAX_SESSIONS';
  }

  add(session: HttpSession): NoRoom | undefined {
    const noRoom = this.reserve(session.owner);
    if (noRoom) return noRoom;
    this.sessions.set(session.id, session);
    this.held.set(session.owner, this.heldBy(session.owner) + 1);
    this.options.log.debug('session opened', { session: session.id.slice(0, 8), kind: session.kind, key: session.owner });
    return undefined;
  }

  delete(id: string, reason: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    const left = this.heldBy(session.owner) - 1;
    if (left > 0) this.held.set(session.owner, left);
    else this.held.delete(session.owner);
    // Told before the session closes, while its streams are still there to be seen.
    this.options.onEnd?.(session, reason);
    session.close(reason);
    this.options.log.debug('session closed', { session: id.slice(0, 8), reason });
  }

  sweep(now = this.options.clock.now()): void {
    for (const session of [...this.sessions.values()]) {
      if (session.expired(now, this.options.idleMs)) this.delete(session.id, 'expired: the client was quiet too long');
    }
  }

  /** Calls in flight across all sessions. */
  inFlight(): number {
    let count = 0;
    for (const session of this.sessions.values()) count += session.protocol.running;
    return count;
  }

  closeAll(reason: string): void {
    this.stopped = true;
    this.options.clock.clearTimeout(this.sweeper);
    for (const id of [...this.sessions.keys()]) this.delete(id, reason);
  }

  /** Evicts the quietest idle session of `owner`; false when it has none. */
  private evictFrom(owner: string): boolean {
    let victim: HttpSession | undefined;
    for (const session of this.sessions.values()) {
      if (session.owner !== owner || session.busy) continue;
      if (!victim || session.lastActivity < victim.lastActivity) victim = session;
    }
    if (!victim) return false;
    this.delete(victim.id, 'evicted to make room for a new session');
    return true;
  }

  private schedule(): void {
    if (this.stopped) return;
    const every = Math.min(60_000, Math.max(250, this.options.idleMs / 4));
    this.sweeper = this.options.clock.setTimeout(() => {
      this.sweep();
      this.schedule();
    }, every);
  }
}
