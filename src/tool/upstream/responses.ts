import { parseJson } from './body.ts';
import { isRecord } from './citations.ts';
import { type Redactor, UpstreamError } from './errors.ts';
import type { UpstreamHttp } from './http-client.ts';
import { completionFromResponse, failedResponse, PENDING_STATUSES, streamErrorEvent } from './responses-result.ts';
import type { CompleteOptions, Completion, ResponsesRequest } from './types.ts';

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * The Responses API (`POST /responses`): JSON, or with `onText` an event stream whose
 * `response.output_text.delta` events carry the text and `response.reasoning_summary_text.delta`
 * the reasoning summary; the answer is whole at `response.completed` or `response.incomplete`
 * (whose `response` is authoritative), failed at `response.failed` or an `error` event. A stream
 * that ends without one of those is a broken answer.
 */
export async function respond(
  http: UpstreamHttp,
  redact: Redactor,
  body: ResponsesRequest,
  call: CompleteOptions,
  maxBytes: number,
): Promise<Completion> {
  const { onText } = call;
  if (!onText) {
    const answer = await http.json('POST', '/responses', body, call);
    if (isRecord(answer.body) && PENDING_STATUSES.has(answer.body.status as string)) {
      throw new UpstreamError('protocol', 'The upstream answered with a response that is not finished (status queued or in progress).', {
        requestId: answer.requestId,
      });
    }
    return completionFromResponse(answer.body, body.model, answer.requestId, redact);
  }
  const text: string[] = [];
  let received = 0;
  let summaryIndex = -1;
  let final: Record<string, unknown> | undefined;
  const answer = await http.events('POST', '/responses', { ...body, stream: true }, call, ({ data }, requestId) => {
    if (data === '[DONE]') return 'done'; // not sent by OpenAI; tolerated from compatible servers
    const event = parseJson(data, requestId);
    if (!isRecord(event)) return undefined;
    switch (event.type) {
      case 'response.output_text.delta':
        if (typeof event.delta === 'string' && event.delta) {
          received += event.delta.length;
          if (received > maxBytes) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
          text.push(event.delta);
          onText(event.delta);
        }
        return undefined;
      case 'response.reasoning_summary_text.delta':
        if (typeof event.delta === 'string' && event.delta && call.onReasoning) {
          // A new summary part starts on a line of its own.
          const index = typeof event.summary_index === 'number' ? event.summary_index : 0;
          call.onReasoning(summaryIndex >= 0 && index !== summaryIndex ? `\n\n${event.delta}` : event.delta);
          summaryIndex = index;
        }
        return undefined;
      case 'error':
        throw streamErrorEvent(event, requestId, redact);
      default:
        if (typeof event.type === 'string' && TERMINAL_EVENTS.has(event.type) && isRecord(event.response)) {
          if (event.type === 'response.failed') throw failedResponse(event.response, requestId, redact);
          final = event.response;
          return 'done';
        }
        return undefined;
    }
  });
  const { requestId } = answer;
  if (answer.json !== undefined) {
    // An upstream that ignored `stream: true`: the whole text becomes one piece.
    const completion = completionFromResponse(answer.json, body.model, requestId, redact);
    if (completion.text) onText(completion.text);
    return completion;
  }
  if (!final) throw new UpstreamError('network', "The upstream's stream ended before the answer was complete.", { requestId });
  const completion = completionFromResponse(final, body.model, requestId, redact);
  // A terminal event that carries no output still completes the text the deltas brought.
  if (completion.text === '' && text.length > 0) completion.text = text.join('');
  return completion;
}
