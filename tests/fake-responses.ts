/**
 * The Responses API side of the fake upstream: `POST /v1/responses` answered as JSON or as an
 * event stream of named events with `sequence_number`s, stored responses for
 * previous_response_id (an unknown id is the real API's 400), `GET /v1/responses/{id}`, and the
 * refusal Chat Completions gives a Responses-only model.
 */
import type { ServerResponse } from 'node:http';

export type ResponsesBehaviour =
  | {
      type: 'response';
      text?: string;
      model?: string;
      status?: 'completed' | 'incomplete' | 'failed' | 'cancelled' | 'queued' | 'in_progress';
      incompleteReason?: 'max_output_tokens' | 'content_filter';
      error?: { code: string; message: string };
      usage?: object | null;
      annotations?: object[];
      reasoningSummary?: string[];
      /** Replaces the whole output array (tool calls, odd items). */
      output?: object[];
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | {
      type: 'response-stream';
      pieces: string[];
      reasoning?: string[];
      /** How the stream ends: a terminal event, an `error` event (flat or nested), or nothing at all. */
      end?: 'completed' | 'incomplete' | 'failed' | 'error' | 'error-nested' | 'none';
      error?: { code: string | null; message: string };
      annotations?: object[];
      usage?: object | null;
      intervalMs?: number;
      /** Drop the connection after this many text pieces. */
      dropAfter?: number;
      /** Send named events (`event: <type>`), as OpenAI does; off: data lines only. */
      named?: boolean;
    };

export interface StoredResponse {
  id: string;
  body: Record<string, unknown>;
}

/** The refusal text OpenAI sends when a Responses-only model is called on Chat Completions. */
export const RESPONSES_ONLY_REFUSAL = 'This model is only supported in v1/responses and not in v1/chat/completions.';
const RESPONSES_ONLY = /^(o1-pro|o3-pro|gpt-5(\.\d+)?-pro|gpt-5(\.\d+)?-codex|o3-deep-research|o4-mini-deep-research|computer-use-preview)/;

export function isResponsesOnlyModel(model: unknown): boolean {
  return typeof model === 'string' && RESPONSES_ONLY.test(model.slice(model.lastIndexOf('/') + 1));
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function errorBody(message: string, code: string | null, param: string | null, type = 'invalid_request_error'): object {
  return { error: { message, type, param, code } };
}

let sequence = 0;

/** A Response object as the API sends it. */
export function responseObject(
  request: Record<string, unknown>,
  options: {
    id?: string;
    text: string;
    model?: string | undefined;
    status: string;
    incompleteReason?: string | undefined;
    error?: { code: string; message: string } | undefined;
    usage?: object | null | undefined;
    annotations?: object[] | undefined;
    reasoningSummary?: string[] | undefined;
    output?: object[] | undefined;
  },
): Record<string, unknown> {
  const id = options.id ?? `resp_fake${++sequence}`;
  const output: object[] = options.output ?? [
    ...(options.reasoningSummary
      ? [{ type: 'reasoning', id: `rs_${id}`, summary: options.reasoningSummary.map((text) => ({ type: 'summary_text', text })) }]
      : []),
    ...(options.status === 'queued' || options.status === 'in_progress'
      ? []
      : [
          {
            type: 'message',
            id: `msg_${id}`,
            role: 'assistant',
            status: options.status === 'incomplete' ? 'incomplete' : 'completed',
            content: [{ type: 'output_text', text: options.text, annotations: options.annotations ?? [], logprobs: [] }],
          },
        ]),
  ];
  const words = options.text.split(/\s+/).filter(Boolean).length;
  return {
    id,
    object: 'response',
    created_at: 1_700_000_000,
    status: options.status,
    background: request.background === true,
    error: options.error ?? null,
    incomplete_details: options.incompleteReason ? { reason: options.incompleteReason } : null,
    instructions: request.instructions ?? null,
    model: options.model ?? (request.model as string | undefined) ?? 'fake-model',
    output,
    previous_response_id: request.previous_response_id ?? null,
    store: request.store !== false,
    temperature: request.temperature ?? 1,
    tools: request.tools ?? [],
    usage:
      options.usage === null || options.status === 'queued' || options.status === 'in_progress'
        ? null
        : (options.usage ?? {
            input_tokens: 11,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: words,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 11 + words,
          }),
  };
}

/** One SSE event as OpenAI frames it: `event:` (when named) and `data:` with type and sequence number. */
export function sseEvent(type: string, fields: object, seq: number, named = true): string {
  const data = JSON.stringify({ type, ...fields, sequence_number: seq });
  return `${named ? `event: ${type}\n` : ''}data: ${data}\n\n`;
}

/**
 * The events of a streamed response, in the API's order, ending with its terminal event (or
 * an error event, or nothing). Each is written by `write`, spaced by `later`.
 */
export function streamEvents(
  request: Record<string, unknown>,
  behaviour: Extract<ResponsesBehaviour, { type: 'response-stream' }>,
  store: (response: Record<string, unknown>) => void,
): string[] {
  const named = behaviour.named ?? true;
  const text = behaviour.pieces.join('');
  const end = behaviour.end ?? 'completed';
  const status = end === 'failed' ? 'failed' : end === 'incomplete' ? 'incomplete' : 'completed';
  const final = responseObject(request, {
    text,
    status,
    incompleteReason: end === 'incomplete' ? 'max_output_tokens' : undefined,
    error:
      end === 'failed'
        ? { code: behaviour.error?.code ?? 'server_error', message: behaviour.error?.message ?? 'The model failed.' }
        : undefined,
    usage: behaviour.usage,
    annotations: behaviour.annotations,
    reasoningSummary: behaviour.reasoning ? [behaviour.reasoning.join('')] : undefined,
  });
  const id = final.id as string;
  const events: string[] = [];
  let seq = 0;
  const push = (type: string, fields: object) => events.push(sseEvent(type, fields, seq++, named));
  const pending = { ...final, status: 'in_progress', output: [], usage: null };
  push('response.created', { response: pending });
  push('response.in_progress', { response: pending });
  if (behaviour.reasoning) {
    push('response.output_item.added', { output_index: 0, item: { type: 'reasoning', id: `rs_${id}`, summary: [] } });
    push('response.reasoning_summary_part.added', {
      item_id: `rs_${id}`,
      output_index: 0,
      summary_index: 0,
      part: { type: 'summary_text', text: '' },
    });
    for (const delta of behaviour.reasoning)
      push('response.reasoning_summary_text.delta', { item_id: `rs_${id}`, output_index: 0, summary_index: 0, delta });
  }
  const index = behaviour.reasoning ? 1 : 0;
  push('response.output_item.added', {
    output_index: index,
    item: { type: 'message', id: `msg_${id}`, role: 'assistant', status: 'in_progress', content: [] },
  });
  for (const delta of behaviour.pieces)
    push('response.output_text.delta', { item_id: `msg_${id}`, output_index: index, content_index: 0, delta, logprobs: [] });
  push('response.output_text.done', { item_id: `msg_${id}`, output_index: index, content_index: 0, text, logprobs: [] });
  if (end === 'completed' || end === 'incomplete' || end === 'failed') {
    if (end !== 'failed') store(final);
    push(`response.${end}`, { response: final });
  } else if (end === 'error') {
    push('error', {
      code: behaviour.error?.code ?? 'server_error',
      message: behaviour.error?.message ?? 'An error occurred.',
      param: null,
    });
  } else if (end === 'error-nested') {
    push('error', {
      error: {
        type: 'server_error',
        code: behaviour.error?.code ?? 'server_error',
        message: behaviour.error?.message ?? 'An error occurred.',
        param: null,
      },
    });
  }
  return events;
}
