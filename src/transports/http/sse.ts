import type { ServerResponse } from 'node:http';
import type { Headers } from './reply.ts';

/** A client that lets this much pile up unread is cut off (it can resume where event ids exist). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

/** The open event streams of one server: counted for the cap, kept alive by one timer, ended at shutdown. */
export class StreamRegistry {
  private readonly open = new Set<SseSink>();
  private timer: NodeJS.Timeout | undefined;

  get size(): number {
    return this.open.size;
  }

  add(sink: SseSink): void {
    this.open.add(sink);
    this.timer ??= setInterval(() => {
      for (const each of this.open) each.comment('keep-alive');
    }, KEEP_ALIVE_MS).unref();
  }

  remove(sink: SseSink): void {
    this.open.delete(sink);
    if (this.open.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  endAll(): void {
    for (const sink of [...this.open]) sink.end();
  }
}

/**
 * One HTTP response carrying a text/event-stream. Writes never block: a client that stops
 * reading is disconnected once its backlog passes a cap. Open sinks share one keep-alive timer.
 */
export class SseSink {
  private readonly res: ServerResponse;
  private readonly registry: StreamRegistry;
  private closeHandlers: (() => void)[] = [];
  private finished = false;

  constructor(registry: StreamRegistry, res: ServerResponse, headers: Headers = {}) {
    this.res = res;
    this.registry = registry;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    });
    res.flushHeaders();
    res.on('close', () => this.closed());
    registry.add(this);
  }

  get isOpen(): boolean {
    return !this.finished;
  }

  /** Sends one event. `data` must be a single line (JSON.stringify output is). */
  send(data: string, id?: string, event?: string): void {
    let frame = '';
    if (event) frame += `event: ${event}\n`;
    if (id) frame += `id: ${id}\n`;
    this.write(`${frame}data: ${data}\n\n`);
  }

  /** An event with an id and empty data: lets a client resume from the very start. */
  prime(id: string): void {
    this.write(`id: ${id}\ndata: \n\n`);
  }

  comment(text: string): void {
    this.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.finished) return;
    this.res.end();
    this.closed();
  }

  onClose(handler: () => void): void {
    if (this.finished) handler();
    else this.closeHandlers.push(handler);
  }

  private write(frame: string): void {
    if (this.finished || this.res.destroyed) return;
    this.res.write(frame);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.res.destroy();
  }

  private closed(): void {
    if (this.finished) return;
    this.finished = true;
    this.registry.remove(this);
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}

