import type { Context, ServerApp } from './context.ts';
import { ownerOf } from './run.ts';
import { TASKS_EXTENSION } from './tasks/service.ts';
import { invalidParams, invalidRequest } from './errors.ts';
import { isObject, type JsonObject } from './messages.ts';
import { featuresOf, isInitializeEraVersion, LATEST_INITIALIZE_VERSION, type ProtocolVersion } from './versions.ts';

/** `initialize`: checks the client's params, negotiates the version, records it on the session. */
export function initialize(params: JsonObject, ctx: Context): JsonObject {
  const { session } = ctx;
  if (session.initialized && !session.stateless) {
    throw invalidRequest('initialize was already received on this connection; it may be sent only once');
  }
  const requested = params.protocolVersion;
  if (typeof requested !== 'string') throw invalidParams('initialize: "protocolVersion" must be a string');
  if (!isObject(params.capabilities)) throw invalidParams('initialize: "capabilities" must be an object');
  const clientInfo = params.clientInfo;
  if (!isObject(clientInfo) || typeof clientInfo.name !== 'string' || typeof clientInfo.version !== 'string') {
    throw invalidParams('initialize: "clientInfo" must be an object with string "name" and "version"');
  }
  // Echo a version we serve; otherwise offer our latest initialize-era one (never 2026-07-28,
  // which has no initialize).
  const version = isInitializeEraVersion(requested) ? requested : LATEST_INITIALIZE_VERSION;
  if (!session.stateless) session.negotiate(version);
  return {
    protocolVersion: version,
    capabilities: serverCapabilities(ctx.app, version, ownerOf(ctx)),
    serverInfo: serverInfo(ctx, version),
    instructions: ctx.app.instructions,
  };
}

/**
 * What the server offers: tools and logging, and tasks where the revision has them (2025-11-25:
 * the `tasks` capability, `list` only for a caller it can list for; 2026-07-28: the extension).
 */
export function serverCapabilities(app: ServerApp, version: ProtocolVersion | 'modern', owner = 'anonymous'): JsonObject {
  const capabilities: JsonObject = { tools: { listChanged: false }, logging: {} };
  if (!app.tasks.enabled) return capabilities;
  if (version === 'modern') capabilities.extensions = { [TASKS_EXTENSION]: {} };
  else if (featuresOf(version).tasks) capabilities.tasks = app.tasks.capability(owner);
  return capabilities;
}

export function serverInfo(ctx: Pick<Context, 'app'>, version: ProtocolVersion): JsonObject {
  const { app } = ctx;
  return featuresOf(version).implementationTitle
    ? { name: app.name, title: app.title, version: app.version }
    : { name: app.name, version: app.version };
}
