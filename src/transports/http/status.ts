import { REFUSAL, type Reply } from '../../protocol/messages.ts';

/**
 * The HTTP status of a JSON answer to a POST, from the reply alone (mcp-go's
 * httpStatusForJSONRPCError). An error that answers no request (`id: null`: a parse error, a
 * refused batch), or answers a POST that held no request, is 400: the input was not accepted.
 * A 2026-07-28 request refused for its envelope, headers, version or a client capability it
 * did not declare (-32021) is 400, for its method 404, as that revision's transport requires.
 * Every other reply, errors answering a request included, is 200.
 */
export function httpStatusFor(reply: Reply, postHeldRequests: boolean): number {
  if (!postHeldRequests) return 400;
  if (Array.isArray(reply) || !('error' in reply)) return 200;
  if (reply.id === null) return 400;
  const refusal = reply[REFUSAL];
  if (refusal === undefined) return 200;
  return refusal === 'method' ? 404 : 400;
}
