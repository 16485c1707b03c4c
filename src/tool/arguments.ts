import type { JsonObject } from '../protocol/messages.ts';
import { validate, type ValidationError } from './generated/validate-arguments.js';
import { INPUT_SCHEMA, RESERVED_EXTRA_KEYS, TOKEN_LIMIT_KEYS } from './schema.ts';

/** `generate` arguments after validation. Defaults are applied later, by the request builder. */
export interface GenerateArguments {
  prompt: string;
  system: string | undefined;
  model: string | undefined;
  temperature: number | undefined;
  max_tokens: number | undefined;
  previous_response_id: string | undefined;
  images: string[] | undefined;
  extra: JsonObject | undefined;
}

export type ArgumentCheck = { ok: true; args: GenerateArguments } | { ok: false; message: string };

const PARAMETERS = Object.keys(INPUT_SCHEMA.properties);
/** Chat Completions parameters nest a few levels (response_format.json_schema...); far more is abuse. */
const MAX_EXTRA_DEPTH = 32;

/** Nesting depth of a JSON value, measured without recursion (so no depth can overflow the stack). */
function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== 'object' || item === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > MAX_EXTRA_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Validates with the build-time compiled schema; the message names each parameter and what is wrong. */
export function checkArguments(args: JsonObject): ArgumentCheck {
  if (!validate(args)) return { ok: false, message: describeErrors(validate.errors ?? []) };
  const extra = args.extra as JsonObject | undefined;
  if (extra !== undefined && depthOf(extra) > MAX_EXTRA_DEPTH) {
    return { ok: false, message: `Invalid arguments for tool "generate": "extra" is nested more than ${MAX_EXTRA_DEPTH} levels deep.` };
  }
  const images = args.images as string[] | undefined;
  const badImage = images?.findIndex((image) => !isImage(image)) ?? -1;
  if (badImage !== -1) {
    return {
      ok: false,
      message: `Invalid arguments for tool "generate": "images.${badImage}" must be an https:// URL or a data:image/...;base64, URI.`,
    };
  }
  // A token limit the relay cannot read as a number could not be held to OPENAI_MAX_TOKENS.
  for (const key of TOKEN_LIMIT_KEYS) {
    const value = extra?.[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 1)) {
      return { ok: false, message: `Invalid arguments for tool "generate": "extra.${key}" must be an integer of at least 1.` };
    }
  }
  return {
    ok: true,
    args: {
      prompt: args.prompt as string,
      system: args.system as string | undefined,
      model: args.model as string | undefined,
      temperature: args.temperature as number | undefined,
      max_tokens: args.max_tokens as number | undefined,
      previous_response_id: args.previous_response_id as string | undefined,
      images,
      extra,
    },
  };
}

const DATA_IMAGE = /^data:image\/[a-z0-9.+-]+;base64,[a-z0-9+/=]+$/i;

/** An image the upstream can fetch (https) or read (a base64 data URI of an image type). */
function isImage(value: string): boolean {
  if (value.startsWith('data:')) return DATA_IMAGE.test(value);
  if (!value.startsWith('https://')) return false;
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

function describeErrors(errors: readonly ValidationError[]): string {
  const problems: string[] = [];
  for (const error of errors) {
    const problem = describeError(error);
    if (problem && !problems.includes(problem)) problems.push(problem);
  }
  return `Invalid arguments for tool "generate": ${problems.join('; ') || 'the arguments do not match the input schema'}.`;
}

function describeError(error: ValidationError): string | undefined {
  const name = error.instancePath.split('/').filter(Boolean).join('.') || 'arguments';
  const { params } = error;
  switch (error.keyword) {
    case 'required':
      return `missing required parameter "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `unknown parameter "${String(params.additionalProperty).slice(0, 60)}" (accepted: ${PARAMETERS.join(', ')})`;
    case 'type':
      return `"${name}" must be ${article(String(params.type))}`;
    case 'minLength':
      return `"${name}" must not be empty`;
    case 'minimum':
      return `"${name}" must be at least ${String(params.limit)}`;
    case 'maximum':
      return `"${name}" must be at most ${String(params.limit)}`;
    case 'maxItems':
      return `"${name}" may hold at most ${String(params.limit)} items`;
    case 'not':
      // propertyNames/not on `extra`: a key the relay sets itself.
      return `"${name}" cannot set "${String(error.propertyName)}" (the relay sets ${RESERVED_EXTRA_KEYS.join(', ')} itself)`;
    case 'propertyNames':
      return undefined; // Reported by the "not" error above.
    default:
      return `"${name}" ${error.message ?? 'is invalid'}`;
  }
}

function article(type: string): string {
  return { integer: 'an integer', object: 'an object', array: 'an array' }[type] ?? `a ${type}`;
}
