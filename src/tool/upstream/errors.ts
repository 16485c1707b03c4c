import { LocalError } from '../../protocol/errors.ts';

export type UpstreamFailure = 'http' | 'network' | 'timeout' | 'protocol';

/** A failed upstream call. Its message is safe to show a client: no key, no request body. */
export class UpstreamError extends LocalError {
  readonly failure: UpstreamFailure;
  readonly status: number | undefined;
  readonly upstreamMessage: string | undefined;
  readonly requestId: string | undefined;

  constructor(
    failure: UpstreamFailure,
    message: string,
    details: { status?: number; upstreamMessage?: string; requestId?: string; cause?: unknown } = {},
  ) {
    super(`UPSTREAM_${failure.toUpperCase()}`, message, { cause: details.cause });
    this.failure = failure;
    this.status = details.status;
    this.upstreamMessage = details.upstreamMessage;
    this.requestId = details.requestId;
  }
}

/** Pulls the human-readable message out of an error body (OpenAI's shape and common others). */
export function upstreamMessageOf(body: string): string | undefined {
  let message: unknown;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const record = parsed as Record<string, unknown>;
      const error = record.error;
      message =
        typeof error === 'object' && error !== null
          ? (error as Record<string, unknown>).message
          : (error ?? record.message ?? record.detail);
    }
  } catch {
    message = body;
  }
  if (typeof message !== 'string') return undefined;
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return oneLine ? oneLine.slice(0, 300) : undefined;
}

/** Removes anything shaped like an API key (OpenAI echoes a masked key in 401 messages). */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 8) out = out.split(secret).join('[redacted]');
  return out.replace(/\b(sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/g, '$1-[redacted]');
}
