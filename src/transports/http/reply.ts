import type { ServerResponse } from 'node:http';

/** Codes for errors of the HTTP layer itself (the JSON-RPC "server error" range). */
export const TransportErrorCode = { Generic: -32000, SessionNotFound: -32001 } as const;

export type Headers = Record<string, string | number | string[]>;

/** Writes a JSON body with a status; does nothing once headers are out. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
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
  res.writeHead(status, status === 204 ? headers : { 'content-length': 0, ...headers });
  res.end();
}
