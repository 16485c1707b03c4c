import { Citations, count, isRecord } from './citations.ts';
import { type Redactor, UpstreamError } from './errors.ts';
import type { Completion, Usage } from './types.ts';

/** Response statuses that mean the answer is not there yet (background responses). */
export const PENDING_STATUSES = new Set(['queued', 'in_progress']);

/** Error codes the Responses API marks as the server's trouble: retried like an HTTP 5xx (or 429). */
const RETRYABLE_CODES = new Set(['server_error', 'rate_limit_exceeded']);

/**
 * Reads a Response object (JSON, or the `response` of a terminal stream event) into a
 * Completion. The raw API has no `output_text` field (that is an SDK convenience): the text
 * is the `output_text` parts of the `message` items, in order.
 */
export function completionFromResponse(body: unknown, fallbackModel: string, requestId: string | undefined, redact: Redactor): Completion {
  if (!isRecord(body) || !Array.isArray(body.output)) {
    throw new UpstreamError('protocol', 'The upstream answered, but not with a response (no output).', { requestId });
  }
  const status = body.status;
  if (status === 'failed') throw failedResponse(body, requestId, redact);
  if (status === 'cancelled')
    throw new UpstreamError('cancelled', 'The upstream cancelled the response before it was complete.', { requestId, retryable: false });
  const text: string[] = [];
  const summary: string[] = [];
  const citations = new Citations();
  let messages = 0;
  let calls = 0;
  for (const item of body.output) {
    if (!isRecord(item)) continue;
    if (item.type === 'message' && Array.isArray(item.content)) {
      messages++;
      for (const part of item.content) {
        if (!isRecord(part) || part.type !== 'output_text' || typeof part.text !== 'string') continue;
        text.push(part.text);
        citations.addResponses(part.annotations);
      }
    } else if (item.type === 'reasoning' && Array.isArray(item.summary)) {
      for (const part of item.summary) if (isRecord(part) && typeof part.text === 'string' && part.text) summary.push(part.text);
    } else if (typeof item.type === 'string' && item.type.endsWith('_call')) {
      calls++;
    }
  }
  const completion: Completion = {
    text: text.join(''),
    model: typeof body.model === 'string' && body.model ? body.model : fallbackModel,
    finishReason: finishReasonOf(status, body.incomplete_details, messages, calls),
    usage: responsesUsageOf(body.usage),
    requestId,
    status: 200,
  };
  if (typeof body.id === 'string' && body.id) completion.responseId = body.id;
  const list = citations.list();
  if (list.length > 0) completion.citations = list;
  if (summary.length > 0) completion.reasoningSummary = summary.join('\n\n');
  return completion;
}

function finishReasonOf(status: unknown, details: unknown, messages: number, calls: number): string | null {
  if (status === 'completed') return calls > 0 && messages === 0 ? 'tool_calls' : 'stop';
  if (status === 'incomplete') {
    const reason = isRecord(details) ? details.reason : undefined;
    if (reason === 'max_output_tokens') return 'length';
    if (reason === 'content_filter') return 'content_filter';
  }
  return null;
}

/** Responses usage in the relay's (Chat Completions') names. */
export function responsesUsageOf(value: unknown): Usage | undefined {
  if (!isRecord(value)) return undefined;
  const usage: Usage = {};
  const input = count(value.input_tokens);
  const output = count(value.output_tokens);
  const total = count(value.total_tokens);
  if (input !== undefined) usage.prompt_tokens = input;
  if (output !== undefined) usage.completion_tokens = output;
  if (total !== undefined) usage.total_tokens = total;
  const reasoning = isRecord(value.output_tokens_details) ? count(value.output_tokens_details.reasoning_tokens) : undefined;
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  const cached = isRecord(value.input_tokens_details) ? count(value.input_tokens_details.cached_tokens) : undefined;
  if (cached !== undefined) usage.cached_tokens = cached;
  return Object.keys(usage).length > 0 ? usage : undefined;
}

/** A response whose status is `failed`: its error, quoted (redaction happens where it is shown). */
export function failedResponse(body: Record<string, unknown>, requestId: string | undefined, redact: Redactor): UpstreamError {
  const error = isRecord(body.error) ? body.error : {};
  return upstreamFailure(error.code, error.message, requestId, 'The upstream failed to answer', redact);
}

/** An `error` stream event: its fields flat (as the spec has them) or under `error` (as seen live). */
export function streamErrorEvent(event: Record<string, unknown>, requestId: string | undefined, redact: Redactor): UpstreamError {
  const error = isRecord(event.error) ? event.error : event;
  return upstreamFailure(error.code, error.message, requestId, 'The upstream failed mid-stream', redact);
}

function upstreamFailure(code: unknown, message: unknown, requestId: string | undefined, summary: string, redact: Redactor): UpstreamError {
  // Redacted first, only then cut (a key cut in half would not match its redaction).
  const said = typeof message === 'string' && message ? redact(message.replace(/\s+/g, ' ').trim()).slice(0, 300) : 'no reason given';
  const codeText = typeof code === 'string' && code ? ` (${code})` : '';
  // An error with no code is the server's own trouble mid-answer, as Chat Completions' are.
  const retryable = typeof code !== 'string' || RETRYABLE_CODES.has(code);
  return new UpstreamError('http', `${summary}: ${said.replace(/\.$/, '')}${codeText}.`, { requestId, retryable, upstreamMessage: said });
}
