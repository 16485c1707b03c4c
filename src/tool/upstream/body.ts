import type { Readable } from 'node:stream';
import { UpstreamError } from './errors.ts';

/** Reading what an upstream sends back: bodies within caps, JSON, headers, failure codes. */

export function parseJson(text: string, requestId: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamError('protocol', 'The upstream answered with something that is not JSON.', { requestId });
  }
}

/**
 * Reads a body up to `cap` bytes (events, not async iteration: this is on every call's path).
 * Past the cap, `strict` refuses the answer; otherwise what fits is kept (an error body).
 */
export function readCapped(body: Readable, cap: number, strict: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const detach = (): void => {
      body.off('data', onData);
      body.off('end', done);
      body.off('error', onError);
    };
    const done = (): void => {
      detach();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error): void => {
      detach();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      const room = cap - kept;
      if (chunk.length <= room) {
        chunks.push(chunk);
        kept += chunk.length;
        return;
      }
      chunks.push(chunk.subarray(0, room));
      kept = cap;
      detach();
      body.on('error', () => undefined);
      body.destroy();
      if (strict) reject(new UpstreamError('protocol', "The upstream's answer exceeds the size limit."));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    body.on('data', onData);
    body.on('end', done);
    body.on('error', onError);
  });
}

export function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const record = current as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof record.code === 'string') return record.code;
    current = Array.isArray(record.errors) ? record.errors[0] : record.cause;
  }
  return error instanceof Error ? error.message.slice(0, 100) : 'unknown error';
}
