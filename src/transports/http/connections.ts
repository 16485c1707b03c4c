import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock, Timer } from '../../clock.ts';

/** Bytes of an unwanted body read and thrown away after an early answer, before the connection closes. */
const LINGER_BYTES = 256 * 1024;
/** How long an early answer waits for the rest of the body before the connection closes. */
const LINGER_MS = 2_000;
/** A ceiling on the derived default: about 8 KiB of memory per idle connection. */
const DEFAULT_CEILING = 16_384;

interface Tracked {
  readonly since: number;
  /** Requests on it being answered (an open event stream counts until it closes). */
  active: number;
  /** It has carried a request with a valid key. */
  authenticated: boolean;
  /** The request being read, for a lingering close. */
  current: IncomingMessage | undefined;
  /** Closes the connection if no request comes at all. */
  silence: Timer | undefined;
}

export interface ConnectionStats {
  readonly open: number;
  readonly refused: number;
  readonly evicted: number;
}

/**
 * Caps the server's TCP connections (MCP_MAX_CONNECTIONS). At the cap a new connection takes
 * the place of an idle one, those that never carried an authenticated request first, oldest
 * first; with none idle it is closed at once. So a flood of idle sockets cannot exhaust the
 * process's file descriptors, and /health and keyed clients still get in.
 *
 * It also closes connections the way nginx's lingering close does: an answer sent before its
 * request's body was read (a refusal, a 413) half-closes the connection and reads and throws
 * away what the client is still sending, up to a bound, so the client sees the answer rather
 * than a reset.
 */
export class ConnectionGuard {
  private readonly max: number;
  private readonly firstRequestMs: number;
  private readonly clock: Clock;
  private readonly sockets = new Map<Socket, Tracked>();
  private refusedCount = 0;
  private evictedCount = 0;

  constructor(max: number, firstRequestMs: number, clock: Clock) {
    this.max = max;
    this.firstRequestMs = firstRequestMs;
    this.clock = clock;
  }

  get stats(): ConnectionStats {
    return { open: this.sockets.size, refused: this.refusedCount, evicted: this.evictedCount };
  }

  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
  }

  /** Every request, as it arrives. */
  request(req: IncomingMessage, res: ServerResponse): void {
    const tracked = this.sockets.get(req.socket);
    if (!tracked) return;
    // From here Node's own timers (request, keep-alive) govern the connection.
    this.clock.clearTimeout(tracked.silence);
    tracked.silence = undefined;
    tracked.active++;
    tracked.current = req;
    res.once('close', () => {
      tracked.active--;
      if (tracked.current === req) tracked.current = undefined;
    });
  }

  /** The request on this socket carried a valid key: the connection is a client's, not a stranger's. */
  authenticated(socket: Socket): void {
    const tracked = this.sockets.get(socket);
    if (tracked) tracked.authenticated = true;
  }

  private admit(socket: Socket): void {
    if (this.sockets.size >= this.max) {
      const victim = this.idleVictim();
      if (!victim) {
        this.refusedCount++;
        socket.destroy();
        return;
      }
      this.evictedCount++;
      victim.destroy();
    }
    // A connection that sends no request at all is closed: Node's own timers start with a request.
    const silence = this.clock.setTimeout(() => socket.destroy(), this.firstRequestMs);
    const tracked: Tracked = { since: this.clock.now(), active: 0, authenticated: false, current: undefined, silence };
    this.sockets.set(socket, tracked);
    socket.once('close', () => {
      this.clock.clearTimeout(tracked.silence);
      this.sockets.delete(socket);
    });
    // Node ends a `Connection: close` answer with destroySoon(), which resets a connection
    // whose client is still sending; a lingering close lets the answer reach it first.
    socket.destroySoon = () => this.closeAfterAnswer(socket, tracked);
  }

  /** The oldest idle connection that never authenticated, else the oldest idle one. */
  private idleVictim(): Socket | undefined {
    let fallback: Socket | undefined;
    for (const [socket, tracked] of this.sockets) {
      if (tracked.active > 0) continue;
      if (!tracked.authenticated) return socket;
      fallback ??= socket;
    }
    return fallback;
  }

  private closeAfterAnswer(socket: Socket, tracked: Tracked): void {
    const req = tracked.current;
    if (!req || req.complete || socket.destroyed) {
      if (socket.writable) socket.end();
      socket.once('finish', () => socket.destroy());
      if (!socket.writable) socket.destroy();
      return;
    }
    let discarded = 0;
    const done = (): void => {
      this.clock.clearTimeout(timer);
      socket.destroy();
    };
    const timer = this.clock.setTimeout(done, LINGER_MS);
    req.removeAllListeners('data');
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) done();
    });
    req.once('end', done);
    req.once('error', done);
    socket.once('close', () => this.clock.clearTimeout(timer));
    socket.end();
    req.resume();
  }
}

/**
 * MCP_MAX_CONNECTIONS by default: the process's open-file limit, less room for upstream
 * sockets (one per call running) and for logs, /health and the rest, capped for memory.
 */
export function defaultMaxConnections(maxConcurrency: number, fileLimit = openFileLimit()): number {
  if (fileLimit === undefined) return 1024;
  return Math.max(16, Math.min(DEFAULT_CEILING, fileLimit - maxConcurrency - 64));
}

/** The soft RLIMIT_NOFILE (Node raises it to the hard limit at start), where /proc tells it. */
function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    if (soft === undefined) return undefined;
    return soft === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(soft);
  } catch {
    return undefined;
  }
}
