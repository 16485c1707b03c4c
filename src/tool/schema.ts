/**
 * The `generate` tool's JSON Schemas: the single source of truth for what tools/list
 * advertises and for the validator compiled at build time (src/tool/generated/).
 */

/** Keys of `extra` that bound the tokens a call may generate: integers, clamped to OPENAI_MAX_TOKENS. */
export const TOKEN_LIMIT_KEYS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/**
 * Keys of `extra` that the relay sets itself, in either API (`n` would multiply the cost of a
 * call; `background` and `previous_response_id` are the relay's to decide and the caller's
 * to ask for through their own parameters).
 */
export const RESERVED_EXTRA_KEYS = [
  'messages',
  'model',
  'stream',
  'stream_options',
  'n',
  'input',
  'instructions',
  'previous_response_id',
  'background',
] as const;

/** Images a call may carry at most. */
export const MAX_IMAGES = 8;

export const INPUT_SCHEMA = {
  type: 'object',
  properties: {
    prompt: {
      type: 'string',
      minLength: 1,
      description: 'The user message to send to the model.',
    },
    system: {
      type: 'string',
      description: 'Optional system message, placed before the prompt.',
    },
    model: {
      type: 'string',
      minLength: 1,
      description: "Model id, as the upstream API names it. Defaults to the server's OPENAI_MODEL.",
    },
    temperature: {
      type: 'number',
      minimum: 0,
      maximum: 2,
      description: "Sampling temperature from 0 to 2. Defaults to the server's OPENAI_TEMPERATURE.",
    },
    max_tokens: {
      type: 'integer',
      minimum: 1,
      description: 'Upper bound on the tokens the model may generate (sent as max_completion_tokens to reasoning models).',
    },
    previous_response_id: {
      type: 'string',
      minLength: 1,
      description: 'Continue a conversation the upstream stored: the response_id of an earlier result (Responses API only).',
    },
    images: {
      type: 'array',
      maxItems: MAX_IMAGES,
      items: { type: 'string', minLength: 1 },
      description: `Up to ${MAX_IMAGES} images for the model to look at, each an https:// URL or a data:image/...;base64, URI.`,
    },
    extra: {
      type: 'object',
      description:
        'Further parameters of the API the call goes to, forwarded as given (Chat Completions: top_p, seed, stop, ' +
        'response_format, reasoning_effort, ...; Responses: reasoning, text, tools such as [{"type": "web_search"}], ' +
        'include, store, ...). It cannot set messages, input, instructions, model, stream, stream_options, n, ' +
        'previous_response_id or background.',
      propertyNames: { not: { enum: [...RESERVED_EXTRA_KEYS] } },
    },
  },
  required: ['prompt'],
  additionalProperties: false,
} as const;

export const OUTPUT_SCHEMA = {
  type: 'object',
  properties: {
    text: {
      type: 'string',
      description: "The model's answer; empty when it returned no text (a refusal or a tool call).",
    },
    model: { type: 'string', description: 'The model that answered, as the upstream named it.' },
    finish_reason: {
      type: ['string', 'null'],
      description: 'Why generation stopped (stop, length, content_filter, tool_calls), or null.',
    },
    usage: {
      type: 'object',
      description: 'Token counts, when the upstream reports them.',
      properties: {
        prompt_tokens: { type: 'integer' },
        completion_tokens: { type: 'integer' },
        total_tokens: { type: 'integer' },
        reasoning_tokens: { type: 'integer', description: 'Tokens a reasoning model spent thinking.' },
        cached_tokens: { type: 'integer', description: "Prompt tokens served from the upstream's cache." },
      },
    },
    request_id: { type: 'string', description: "The upstream's id for the request (x-request-id), for support tickets." },
    response_id: {
      type: 'string',
      description: 'The Responses API id of this answer; pass it as previous_response_id to continue the conversation.',
    },
    citations: {
      type: 'array',
      description: 'Sources the answer cites (web search), in order of first use, each URL once.',
      items: { type: 'object', properties: { url: { type: 'string' }, title: { type: 'string' } }, required: ['url'] },
    },
    reasoning_summary: {
      type: 'string',
      description: "The model's summary of its reasoning, when asked for one (extra.reasoning.summary).",
    },
  },
  required: ['text', 'model', 'finish_reason'],
} as const;
