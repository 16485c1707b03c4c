import { StringDecoder } from 'node:string_decoder';

/** One event of a text/event-stream: its `event:` name (if any) and its `data:` lines joined. */
export interface StreamEvent {
  event: string | undefined;
  data: string;
}

/**
 * Incremental parser for a text/event-stream body: feed it bytes, get each event. Linear in
 * the input: each chunk is scanned once, and a line split across chunks is kept as pieces and
 * joined once, when its end arrives (a rescan of a growing buffer per chunk is quadratic, and
 * one long line sent in small writes would hold the event loop). Lines and events are capped,
 * so a misbehaving upstream cannot grow memory without bound.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private readonly onEvent: (event: StreamEvent) => void;
  private readonly maxEventBytes: number;
  /** The current line's pieces so far (it has no newline yet). */
  private partial: string[] = [];
  private partialLength = 0;
  private data: string[] = [];
  private dataLength = 0;
  private event: string | undefined;
  /** Characters searched for line ends so far: each arrives once, so this is the input's length. */
  scanned = 0;

  constructor(onEvent: (event: StreamEvent) => void, maxEventBytes = 4 * 1024 * 1024) {
    this.onEvent = onEvent;
    this.maxEventBytes = maxEventBytes;
  }

  push(chunk: Buffer): void {
    this.feed(this.decoder.write(chunk));
  }

  /** Dispatches a last event not followed by a blank line. */
  end(): void {
    this.feed(this.decoder.end());
    if (this.partialLength > 0 || this.partial.length > 0) this.line(this.takePartial(''));
    this.line('');
  }

  private feed(text: string): void {
    this.scanned += text.length;
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      let line = this.partial.length > 0 ? this.takePartial(text.slice(start, newline)) : text.slice(start, newline);
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      this.line(line);
      start = newline + 1;
    }
    if (start < text.length) {
      const rest = start === 0 ? text : text.slice(start);
      this.partial.push(rest);
      this.partialLength += rest.length;
      if (this.partialLength > this.maxEventBytes) throw new Error('an event-stream line exceeds the size limit');
    }
  }

  private takePartial(last: string): string {
    this.partial.push(last);
    const line = this.partial.join('');
    this.partial = [];
    this.partialLength = 0;
    return line;
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        const data = this.data.length === 1 ? this.data[0]! : this.data.join('\n');
        const { event } = this;
        this.data = [];
        this.dataLength = 0;
        this.event = undefined;
        this.onEvent({ event, data });
      }
      this.event = undefined;
      return;
    }
    if (line.startsWith('data:')) {
      const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
      this.dataLength += value.length;
      if (this.dataLength > this.maxEventBytes) throw new Error('an event-stream event exceeds the size limit');
      this.data.push(value);
    } else if (line.startsWith('event:')) {
      this.event = (line.charCodeAt(6) === 32 ? line.slice(7) : line.slice(6)).trim();
    }
    // Comments (":"), id: and retry: are not needed by an OpenAI-compatible stream.
  }
}
