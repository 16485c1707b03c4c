import { UpstreamError } from './errors.ts';
import type { CompleteOptions, Completion, Upstream, UpstreamCall } from './types.ts';

/** Conversations the echo keeps for previous_response_id, at most (oldest go first). */
const MAX_STORED = 1000;

/**
 * The offline upstream (`--upstream echo`): answers with the last user message (and how many
 * images came with it), word by word when streaming, deterministically, with no key and no
 * network. A call that would go to the Responses API gets that API's shape: a response id,
 * and conversations chained with previous_response_id (the answer repeats the earlier turns,
 * so a client can see them carried over); an unknown id fails as the real API does.
 */
export function createEchoUpstream(): Upstream {
  const stored = new Map<string, string>();
  let sequence = 0;
  return {
    name: 'echo',
    async complete(call: UpstreamCall, options: CompleteOptions): Promise<Completion> {
      if (options.signal.aborted) throw options.signal.reason;
      const { prompt, images, system } = promptOf(call);
      let text = images > 0 ? `${prompt} [${images} image${images === 1 ? '' : 's'}]` : prompt;
      const previous = call.api === 'responses' ? call.body.previous_response_id : undefined;
      if (previous) {
        const earlier = stored.get(previous);
        if (earlier === undefined) {
          throw new UpstreamError(
            'http',
            `The upstream rejected the request (HTTP 400): Previous response with id '${previous.slice(0, 80)}' not found.`,
            {
              status: 400,
            },
          );
        }
        text = `${earlier}\n${text}`;
      }
      if (options.onText) {
        for (const piece of text.match(/\S+\s*|\s+/g) ?? []) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (options.signal.aborted) throw options.signal.reason;
          options.onText(piece);
        }
      }
      const promptTokens = estimateTokens([system, prompt].filter(Boolean).join(' '));
      const completionTokens = estimateTokens(text);
      const completion: Completion = {
        text,
        model: call.body.model,
        finishReason: 'stop',
        usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
        requestId: undefined,
      };
      if (call.api === 'responses') {
        completion.responseId = `resp_echo_${++sequence}`;
        if (call.body.store !== false) {
          stored.set(completion.responseId, text);
          if (stored.size > MAX_STORED) stored.delete(stored.keys().next().value!);
        }
      }
      return completion;
    },
    async close() {},
  };
}

/** The last user turn's text and image count, and the system text, of either API's body. */
function promptOf(call: UpstreamCall): { prompt: string; images: number; system: string } {
  if (call.api === 'chat') {
    const messages = call.body.messages;
    const user = [...messages].reverse().find((m) => m.role === 'user');
    const system = messages.find((m) => m.role === 'system');
    return { ...partsOf(user?.content), system: partsOf(system?.content).prompt };
  }
  const { input, instructions } = call.body;
  const system = typeof instructions === 'string' ? instructions : '';
  if (typeof input === 'string') return { prompt: input, images: 0, system };
  const items = Array.isArray(input) ? input : [];
  const user = [...items].reverse().find((item) => (item as { role?: unknown }).role === 'user') as { content?: unknown } | undefined;
  return { ...partsOf(user?.content), system };
}

function partsOf(content: unknown): { prompt: string; images: number } {
  if (typeof content === 'string') return { prompt: content, images: 0 };
  if (!Array.isArray(content)) return { prompt: '', images: 0 };
  let prompt = '';
  let images = 0;
  for (const part of content as { type?: unknown; text?: unknown }[]) {
    if (typeof part.text === 'string') prompt += part.text;
    else if (part.type === 'image_url' || part.type === 'input_image') images++;
  }
  return { prompt, images };
}

/** About four characters per token, as OpenAI's rule of thumb has it. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
