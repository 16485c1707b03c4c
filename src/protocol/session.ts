import type { Abortable } from '../cancel.ts';
import { CancelledError } from '../errors.ts';
import type { InitializeEraVersion } from './versions.ts';
import type { LogLevel } from './logging.ts';
import type { RequestId } from './messages.ts';
import type { ClientRecord } from './strict/record.ts';

/**
 * Per-connection protocol state: one per stdio process, one per HTTP session, one per POST in
 * stateless mode. Transports own its lifetime; the protocol core reads and updates it.
 */
export class Session {
  /**
   * Stateless HTTP: every message stands alone, no initialize is required (nor remembered),
   * and `version` comes from the transport.
   */
  readonly stateless: boolean;
  /** Set when initialize has been answered (or preset by a stateless transport). */
  private negotiated: InitializeEraVersion | undefined;
  /** Threshold for `notifications/message`; MCP leaves the default to the server. */
  private level: LogLevel = 'info';
  private levelAsked = false;
  /** MCP_STRICT: what strict mode remembers of this client (undefined with it off). */
  client: ClientRecord | undefined;
  private ended = false;
  /** Requests in flight, by id, so `notifications/cancelled` can abort them. */
  private readonly inFlight = new Map<RequestId, Abortable>();
  /** Stateless: the caller's requests in flight across all its POSTs. */
  private readonly scope: CancelScope | undefined;

  constructor(options: { stateless?: boolean; version?: InitializeEraVersion; scope?: CancelScope } = {}) {
    this.stateless = options.stateless ?? false;
    this.negotiated = options.version;
    this.scope = options.scope;
  }

  get version(): InitializeEraVersion | undefined {
    return this.negotiated;
  }

  get initialized(): boolean {
    return this.negotiated !== undefined;
  }

  /** initialize was answered with this version. */
  negotiate(version: InitializeEraVersion): void {
    this.negotiated = version;
  }

  get logLevel(): LogLevel {
    return this.level;
  }

  setLogLevel(level: LogLevel): void {
    this.level = level;
    this.levelAsked = true;
  }

  /** The level the client asked for with logging/setLevel; undefined if it never asked. */
  get askedLogLevel(): LogLevel | undefined {
    return this.levelAsked ? this.level : undefined;
  }

  /** Ended: nothing new starts. */
  get closed(): boolean {
    return this.ended;
  }

  /** Requests in flight on this session. */
  get running(): number {
    return this.inFlight.size;
  }

  has(id: RequestId): boolean {
    return this.inFlight.has(id);
  }

  track(id: RequestId, controller: Abortable): void {
    this.inFlight.set(id, controller);
    this.scope?.add(id, controller);
  }

  untrack(id: RequestId, controller: Abortable): void {
    if (this.inFlight.get(id) === controller) this.inFlight.delete(id);
    this.scope?.remove(id, controller);
  }

  /** Cancels the request with this id here or, stateless, anywhere in the caller's scope. */
  cancel(id: RequestId, reason: string): boolean {
    const controller = this.inFlight.get(id);
    if (!controller) return this.scope?.cancel(id, reason) ?? false;
    this.untrack(id, controller);
    controller.abort(new CancelledError(reason));
    return true;
  }

  /** Aborts every request in flight (session ended, transport closed, shutdown). */
  abortAll(reason: string): void {
    for (const id of [...this.inFlight.keys()]) this.cancel(id, reason);
  }

  close(reason: string): void {
    this.ended = true;
    this.abortAll(reason);
  }
}

/**
 * The requests in flight of one caller (an API key) across stateless POSTs, so that a
 * `notifications/cancelled` sent in a POST of its own reaches the call it names. Ids are only
 * unique per client, and clients sharing a key share its scope: a cancel reaches every call
 * of that key with that id on this process.
 */
export class CancelScope {
  private readonly byId = new Map<RequestId, Set<Abortable>>();
  private readonly onEmpty: () => void;

  constructor(onEmpty: () => void = () => undefined) {
    this.onEmpty = onEmpty;
  }

  add(id: RequestId, controller: Abortable): void {
    let set = this.byId.get(id);
    if (!set) {
      set = new Set();
      this.byId.set(id, set);
    }
    set.add(controller);
  }

  remove(id: RequestId, controller: Abortable): void {
    const set = this.byId.get(id);
    if (!set?.delete(controller)) return;
    if (set.size === 0) this.byId.delete(id);
    if (this.byId.size === 0) this.onEmpty();
  }

  cancel(id: RequestId, reason: string): boolean {
    const set = this.byId.get(id);
    if (!set) return false;
    for (const controller of [...set]) {
      this.remove(id, controller);
      controller.abort(new CancelledError(reason));
    }
    return true;
  }
}

/** Cancel scopes by caller, each dropped once it holds nothing. */
export class CancelScopes {
  private readonly scopes = new Map<string, CancelScope>();

  of(caller: string): CancelScope {
    let scope = this.scopes.get(caller);
    if (!scope) {
      const made = new CancelScope(() => {
        if (this.scopes.get(caller) === made) this.scopes.delete(caller);
      });
      this.scopes.set(caller, made);
      scope = made;
    }
    return scope;
  }
}
