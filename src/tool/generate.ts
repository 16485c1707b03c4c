import type { CallContext, Tool } from '../protocol/context.ts';
import { invalidParams } from '../protocol/errors.ts';
import type { JsonObject } from '../protocol/messages.ts';
import { ProgressReporter } from '../protocol/progress.ts';
import type { VersionFeatures } from '../protocol/versions.ts';
import { checkArguments, type GenerateArguments } from './arguments.ts';
import type { Admission } from './admission.ts';
import { PushedOut, type Release } from './limiter.ts';
import { buildRequest, type RequestPolicy } from './request.ts';
import { errorResult, successResult } from './result.ts';
import { INPUT_SCHEMA, OUTPUT_SCHEMA } from './schema.ts';
import { DeadlineExceeded, UpstreamError } from './upstream/errors.ts';
import type { KeyRing } from '../keys.ts';
import type { Upstream, Usage } from './upstream/types.ts';

export interface GenerateToolOptions extends RequestPolicy {
  /** OPENAI_TIMEOUT_MS: one call, queueing and retries included. */
  timeoutMs: number;
  /** OPENAI_ALLOWED_MODELS; empty allows any. */
  allowedModels: readonly string[];
  /** MCP_MAX_PROMPT_CHARS, counting prompt and system together. */
  maxPromptChars: number;
  /** Per-key rate limits, budgets and the fair share of upstream slots. */
  admission: Admission;
  /** The keys and their policies (models, max_tokens). */
  keys: KeyRing;
  /** Which upstream answers: built on first use. */
  upstream: () => Upstream;
}

export const TOOL_NAME = 'generate';

/** The `generate` tool: validates, applies the deployment's limits, forwards one call, returns the answer. */
export function createGenerateTool(options: GenerateToolOptions): Tool {
  const description =
    `Send a prompt to an OpenAI-compatible chat model and return its answer. Uses ${options.model} ` +
    'unless "model" names another. Returns the text, the model that answered, the finish reason and token usage.' +
    (options.allowedModels.length > 0 ? ` Allowed models: ${options.allowedModels.join(', ')}.` : '');
  // The advertised schema shows the server's defaults; validation uses the build-time compiled one.
  const inputSchema = structuredClone(INPUT_SCHEMA) as unknown as JsonObject & { properties: Record<string, JsonObject> };
  inputSchema.properties.model!.default = options.model;
  if (options.allowedModels.length > 0) inputSchema.properties.model!.enum = [...options.allowedModels];
  inputSchema.properties.temperature!.default = options.temperature;
  if (options.maxTokens !== undefined) inputSchema.properties.max_tokens!.maximum = options.maxTokens;
  inputSchema.properties.prompt!.maxLength = options.maxPromptChars;
  const annotations = { title: 'Generate text', readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: true };
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
    const { clock } = ctx.app;
    const started = clock.now();
    const { notes } = ctx;
    notes.tool = TOOL_NAME;
    // Refusals read like invalid arguments: a result a model can act on from 2025-11-25 on
    // (SEP-1303), a -32602 error before.
    const refuse = (message: string, outcome: string): JsonObject => {
      notes.outcome = outcome;
      if (ctx.features.argumentErrorsAsResults) return errorResult(message);
      throw invalidParams(message);
    };
    const checked = checkArguments(rawArgs);
    if (!checked.ok) return refuse(checked.message, 'invalid_arguments');
    notes.prompt = checked.args.prompt;
    const { caller } = ctx;
    const problem = policyProblem(checked.args, caller);
    if (problem) return refuse(problem, 'refused');
    const { admission } = options;
    const overQuota = admission.quota(caller);
    if (overQuota) {
      notes.outcome = overQuota.outcome;
      return errorResult(overQuota.message);
    }

    // The request's own signal carries both the client's cancel and, through ctx.abort, the deadline.
    const deadline = started + options.timeoutMs;
    const timer = clock.setTimeout(() => ctx.abort(new DeadlineExceeded(options.timeoutMs)), options.timeoutMs);
    const progress = ctx.progressToken === undefined ? undefined : new ProgressReporter(ctx.progressToken, ctx);
    try {
      const slot = admission.slot(caller, ctx.signal);
      if (!(slot instanceof Promise)) {
        // Always a result: the call was fine, the server (or this key's share of it) is full.
        notes.outcome = slot.outcome;
        return errorResult(slot.message);
      }
      let release: Release;
      try {
        release = await slot;
      } catch (reason) {
        if (reason instanceof DeadlineExceeded) {
          notes.outcome = 'timeout';
          return errorResult(`The call waited ${clock.now() - started} ms for a free slot and ran out of time (OPENAI_TIMEOUT_MS).`);
        }
        if (reason instanceof PushedOut) {
          notes.outcome = 'busy';
          return errorResult(admission.busy().message);
        }
        throw reason;
      }
      try {
        const maxTokens = minDefined(options.maxTokens, options.keys.policy(caller)?.maxTokens);
        const completion = await options.upstream().complete(buildRequest(checked.args, { ...options, maxTokens }), {
          signal: ctx.signal,
          deadline,
          ...(progress ? { onText: (text: string) => progress.add(text) } : {}),
          onRetry: (notice) => {
            ctx.app.telemetry.retry();
            ctx.log('warning', {
              message: notice.message,
              attempt: notice.attempt,
              status: notice.status ?? null,
              retry_in_ms: notice.waitMs,
            });
          },
        });
        progress?.finish();
        notes.outcome = 'ok';
        notes.upstreamStatus = completion.status;
        notes.attempts = completion.attempts;
        ctx.app.telemetry.usage(completion.usage, caller);
        admission.spend(caller, totalTokens(completion.usage));
        return successResult(completion, ctx.features);
      } finally {
        release();
      }
    } catch (error) {
      progress?.finish();
      if (ctx.cancelled || !(error instanceof UpstreamError)) throw error;
      notes.outcome = error.failure === 'timeout' ? 'timeout' : 'upstream_error';
      notes.upstreamStatus = error.status;
      notes.attempts = error.attempts;
      ctx.app.log.warn('upstream call failed', {
        id: ctx.id,
        code: error.code,
        status: error.status,
        attempts: error.attempts,
        upstream_request_id: error.requestId,
      });
      ctx.log('error', { message: error.message, status: error.status ?? null, attempts: error.attempts });
      return errorResult(error.message);
    } finally {
      clock.clearTimeout(timer);
    }
  };

  /** The deployment's limits, checked before anything is queued or sent. */
  function policyProblem(args: GenerateArguments, caller: string | undefined): string | undefined {
    const model = args.model ?? options.model;
    if (options.allowedModels.length > 0 && !options.allowedModels.includes(model)) {
      return `Model ${JSON.stringify(model.slice(0, 100))} is not allowed on this server. Allowed models: ${options.allowedModels.join(', ')}.`;
    }
    if (!options.keys.allowsModel(caller, model)) {
      const allowed = options.keys.policy(caller)?.models?.join(', ') ?? '';
      return `Model ${JSON.stringify(model.slice(0, 100))} is not allowed for key "${caller}". Its allowed models: ${allowed}.`;
    }
    const length = args.prompt.length + (args.system?.length ?? 0);
    if (length > options.maxPromptChars) {
      return `The prompt is ${length} characters long${args.system === undefined ? '' : ' (with the system message)'}; this server accepts at most ${options.maxPromptChars} (MCP_MAX_PROMPT_CHARS).`;
    }
    return undefined;
  }

  return { name: TOOL_NAME, describe, call };
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function totalTokens(usage: Usage | undefined): number {
  if (!usage) return 0;
  return usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
}
