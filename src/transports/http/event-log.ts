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
}

/**
 * What all sessions' logs may hold together, in characters of JSON: without it, a client
 * that opens many sessions and walks away from streams mid-answer would pin
 * (sessions × per-session cap) of memory until its sessions expire.
 */
export class EventBudget {
  used = 0;
  constructor(readonly max = 32 * 1024 * 1024) {}
}

export class EventLog {
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly budget: EventBudget;
  private events: LoggedEvent[] = [];
  private bytes = 0;
  private seq = 0;

  constructor(budget: EventBudget, maxEvents = 500, maxBytes = 1024 * 1024) {
    this.budget = budget;
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
  }

  /** An id for an event that is not recorded (a priming event). */
  nextId(stream: string): string {
    return `${stream}:${++this.seq}`;
  }

  /**
   * Records an event and returns its id. Past this log's caps, or the shared budget, its
   * oldest events go first; an event larger than the caps is not kept at all (it cannot be
   * replayed, but it is still sent).
   */
  append(stream: string, data: string): string {
    const seq = ++this.seq;
    const id = `${stream}:${seq}`;
    this.events.push({ stream, seq, id, data });
    this.bytes += data.length;
    this.budget.used += data.length;
    while (this.events.length > 0 && (this.events.length > this.maxEvents || this.bytes > this.maxBytes || this.budget.used > this.budget.max)) {
      this.forget(this.events.shift()!);
    }
    return id;
  }

  /** Forgets everything (the session ended). */
  clear(): void {
    for (const event of this.events) this.forget(event);
    this.events = [];
  }

  private forget(event: LoggedEvent): void {
    this.bytes -= event.data.length;
    this.budget.used -= event.data.length;
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
