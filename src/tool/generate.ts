import type { CallContext, Tool } from '../protocol/context.ts';
import { CallWatch } from './call-watch.ts';
import { remoteWork } from './remote.ts';
import { invalidParams } from '../protocol/errors.ts';
import type { JsonObject } from '../protocol/messages.ts';
import { checkArguments } from './arguments.ts';
import type { Admission } from './admission.ts';
import { PushedOut, type Release } from './limiter.ts';
import { createListing } from './listing.ts';
import { policyProblem } from './policy.ts';
import { buildCall, type RequestPolicy } from './request.ts';
import { errorResult, successResult } from './result.ts';
import { DeadlineExceeded, UpstreamError } from './upstream/errors.ts';
import type { Clock } from '../clock.ts';
import type { KeyRing } from '../keys.ts';
import type { Upstream, Usage } from './upstream/types.ts';

export interface GenerateToolOptions extends RequestPolicy {
  /** OPENAI_TIMEOUT_MS: one call, queueing and retries included. */
  timeoutMs: number;
  /** OPENAI_BACKGROUND_TIMEOUT_MS: the same for a background call. */
  backgroundTimeoutMs: number;
  /** MCP_HEARTBEAT_MS: progress at least this often while a call with a progress token waits (0: none). */
  heartbeatMs: number;
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
  clock: Clock;
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
    const checked = checkArguments(rawArgs);
    if (!checked.ok) return refuse(ctx, checked.message, 'invalid_arguments');
    notes.prompt = checked.args.prompt;
    const { caller } = ctx;
    const problem = policyProblem(checked.args, caller, options);
    if (problem) return refuse(ctx, problem, 'refused');
    const { admission } = options;
    const overQuota = admission.quota(caller);
    if (overQuota) {
      notes.outcome = overQuota.outcome;
      return errorResult(overQuota.message);
    }

    const maxTokens = minDefined(options.maxTokens, options.keys.policy(caller)?.maxTokens);
    // The options themselves unless a key's policy lowers the bound: no copy of them per call.
    const upstreamCall = buildCall(checked.args, maxTokens === options.maxTokens ? options : { ...options, maxTokens });
    const background = upstreamCall.api === 'responses' && upstreamCall.background === true;
    // The request's own signal carries both the client's cancel and, through ctx.abort, the deadline.
    const timeoutMs = background ? options.backgroundTimeoutMs : options.timeoutMs;
    const setting = background ? 'OPENAI_BACKGROUND_TIMEOUT_MS' : 'OPENAI_TIMEOUT_MS';
    const deadline = started + timeoutMs;
    const timer = clock.setTimeout(() => ctx.abort(new DeadlineExceeded(timeoutMs, setting)), timeoutMs);
    const watch = new CallWatch(ctx, options.heartbeatMs, deadline);
    try {
      watch.waiting('queued for a free upstream slot');
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
          return errorResult(`The call waited ${clock.now() - started} ms for a free slot and ran out of time (${setting}).`);
        }
        if (reason instanceof PushedOut) {
          notes.outcome = 'busy';
          return errorResult(admission.busy().message);
        }
        throw reason;
      }
      try {
        watch.waiting(background ? 'creating the background response' : 'waiting for the model to start answering');
        // The watch is the call's options (its signal, deadline and callbacks).
        const completion = await options.upstream().complete(upstreamCall, watch);
        watch.finish();
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
      watch.finish();
      if (ctx.cancelled || !(error instanceof UpstreamError)) throw error;
      if (error.failure === 'cancelled') ctx.cancelledElsewhere();
      notes.outcome = error.failure === 'timeout' ? 'timeout' : error.failure === 'cancelled' ? 'cancelled' : 'upstream_error';
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
      watch.finish();
      clock.clearTimeout(timer);
    }
  };

  /** Whether a call would run as a background response (only a real upstream has them). */
  const runsInBackground = (rawArgs: JsonObject, ctx: CallContext): boolean => {
    const checked = checkArguments(rawArgs);
    if (!checked.ok || policyProblem(checked.args, ctx.caller, options) || !options.upstream().background) return false;
    const planned = buildCall(checked.args, { ...options, maxTokens: undefined });
    return planned.api === 'responses' && planned.background === true;
  };

  return { name: TOOL_NAME, describe, call, runsInBackground, remote: remoteWork(options.upstream, options.clock) };
}

/** Refusals read like invalid arguments: a result a model can act on from 2025-11-25 on (SEP-1303), a -32602 error before. */
function refuse(ctx: CallContext, message: string, outcome: string): JsonObject {
  ctx.notes.outcome = outcome;
  if (ctx.features.argumentErrorsAsResults) return errorResult(message);
  throw invalidParams(message);
}

/** An upstream refusal a setting of ours can fix says which. */
export function withAdvice(message: string): string {
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
