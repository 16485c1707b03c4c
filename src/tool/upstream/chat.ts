import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { parseJson } from './body.ts';
import { ChunkAccumulator, completionFromBody } from './chat-completion.ts';
import { type Redactor, UpstreamError, upstreamMessageOf } from './errors.ts';
import type { JsonAnswer, UpstreamHttp } from './http-client.ts';
import type { ChatRequest, CompleteOptions, Completion } from './types.ts';

/**
 * The Chat Completions API (`POST /chat/completions`): JSON, or with `onText` an event stream
 * of `chat.completion.chunk` events ending with `data: [DONE]`, which completes the answer at
 * once (an upstream that keeps the connection open after it does not hold the call).
 */
export function chatComplete(
  http: UpstreamHttp,
  redact: Redactor,
  request: ChatRequest,
  call: CompleteOptions,
  maxBytes: number,
): Promise<Completion> {
  const { onText } = call;
  // Not async: a JSON answer is decoded as it arrives, with no frame of ours waiting for it.
  if (!onText) return http.decoded('POST', '/chat/completions', request, call, chatAnswer, request.model);
  return chatStream(http, redact, request, call, maxBytes, onText);
}

const chatAnswer = (answer: JsonAnswer, model: string): Completion => completionFromBody(answer.body, model, answer.requestId);

async function chatStream(
  http: UpstreamHttp,
  redact: Redactor,
  request: ChatRequest,
  call: CompleteOptions,
  maxBytes: number,
  onText: (text: string) => void,
): Promise<Completion> {
  const accumulator = new ChunkAccumulator(request.model);
  let received = 0;
  const body = { ...request, stream: true, stream_options: { include_usage: true } };
  const answer = await http.events('POST', '/chat/completions', body, call, ({ data }, requestId) => {
    if (data === '[DONE]') return 'done';
    const chunk = parseJson(data, requestId) as ChatCompletionChunk & { error?: unknown };
    if (chunk && typeof chunk === 'object' && chunk.error) {
      const message = upstreamMessageOf(JSON.stringify(chunk), redact);
      // An error event in a 200 stream is the server failing mid-answer: worth a retry
      // (the retry layer still will not retry once text has reached the client).
      throw new UpstreamError('http', `The upstream failed mid-stream: ${message ?? 'unknown error'}.`, {
        requestId,
        retryable: true,
        ...(message ? { upstreamMessage: message } : {}),
      });
    }
    const text = accumulator.add(chunk);
    received += text.length;
    if (received > maxBytes) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
    if (text) onText(text);
    return undefined;
  });
  const { requestId } = answer;
  if (answer.json !== undefined) {
    // An upstream that ignored `stream: true`: the whole text becomes one piece.
    const completion = completionFromBody(answer.json, request.model, requestId);
    if (completion.text) onText(completion.text);
    return completion;
  }
  if (!answer.done && !accumulator.finished) {
    throw new UpstreamError('network', "The upstream's stream ended before the answer was complete.", { requestId });
  }
  return accumulator.result(requestId);
}
