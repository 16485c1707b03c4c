import type { CallContext } from '../protocol/context.ts';
import { MergedText, ProgressReporter } from '../protocol/progress.ts';

/**
 * What a `generate` call tells its client while it runs. With a progress token: the text as
 * progress, heartbeats while it waits, and a Responses reasoning summary as
 * `notifications/message` at `info` from the `reasoning` logger (merged alike, so progress
 * messages stay the answer's text alone). Always: what it is doing, as a task's statusMessage.
 */
export class CallWatch {
  private readonly ctx: CallContext;
  private readonly progress: ProgressReporter | undefined;
  private readonly reasoning: MergedText | undefined;
  private receiving = false;

  constructor(ctx: CallContext, heartbeatMs: number) {
    this.ctx = ctx;
    const token = ctx.progressToken;
    if (token === undefined) return;
    this.progress = new ProgressReporter(token, ctx, { heartbeatMs });
    this.reasoning = new MergedText(ctx.app.clock, 50, (text) => ctx.log('info', { reasoning_summary: text }, 'reasoning'));
  }

  /** The upstream streams only when someone listens to the text. */
  get streaming(): boolean {
    return this.progress !== undefined;
  }

  /** The callbacks that make the upstream stream (none without a progress token). */
  get callbacks(): { onText?: (text: string) => void; onReasoning?: (text: string) => void } {
    if (!this.progress) return {};
    return { onText: (text) => this.text(text), onReasoning: (text) => this.reasoning?.add(text) };
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
