import { isObject } from './messages.ts';
import { META } from './modern.ts';
import { isModernVersionString } from './versions.ts';

/**
 * The MCP header values an HTTP request arrived with, as plain data (raw, untrimmed; a
 * repeated header's values joined with commas). stdio has none.
 */
export interface McpHeaders {
  /** MCP-Protocol-Version */
  readonly protocolVersion?: string | undefined;
  /** Mcp-Method */
  readonly method?: string | undefined;
  /** Mcp-Name */
  readonly name?: string | undefined;
}

/** The initialize era (2024-11-05 to 2025-11-25, sessions) or the stateless era (2026-07-28). */
export type Era = 'initialize' | 'modern';

/**
 * Which era a message belongs to, decided here and nowhere else: 2026-07-28 when its `_meta`
 * carries a key of that revision's envelope (a protocol version, or client capabilities,
 * which only that envelope puts in `_meta`), or when the HTTP header names 2026-07-28 or
 * later; otherwise the initialize era. A modern message with an incomplete envelope is then
 * refused as such (-32602), on stdio and HTTP alike.
 */
export function eraOf(message: unknown, headers?: McpHeaders): Era {
  const version = headers?.protocolVersion?.trim();
  if (version !== undefined && isModernVersionString(version)) return 'modern';
  if (!isObject(message) || !isObject(message.params)) return 'initialize';
  const meta = message.params._meta;
  return isObject(meta) && (META.protocolVersion in meta || META.clientCapabilities in meta) ? 'modern' : 'initialize';
}
