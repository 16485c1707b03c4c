import type { ServerResponse } from 'node:http';
import type { Clock, Timer } from '../../clock.ts';
import type { Headers } from './reply.ts';

/** A client that lets this much pile up unread is cut off (it can resume where event ids exist). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

export interface StreamLimits {
  /** MCP_MAX_SSE_STREAMS: every open event stream counts. */
  maxStreams: number;
  /** MCP_MAX_STREAMS_PER_KEY, resolved for the keys configured now. */
  maxPerOwner: () => number;
  /** MCP_STREAM_IDLE_MS: a stream with no end of its own is ended after carrying nothing this long. */
  idleMs: number;
  clock: Clock;
}

/** A place for one open event stream, held by its owner (the name of a client key). */
export interface StreamSlot {
  readonly owner: string;
  release(): void;
}

/**
 * The open event streams of one server: every stream holds a slot, counted against the global
 * cap and its owner's, so no key can take the streams of the others. One timer keeps them all
 * alive and ends those that have an end only by idling (GET /mcp, /sse), and they all end at
 * shutdown.
 */
export class StreamRegistry {
  private readonly limits: StreamLimits;
  private readonly open = new Set<SseSink>();
  private readonly held = new Map<string, number>();
  private slots = 0;
  private timer: Timer | undefined;

  constructor(limits: StreamLimits) {
    this.limits = limits;
  }

  /** Open (or reserved) streams. */
  get size(): number {
    return this.slots;
  }

  heldBy(owner: string): number {
    return this.held.get(owner) ?? 0;
  }

  /** A slot, or the setting that leaves no room for one. */
  take(owner: string): StreamSlot | 'MCP_MAX_SSE_STREAMS' | 'MCP_MAX_STREAMS_PER_KEY' {
    if (this.heldBy(owner) >= this.limits.maxPerOwner()) return 'MCP_MAX_STREAMS_PER_KEY';
    if (this.slots >= this.limits.maxStreams) return 'MCP_MAX_SSE_STREAMS';
    this.slots++;
    this.held.set(owner, this.heldBy(owner) + 1);
    let released = false;
    return {
      owner,
      release: () => {
        if (released) return;
        released = true;
        this.slots--;
        const left = this.heldBy(owner) - 1;
        if (left > 0) this.held.set(owner, left);
        else this.held.delete(owner);
      },
    };
  }

  add(sink: SseSink): void {
    this.open.add(sink);
    this.timer ??= this.limits.clock.setTimeout(() => this.tick(), KEEP_ALIVE_MS);
  }

  remove(sink: SseSink): void {
    this.open.delete(sink);
    if (this.open.size === 0) {
      this.limits.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Keeps every stream alive, and ends the idle ones that have no other end. */
  sweep(now = this.limits.clock.now()): void {
    for (const sink of [...this.open]) {
      if (sink.endsWhenIdle && now - sink.lastSentAt >= this.limits.idleMs) sink.end();
      else sink.comment('keep-alive');
    }
  }

  endAll(): void {
    for (const sink of [...this.open]) sink.end();
  }

  private tick(): void {
    this.timer = undefined;
    this.sweep();
    if (this.open.size > 0) this.timer = this.limits.clock.setTimeout(() => this.tick(), KEEP_ALIVE_MS);
  }
}

export interface SinkOptions {
  headers?: Headers;
  /** No request bounds this stream (GET /mcp, /sse): it ends after MCP_STREAM_IDLE_MS of silence. */
  endsWhenIdle?: boolean;
}

/**
 * One HTTP response carrying a text/event-stream, holding one stream slot until it closes.
 * Writes never block: a client that stops reading is disconnected once its backlog passes a
 * cap. Keep-alive comments do not count as carrying something.
 */
export class SseSink {
  private readonly res: ServerResponse;
  private readonly registry: StreamRegistry;
  private readonly slot: StreamSlot;
  private readonly clock: Clock;
  readonly endsWhenIdle: boolean;
  lastSentAt: number;
  private closeHandlers: (() => void)[] = [];
  private finished = false;

  constructor(registry: StreamRegistry, slot: StreamSlot, res: ServerResponse, clock: Clock, options: SinkOptions = {}) {
    this.res = res;
    this.registry = registry;
    this.slot = slot;
    this.endsWhenIdle = options.endsWhenIdle ?? false;
    this.clock = clock;
    this.lastSentAt = clock.now();
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...options.headers,
    });
    res.flushHeaders();
    res.on('close', () => this.closed());
    registry.add(this);
  }

  get isOpen(): boolean {
    return !this.finished;
  }

  get owner(): string {
    return this.slot.owner;
  }

  /** Sends one event. `data` must be a single line (JSON.stringify output is). */
  send(data: string, id?: string, event?: string): void {
    let frame = '';
    if (event) frame += `event: ${event}\n`;
    if (id) frame += `id: ${id}\n`;
    this.lastSentAt = this.clock.now();
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
    this.slot.release();
    this.registry.remove(this);
    for (const handler of this.closeHandlers.splice(0)) handler();
  }
}
