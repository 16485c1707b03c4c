import { UpstreamError } from './errors.ts';

/** Reading what an upstream sends back: bodies within caps, JSON, headers, failure codes. */

export function parseJson(text: string, requestId: string | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UpstreamError('protocol', 'The upstream answered with something that is not JSON.', { requestId });
  }
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
