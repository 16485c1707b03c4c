import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { UpstreamError } from './errors.ts';
import type { Completion, Usage } from './types.ts';

/** Reads a (non-streamed) chat.completion body into a Completion. */
export function completionFromBody(body: unknown, fallbackModel: string, requestId: string | undefined): Completion {
  const completion = body as Partial<ChatCompletion> | null;
  const choice = Array.isArray(completion?.choices) ? completion.choices[0] : undefined;
  if (!completion || typeof completion !== 'object' || !choice || typeof choice !== 'object') {
    throw new UpstreamError('protocol', 'The upstream answered, but not with a chat completion (no choices).', { requestId });
  }
  const content = choice.message?.content;
  return {
    text: typeof content === 'string' ? content : '',
    model: typeof completion.model === 'string' && completion.model ? completion.model : fallbackModel,
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    usage: usageOf(completion.usage),
    requestId,
    status: 200,
  };
}

/** Builds a Completion from streamed chat.completion.chunk events, in arrival order. */
export class ChunkAccumulator {
  private readonly fallbackModel: string;
  private readonly parts: string[] = [];
  private model: string | undefined;
  private finishReason: string | null = null;
  private usage: Usage | undefined;
  private chunks = 0;

  constructor(fallbackModel: string) {
    this.fallbackModel = fallbackModel;
  }

  /** Adds one chunk; returns the new text it carried (possibly empty). */
  add(chunk: ChatCompletionChunk): string {
    this.chunks++;
    if (typeof chunk.model === 'string' && chunk.model) this.model = chunk.model;
    const usage = usageOf(chunk.usage);
    if (usage) this.usage = usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c) => (c.index ?? 0) === 0) : undefined;
    if (!choice) return '';
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    const text = choice.delta?.content;
    if (typeof text !== 'string' || text === '') return '';
    this.parts.push(text);
    return text;
  }

  get sawChunks(): boolean {
    return this.chunks > 0;
  }

  get finished(): boolean {
    return this.finishReason !== null;
  }

  result(requestId: string | undefined): Completion {
    return {
      text: this.parts.join(''),
      model: this.model ?? this.fallbackModel,
      finishReason: this.finishReason,
      usage: this.usage,
      requestId,
      status: 200,
    };
  }
}

export function usageOf(value: unknown): Usage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const usage: Usage = {};
  const count = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) {
    const value = count(record[key]);
    if (value !== undefined) usage[key] = value;
  }
  const details = record.completion_tokens_details;
  const reasoning =
    typeof details === 'object' && details !== null ? count((details as Record<string, unknown>).reasoning_tokens) : undefined;
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  return Object.keys(usage).length > 0 ? usage : undefined;
}
