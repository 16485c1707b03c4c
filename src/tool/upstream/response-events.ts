import { parseJson } from './body.ts';
import { isRecord } from './citations.ts';
import { type Redactor, UpstreamError } from './errors.ts';
import type { EventVerdict } from './http-client.ts';
import { completionFromResponse, failedResponse, PENDING_STATUSES, streamErrorEvent } from './responses-result.ts';
import type { StreamEvent } from './sse.ts';
import type { CompleteOptions, Completion } from './types.ts';

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** Events whose `response` says where the response stands before it is done. */
const STATUS_EVENTS = new Set(['response.created', 'response.queued', 'response.in_progress']);

/**
 * Reads a Responses API event stream, possibly over several connections: the
 * `response.output_text.delta` events carry the text, `response.reasoning_summary_text.delta`
 * the reasoning summary; the answer is whole at `response.completed` or `response.incomplete`
 * (whose `response` is authoritative), failed at `response.failed` or an `error` event. Every
 * event's `sequence_number` is remembered, and an event at or below the last one seen is
 * skipped, so a stream resumed with `starting_after` never repeats text.
 */
export class ResponseEvents {
  private readonly call: CompleteOptions;
  private readonly redact: Redactor;
  private readonly maxBytes: number;
  private readonly model: string;
  private readonly text: string[] = [];
  private received = 0;
  private summaryIndex = -1;
  /** The terminal event's response, once it came. */
  final: Record<string, unknown> | undefined;
  /** The highest `sequence_number` seen (-1: none yet). */
  lastSequence = -1;
  /** The response's id, from its first event that carries one. */
  responseId: string | undefined;
  /** The response's status as its last status event said. */
  status: string | undefined;

  constructor(call: CompleteOptions, redact: Redactor, maxBytes: number, model: string) {
    this.call = call;
    this.redact = redact;
    this.maxBytes = maxBytes;
    this.model = model;
  }

  /** Text has reached the client. */
  get delivered(): boolean {
    return this.received > 0;
  }

  readonly onEvent = ({ data }: StreamEvent, requestId: string | undefined): EventVerdict => {
    if (data === '[DONE]') return 'done'; // not sent by OpenAI; tolerated from compatible servers
    const event = parseJson(data, requestId);
    if (!isRecord(event)) return undefined;
    const sequence = event.sequence_number;
    if (typeof sequence === 'number') {
      if (sequence <= this.lastSequence) return undefined;
      this.lastSequence = sequence;
    }
    const { onText, onReasoning } = this.call;
    switch (event.type) {
      case 'response.output_text.delta':
        if (typeof event.delta === 'string' && event.delta) {
          this.received += event.delta.length;
          if (this.received > this.maxBytes) throw new UpstreamError('protocol', "The upstream's answer exceeds the size limit.");
          this.text.push(event.delta);
          onText?.(event.delta);
        }
        return undefined;
      case 'response.reasoning_summary_text.delta':
        if (typeof event.delta === 'string' && event.delta && onReasoning) {
          // A new summary part starts on a line of its own.
          const index = typeof event.summary_index === 'number' ? event.summary_index : 0;
          onReasoning(this.summaryIndex >= 0 && index !== this.summaryIndex ? `\n\n${event.delta}` : event.delta);
          this.summaryIndex = index;
        }
        return undefined;
      case 'error':
        throw streamErrorEvent(event, requestId, this.redact);
      default: {
        const type = typeof event.type === 'string' ? event.type : '';
        if (!isRecord(event.response)) return undefined;
        if (TERMINAL_EVENTS.has(type)) {
          if (type === 'response.failed') throw failedResponse(event.response, requestId, this.redact);
          this.final = event.response;
          return 'done';
        }
        if (STATUS_EVENTS.has(type)) this.noteResponse(event.response);
        return undefined;
      }
    }
  };

  /** Records a (not yet finished) response's id and status. */
  noteResponse(response: Record<string, unknown>): void {
    if (this.responseId === undefined && typeof response.id === 'string' && response.id) this.responseId = response.id;
    const status = response.status;
    if (typeof status === 'string' && PENDING_STATUSES.has(status)) this.status = status;
  }

  /**
   * An answer read whole (JSON: a poll, an upstream that ignored `stream: true`): the client is
   * sent only the text it has not had yet, so nothing is repeated.
   */
  finishWith(completion: Completion): Completion {
    const delivered = this.text.join('');
    const rest = completion.text.startsWith(delivered) ? completion.text.slice(delivered.length) : '';
    if (rest) {
      this.text.push(rest);
      this.received += rest.length;
      this.call.onText?.(rest);
    }
    return completion;
  }

  /** The answer, from the terminal event (completed by the deltas when it carries no output). */
  completion(requestId: string | undefined): Completion {
    if (!this.final) throw new UpstreamError('network', "The upstream's stream ended before the answer was complete.", { requestId });
    const completion = completionFromResponse(this.final, this.model, requestId, this.redact);
    if (completion.text === '' && this.text.length > 0) completion.text = this.text.join('');
    return completion;
  }
}
