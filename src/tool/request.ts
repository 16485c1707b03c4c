import type { JsonObject } from '../protocol/messages.ts';
import type { GenerateArguments } from './arguments.ts';
import { TOKEN_LIMIT_KEYS } from './schema.ts';
import type { ChatRequest } from './upstream/types.ts';

export interface RequestPolicy {
  /** OPENAI_MODEL */
  model: string;
  /** OPENAI_TEMPERATURE: sent to chat models when a call names none; never to reasoning models. */
  temperature: number;
  /** OPENAI_MAX_TOKENS: caps every call's output, also when the call names no max_tokens. */
  maxTokens: number | undefined;
  isReasoningModel: (model: string) => boolean;
}

/**
 * The Chat Completions body for one call. `extra` goes first so the relay's own keys win.
 * Reasoning models (o1, o3, o4, gpt-5) take `max_completion_tokens` instead of `max_tokens`
 * and reject a temperature other than their default, so ours is not sent to them.
 */
export function buildRequest(args: GenerateArguments, policy: RequestPolicy): ChatRequest {
  const model = args.model ?? policy.model;
  const reasoning = policy.isReasoningModel(model);
  const extra: JsonObject = { ...args.extra };
  if (policy.maxTokens !== undefined) {
    // The operator's bound holds whichever way a caller asks for tokens.
    for (const key of TOKEN_LIMIT_KEYS) {
      const value = extra[key];
      if (typeof value === 'number' && value > policy.maxTokens) extra[key] = policy.maxTokens;
    }
  }
  const messages: ChatRequest['messages'] = [];
  if (args.system !== undefined) messages.push({ role: 'system', content: args.system });
  messages.push({ role: 'user', content: args.prompt });
  const request: ChatRequest = { ...(extra as Partial<ChatRequest>), model, messages };
  const temperature = reasoning ? args.temperature : (args.temperature ?? policy.temperature);
  if (temperature !== undefined) request.temperature = temperature;
  const requested = args.max_tokens;
  const maxTokens = policy.maxTokens === undefined ? requested : Math.min(requested ?? policy.maxTokens, policy.maxTokens);
  if (maxTokens !== undefined) {
    if (reasoning) request.max_completion_tokens = maxTokens;
    else request.max_tokens = maxTokens;
  }
  return request;
}
