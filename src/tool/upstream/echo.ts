import type { ChatRequest, CompleteOptions, Completion, Upstream } from './types.ts';

/**
 * The offline upstream (`--upstream echo`): answers with the last user message, word by word
 * when streaming, deterministically, with no key and no network. For trying the server and
 * testing MCP clients.
 */
export function createEchoUpstream(): Upstream {
  return {
    name: 'echo',
    async complete(request: ChatRequest, options: CompleteOptions): Promise<Completion> {
      options.signal.throwIfAborted();
      const text = lastUserText(request);
      if (options.onText) {
        for (const piece of text.match(/\S+\s*|\s+/g) ?? []) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          options.signal.throwIfAborted();
          options.onText(piece);
        }
      }
      const promptTokens = estimateTokens(request.messages.map((m) => contentText(m.content)).join(' '));
      const completionTokens = estimateTokens(text);
      return {
        text,
        model: request.model,
        finishReason: 'stop',
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        requestId: undefined,
      };
    },
    async close() {},
  };
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role === 'user') return contentText(message.content);
  }
  return '';
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
}

/** About four characters per token, as OpenAI's rule of thumb has it. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
