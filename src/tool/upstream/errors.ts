import { LocalError } from '../../errors.ts';

/** `cancelled`: the upstream says the response was cancelled (by someone else: another replica's tasks/cancel). */
export type UpstreamFailure = 'http' | 'network' | 'timeout' | 'protocol' | 'cancelled';

export interface UpstreamErrorDetails {
  status?: number;
  upstreamMessage?: string;
  requestId?: string;
  retryAfterMs?: number;
  retryable?: boolean;
  attempts?: number;
  cause?: unknown;
}

/** Statuses worth another attempt: timeouts, conflicts, rate limits, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** A failed upstream call. Its message is safe to show a client: no key, no request body. */
export class UpstreamError extends LocalError {
  readonly failure: UpstreamFailure;
  readonly status: number | undefined;
  readonly upstreamMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly retryable: boolean;
  readonly attempts: number;
  readonly #init: UpstreamErrorDetails;

  constructor(failure: UpstreamFailure, message: string, details: UpstreamErrorDetails = {}) {
    super(`UPSTREAM_${failure.toUpperCase()}`, message, { cause: details.cause });
    this.failure = failure;
    this.#init = details;
    this.status = details.status;
    this.upstreamMessage = details.upstreamMessage;
    this.requestId = details.requestId;
    this.retryAfterMs = details.retryAfterMs;
    this.retryable = details.retryable ?? (failure === 'network' || (details.status !== undefined && isRetryableStatus(details.status)));
    this.attempts = details.attempts ?? 1;
  }

  /** The same failure with a note appended to its message and the attempts counted. */
  withNote(note: string, attempts: number): UpstreamError {
    return new UpstreamError(this.failure, `${this.message}${note}`, { ...this.#init, attempts });
  }

  /** The same failure, not to be retried by starting the call over (a background response already exists). */
  final(): UpstreamError {
    return this.retryable ? new UpstreamError(this.failure, this.message, { ...this.#init, retryable: false }) : this;
  }
}

/** The abort reason when a call runs out of time (OPENAI_TIMEOUT_MS). */
export class DeadlineExceeded extends LocalError {
  /** The setting that bounds the call: OPENAI_TIMEOUT_MS, or OPENAI_BACKGROUND_TIMEOUT_MS for a background call. */
  readonly setting: string;

  constructor(timeoutMs: number, setting = 'OPENAI_TIMEOUT_MS') {
    super('DEADLINE_EXCEEDED', `The upstream did not finish within ${timeoutMs} ms (${setting}).`);
    this.setting = setting;
  }
}

/** Removes secrets from text that came from the upstream, before it goes anywhere. */
export type Redactor = (text: string) => string;

/** Runs of a secret this long or longer are removed wherever they appear. */
const SECRET_RUN = 12;

/**
 * A redactor for the given secrets (the upstream key): it removes every run of 12 or more
 * of a secret's characters, with or without its `sk-` prefix (an upstream may echo a key
 * partly, or masked in the middle), and anything shaped like an API key (`sk-…`, any case,
 * even glued to other text; OpenAI echoes a masked key in 401 messages).
 */
export function createRedactor(secrets: readonly (string | undefined)[]): Redactor {
  // Every 12-character window of every secret: a text window found here starts a run to remove.
  const windows = new Set<string>();
  // The windows' first two characters, as numbers: most positions of a text are passed over on
  // this without cutting a window out of it (the relay checks every upstream request id).
  const starts = new Set<number>();
  for (const secret of secrets) {
    if (!secret || secret.length < SECRET_RUN) continue;
    for (let i = 0; i + SECRET_RUN <= secret.length; i++) {
      windows.add(secret.slice(i, i + SECRET_RUN));
      starts.add(pairAt(secret, i));
    }
  }
  const isWindow = (text: string, at: number): boolean => starts.has(pairAt(text, at)) && windows.has(text.slice(at, at + SECRET_RUN));
  return (text) => {
    let out = text;
    if (windows.size > 0 && out.length >= SECRET_RUN) {
      let result = '';
      let copied = 0;
      for (let i = 0; i + SECRET_RUN <= out.length; ) {
        if (!isWindow(out, i)) {
          i++;
          continue;
        }
        let end = i + SECRET_RUN;
        while (end < out.length && isWindow(out, end - SECRET_RUN + 1)) end++;
        result += `${out.slice(copied, i)}[redacted]`;
        copied = end;
        i = end;
      }
      out = copied === 0 ? out : result + out.slice(copied);
    }
    return out.replace(/(sk|rk|pk)-[A-Za-z0-9_*.-]{6,}/gi, '$1-[redacted]');
  };
}

const pairAt = (text: string, at: number): number => text.charCodeAt(at) * 65536 + text.charCodeAt(at + 1);

/**
 * Pulls the human-readable message out of an error body (OpenAI's shape and common others),
 * on one line, secrets removed first and only then cut to 300 characters (a key cut in half
 * would no longer match its redaction).
 */
export function upstreamMessageOf(body: string, redact: Redactor): string | undefined {
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
  const oneLine = redact(message.replace(/\s+/g, ' ').trim());
  return oneLine ? oneLine.slice(0, 300) : undefined;
}

export function statusSummary(status: number): string {
  if (status === 401) return 'The upstream rejected the API key';
  if (status === 403) return 'The upstream refused access';
  if (status === 404) return 'The upstream does not know this model or endpoint';
  if (status === 408) return 'The upstream timed out';
  if (status === 429) return 'The upstream rate-limited the call';
  if (status >= 500) return 'The upstream failed';
  return 'The upstream rejected the request';
}

export function statusAdvice(status: number): string {
  if (status === 401) return 'Check OPENAI_API_KEY.';
  if (status === 403) return 'Check that the key may use this model and endpoint.';
  if (status === 404) return 'Check the model name and OPENAI_BASE_URL.';
  if (status === 429) return "Wait and try again, or check the account's rate limits and quota.";
  if (status === 408 || status === 409 || status >= 500) return 'Try again later.';
  return 'Check the arguments (model, temperature, max_tokens, extra).';
}

/**
 * How long the upstream asks us to wait: `retry-after-ms` (OpenAI's), else `Retry-After` in
 * seconds or as an HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()): number | undefined {
  const first = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const ms = Number(first('retry-after-ms'));
  if (first('retry-after-ms') !== undefined && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const after = first('retry-after');
  if (after === undefined) return undefined;
  const seconds = Number(after);
  if (after.trim() !== '' && Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
