import type { CallContext } from './context.ts';
import { ErrorCode, WireError } from './errors.ts';
import { serverCapabilities } from './lifecycle.ts';
import { isLogLevel } from './logging.ts';
import type { JsonObject } from './messages.ts';
import { ADVERTISED_VERSIONS, CACHE_HINTS } from './modern.ts';
import { listen } from './subscriptions.ts';
import { MODERN_TASK_METHODS, TASK_METHODS } from './tasks/methods.ts';
import { callTool, listTools } from './tools.ts';

export type MethodHandler = (params: JsonObject, call: CallContext) => JsonObject | Promise<JsonObject>;

// Maps, not object literals: method names like "constructor" must not resolve to anything.

/** Initialize-era methods served once the session is initialized (initialize and ping come first). */
export const METHODS = new Map<string, MethodHandler>([
  ['tools/list', listTools],
  ['tools/call', callTool],
  ['logging/setLevel', setLevel],
  // Only 2025-11-25 sessions find them (-32601 otherwise), and only with MCP_TASKS on.
  ...TASK_METHODS,
]);

/** 2026-07-28: no initialize, ping or logging/setLevel; discovery and cache hints instead. */
export const MODERN_METHODS = new Map<string, MethodHandler>([
  [
    'server/discover',
    (_params, call) => ({
      supportedVersions: [...ADVERTISED_VERSIONS],
      capabilities: serverCapabilities(call.app, 'modern'),
      instructions: call.app.instructions,
      ...CACHE_HINTS,
    }),
  ],
  ['tools/list', (params, call) => ({ ...listTools(params, call), ...CACHE_HINTS })],
  ['tools/call', callTool],
  ['subscriptions/listen', listen],
]);

/** A 2026-07-28 method's handler: the core set, and the tasks extension's methods while MCP_TASKS is on. */
export function modernMethod(method: string, app: CallContext['app']): MethodHandler | undefined {
  return MODERN_METHODS.get(method) ?? (app.tasks.enabled ? MODERN_TASK_METHODS.get(method) : undefined);
}

/** Methods 2026-07-28 removed with the tasks redesign: still -32601, with a pointer to what replaced them. */
export const MODERN_METHODS_REMOVED = new Map([
  ['tasks/result', 'removed in 2026-07-28: tasks/get carries the result'],
  ['tasks/list', 'removed in 2026-07-28'],
]);

/** Requests a 2026-07-28 client may send that this tools-only server does not offer. */
export const MODERN_METHODS_NOT_OFFERED = new Set([
  'prompts/list',
  'prompts/get',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'completion/complete',
]);

function setLevel(params: JsonObject, call: CallContext): JsonObject {
  if (!isLogLevel(params.level)) {
    throw new WireError(
      ErrorCode.InvalidParams,
      'logging/setLevel: "level" must be one of debug, info, notice, warning, error, critical, alert, emergency',
    );
  }
  call.session.setLogLevel(params.level);
  return {};
}
