import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log.ts';
import type { Registry } from '../../metrics.ts';
import { sendJson } from './reply.ts';

/** What /health reports. */
export interface HealthState {
  draining: boolean;
  version: string;
  uptimeSeconds: number;
  transport: string;
  /** OAuth mode: whether the authorization server answers. */
  authorization_server?: string;
}

/** /health: no key, no perimeter (probes use pod addresses); 503 while draining. */
export function sendHealth(req: IncomingMessage, res: ServerResponse, state: HealthState): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: 'method_not_allowed', message: 'Use GET or HEAD' }, { allow: 'GET, HEAD' });
  }
  const body = JSON.stringify({
    status: state.draining ? 'draining' : 'ok',
    version: state.version,
    uptime_s: state.uptimeSeconds,
    transport: state.transport,
    ...(state.authorization_server !== undefined ? { authorization_server: state.authorization_server } : {}),
  });
  res.writeHead(state.draining ? 503 : 200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** /metrics, Prometheus text format; behind the same perimeter and keys as /mcp. */
export function sendMetrics(req: IncomingMessage, res: ServerResponse, registry: Registry): void {
  const body = registry.render();
  res.writeHead(200, {
    'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * Node's clientError: a request that never became one (too slow, headers too large,
 * malformed) is answered with a JSON body and the connection closed.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, requestTimeoutMs: number, log: Logger): void {
  const [status, reason, message] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', `The request did not arrive within ${requestTimeoutMs} ms (MCP_REQUEST_TIMEOUT_MS)`]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'The request headers are too large']
        : [400, 'Bad Request', 'Malformed HTTP request'];
  if (socket.writable && !socket.writableEnded) {
    const body = JSON.stringify({ error: reason.toLowerCase().replace(/ /g, '_'), message });
    const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    socket.end(`${head}${body}`);
  } else {
    socket.destroy();
  }
  log.debug('bad HTTP request', { status, error: error.code ?? error.message });
}
