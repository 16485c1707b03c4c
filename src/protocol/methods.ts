import type { CallContext } from './context.ts';
import { ErrorCode, WireError } from './errors.ts';
import { serverCapabilities } from './lifecycle.ts';
import { isLogLevel } from './logging.ts';
import type { JsonObject } from './messages.ts';
import { ADVERTISED_VERSIONS, CACHE_HINTS } from './modern.ts';
import { listen } from './subscriptions.ts';
import { callTool, listTools } from './tools.ts';

export type MethodHandler = (params: JsonObject, call: CallContext) => JsonObject | Promise<JsonObject>;

// Maps, not object literals: method names like "constructor" must not resolve to anything.

/** Initialize-era methods served once the session is initialized (initialize and ping come first). */
export const METHODS = new Map<string, MethodHandler>([
  ['tools/list', listTools],
  ['tools/call', callTool],
  ['logging/setLevel', setLevel],
]);

/** 2026-07-28: no initialize, ping or logging/setLevel; discovery and cache hints instead. */
export const MODERN_METHODS = new Map<string, MethodHandler>([
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
