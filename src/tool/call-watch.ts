import type { CancelSignal } from '../cancel.ts';
import type { CallContext } from '../protocol/context.ts';
import { MergedText, ProgressReporter } from '../protocol/progress.ts';
import type { CompleteOptions, RetryNotice } from './upstream/types.ts';

/**
 * What a `generate` call tells its client while it runs. With a progress token: the text as
 * progress, heartbeats while it waits, and a Responses reasoning summary as
 * `notifications/message` at `info` from the `reasoning` logger (merged alike, so progress
 * messages stay the answer's text alone). Always: what it is doing, as a task's statusMessage.
 *
 * It is also the upstream call's options: methods, not closures, so a call waiting on the
 * upstream holds one object for them (thousands of slow calls each hold theirs).
 */
export class CallWatch implements CompleteOptions {
  private readonly ctx: CallContext;
  private readonly progress: ProgressReporter | undefined;
  private readonly reasoning: MergedText | undefined;
  private receiving = false;
  /** Set only with a progress token: the upstream streams only when someone listens to the text. */
  readonly onText: ((text: string) => void) | undefined;
  readonly onReasoning: ((text: string) => void) | undefined;

  constructor(
    ctx: CallContext,
    heartbeatMs: number,
    readonly deadline: number,
  ) {
    this.ctx = ctx;
    const token = ctx.progressToken;
    if (token === undefined) return;
    this.progress = new ProgressReporter(token, ctx, { heartbeatMs });
    const reasoning = new MergedText(ctx.app.clock, 50, (text) => ctx.log('info', { reasoning_summary: text }, 'reasoning'));
    this.reasoning = reasoning;
    this.onText = (text) => this.text(text);
    this.onReasoning = (text) => reasoning.add(text);
  }

  get signal(): CancelSignal {
    return this.ctx.signal;
  }

  onRetry(notice: RetryNotice): void {
    const { ctx } = this;
    ctx.app.telemetry.retry();
    this.waiting(`retrying the upstream call (${notice.message.replace(/\.$/, '')})`);
    ctx.log('warning', { message: notice.message, attempt: notice.attempt, status: notice.status ?? null, retry_in_ms: notice.waitMs });
  }

  onBackground(responseId: string): void {
    const { ctx } = this;
    ctx.app.log.info('background response created', { id: ctx.id, response_id: responseId });
    ctx.durable(responseId);
  }

  onWaiting(what: string): void {
    this.waiting(what);
  }

  /** What the call waits for now, as a phrase ("queued for a free upstream slot"). */
  waiting(what: string): void {
    this.progress?.waiting(what);
    this.ctx.status(what);
  }

  text(text: string): void {
    if (!this.receiving) {
      this.receiving = true;
      this.ctx.status('receiving the answer');
    }
    this.progress?.add(text);
  }

  finish(): void {
    this.reasoning?.finish(!this.ctx.cancelled);
    this.progress?.finish();
  }
}
