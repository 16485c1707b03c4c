import type { JsonObject } from '../protocol/messages.ts';
import type { VersionFeatures } from '../protocol/versions.ts';
import type { Completion } from './upstream/types.ts';

/** The structured result, as `outputSchema` describes it. */
export function structuredOf(completion: Completion): JsonObject {
  const structured: JsonObject = {
    text: completion.text,
    model: completion.model,
    finish_reason: completion.finishReason,
  };
  if (completion.usage) structured.usage = completion.usage;
  if (completion.requestId) structured.request_id = completion.requestId;
  if (completion.responseId) structured.response_id = completion.responseId;
  if (completion.citations) structured.citations = completion.citations;
  if (completion.reasoningSummary) structured.reasoning_summary = completion.reasoningSummary;
  return structured;
}

/**
 * A successful CallToolResult: the JSON as a text block, and as `structuredContent` where the
 * revision has it (2025-06-18+).
 */
export function successResult(completion: Completion, features: VersionFeatures): JsonObject {
  const structured = structuredOf(completion);
  const content = [{ type: 'text', text: JSON.stringify(structured) }];
  return features.structuredContent ? { content, structuredContent: structured } : { content };
}

/** A failed tool call: readable text for the model, `isError`, and no structuredContent. */
export function errorResult(message: string): JsonObject {
  return { content: [{ type: 'text', text: message }], isError: true };
}
