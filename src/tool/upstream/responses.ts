import { isRecord } from './citations.ts';
import { type Redactor, UpstreamError } from './errors.ts';
import type { JsonAnswer, UpstreamHttp } from './http-client.ts';
import { ResponseEvents } from './response-events.ts';
import { completionFromResponse, PENDING_STATUSES } from './responses-result.ts';
import type { CompleteOptions, Completion, ResponsesRequest } from './types.ts';

/**
 * The Responses API (`POST /responses`), in the foreground: JSON, or with `onText` an event
 * stream (see ResponseEvents). A stream that ends without its terminal event is a broken
 * answer. Background calls are followed by `followBackground` instead.
 */
export function respond(
  http: UpstreamHttp,
  redact: Redactor,
  body: ResponsesRequest,
  call: CompleteOptions,
  maxBytes: number,
): Promise<Completion> {
  const { onText } = call;
  // Not async: a JSON answer is decoded as it arrives, with no frame of ours waiting for it.
  if (!onText) return http.decoded('POST', '/responses', body, call, responseAnswer, { model: body.model, redact });
  return respondStreamed(http, redact, body, call, maxBytes, onText);
}

function responseAnswer(answer: JsonAnswer, { model, redact }: { model: string; redact: Redactor }): Completion {
  if (isRecord(answer.body) && PENDING_STATUSES.has(answer.body.status as string)) {
    throw new UpstreamError('protocol', 'The upstream answered with a response that is not finished (status queued or in progress).', {
      requestId: answer.requestId,
    });
  }
  return completionFromResponse(answer.body, model, answer.requestId, redact);
}

async function respondStreamed(
  http: UpstreamHttp,
  redact: Redactor,
  body: ResponsesRequest,
  call: CompleteOptions,
  maxBytes: number,
  onText: (text: string) => void,
): Promise<Completion> {
  const events = new ResponseEvents(call, redact, maxBytes, body.model);
  const answer = await http.events('POST', '/responses', { ...body, stream: true }, call, events.onEvent);
  if (answer.json !== undefined) return wholeAnswer(answer.json, body.model, answer.requestId, redact, onText);
  return events.completion(answer.requestId);
}

/** An upstream that ignored `stream: true`: the whole text becomes one piece. */
function wholeAnswer(
  json: unknown,
  model: string,
  requestId: string | undefined,
  redact: Redactor,
  onText: (text: string) => void,
): Completion {
  const completion = completionFromResponse(json, model, requestId, redact);
  if (completion.text) onText(completion.text);
  return completion;
}
