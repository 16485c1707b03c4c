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

export class EventLog {
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private events: LoggedEvent[] = [];
  private bytes = 0;
  private seq = 0;

  constructor(maxEvents = 500, maxBytes = 1024 * 1024) {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
  }

  /** An id for an event that is not recorded (a priming event). */
  nextId(stream: string): string {
    return `${stream}:${++this.seq}`;
  }

  append(stream: string, data: string): string {
    const seq = ++this.seq;
    const id = `${stream}:${seq}`;
    this.events.push({ stream, seq, id, data });
    this.bytes += data.length;
    while (this.events.length > this.maxEvents || (this.bytes > this.maxBytes && this.events.length > 1)) {
      this.bytes -= this.events.shift()!.data.length;
    }
    return id;
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
      this.bytes -= event.data.length;
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
