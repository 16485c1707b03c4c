/**
 * A session's bounded record of the SSE events it sent, for resumption with Last-Event-ID.
 * Event ids are `<stream>:<seq>`: `seq` counts across the whole session, so ids are unique
 * in the session, and `<stream>` names the stream an event belongs to. A resume replays only
 * that stream's events after the given one.
 */
export interface LoggedEvent {
  stream: string;
  seq: number;
  id: string;
  data: string;
  /** Order of recording across every log of the server, so the oldest can be found. */
  stamp: number;
}

/**
 * What the replay logs may hold, in characters of JSON: per owner (a client key) and for all
 * of them together. A log past its owner's share forgets that owner's oldest events, never
 * another's; only past the global bound (many owners at once) are the oldest events of the
 * owner holding the most forgotten. Without a bound, a client that opens many sessions and
 * walks away from streams mid-answer would pin (sessions x per-session cap) of memory.
 */
export class EventBudget {
  private readonly owners = new Map<string, { used: number; logs: Set<EventLog> }>();
  private total = 0;
  private stamps = 0;
  readonly max: number;
  private readonly maxPerOwner: () => number;

  constructor(max = 32 * 1024 * 1024, maxPerOwner: () => number = () => max) {
    this.max = max;
    this.maxPerOwner = maxPerOwner;
  }

  get used(): number {
    return this.total;
  }

  usedBy(owner: string): number {
    return this.owners.get(owner)?.used ?? 0;
  }

  nextStamp(): number {
    return ++this.stamps;
  }

  join(log: EventLog): void {
    let entry = this.owners.get(log.owner);
    if (!entry) {
      entry = { used: 0, logs: new Set() };
      this.owners.set(log.owner, entry);
    }
    entry.logs.add(log);
  }

  leave(log: EventLog): void {
    const entry = this.owners.get(log.owner);
    if (!entry) return;
    entry.logs.delete(log);
    if (entry.logs.size === 0 && entry.used === 0) this.owners.delete(log.owner);
  }

  charge(owner: string, chars: number): void {
    const entry = this.owners.get(owner);
    if (entry) entry.used += chars;
    this.total += chars;
  }

  /** Forgets oldest events until the owner is within its share and everyone within the total. */
  enforce(owner: string): void {
    const share = this.maxPerOwner();
    while (this.usedBy(owner) > share && this.forgetOldestOf(owner)) {
      // each turn forgets one event
    }
    while (this.total > this.max && this.forgetOldestOf(this.heaviest())) {
      // each turn forgets one event
    }
  }

  private heaviest(): string {
    let owner = '';
    let most = -1;
    for (const [name, entry] of this.owners) {
      if (entry.used > most) {
        most = entry.used;
        owner = name;
      }
    }
    return owner;
  }

  private forgetOldestOf(owner: string): boolean {
    let oldest: EventLog | undefined;
    for (const log of this.owners.get(owner)?.logs ?? []) {
      const stamp = log.oldestStamp();
      if (stamp !== undefined && (oldest === undefined || stamp < oldest.oldestStamp()!)) oldest = log;
    }
    return oldest?.forgetOldest() ?? false;
  }
}

export class EventLog {
  readonly owner: string;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly budget: EventBudget;
  private events: LoggedEvent[] = [];
  private bytes = 0;
  private seq = 0;

  constructor(budget: EventBudget, owner: string, maxEvents = 500, maxBytes = 1024 * 1024) {
    this.budget = budget;
    this.owner = owner;
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    budget.join(this);
  }

  /** An id for an event that is not recorded (a priming event). */
  nextId(stream: string): string {
    return `${stream}:${++this.seq}`;
  }

  /**
   * Records an event and returns its id. Past this log's caps, or its owner's share of the
   * budget, its owner's oldest events go first; an event larger than the caps is not kept at
   * all (it cannot be replayed, but it is still sent).
   */
  append(stream: string, data: string): string {
    const seq = ++this.seq;
    const id = `${stream}:${seq}`;
    this.events.push({ stream, seq, id, data, stamp: this.budget.nextStamp() });
    this.bytes += data.length;
    this.budget.charge(this.owner, data.length);
    while (this.events.length > this.maxEvents || this.bytes > this.maxBytes) this.forgetOldest();
    this.budget.enforce(this.owner);
    return id;
  }

  oldestStamp(): number | undefined {
    return this.events[0]?.stamp;
  }

  /** Forgets the oldest event; false when there is none. */
  forgetOldest(): boolean {
    const event = this.events.shift();
    if (!event) return false;
    this.forget(event);
    return true;
  }

  /** Forgets everything (the session ended). */
  clear(): void {
    for (const event of this.events) this.forget(event);
    this.events = [];
    this.budget.leave(this);
  }

  private forget(event: LoggedEvent): void {
    this.bytes -= event.data.length;
    this.budget.charge(this.owner, -event.data.length);
  }

  /** Events of `stream` after `seq`, oldest first. */
  after(stream: string, seq: number): LoggedEvent[] {
    return this.events.filter((event) => event.stream === stream && event.seq > seq);
  }

  /** Forgets a stream's events (it was delivered whole). */
  drop(stream: string): void {
    if (!this.events.some((event) => event.stream === stream)) return;
    this.events = this.events.filter((event) => {
      if (event.stream !== stream) return true;
      this.forget(event);
      return false;
    });
  }

  static parse(id: string): { stream: string; seq: number } | undefined {
    const colon = id.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const seq = Number(id.slice(colon + 1));
    if (!Number.isSafeInteger(seq) || seq < 0) return undefined;
    return { stream: id.slice(0, colon), seq };
  }
}
