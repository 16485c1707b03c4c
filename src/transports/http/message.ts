import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '../../protocol/errors.ts';
import { parseErrorResponse } from '../../protocol/messages.ts';
import { sendJson, sendRpcError, type Headers } from './reply.ts';
import { header, isJsonContentType, readBody } from './request.ts';

/**
 * Reads a POST's JSON-RPC message: a JSON Content-Type (else 415), a body within the cap (else
 * 413, and the connection closes), valid UTF-8 and JSON (else 400 with -32700). On a failure
 * the request has been answered and `undefined` is returned.
 */
export async function readMessage(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  headers: Headers,
): Promise<{ message: unknown } | undefined> {
  if (!isJsonContentType(header(req, 'content-type'))) {
    sendRpcError(res, 415, ErrorCode.ServerError, 'Unsupported Media Type: Content-Type must be application/json', headers);
    return undefined;
  }
  const body = await readBody(req, maxBytes);
  if (!body.ok) {
    const code = body.status === 400 ? ErrorCode.ParseError : ErrorCode.ServerError;
    sendRpcError(res, body.status, code, body.message, body.status === 400 ? headers : { ...headers, connection: 'close' });
    return undefined;
  }
  try {
    return { message: JSON.parse(body.text) };
  } catch {
    sendJson(res, 400, parseErrorResponse('the body is not valid JSON'), headers);
    return undefined;
  }
}
