import { sleepOn, systemClock, type Clock, type Sleep } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import { backgroundResponses, followBackground } from './background.ts';
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
  /** How a background call waits between polls and resumes (the clock's own by default). */
  sleep?: Sleep;
  /** Largest accepted response body (non-streamed) or streamed text, in bytes. */
  maxResponseBytes?: number;
}

/**
 * An OpenAI-compatible upstream: Chat Completions and the Responses API (foreground and
 * background) on one HTTP client (one keep-alive pool, the same caps, errors and redaction).
 */
export function createOpenAIUpstream(options: OpenAIUpstreamOptions): Upstream {
  const redact = createRedactor([options.apiKey]);
  const clock = options.clock ?? systemClock;
  const http = new UpstreamHttp({ ...options, clock, redact });
  const maxBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const deps = { http, redact, clock, sleep: options.sleep ?? sleepOn(clock), log: options.log, maxBytes };
  const complete = (call: UpstreamCall, run: CompleteOptions): Promise<Completion> => {
    if (call.api === 'chat') return chatComplete(http, redact, call.body, run, maxBytes);
    return call.background ? followBackground(deps, call.body, run) : respond(http, redact, call.body, run, maxBytes);
  };
  return { name: 'openai', complete, background: backgroundResponses(deps), close: () => http.close() };
}
