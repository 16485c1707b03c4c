import type { CallNotes, Context } from './context.ts';
import { eraOf, type Era } from './era.ts';
import { ErrorCode, WireError } from './errors.ts';
import { initialize } from './lifecycle.ts';
import {
  classify,
  errorResponse,
  isRequestId,
  parseErrorResponse,
  quote,
  resultResponse,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Reply,
} from './messages.ts';
import { METHODS } from './methods.ts';
import { handleModern } from './modern-request.ts';
import { assertIdFree, errorReply, run } from './run.ts';
import {
  checkAnswered,
  checkBatch,
  checkInitializeInBatch,
  checkInvalid,
  checkNotification,
  checkRequest,
  checkResponse,
  checkUnreadable,
} from './strict/checks.ts';
import { featuresOf } from './versions.ts';

/**
 * The protocol core's one entry point: a decoded JSON value in, the reply out (or nothing,
 * for notifications, responses and cancelled requests). Knows no transport: an HTTP transport
 * passes its MCP header values in `ctx.headers`, as plain data, and maps the reply to a status.
 */
export function handle(message: unknown, ctx: Context): Promise<Reply | undefined> {
  const era = eraOf(message, ctx.headers);
  if (!Array.isArray(message)) return handleOne(message, ctx, era, false);
  if (era === 'modern') {
    if (ctx.app.strict !== 'off') checkBatch(message, ctx, era);
    return Promise.resolve(
      errorResponse(null, {
        code: ErrorCode.InvalidRequest,
        message: 'Invalid Request: JSON-RPC batches are not part of protocol 2026-07-28',
      }),
    );
  }
  return handleBatch(message, ctx);
}

/** For line- or body-oriented transports: parses the text, then handles it. */
export function handleText(text: string, ctx: Context): Promise<Reply | undefined> {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    if (ctx.app.strict !== 'off') checkUnreadable(text, ctx);
    return Promise.resolve(parseErrorResponse('the message is not valid JSON'));
  }
  return handle(message, ctx);
}

async function handleBatch(items: unknown[], ctx: Context): Promise<Reply | undefined> {
  const version = ctx.session.version;
  if (version === undefined || !featuresOf(version).batches) {
    if (ctx.app.strict !== 'off') checkBatch(items, ctx, 'initialize');
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
  // Each item is of its own era (a batch is of the initialize era; an item may carry a
  // 2026-07-28 envelope, which is then served by that revision's rules).
  const replies = await Promise.all(items.map((item) => handleOne(item, ctx, eraOf(item), true)));
  const responses = replies.filter((reply): reply is JsonRpcResponse => reply !== undefined);
  return responses.length > 0 ? responses : undefined;
}

// Not async: a request's reply is observed()'s own promise, with no frame wrapped around it.
function handleOne(value: unknown, ctx: Context, era: Era, inBatch: boolean): Promise<JsonRpcResponse | undefined> {
  const incoming = classify(value);
  const strict = ctx.app.strict !== 'off';
  switch (incoming.kind) {
    case 'invalid':
      if (strict) checkInvalid(value, ctx, era);
      return Promise.resolve(
        errorResponse(incoming.id, { code: ErrorCode.InvalidRequest, message: `Invalid Request: ${incoming.reason}` }),
      );
    case 'response':
      // This server sends no requests, so a response answers nothing.
      return strict ? Promise.resolve(checkResponse(value, ctx, era)) : NOTHING;
    case 'notification':
      if (strict) checkNotification(incoming.message, ctx, era);
      handleNotification(incoming.message, ctx);
      return NOTHING;
    case 'request':
      // A 2026-07-28 request is checked once its envelope is read (it carries the log level).
      if (strict && era !== 'modern') checkRequest(incoming.message, ctx, era);
      return observed(incoming.message, ctx, era, inBatch);
  }
}

const NOTHING: Promise<undefined> = Promise.resolve(undefined);

/** Handles a request and reports it once: one log line and the request counters. */
async function observed(request: JsonRpcRequest, ctx: Context, era: Era, inBatch: boolean): Promise<JsonRpcResponse | undefined> {
  const started = performance.now();
  const notes: CallNotes = {};
  // A 2026-07-28 request is served statelessly by that revision's rules, whatever the
  // connection negotiated before.
  const reply = era === 'modern' ? await handleModern(request, ctx, notes) : await handleRequest(request, ctx, inBatch, notes);
  const status = reply === undefined ? 'cancelled' : 'error' in reply ? String(reply.error.code) : 'ok';
  if (reply === undefined && notes.tool !== undefined) notes.outcome = 'cancelled';
  if (ctx.app.strict !== 'off') checkAnswered(request, reply, notes, ctx, era);
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

/** The initialize era: initialize and ping first, then the session's own methods. */
function handleRequest(request: JsonRpcRequest, ctx: Context, inBatch: boolean, notes: CallNotes): Promise<JsonRpcResponse | undefined> {
  const { id, method } = request;
  const params = request.params ?? {};
  const { session } = ctx;
  try {
    if (method === 'initialize') {
      if (inBatch && ctx.app.strict !== 'off') checkInitializeInBatch(request, ctx);
      if (inBatch) throw new WireError(ErrorCode.InvalidRequest, 'Invalid Request: initialize must not be part of a batch');
      return Promise.resolve(resultResponse(id, initialize(params, ctx)));
    }
    if (method === 'ping') return Promise.resolve(resultResponse(id, {}));
    if (session.version === undefined) {
      throw new WireError(ErrorCode.InvalidRequest, `Server not initialized: send "initialize" before ${quote(method)}`);
    }
    const handler = METHODS.get(method);
    if (!handler) throw new WireError(ErrorCode.MethodNotFound, `Method not found: ${quote(method)}`);
    assertIdFree(request, ctx);
    // run() answers every failure of its handler itself; what throws here is refused before it runs.
    return run(request, params, handler, ctx, notes, { version: session.version, logLevel: () => session.logLevel });
  } catch (error) {
    return Promise.resolve(errorReply(id, error, ctx));
  }
}
