import { StringDecoder } from 'node:string_decoder';

/**
 * Incremental parser for a text/event-stream body: feed it bytes, get each event's data.
 * Only `data:` fields matter for Chat Completions streams; other fields are skipped.
 * Lines and events are capped so a misbehaving upstream cannot grow memory without bound.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private readonly onData: (data: string) => void;
  private readonly maxEventBytes: number;
  private buffer = '';
  private data: string[] = [];
  private dataLength = 0;

  constructor(onData: (data: string) => void, maxEventBytes = 4 * 1024 * 1024) {
    this.onData = onData;
    this.maxEventBytes = maxEventBytes;
  }

  push(chunk: Buffer): void {
    this.buffer += this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = this.buffer.indexOf('\n', start);
      if (newline === -1) break;
      const end = newline > start && this.buffer.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      this.line(this.buffer.slice(start, end));
      start = newline + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length > this.maxEventBytes) throw new Error('an event-stream line exceeds the size limit');
  }

  /** Dispatches a last event not followed by a blank line. */
  end(): void {
    this.buffer += this.decoder.end();
    if (this.buffer) this.line(this.buffer);
    this.buffer = '';
    this.line('');
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        const data = this.data.join('\n');
        this.data = [];
        this.dataLength = 0;
        this.onData(data);
      }
      return;
    }
    if (!line.startsWith('data:')) return; // comments (":"), event:, id:, retry:
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    this.dataLength += value.length;
    if (this.dataLength > this.maxEventBytes) throw new Error('an event-stream event exceeds the size limit');
    this.data.push(value);
  }
}
