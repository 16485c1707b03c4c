import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { Citations, count, isRecord } from './citations.ts';
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
  const citations = new Citations();
  citations.addChat(choice.message?.annotations);
  return withCitations(
    {
      text: typeof content === 'string' ? content : '',
      model: typeof completion.model === 'string' && completion.model ? completion.model : fallbackModel,
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      usage: chatUsageOf(completion.usage),
      requestId,
      status: 200,
    },
    citations,
  );
}

/** Builds a Completion from streamed chat.completion.chunk events, in arrival order. */
export class ChunkAccumulator {
  private readonly fallbackModel: string;
  private readonly parts: string[] = [];
  private readonly citations = new Citations();
  private model: string | undefined;
  private finishReason: string | null = null;
  private usage: Usage | undefined;

  constructor(fallbackModel: string) {
    this.fallbackModel = fallbackModel;
  }

  /** Adds one chunk; returns the new text it carried (possibly empty). */
  add(chunk: ChatCompletionChunk): string {
    if (typeof chunk.model === 'string' && chunk.model) this.model = chunk.model;
    const usage = chatUsageOf(chunk.usage);
    if (usage) this.usage = usage;
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c) => (c.index ?? 0) === 0) : undefined;
    if (!choice) return '';
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    // Search models may send annotations on a delta, though the schema has none there.
    this.citations.addChat((choice.delta as { annotations?: unknown } | undefined)?.annotations);
    const text = choice.delta?.content;
    if (typeof text !== 'string' || text === '') return '';
    this.parts.push(text);
    return text;
  }

  get finished(): boolean {
    return this.finishReason !== null;
  }

  result(requestId: string | undefined): Completion {
    const completion: Completion = {
      text: this.parts.join(''),
      model: this.model ?? this.fallbackModel,
      finishReason: this.finishReason,
      usage: this.usage,
      requestId,
      status: 200,
    };
    return withCitations(completion, this.citations);
  }
}

function withCitations(completion: Completion, citations: Citations): Completion {
  const list = citations.list();
  if (list.length > 0) completion.citations = list;
  return completion;
}

/** Chat Completions usage, reasoning and cached tokens lifted from their details. */
export function chatUsageOf(value: unknown): Usage | undefined {
  if (!isRecord(value)) return undefined;
  const usage: Usage = {};
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens'] as const) {
    const n = count(value[key]);
    if (n !== undefined) usage[key] = n;
  }
  const reasoning = isRecord(value.completion_tokens_details) ? count(value.completion_tokens_details.reasoning_tokens) : undefined;
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  const cached = isRecord(value.prompt_tokens_details) ? count(value.prompt_tokens_details.cached_tokens) : undefined;
  if (cached !== undefined) usage.cached_tokens = cached;
  return Object.keys(usage).length > 0 ? usage : undefined;
}
