import type { IncomingMessage } from 'node:http';

/** One header's value; repeated headers count as absent-but-wrong (undefined is absent). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export interface Acceptance {
  readonly json: boolean;
  readonly sse: boolean;
}

const ANYTHING: Acceptance = { json: true, sse: true };
// Clients send the same Accept header on every request: remember the last few answers.
const acceptMemo = new Map<string, Acceptance>();

/** What an Accept header allows of the two types MCP uses. A missing header allows anything. */
export function acceptance(value: string | undefined): Acceptance {
  if (value === undefined) return ANYTHING;
  let known = acceptMemo.get(value);
  if (!known) {
    known = parseAccept(value);
    if (acceptMemo.size >= 64) acceptMemo.clear();
    acceptMemo.set(value, known);
  }
  return known;
}

function parseAccept(value: string): Acceptance {
  if (value.trim() === '') return ANYTHING;
  let json = false;
  let sse = false;
  for (const range of value.split(',')) {
    const [type = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (type === '*/*') json = sse = true;
    else if (type === 'application/json' || type === 'application/*') json = true;
    else if (type === 'text/event-stream' || type === 'text/*') sse = true;
  }
  return { json, sse };
}

export function isJsonContentType(value: string | undefined): boolean {
  if (value === 'application/json') return true;
  return value !== undefined && value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

export type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413; message: string };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a request body, counting bytes as they arrive: past `maxBytes` it stops at once (413);
 * the caller answers and the connection is closed, dropping whatever else the client sends.
 * A body too slow to arrive is the server's requestTimeout's to cut off (408, see server.ts):
 * one check per second for every connection, rather than a timer per request.
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.resolve({
      ok: false,
      status: 413,
      message: `Payload Too Large: the body exceeds ${maxBytes} bytes (MCP_MAX_BODY_BYTES)`,
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onError);
      if (!result.ok) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        settle({ ok: false, status: 413, message: `Payload Too Large: the body exceeds ${maxBytes} bytes (MCP_MAX_BODY_BYTES)` });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      try {
        settle({ ok: true, text: decoder.decode(Buffer.concat(chunks, size)) });
      } catch {
        settle({ ok: false, status: 400, message: 'Parse error: the body is not valid UTF-8' });
      }
    };
    const onError = (): void => settle({ ok: false, status: 400, message: 'Bad Request: the body could not be read' });
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    // The connection went (or the server cut a slow body off) before the body was whole.
    req.on('close', onError);
  });
}
