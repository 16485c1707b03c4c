import { crypto } from '../../lazy.ts';
import type { Logger } from '../../log.ts';
import { Session } from '../../protocol/session.ts';
import { EventBudget, EventLog } from './event-log.ts';
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
  /** POSTs being served. */
  activeExchanges = 0;
  lastActivity = Date.now();
  private streamCount = 0;

  constructor(kind: 'streamable' | 'legacy', owner: string, budget: EventBudget) {
    this.events = new EventLog(budget);
    // 192 random bits in base64url: visible ASCII, as the transport spec requires.
    this.id = crypto().randomBytes(24).toString('base64url');
    this.kind = kind;
    this.owner = owner;
  }

  get closed(): boolean {
    return this.protocol.closed;
  }

  /**
   * Serving a request, or (legacy) holding its /sse stream open: a legacy session lives as
   * long as its stream. A streamable session's GET stream does not make it busy.
   */
  get busy(): boolean {
    if (this.kind === 'legacy' && this.stream?.isOpen) return true;
    return this.activeExchanges > 0 || this.protocol.inFlight.size > 0;
  }

  /** The client has been quiet for `idleMs` (a legacy session's open stream keeps it alive). */
  expired(now: number, idleMs: number): boolean {
    if (this.kind === 'legacy' && this.stream?.isOpen) return false;
    return now - this.lastActivity >= idleMs;
  }

  touch(): void {
    this.lastActivity = Date.now();
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
  idleMs: number;
  log: Logger;
}

/**
 * All sessions of both HTTP transports. A session whose client has been quiet for `idleMs`
 * expires, and calls it still has in flight are aborted. At the cap, the quietest session
 * that is not busy makes room; when every session is busy a new one is refused.
 */
export class SessionStore {
  /** Shared by every session's replay log. */
  readonly eventBudget = new EventBudget();
  private readonly sessions = new Map<string, HttpSession>();
  private readonly options: SessionStoreOptions;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: SessionStoreOptions) {
    this.options = options;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(250, options.idleMs / 4))).unref();
  }

  get size(): number {
    return this.sessions.size;
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

  /**
   * Makes room for one more session; false when the cap is reached and none is idle. The
   * session evicted is the quietest idle one of the key holding the most sessions, so a key
   * that opens sessions in bulk evicts its own before anyone else's.
   */
  reserve(): boolean {
    if (this.sessions.size < this.options.maxSessions) return true;
    const held = new Map<string, number>();
    for (const session of this.sessions.values()) held.set(session.owner, (held.get(session.owner) ?? 0) + 1);
    let victim: HttpSession | undefined;
    for (const session of this.sessions.values()) {
      if (session.busy) continue;
      const heavier = victim === undefined || held.get(session.owner)! > held.get(victim.owner)!;
      const same = victim !== undefined && held.get(session.owner) === held.get(victim.owner);
      if (heavier || (same && session.lastActivity < victim!.lastActivity)) victim = session;
    }
    if (!victim) return false;
    this.delete(victim.id, 'evicted to make room for a new session');
    return true;
  }

  add(session: HttpSession): boolean {
    if (!this.reserve()) return false;
    this.sessions.set(session.id, session);
    this.options.log.debug('session opened', { session: session.id.slice(0, 8), kind: session.kind, key: session.owner });
    return true;
  }

  delete(id: string, reason: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    session.close(reason);
    this.options.log.debug('session closed', { session: id.slice(0, 8), reason });
  }

  sweep(now = Date.now()): void {
    for (const session of this.sessions.values()) {
      if (session.expired(now, this.options.idleMs)) this.delete(session.id, 'expired: the client was quiet too long');
    }
  }

  /** Calls in flight across all sessions. */
  inFlight(): number {
    let count = 0;
    for (const session of this.sessions.values()) count += session.protocol.inFlight.size;
    return count;
  }

  closeAll(reason: string): void {
    for (const id of [...this.sessions.keys()]) this.delete(id, reason);
    clearInterval(this.sweeper);
  }
}
