import { systemClock, type Clock } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import { chatComplete } from './chat.ts';
import { createRedactor } from './errors.ts';
import { UpstreamHttp } from './http-client.ts';
import { respond } from './responses.ts';
import type { CompleteOptions, Completion, Upstream, UpstreamCall } from './types.ts';

export interface OpenAIUpstreamOptions {
  baseUrl: string;
  apiKey: string;
  userAgent: string;
  log: Logger;
  clock?: Clock;
  /** Largest accepted response body (non-streamed) or streamed text, in bytes. */
  maxResponseBytes?: number;
}

/**
 * An OpenAI-compatible upstream: Chat Completions and the Responses API on one HTTP client
 * (one keep-alive pool, the same caps, errors and redaction for both).
 */
export function createOpenAIUpstream(options: OpenAIUpstreamOptions): Upstream {
  const redact = createRedactor([options.apiKey]);
  const http = new UpstreamHttp({ ...options, clock: options.clock ?? systemClock, redact });
  const maxBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const complete = (call: UpstreamCall, run: CompleteOptions): Promise<Completion> =>
    call.api === 'chat' ? chatComplete(http, redact, call.body, run, maxBytes) : respond(http, redact, call.body, run, maxBytes);
  return { name: 'openai', complete, close: () => http.close() };
}
