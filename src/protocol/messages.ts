import type { ErrorObject } from './errors.ts';
import { ErrorCode } from './errors.ts';

export type RequestId = string | number;
export type JsonObject = Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: JsonObject;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: JsonObject;
}

export interface JsonRpcResult {
  jsonrpc: '2.0';
  id: RequestId;
  result: JsonObject;
}

export interface JsonRpcError {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: ErrorObject;
  /** Set when a 2026-07-28 request was refused before it ran (never serialized: a symbol key). */
  [REFUSAL]?: Refusal;
}

/**
 * Why a 2026-07-28 request was refused: its envelope, its HTTP headers, its version, its
 * method, or a client capability it did not declare (-32021). The core marks the reply; a
 * transport reads the mark to pick a status, as the transport spec ties statuses to these.
 */
export type Refusal = 'envelope' | 'headers' | 'version' | 'method' | 'capability';
export const REFUSAL: unique symbol = Symbol('refusal');

export type JsonRpcResponse = JsonRpcResult | JsonRpcError;
/** What the server writes back for one incoming message: a response, or an array for a batch. */
export type Reply = JsonRpcResponse | JsonRpcResponse[];
export type OutgoingMessage = JsonRpcResponse | JsonRpcNotification;

export type Incoming =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response' }
  | { kind: 'invalid'; id: RequestId | null; reason: string };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** MCP request ids are strings or integers; 0 and "" are real ids, null is not. */
export function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isSafeInteger(value));
}

/** Classifies one (non-array) decoded JSON value against JSON-RPC 2.0 and MCP's message schema. */
export function classify(value: unknown): Incoming {
  if (!isObject(value)) return invalid(null, 'A JSON-RPC message must be a JSON object');
  const id = isRequestId(value.id) ? value.id : null;
  if (value.jsonrpc !== '2.0') return invalid(id, 'The "jsonrpc" member must be exactly "2.0"');
  const hasId = 'id' in value;
  if ('method' in value) {
    if (typeof value.method !== 'string') return invalid(id, 'The "method" member must be a string');
    if ('params' in value && !isObject(value.params)) {
      return invalid(id, 'The "params" member must be an object when present');
    }
    if (!hasId) return { kind: 'notification', message: value as unknown as JsonRpcNotification };
    if (id === null) return invalid(null, 'The "id" member must be a string or an integer (null is not allowed)');
    return { kind: 'request', message: value as unknown as JsonRpcRequest };
  }
  const isResult = 'result' in value;
  const isError = 'error' in value;
  if (hasId && isResult !== isError) return { kind: 'response' };
  return invalid(id, 'The message is neither a request, a notification nor a response');
}

function invalid(id: RequestId | null, reason: string): Incoming {
  return { kind: 'invalid', id, reason };
}

export function resultResponse(id: RequestId, result: JsonObject): JsonRpcResult {
  return { jsonrpc: '2.0', id, result };
}

export function errorResponse(id: RequestId | null, error: ErrorObject): JsonRpcError {
  return { jsonrpc: '2.0', id, error };
}

export const parseErrorResponse = (detail: string): JsonRpcError =>
  errorResponse(null, { code: ErrorCode.ParseError, message: `Parse error: ${detail}` });

export function notification(method: string, params: JsonObject): JsonRpcNotification {
  return { jsonrpc: '2.0', method, params };
}

/** A client-supplied string for an error message: quoted, and cut short so echoes stay small. */
export function quote(value: string, max = 80): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value);
}
