import type { JsonObject } from '../protocol/messages.ts';
import type { GenerateArguments } from './arguments.ts';
import { TOKEN_LIMIT_KEYS } from './schema.ts';
import type { ChatRequest, ResponsesRequest, UpstreamCall } from './upstream/types.ts';

export interface RequestPolicy {
  /** OPENAI_MODEL */
  model: string;
  /** OPENAI_TEMPERATURE: sent to chat models when a call names none; never to reasoning models. */
  temperature: number;
  /** OPENAI_MAX_TOKENS (and the key's max_tokens): caps every call's output, also when the call names no max_tokens. */
  maxTokens: number | undefined;
  isReasoningModel: (model: string) => boolean;
  /** OPENAI_API */
  api: 'chat' | 'responses' | 'auto';
  /** OPENAI_RESPONSES_MODELS, for `auto`. */
  isResponsesModel: (model: string) => boolean;
  /** OPENAI_STORE: `store` for Responses calls that set none. */
  store: boolean | undefined;
  /** OPENAI_BACKGROUND: which Responses calls run as background responses. */
  background: 'auto' | 'always' | 'never';
  /** OPENAI_BACKGROUND_MODELS, for `auto`. */
  isBackgroundModel: (model: string) => boolean;
}

/** `extra` fields only the Responses API has: a call using one goes there under `auto`. */
const RESPONSES_ONLY_EXTRA = ['reasoning', 'text', 'include', 'max_output_tokens', 'conversation', 'truncation'];

/**
 * Which API a call goes to: under `auto`, the Responses API for a model in
 * OPENAI_RESPONSES_MODELS, for previous_response_id, and for a feature only it has (the
 * `extra` fields above, or a built-in tool such as web_search); else Chat Completions.
 */
export function apiFor(args: GenerateArguments, policy: RequestPolicy): 'chat' | 'responses' {
  if (policy.api !== 'auto') return policy.api;
  if (args.previous_response_id !== undefined || policy.isResponsesModel(args.model ?? policy.model)) return 'responses';
  const extra = args.extra;
  if (!extra) return 'chat';
  if (RESPONSES_ONLY_EXTRA.some((key) => key in extra)) return 'responses';
  const tools = extra.tools;
  const builtIn =
    Array.isArray(tools) && tools.some((tool) => typeof tool === 'object' && tool !== null && (tool as JsonObject).type !== 'function');
  return builtIn ? 'responses' : 'chat';
}

/**
 * The upstream call for these arguments: the API chosen, its body, and for the Responses API
 * whether it runs in the background (OPENAI_BACKGROUND: every call, none, or under `auto` the
 * slow models of OPENAI_BACKGROUND_MODELS).
 */
export function buildCall(args: GenerateArguments, policy: RequestPolicy): UpstreamCall {
  if (apiFor(args, policy) === 'chat') return { api: 'chat', body: buildChatRequest(args, policy) };
  const body = buildResponsesRequest(args, policy);
  const background = policy.background === 'always' || (policy.background === 'auto' && policy.isBackgroundModel(body.model));
  return background ? { api: 'responses', body, background } : { api: 'responses', body };
}

/** `extra`, with the operator's token bound holding whichever way a caller asks for tokens. */
function boundedExtra(args: GenerateArguments, policy: RequestPolicy): JsonObject {
  const extra: JsonObject = { ...args.extra };
  if (policy.maxTokens !== undefined) {
    for (const key of TOKEN_LIMIT_KEYS) {
      const value = extra[key];
      if (typeof value === 'number' && value > policy.maxTokens) extra[key] = policy.maxTokens;
    }
  }
  return extra;
}

/** The temperature to send: the call's, else the server's, except to reasoning models (theirs alone). */
function temperatureFor(args: GenerateArguments, policy: RequestPolicy, model: string): number | undefined {
  return policy.isReasoningModel(model) ? args.temperature : (args.temperature ?? policy.temperature);
}

function maxTokensFor(args: GenerateArguments, policy: RequestPolicy): number | undefined {
  const requested = args.max_tokens;
  return policy.maxTokens === undefined ? requested : Math.min(requested ?? policy.maxTokens, policy.maxTokens);
}

/**
 * The Chat Completions body for one call. `extra` goes first so the relay's own keys win.
 * Reasoning models (o1, o3, o4, gpt-5) take `max_completion_tokens` instead of `max_tokens`
 * and reject a temperature other than their default, so ours is not sent to them. Images
 * are `image_url` parts after the prompt's text.
 */
export function buildChatRequest(args: GenerateArguments, policy: RequestPolicy): ChatRequest {
  const model = args.model ?? policy.model;
  const messages: ChatRequest['messages'] = [];
  if (args.system !== undefined) messages.push({ role: 'system', content: args.system });
  const images = args.images ?? [];
  messages.push({
    role: 'user',
    content:
      images.length === 0
        ? args.prompt
        : [{ type: 'text', text: args.prompt }, ...images.map((url) => ({ type: 'image_url' as const, image_url: { url } }))],
  });
  const request: ChatRequest = { ...(boundedExtra(args, policy) as Partial<ChatRequest>), model, messages };
  const temperature = temperatureFor(args, policy, model);
  if (temperature !== undefined) request.temperature = temperature;
  const maxTokens = maxTokensFor(args, policy);
  if (maxTokens !== undefined) {
    if (policy.isReasoningModel(model)) request.max_completion_tokens = maxTokens;
    else request.max_tokens = maxTokens;
  }
  return request;
}

/**
 * The Responses body for one call: the prompt as `input` (a user message with `input_image`
 * parts when there are images), `system` as `instructions`, `max_tokens` as
 * `max_output_tokens`, the same temperature rule, and OPENAI_STORE when the call sets no `store`.
 */
export function buildResponsesRequest(args: GenerateArguments, policy: RequestPolicy): ResponsesRequest {
  const model = args.model ?? policy.model;
  const images = args.images ?? [];
  const input: ResponsesRequest['input'] =
    images.length === 0
      ? args.prompt
      : [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: args.prompt },
              ...images.map((url) => ({ type: 'input_image' as const, image_url: url, detail: 'auto' as const })),
            ],
          },
        ];
  const extra = boundedExtra(args, policy);
  const request: ResponsesRequest = { ...(extra as Partial<ResponsesRequest>), model, input };
  if (args.system !== undefined) request.instructions = args.system;
  if (args.previous_response_id !== undefined) request.previous_response_id = args.previous_response_id;
  const temperature = temperatureFor(args, policy, model);
  if (temperature !== undefined) request.temperature = temperature;
  const maxTokens = maxTokensFor(args, policy);
  if (maxTokens !== undefined) {
    const asked = request.max_output_tokens;
    request.max_output_tokens = typeof asked === 'number' ? Math.min(asked, maxTokens) : maxTokens;
  }
  if (extra.store === undefined && policy.store !== undefined) request.store = policy.store;
  return request;
}
