import type { InitializeEraVersion } from './versions.ts';
import type { LogLevel } from './logging.ts';
import type { RequestId } from './messages.ts';

/**
 * Per-connection protocol state: one per stdio process, one per HTTP session.
 * Transports own its lifetime; the protocol core reads and updates it.
 */
export class Session {
  /**
   * Stateless HTTP: every message stands alone, no initialize is required (nor remembered),
   * and `version` comes from the transport.
   */
  readonly stateless: boolean;
  /** Set when initialize has been answered (or preset by a stateless transport). */
  version: InitializeEraVersion | undefined;
  /** `notifications/initialized` arrived. */
  clientReady = false;
  /** Threshold for `notifications/message`; MCP leaves the default to the server. */
  logLevel: LogLevel = 'info';
  clientName: string | undefined;
  /** Requests in flight, by id, so `notifications/cancelled` can abort them. */
  readonly inFlight = new Map<RequestId, AbortController>();
  /** Set once the session is ended; nothing new starts afterwards. */
  closed = false;

  constructor(options: { stateless?: boolean; version?: InitializeEraVersion } = {}) {
    this.stateless = options.stateless ?? false;
    this.version = options.version;
  }

  get initialized(): boolean {
    return this.version !== undefined;
  }

  cancel(id: RequestId, reason: string): boolean {
    const controller = this.inFlight.get(id);
    if (!controller) return false;
    this.inFlight.delete(id);
    controller.abort(new CancelledError(reason));
    return true;
  }

  /** Aborts every request in flight (session ended, transport closed, shutdown). */
  abortAll(reason: string): void {
    for (const id of [...this.inFlight.keys()]) this.cancel(id, reason);
  }

  close(reason: string): void {
    this.closed = true;
    this.abortAll(reason);
  }
}

/** The abort reason of a cancelled request; seeing it means: send no reply. */
export class CancelledError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'CancelledError';
  }
}
