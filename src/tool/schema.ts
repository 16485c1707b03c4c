/**
 * The `generate` tool's JSON Schemas: the single source of truth for what tools/list
 * advertises and for the validator compiled at build time (src/tool/generated/).
 */

/** Keys of `extra` that bound the tokens a call may generate: integers, clamped to OPENAI_MAX_TOKENS. */
export const TOKEN_LIMIT_KEYS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/** Keys of `extra` that the relay sets itself (`n` would multiply the cost of a call). */
export const RESERVED_EXTRA_KEYS = ['messages', 'model', 'stream', 'stream_options', 'n'] as const;

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
    extra: {
      type: 'object',
      description:
        'Further Chat Completions parameters, forwarded as given (for example top_p, seed, stop, ' +
        'response_format, reasoning_effort). It cannot set messages, model, stream, stream_options or n.',
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
      },
    },
    request_id: { type: 'string', description: "The upstream's id for the request (x-request-id), for support tickets." },
  },
  required: ['text', 'model', 'finish_reason'],
} as const;
