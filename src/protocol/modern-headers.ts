import type { McpHeaders } from './era.ts';
import { ErrorCode, WireError } from './errors.ts';
import { isObject, type JsonRpcRequest } from './messages.ts';
import { META } from './modern.ts';

/**
 * Which body field a method's `Mcp-Name` header mirrors (2026-07-28 Streamable HTTP). A Map:
 * a method named "constructor" must find nothing here.
 */
const NAME_SOURCES = new Map<string, 'name' | 'uri' | 'taskId'>([
  ['tools/call', 'name'],
  ['prompts/get', 'name'],
  ['resources/read', 'uri'],
  // The tasks extension: so that intermediaries can route a task's requests to where it lives.
  ['tasks/get', 'taskId'],
  ['tasks/update', 'taskId'],
  ['tasks/cancel', 'taskId'],
]);

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The 2026-07-28 POST headers must be present and match the body: MCP-Protocol-Version the
 * `_meta` version, Mcp-Method the method, Mcp-Name (for tools/call, prompts/get,
 * resources/read, and the tasks extension's tasks/get, tasks/update, tasks/cancel) the name,
 * uri or taskId. Values are trimmed, `=?base64?…?=` values decoded, and
 * compared case-sensitively. A failure is -32020 (HeaderMismatch).
 */
export function checkModernHeaders(headers: McpHeaders, request: JsonRpcRequest): WireError | undefined {
  const meta = isObject(request.params?._meta) ? request.params._meta : {};
  const problem =
    compare('MCP-Protocol-Version', headers.protocolVersion, meta[META.protocolVersion], false) ??
    compare('Mcp-Method', headers.method, request.method, false);
  if (problem) return problem;
  const source = NAME_SOURCES.get(request.method);
  if (source === undefined) return undefined;
  return compare('Mcp-Name', headers.name, request.params?.[source], true);
}

const SENTINEL_OPEN = '=?base64?';
const SENTINEL_CLOSE = '?=';

function compare(name: string, raw: string | undefined, body: unknown, encodable: boolean): WireError | undefined {
  if (raw === undefined) return mismatch(`the ${name} header is required`);
  let value = raw.trim();
  // Header values are visible ASCII (and spaces); anything else must come =?base64?...?= encoded.
  if (/[^\x20-\x7e\t]/.test(value))
    return mismatch(`the ${name} header holds characters that are not visible ASCII (send them =?base64?...?= encoded)`);
  if (
    encodable &&
    value.length >= SENTINEL_OPEN.length + SENTINEL_CLOSE.length &&
    value.startsWith(SENTINEL_OPEN) &&
    value.endsWith(SENTINEL_CLOSE)
  ) {
    const decoded = decodeBase64(value.slice(SENTINEL_OPEN.length, -SENTINEL_CLOSE.length));
    if (decoded === undefined) return mismatch(`the ${name} header is not valid =?base64?…?= encoding`);
    value = decoded;
  }
  if (typeof body === 'string' && value === body) return undefined;
  return mismatch(`${name} header value ${show(value)} does not match body value ${typeof body === 'string' ? show(body) : 'none'}`);
}

function decodeBase64(text: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  try {
    return decoder.decode(Buffer.from(text, 'base64'));
  } catch {
    return undefined;
  }
}

function show(value: string): string {
  return `'${value.length > 80 ? `${value.slice(0, 80)}…` : value}'`;
}

function mismatch(message: string): WireError {
  return new WireError(ErrorCode.HeaderMismatch, `Header mismatch: ${message}`);
}
