import type { CallContext, ProgressToken, Tool } from '../protocol/context.ts';
import { invalidParams } from '../protocol/errors.ts';
import type { JsonObject } from '../protocol/messages.ts';
import { MergedText, ProgressReporter } from '../protocol/progress.ts';
import { checkArguments } from './arguments.ts';
import type { Admission } from './admission.ts';
import { PushedOut, type Release } from './limiter.ts';
import { createListing } from './listing.ts';
import { policyProblem } from './policy.ts';
import { buildCall, type RequestPolicy } from './request.ts';
import { errorResult, successResult } from './result.ts';
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
  const describe = createListing({ ...options, name: TOOL_NAME });

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
    const problem = policyProblem(checked.args, caller, options);
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
    const stream = ctx.progressToken === undefined ? undefined : streamTo(ctx, ctx.progressToken);
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
        const completion = await options.upstream().complete(buildCall(checked.args, { ...options, maxTokens }), {
          signal: ctx.signal,
          deadline,
          ...stream?.callbacks,
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
        stream?.finish();
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
      stream?.finish();
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
      return errorResult(withAdvice(error.message));
    } finally {
      clock.clearTimeout(timer);
    }
  };

  return { name: TOOL_NAME, describe, call };
}

/**
 * Where a streamed call's pieces go: text as progress, and the reasoning summary (Responses
 * API) as `notifications/message` at `info` from the `reasoning` logger, merged alike, so the
 * progress messages stay the answer's text alone.
 */
function streamTo(ctx: CallContext, token: ProgressToken) {
  const progress = new ProgressReporter(token, ctx);
  const reasoning = new MergedText(ctx.app.clock, 50, (text) => ctx.log('info', { reasoning_summary: text }, 'reasoning'));
  return {
    callbacks: { onText: (text: string) => progress.add(text), onReasoning: (text: string) => reasoning.add(text) },
    finish(): void {
      reasoning.finish(!ctx.cancelled);
      progress.finish();
    },
  };
}

/** An upstream refusal a setting of ours can fix says which. */
function withAdvice(message: string): string {
  if (/only supported in \/?v1\/responses/i.test(message)) {
    return `${message} This model is served only by the Responses API: set OPENAI_API=auto (the default) and add it to OPENAI_RESPONSES_MODELS, or set OPENAI_API=responses.`;
  }
  if (/previous response with id .* not found/i.test(message)) {
    return `${message} previous_response_id names no stored response: it is unknown, expired, or was made with store: false. Start a new conversation without it.`;
  }
  return message;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function totalTokens(usage: Usage | undefined): number {
  if (!usage) return 0;
  return usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
}
