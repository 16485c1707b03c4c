import type { CallContext, CallNotes, Context } from './context.ts';
import { ErrorCode, WireError } from './errors.ts';
import { initialize, serverCapabilities, serverInfo } from './lifecycle.ts';
import { isLogLevel, passes, type LogLevel } from './logging.ts';
import {
  classify,
  errorResponse,
  isObject,
  isRequestId,
  notification,
  parseErrorResponse,
  quote,
  resultResponse,
  type JsonObject,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Reply,
} from './messages.ts';
import {
  ADVERTISED_VERSIONS,
  CACHE_HINTS,
  checkModernVersion,
  decorateResult,
  hasModernEnvelope,
  readEnvelope,
  type ModernRejection,
} from './modern.ts';
import { CancelledError } from './session.ts';
import { listen } from './subscriptions.ts';
import { callTool, listTools } from './tools.ts';
import { featuresOf, type ProtocolVersion } from './versions.ts';

type MethodHandler = (params: JsonObject, call: CallContext) => JsonObject | Promise<JsonObject>;

// A Map, not an object literal: method names like "constructor" must not resolve to anything.
const METHODS = new Map<string, MethodHandler>([
  ['tools/list', listTools],
  ['tools/call', callTool],
  ['logging/setLevel', setLevel],
]);

/** 2026-07-28: no initialize, ping or logging/setLevel; discovery and cache hints instead. */
const MODERN_METHODS = new Map<string, MethodHandler>([
  [
    'server/discover',
    (_params, call) => ({
      supportedVersions: [...ADVERTISED_VERSIONS],
      capabilities: serverCapabilities(),
      instructions: call.app.instructions,
      ...CACHE_HINTS,
    }),
  ],
  ['tools/list', (params, call) => ({ ...listTools(params, call), ...CACHE_HINTS })],
  ['tools/call', callTool],
  ['subscriptions/listen', listen],
]);

/** How a request runs: its revision, and the level at which it gets log messages (none if undefined). */
interface RunMode {
  version: ProtocolVersion;
  logLevel: () => LogLevel | undefined;
  decorate?: (result: JsonObject) => JsonObject;
}

/**
 * The protocol core's one entry point: a decoded JSON value in, the reply out (or nothing,
 * for notifications, responses and cancelled requests). Knows no transport.
 */
export function handle(message: unknown, ctx: Context): Promise<Reply | undefined> {
  return Array.isArray(message) ? handleBatch(message, ctx) : handleOne(message, ctx, false);
}

/** For line- or body-oriented transports: parses the text, then handles it. */
export function handleText(text: string, ctx: Context): Promise<Reply | undefined> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return Promise.resolve(parseErrorResponse('the message is not valid JSON'));
  }
  return handle(message, ctx);
}

async function handleBatch(items: unknown[], ctx: Context): Promise<Reply | undefined> {
  const version = ctx.session.version;
  if (version === undefined || !featuresOf(version).batches) {
    const why = version === undefined ? 'before initialize' : `under protocol version ${version}`;
    return errorResponse(null, {
      code: ErrorCode.InvalidRequest,
      message: `Invalid Request: JSON-RPC batches are not accepted ${why} (only under 2025-03-26)`,
    });
  }
  if (items.length === 0) {
    return errorResponse(null, { code: ErrorCode.InvalidRequest, message: 'Invalid Request: empty batch' });
  }
  const { maxBatch } = ctx.app.limits;
  if (items.length > maxBatch) {
    // Refused whole, before any of it runs: a batch is not a way around the per-call limits.
    return errorResponse(null, {
      code: ErrorCode.InvalidRequest,
      message: `Invalid Request: the batch holds ${items.length} messages; at most ${maxBatch} are accepted (MCP_MAX_BATCH)`,
    });
  }
  const replies = await Promise.all(items.map((item) => handleOne(item, ctx, true)));
  const responses = replies.filter((reply): reply is JsonRpcResponse => reply !== undefined);
  return responses.length > 0 ? responses : undefined;
}

async function handleOne(value: unknown, ctx: Context, inBatch: boolean): Promise<JsonRpcResponse | undefined> {
  const incoming = classify(value);
  switch (incoming.kind) {
    case 'invalid':
      return errorResponse(incoming.id, { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${incoming.reason}` });
    case 'response':
      return undefined; // This server sends no requests, so a response answers nothing.
    case 'notification':
      handleNotification(incoming.message, ctx);
      return undefined;
    case 'request':
      return observed(incoming.message, ctx, inBatch);
  }
}

/** Handles a request and reports it once: one log line and the request counters. */
async function observed(request: JsonRpcRequest, ctx: Context, inBatch: boolean): Promise<JsonRpcResponse | undefined> {
  const started = performance.now();
  const notes: CallNotes = {};
  const reply = await handleRequest(request, ctx, inBatch, notes);
  const status = reply === undefined ? 'cancelled' : 'error' in reply ? String(reply.error.code) : 'ok';
  if (reply === undefined && notes.tool !== undefined) notes.outcome = 'cancelled';
  ctx.app.telemetry.request({
    transport: ctx.origin?.transport ?? 'unknown',
    key: ctx.origin?.key,
    method: request.method,
    id: request.id,
    status,
    durationMs: performance.now() - started,
    ...notes,
  });
  return reply;
}

function handleNotification(message: JsonRpcNotification, ctx: Context): void {
  const params = message.params ?? {};
  const { session } = ctx;
  switch (message.method) {
    case 'notifications/cancelled': {
      // Malformed or stale cancellations are ignored, as the spec asks.
      if (!isRequestId(params.requestId)) return;
      const reason = typeof params.reason === 'string' ? params.reason.slice(0, 200) : 'cancelled by the client';
      if (session.cancel(params.requestId, reason)) {
        ctx.app.log.debug('request cancelled', { id: params.requestId, reason });
      }
      return;
    }
    case 'notifications/initialized':
      return;
    default:
      ctx.app.log.debug('notification ignored', { method: message.method.slice(0, 100) });
  }
}

async function handleRequest(
  request: JsonRpcRequest,
  ctx: Context,
  inBatch: boolean,
  notes: CallNotes,
): Promise<JsonRpcResponse | undefined> {
  const { id, method } = request;
  const params = request.params ?? {};
  const { session } = ctx;
  // A request that names its protocol version is served by the 2026-07-28 rules, statelessly,
  // whatever the connection negotiated before.
  if (ctx.modern || hasModernEnvelope(request)) return handleModern(request, ctx, notes);
  try {
    if (method === 'initialize') {
      if (inBatch) throw new WireError(ErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch');
      return resultResponse(id, initialize(params, ctx));
    }
    if (method === 'ping') return resultResponse(id, {});
    if (session.version === undefined) {
      throw new WireError(ErrorCode.InvalidRequest, `Server not initialized: send "initialize" before ${quote(method)}`);
    }
    const handler = METHODS.get(method);
    if (!handler) throw new WireError(ErrorCode.MethodNotFound, `Method not found: ${quote(method)}`);
    assertIdFree(request, ctx);
    return await run(request, params, handler, ctx, notes, { version: session.version, logLevel: () => session.logLevel });
  } catch (error) {
    return errorReply(id, error, ctx);
  }
}

/** Envelope, then (HTTP) headers, then version, then the method: the order 2026-07-28 sets. */
async function handleModern(request: JsonRpcRequest, ctx: Context, notes: CallNotes): Promise<JsonRpcResponse | undefined> {
  const { id, method } = request;
  const reject = (stage: ModernRejection, error: unknown): JsonRpcResponse => {
    ctx.onModernRejection?.(stage);
    return errorReply(id, error, ctx);
  };
  let envelope;
  try {
    envelope = readEnvelope(request);
  } catch (error) {
    return reject('envelope', error);
  }
  const mismatch = ctx.checkHeaders?.(request);
  if (mismatch) return reject('headers', mismatch);
  let version;
  try {
    version = checkModernVersion(envelope.version);
  } catch (error) {
    return reject('version', error);
  }
  try {
    const handler = MODERN_METHODS.get(method);
    if (!handler) throw new WireError(ErrorCode.MethodNotFound, `Method not found: ${quote(method)} (not a ${version} method)`);
    assertIdFree(request, ctx);
    const info = serverInfo(ctx, version);
    return await run(request, request.params ?? {}, handler, ctx, notes, {
      version,
      logLevel: () => envelope.logLevel,
      decorate: (result) => decorateResult(result, info),
    });
  } catch (error) {
    return errorReply(id, error, ctx);
  }
}

function assertIdFree(request: JsonRpcRequest, ctx: Context): void {
  if (ctx.session.has(request.id)) {
    throw new WireError(
      ErrorCode.InvalidRequest,
      `Invalid Request: id ${JSON.stringify(request.id)} is already in use by a request in flight`,
    );
  }
}

/** Runs a method handler as an in-flight, cancellable request. Resolves undefined once cancelled. */
async function run(
  request: JsonRpcRequest,
  params: JsonObject,
  handler: MethodHandler,
  ctx: Context,
  notes: CallNotes,
  mode: RunMode,
): Promise<JsonRpcResponse | undefined> {
  const { id } = request;
  const { session, app } = ctx;
  const { version } = mode;
  const controller = new AbortController();
  session.track(id, controller);
  const onTransportAbort = (): void => void session.cancel(id, 'the transport closed');
  ctx.signal?.addEventListener('abort', onTransportAbort, { once: true });
  if (ctx.signal?.aborted) onTransportAbort();

  let settled = false;
  // Only a cancel (CancelledError) silences a request; a tool's own abort (its deadline) does not.
  const isCancelled = (): boolean => controller.signal.aborted && controller.signal.reason instanceof CancelledError;
  const notify = (message: JsonRpcNotification): void => {
    if (!settled && !isCancelled()) ctx.notify(message);
  };
  const call: CallContext = {
    id,
    version,
    features: featuresOf(version),
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    get cancelled() {
      return isCancelled();
    },
    progressToken: progressTokenOf(params),
    app,
    session,
    caller: ctx.origin?.key,
    notes,
    notify,
    log: (level: LogLevel, data: unknown) => {
      const threshold = mode.logLevel();
      if (threshold !== undefined && passes(level, threshold))
        notify(notification('notifications/message', { level, logger: app.name, data }));
    },
  };
  try {
    const result = await handler(params, call);
    if (isCancelled()) return undefined;
    return resultResponse(id, mode.decorate ? mode.decorate(result) : result);
  } catch (error) {
    // A cancelled request gets no reply, whatever its handler threw on the way out.
    return isCancelled() ? undefined : errorReply(id, error, ctx);
  } finally {
    settled = true;
    ctx.signal?.removeEventListener('abort', onTransportAbort);
    session.untrack(id, controller);
  }
}

function errorReply(id: JsonRpcRequest['id'], error: unknown, ctx: Context): JsonRpcResponse {
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

function setLevel(params: JsonObject, call: CallContext): JsonObject {
  if (!isLogLevel(params.level)) {
    throw new WireError(
      ErrorCode.InvalidParams,
      'logging/setLevel: "level" must be one of debug, info, notice, warning, error, critical, alert, emergency',
    );
  }
  call.session.logLevel = params.level;
  return {};
}
