import { CallCancel, type CancelSignal } from '../cancel.ts';
import { CancelledError } from '../errors.ts';
import type { CallContext, CallNotes, Context, ServerApp } from './context.ts';
import { ErrorCode, WireError } from './errors.ts';
import { passes, type LogLevel } from './logging.ts';
import {
  errorResponse,
  isObject,
  notification,
  resultResponse,
  type JsonObject,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from './messages.ts';
import type { MethodHandler } from './methods.ts';
import type { Session } from './session.ts';
import { holdProgressToken } from './strict/checks.ts';
import { featuresOf, type ProtocolVersion, type VersionFeatures } from './versions.ts';

/** How a request runs: its revision, and the level at which it gets log messages (none if undefined). */
export interface RunMode {
  version: ProtocolVersion;
  logLevel: () => LogLevel | undefined;
  decorate?: (result: JsonObject) => JsonObject;
  /** 2026-07-28: the client capabilities the request declared. */
  clientCapabilities?: JsonObject;
}

/** Refuses an id already in flight on this session (MCP forbids reusing one). */
export function assertIdFree(request: JsonRpcRequest, ctx: Context): void {
  if (ctx.session.has(request.id)) {
    throw new WireError(
      ErrorCode.InvalidRequest,
      `Invalid Request: id ${JSON.stringify(request.id)} is already in use by a request in flight`,
    );
  }
}

/**
 * Runs a method handler as an in-flight, cancellable request: one AbortController, aborted by
 * every cancel path (notifications/cancelled, the transport closing the session). Resolves undefined once
 * cancelled: a cancelled request gets no reply.
 */
export async function run(
  request: JsonRpcRequest,
  params: JsonObject,
  handler: MethodHandler,
  ctx: Context,
  notes: CallNotes,
  mode: RunMode,
): Promise<JsonRpcResponse | undefined> {
  const { id } = request;
  const { session } = ctx;
  const call = new RequestCall(id, params, ctx, notes, mode);
  const controller = call.controller;
  session.track(id, controller);
  let release: (() => void) | undefined;
  try {
    // Strict mode: a 2026-07-28 request names its own log level; an earlier one has the session's, if asked for.
    if (ctx.app.strict !== 'off') {
      release = holdProgressToken(params, id, ctx, mode.version, call.features.modern ? mode.logLevel() : undefined);
    }
    // A transport that can no longer deliver the reply closes the session: nothing new starts.
    if (session.closed) session.cancel(id, 'the transport closed');
    const result = await handler(params, call);
    if (call.cancelled) return undefined;
    return resultResponse(id, mode.decorate ? mode.decorate(result) : result);
  } catch (error) {
    // A cancelled request gets no reply, whatever its handler threw on the way out.
    return call.cancelled ? undefined : errorReply(id, error, ctx);
  } finally {
    call.settled = true;
    release?.();
    session.untrack(id, controller);
  }
}

/**
 * A request's CallContext: a class, so a call in flight holds its fields and no closures of
 * its own (thousands of slow calls each keep one while the upstream thinks).
 */
class RequestCall implements CallContext {
  readonly controller = new CallCancel();
  readonly features: VersionFeatures;
  readonly progressToken: string | number | undefined;
  readonly app: ServerApp;
  readonly session: Session;
  readonly caller: string | undefined;
  readonly home: ((message: JsonRpcNotification) => void) | undefined;
  readonly clientCapabilities: JsonObject | undefined;
  readonly version: ProtocolVersion;
  /** Once the reply is decided, notifications are dropped. */
  settled = false;

  constructor(
    readonly id: RequestId,
    params: JsonObject,
    private readonly ctx: Context,
    readonly notes: CallNotes,
    private readonly mode: RunMode,
  ) {
    this.version = mode.version;
    this.features = featuresOf(mode.version);
    this.progressToken = progressTokenOf(params);
    this.app = ctx.app;
    this.session = ctx.session;
    this.caller = ctx.origin?.key;
    this.home = ctx.home;
    this.clientCapabilities = mode.clientCapabilities;
  }

  get signal(): CancelSignal {
    return this.controller;
  }

  /** Only a cancel (CancelledError) silences a request; a tool's own abort (its deadline) does not. */
  get cancelled(): boolean {
    const { controller } = this;
    return controller.aborted && controller.reason instanceof CancelledError;
  }

  get owner(): string {
    return ownerOf(this.ctx);
  }

  abort(reason: Error): void {
    this.controller.abort(reason);
  }

  notify(message: JsonRpcNotification): void {
    if (!this.settled && !this.cancelled) this.ctx.notify(message);
  }

  log(level: LogLevel, data: unknown, logger?: string): void {
    const threshold = this.mode.logLevel();
    if (threshold !== undefined && passes(level, threshold)) this.notify(logMessage(this.app.name, level, data, logger));
  }

  status(): void {}

  durable(): void {}

  cancelledElsewhere(): void {}
}

/** Whose work a request's is (tasks belong to it): its key, the stdio client, or, without authentication, anyone. */
export function ownerOf(ctx: Pick<Context, 'origin'>): string {
  const origin = ctx.origin;
  if (origin?.key !== undefined) return `key:${origin.key}`;
  return origin?.transport === 'stdio' ? 'stdio' : 'anonymous';
}

/** A `notifications/message`; `logger` names a part of this server. */
export function logMessage(server: string, level: LogLevel, data: unknown, logger?: string): JsonRpcNotification {
  return notification('notifications/message', { level, logger: logger ? `${server}/${logger}` : server, data });
}

/** A WireError serializes itself; anything else is the server's own fault (-32603, logged). */
export function errorReply(id: JsonRpcRequest['id'], error: unknown, ctx: Context): JsonRpcResponse {
  if (error instanceof WireError) return errorResponse(id, error.toJSON());
  ctx.app.log.error('internal error while handling a request', { id, error });
  return errorResponse(id, { code: ErrorCode.InternalError, message: 'Internal error' });
}

function progressTokenOf(params: JsonObject): string | number | undefined {
  const meta = params._meta;
  if (!isObject(meta)) return undefined;
  const token = meta.progressToken;
  return typeof token === 'string' || (typeof token === 'number' && Number.isFinite(token)) ? token : undefined;
}
