import type { ServerResponse } from 'node:http';
import { ErrorCode } from '../../protocol/errors.ts';

export type Headers = Record<string, string | number | string[]>;

/** Writes a JSON body with a status; does nothing once headers are out. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const out: Headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' };
  Object.assign(out, headers);
  if (bodyUnread(res)) out.connection = 'close';
  res.writeHead(status, out);
  res.end(text);
}

/**
 * An answer sent before its request's body was read ends the connection, and says so: the
 * rest of the body is read and thrown away (a lingering close), not parsed as a next request.
 */
function bodyUnread(res: ServerResponse): boolean {
  const req = res.req as ServerResponse['req'] | undefined;
  if (!req || req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** An error status on an MCP endpoint: a JSON-RPC error response with no id, as the transport spec allows. */
export function sendRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Headers = {},
  data?: unknown,
): void {
  const error = data === undefined ? { code, message } : { code, message, data };
  sendJson(res, status, { jsonrpc: '2.0', id: null, error }, headers);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  if (res.headersSent || res.destroyed) return;
  // A 204 may not carry Content-Length; anything else says 0 rather than using chunks.
  const all = status === 204 ? headers : { 'content-length': 0, ...headers };
  res.writeHead(status, bodyUnread(res) ? { ...all, connection: 'close' } : all);
  res.end();
}

/** What a 503 says, by the setting whose cap was reached. */
const UNAVAILABLE: Record<string, string> = {
  MCP_MAX_SSE_STREAMS: 'too many open event streams',
  MCP_MAX_STREAMS_PER_KEY: 'this key has as many event streams open as it may',
  MCP_MAX_SESSIONS: 'the session limit is reached and no session is idle',
  MCP_MAX_SESSIONS_PER_KEY: 'this key holds as many sessions as it may and none of them is idle',
};

/** 503 with a JSON-RPC error and Retry-After: a cap is reached (the caller's own, or the server's). */
export function sendUnavailable(res: ServerResponse, setting: string, headers: Headers = {}): void {
  const why = UNAVAILABLE[setting] ?? 'a limit is reached';
  sendRpcError(res, 503, ErrorCode.ServerError, `Service Unavailable: ${why} (${setting})`, { ...headers, 'retry-after': 5 });
}

/** 400 for an MCP-Protocol-Version header naming a version this endpoint does not serve. */
export function sendUnsupportedVersion(res: ServerResponse, version: string, headers: Headers = {}): void {
  sendRpcError(
    res,
    400,
    ErrorCode.ServerError,
    `Bad Request: unsupported MCP-Protocol-Version ${JSON.stringify(version.slice(0, 40))}`,
    headers,
  );
}
