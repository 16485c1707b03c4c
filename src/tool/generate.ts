import type { CallContext, Tool } from '../protocol/context.ts';
import { invalidParams } from '../protocol/errors.ts';
import type { JsonObject } from '../protocol/messages.ts';
import { ProgressReporter } from '../protocol/progress.ts';
import type { VersionFeatures } from '../protocol/versions.ts';
import { checkArguments, type GenerateArguments } from './arguments.ts';
import { errorResult, successResult } from './result.ts';
import { INPUT_SCHEMA, OUTPUT_SCHEMA } from './schema.ts';
import { UpstreamError } from './upstream/errors.ts';
import type { ChatRequest, Upstream } from './upstream/types.ts';

export interface GenerateToolOptions {
  /** Model when a call names none (OPENAI_MODEL). */
  model: string;
  /** Temperature when a call names none (OPENAI_TEMPERATURE). */
  temperature: number;
  /** Which upstream answers: built on first use. */
  upstream: () => Upstream;
}

export const TOOL_NAME = 'generate';

/** The `generate` tool: validates, forwards one Chat Completions call, returns the answer. */
export function createGenerateTool(options: GenerateToolOptions): Tool {
  const description =
    `Send a prompt to an OpenAI-compatible chat model and return its answer. Uses ${options.model} ` +
    'unless "model" names another. Returns the text, the model that answered, the finish reason and token usage.';
  // The advertised schema shows the server's defaults; validation uses the build-time compiled one.
  const inputSchema = structuredClone(INPUT_SCHEMA) as unknown as JsonObject & { properties: Record<string, JsonObject> };
  inputSchema.properties.model!.default = options.model;
  inputSchema.properties.temperature!.default = options.temperature;
  const annotations = {
    title: 'Generate text',
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: false,
    openWorldHint: true,
  };
  const outputSchema = structuredClone(OUTPUT_SCHEMA) as unknown as JsonObject;

  const describe = (features: VersionFeatures): JsonObject => {
    const entry: JsonObject = { name: TOOL_NAME };
    if (features.structuredContent) entry.title = annotations.title;
    entry.description = description;
    entry.inputSchema = inputSchema;
    if (features.structuredContent) entry.outputSchema = outputSchema;
    if (features.toolAnnotations) entry.annotations = annotations;
    return entry;
  };

  const call = async (rawArgs: JsonObject, ctx: CallContext): Promise<JsonObject> => {
    const checked = checkArguments(rawArgs);
    if (!checked.ok) {
      // SEP-1303: from 2025-11-25 on, a model can read and fix a tool-level error.
      if (ctx.features.argumentErrorsAsResults) return errorResult(checked.message);
      throw invalidParams(checked.message);
    }
    const request = buildRequest(checked.args, options);
    const progress = ctx.progressToken === undefined ? undefined : new ProgressReporter(ctx.progressToken, ctx);
    try {
      const completion = await options.upstream().complete(request, {
        signal: ctx.signal,
        ...(progress ? { onText: (text: string) => progress.add(text) } : {}),
      });
      progress?.finish();
      return successResult(completion, ctx.features);
    } catch (error) {
      progress?.finish();
      if (ctx.signal.aborted || !(error instanceof UpstreamError)) throw error;
      ctx.app.log.warn('upstream call failed', {
        id: ctx.id,
        failure: error.failure,
        status: error.status,
        upstream_request_id: error.requestId,
      });
      ctx.log('error', { message: error.message, status: error.status ?? null });
      return errorResult(error.message);
    }
  };

  return { name: TOOL_NAME, describe, call };
}

/** The Chat Completions body for one call; `extra` goes first so the relay's own keys win. */
export function buildRequest(args: GenerateArguments, defaults: Pick<GenerateToolOptions, 'model' | 'temperature'>): ChatRequest {
  const request: ChatRequest = {
    ...(args.extra as Partial<ChatRequest> | undefined),
    model: args.model ?? defaults.model,
    messages: [{ role: 'user', content: args.prompt }],
    temperature: args.temperature ?? defaults.temperature,
  };
  if (args.max_tokens !== undefined) request.max_tokens = args.max_tokens;
  return request;
}
