/**
 * Splits a byte stream into newline-delimited messages, with a cap on each line.
 * (node:readline has no line-length limit: one endless line would grow memory without bound.)
 * Lines are decoded as strict UTF-8; a trailing CR is dropped; blank lines are skipped.
 */
export type LineEvent = { kind: 'line'; text: string } | { kind: 'invalid-utf8' } | { kind: 'oversize'; bytes: number };

const decoder = new TextDecoder('utf-8', { fatal: true });

export class LineReader {
  private readonly maxBytes: number;
  private readonly onEvent: (event: LineEvent) => void;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;

  constructor(maxBytes: number, onEvent: (event: LineEvent) => void) {
    this.maxBytes = maxBytes;
    this.onEvent = onEvent;
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(10, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.complete();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.pendingBytes > 0 || this.discarding) this.complete();
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.pendingBytes += part.length;
    if (this.discarding) return;
    if (this.pendingBytes > this.maxBytes) {
      this.discarding = true;
      this.pending = [];
      return;
    }
    this.pending.push(part);
  }

  private complete(): void {
    const bytes = this.pendingBytes;
    const parts = this.pending;
    const discarded = this.discarding;
    this.pending = [];
    this.pendingBytes = 0;
    this.discarding = false;
    if (discarded) return this.onEvent({ kind: 'oversize', bytes });
    let line = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    let text: string;
    try {
      text = decoder.decode(line);
    } catch {
      return this.onEvent({ kind: 'invalid-utf8' });
    }
    if (text.trim() === '') return;
    this.onEvent({ kind: 'line', text });
  }
}
