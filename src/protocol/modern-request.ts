import type { CallNotes, Context } from './context.ts';
import { ErrorCode, WireError } from './errors.ts';
import { serverInfo } from './lifecycle.ts';
import { quote, REFUSAL, type JsonRpcRequest, type JsonRpcResponse, type Refusal } from './messages.ts';
import { MODERN_METHODS_NOT_OFFERED, MODERN_METHODS_REMOVED, modernMethod } from './methods.ts';
import { checkModernHeaders } from './modern-headers.ts';
import { checkModernVersion, decorateResult, type Envelope, readEnvelope } from './modern.ts';
import type { ModernVersion } from './versions.ts';
import { assertIdFree, errorReply, run } from './run.ts';
import { checkModernRefusal, checkRequest } from './strict/checks.ts';

/**
 * A 2026-07-28 request: envelope, then (HTTP) headers, then version, then the method, the
 * order that revision sets. A refusal at any of these steps is marked with its step, which
 * the HTTP transport maps to 400 (or 404 for the method).
 */
export async function handleModern(request: JsonRpcRequest, ctx: Context, notes: CallNotes): Promise<JsonRpcResponse | undefined> {
  const { id, method } = request;
  const refuse = (refusal: Refusal, error: unknown): JsonRpcResponse => {
    if (ctx.app.strict !== 'off') checkModernRefusal(refusal, request, ctx);
    const reply = errorReply(id, error, ctx);
    if ('error' in reply) reply[REFUSAL] = refusal;
    return reply;
  };
  let envelope: Envelope;
  try {
    envelope = readEnvelope(request);
  } catch (error) {
    return refuse('envelope', error);
  }
  const mismatch = ctx.headers ? checkModernHeaders(ctx.headers, request) : undefined;
  if (!mismatch && ctx.app.strict !== 'off') checkRequest(request, ctx, 'modern', envelope.logLevel);
  if (mismatch) return refuse('headers', mismatch);
  let version: ModernVersion;
  try {
    version = checkModernVersion(envelope.version);
  } catch (error) {
    return refuse('version', error);
  }
  const handler = modernMethod(method, ctx.app);
  if (!handler) {
    const why = MODERN_METHODS_NOT_OFFERED.has(method)
      ? `a ${version} method this server does not offer: it serves tools only`
      : (MODERN_METHODS_REMOVED.get(method) ?? `not a ${version} method`);
    return refuse('method', new WireError(ErrorCode.MethodNotFound, `Method not found: ${quote(method)} (${why})`));
  }
  try {
    assertIdFree(request, ctx);
    const info = serverInfo(ctx, version);
    const reply = await run(request, request.params ?? {}, handler, ctx, notes, {
      version,
      logLevel: () => envelope.logLevel,
      decorate: (result) => decorateResult(result, info),
      clientCapabilities: envelope.clientCapabilities,
    });
    // A client that must declare a capability first is refused as the envelope is (HTTP 400).
    if (reply && 'error' in reply && reply.error.code === ErrorCode.MissingRequiredClientCapability) reply[REFUSAL] = 'capability';
    return reply;
  } catch (error) {
    return errorReply(id, error, ctx);
  }
}
