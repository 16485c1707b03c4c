/** JSON-RPC 2.0 and MCP error codes. */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** A transport-level failure (HTTP status errors); the server-error range the SDKs use. */
  ServerError: -32000,
  /** Streamable HTTP / SSE: the session id names no session this caller may use. */
  SessionNotFound: -32001,
  /** 2026-07-28: an HTTP header disagrees with the body. */
  HeaderMismatch: -32020,
  /** 2026-07-28: the request needs a client capability (an extension) the client did not declare on it. */
  MissingRequiredClientCapability: -32021,
  /** 2026-07-28: the request names a protocol version the server does not serve. */
  UnsupportedProtocolVersion: -32022,
} as const;

export interface ErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * An error that belongs on the wire: it carries a JSON-RPC code and serializes itself.
 * Anything else thrown while handling a request is the server's own fault (-32603).
 */
export class WireError extends Error {
  readonly code: number;
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'WireError';
    this.code = code;
    this.data = data;
  }

  toJSON(): ErrorObject {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

export const invalidParams = (message: string, data?: unknown): WireError => new WireError(ErrorCode.InvalidParams, message, data);

export const invalidRequest = (message: string): WireError => new WireError(ErrorCode.InvalidRequest, message);
