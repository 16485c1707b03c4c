/**
 * The protocol core's strict-mode checks (MCP_STRICT): called only when it is on, each looks
 * at what the client sent against the revision in use and reports the fault; where the spec
 * lets a server refuse and the mode is `reject`, the caller gets the refusal to send.
 */
import type { CallNotes, Context } from '../context.ts';
import type { Era } from '../era.ts';
import { ErrorCode } from '../errors.ts';
import type { LogLevel } from '../logging.ts';
import {
  errorResponse,
  isObject,
  isRequestId,
  type JsonObject,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type RequestId,
} from '../messages.ts';
import { type FaultScene, fault, recordOf } from './faults.ts';
import type { RuleId } from './rules.ts';

const MODERN_REVISION = '2026-07-28';

/** Methods of capabilities this server never advertises (it offers tools and logging only). */
const UNOFFERED = new Set([
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/list',
  'prompts/get',
  'completion/complete',
]);

/** Where a fault of this message is reported: requests answer on their own stream, the rest on the session's. */
export function sceneOf(ctx: Context, forRequest: boolean, logLevel?: LogLevel): FaultScene {
  const { session } = ctx;
  return {
    app: ctx.app,
    // A stateless POST's protocol state lives for that POST only: nothing to tally on.
    session: session.stateless ? undefined : session,
    transport: ctx.origin?.transport ?? 'unknown',
    key: ctx.origin?.key,
    deliver: forRequest ? ctx.notify : ctx.home,
    logLevel: logLevel ?? session.askedLogLevel,
  };
}

function revisionOf(ctx: Context, era: Era): string | undefined {
  return era === 'modern' ? MODERN_REVISION : ctx.session.version;
}

function report(ctx: Context, era: Era, rule: RuleId, message: unknown, forRequest = true): boolean {
  return fault(sceneOf(ctx, forRequest), rule, revisionOf(ctx, era), message);
}

/** Text that is not JSON (already answered with -32700): on stdio, a line that is not one message. */
export function checkUnreadable(text: string, ctx: Context): void {
  const rule: RuleId = ctx.origin?.transport === 'stdio' ? 'stdio.not-json-line' : 'client.message-invalid';
  report(ctx, 'initialize', rule, text, false);
}

/** A message that is not valid JSON-RPC (already answered with -32600). */
export function checkInvalid(value: unknown, ctx: Context, era: Era): void {
  const badId = isObject(value) && value.jsonrpc === '2.0' && 'method' in value && 'id' in value && !isRequestId(value.id);
  report(ctx, era, badId ? 'client.request-id-invalid' : 'client.message-invalid', value, false);
}

/** A response: this server sends no requests, so it answers none. Refused over Streamable HTTP in `reject`. */
export function checkResponse(value: unknown, ctx: Context, era: Era): JsonRpcResponse | undefined {
  // An error answering something the client could not read has no id to match (the spec allows it).
  if (isObject(value) && 'error' in value && (value.id === null || value.id === undefined)) return undefined;
  const refuse = report(ctx, era, 'client.response-unknown-id', value, false);
  if (!refuse || ctx.origin?.transport !== 'streamable-http') return undefined;
  return errorResponse(null, {
    code: ErrorCode.InvalidRequest,
    message: 'Invalid Request: this server sent no request, so a response answers nothing (MCP_STRICT=reject)',
  });
}

/** A notification: the lifecycle's and cancellation's rules. */
export function checkNotification(message: JsonRpcNotification, ctx: Context, era: Era): void {
  const session = ctx.session;
  if (session.stateless) return;
  const record = recordOf(session);
  if (message.method === 'notifications/initialized') {
    // Before initialize it initializes nothing.
    if (session.initialized) record.initialized = true;
    return;
  }
  if (message.method !== 'notifications/cancelled') return;
  const requestId = message.params?.requestId;
  // A request in flight may be cancelled, whatever id it reuses (2026-07-28 may reuse answered ones).
  if (!isRequestId(requestId) || session.has(requestId)) return;
  if (requestId === record.initializeId) report(ctx, era, 'client.cancel-initialize', message, false);
  else if (!record.knowsId(requestId)) report(ctx, era, 'client.cancel-unknown-request', message, false);
}

/** A request, before it is served: the lifecycle and id rules (their refusals are the core's own). */
export function checkRequest(request: JsonRpcRequest, ctx: Context, era: Era, logLevel?: LogLevel): void {
  const { session } = ctx;
  const { id, method } = request;
  const scene = sceneOf(ctx, true, logLevel);
  const revision = revisionOf(ctx, era);
  if (session.has(id)) fault(scene, 'client.request-id-reused', revision, request);
  if (session.stateless) return;
  const record = recordOf(session);
  // 2026-07-28 forbids only ids in flight; earlier revisions any id used before in the session.
  if (era === 'modern') {
    record.useModernId(id);
    return;
  }
  if (record.useId(id) && !session.has(id)) fault(scene, 'client.request-id-reused', revision, request);
  if (method === 'initialize') {
    record.initializeId ??= id;
    return;
  }
  if (method === 'ping') return;
  if (!session.initialized) fault(scene, 'client.request-before-initialize', revision, request);
  else if (!record.initialized && !record.initializedReported) {
    record.initializedReported = true;
    fault(scene, 'client.initialized-missing', revision, request);
  }
  if (session.initialized && UNOFFERED.has(method)) fault(scene, 'client.capability-not-negotiated', revision, request);
}

/** A batch the revision in use does not take (the core refuses it). */
export function checkBatch(items: unknown[], ctx: Context, era: Era): void {
  const version = ctx.session.version;
  if (version === undefined && era !== 'modern') {
    // Before initialize: a 2025-03-26 client batching its initialize, or requests before it.
    const init = items.find((item) => isObject(item) && item.method === 'initialize');
    const requested = isObject(init) && isObject(init.params) ? init.params.protocolVersion : undefined;
    if (init) fault(sceneOf(ctx, false), 'client.initialize-in-batch', typeof requested === 'string' ? requested : undefined, init);
    else report(ctx, era, 'client.request-before-initialize', items, false);
    return;
  }
  if (era === 'modern' || (version !== undefined && version !== '2025-03-26' && version !== '2024-11-05')) {
    report(ctx, era, 'client.batch-unsupported', items, false);
  }
}

export function checkInitializeInBatch(request: JsonRpcRequest, ctx: Context): void {
  report(ctx, 'initialize', 'client.initialize-in-batch', request);
}

/** After a request was answered: what its answer says the client got wrong. */
export function checkAnswered(request: JsonRpcRequest, reply: JsonRpcResponse | undefined, notes: CallNotes, ctx: Context, era: Era): void {
  if (notes.outcome === 'invalid_arguments') report(ctx, era, 'client.arguments-invalid', request);
  if (request.method === 'logging/setLevel' && reply && 'error' in reply && reply.error.code === ErrorCode.InvalidParams) {
    report(ctx, era, 'client.log-level-invalid', request);
  }
}

/**
 * A request's progress token: its type, and that no other request in flight on the session
 * carries it. Returns what to call when the request ends: it releases the token and keeps the
 * id known for a cancel racing the answer.
 */
export function holdProgressToken(params: JsonObject, id: RequestId, ctx: Context, revision: string, logLevel?: LogLevel): () => void {
  const { session } = ctx;
  const record = session.stateless ? undefined : recordOf(session);
  const modern = revision === MODERN_REVISION;
  const ended = (): void => record?.ended(id, modern);
  const meta = params._meta;
  if (!isObject(meta) || !('progressToken' in meta)) return ended;
  const token = meta.progressToken;
  const scene = sceneOf(ctx, true, logLevel);
  if (!(typeof token === 'string' || (typeof token === 'number' && Number.isInteger(token)))) {
    fault(scene, 'client.progress-token-invalid', revision, { _meta: meta });
    return ended;
  }
  if (!record) return ended;
  if (record.holdToken(token, id, (holder) => session.has(holder))) fault(scene, 'client.progress-token-reused', revision, { _meta: meta });
  return () => {
    record.releaseToken(token, id);
    ended();
  };
}

/** A 2026-07-28 request refused at its envelope or its headers: reported with its rule. */
export function checkModernRefusal(step: string, request: JsonRpcRequest, ctx: Context): void {
  if (step === 'headers') {
    report(ctx, 'modern', 'modern.header-mismatch', { ...request, headers: ctx.headers });
    return;
  }
  if (step !== 'envelope') return;
  const meta = request.params?._meta;
  const complete =
    isObject(meta) &&
    typeof meta['io.modelcontextprotocol/protocolVersion'] === 'string' &&
    isObject(meta['io.modelcontextprotocol/clientCapabilities']);
  if (!complete) report(ctx, 'modern', 'modern.envelope-missing', request);
  else if ('io.modelcontextprotocol/logLevel' in meta) report(ctx, 'modern', 'client.log-level-invalid', request);
}
