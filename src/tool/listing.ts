import type { JsonObject } from '../protocol/messages.ts';
import type { VersionFeatures } from '../protocol/versions.ts';
import { INPUT_SCHEMA, OUTPUT_SCHEMA } from './schema.ts';

export interface ListingOptions {
  name: string;
  model: string;
  temperature: number;
  maxTokens: number | undefined;
  allowedModels: readonly string[];
  maxPromptChars: number;
}

/**
 * The tool's tools/list entry for each revision: its schemas show the server's own defaults
 * and bounds (validation itself uses the build-time compiled schema). 2024-11-05 has no
 * annotations; 2025-06-18 adds title and outputSchema.
 */
export function createListing(options: ListingOptions): (features: VersionFeatures) => JsonObject {
  const description =
    `Send a prompt to an OpenAI-compatible model and return its answer. Uses ${options.model} ` +
    'unless "model" names another. Returns the text, the model that answered, the finish reason and token usage; ' +
    'pass images to show the model pictures, and previous_response_id (from an earlier result) to continue a conversation.' +
    (options.allowedModels.length > 0 ? ` Allowed models: ${options.allowedModels.join(', ')}.` : '');
  const inputSchema = structuredClone(INPUT_SCHEMA) as unknown as JsonObject & { properties: Record<string, JsonObject> };
  inputSchema.properties.model!.default = options.model;
  if (options.allowedModels.length > 0) inputSchema.properties.model!.enum = [...options.allowedModels];
  inputSchema.properties.temperature!.default = options.temperature;
  if (options.maxTokens !== undefined) inputSchema.properties.max_tokens!.maximum = options.maxTokens;
  inputSchema.properties.prompt!.maxLength = options.maxPromptChars;
  const annotations = { title: 'Generate text', readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true };
  const outputSchema = structuredClone(OUTPUT_SCHEMA) as unknown as JsonObject;
  return (features) => {
    const entry: JsonObject = { name: options.name };
    if (features.structuredContent) entry.title = annotations.title;
    entry.description = description;
    entry.inputSchema = inputSchema;
    if (features.structuredContent) entry.outputSchema = outputSchema;
    if (features.toolAnnotations) entry.annotations = annotations;
    return entry;
  };
}
