import type { CancelSignal } from '../cancel.ts';
import type { Clock } from '../clock.ts';
import type { RemoteState, RemoteWork } from '../protocol/context.ts';
import { capitalize } from '../protocol/progress.ts';
import type { VersionFeatures } from '../protocol/versions.ts';
import { withAdvice } from './generate.ts';
import { errorResult, successResult } from './result.ts';
import { UpstreamError } from './upstream/errors.ts';
import type { BackgroundState, Upstream } from './upstream/types.ts';

/** One read of a background response, for a tasks/* answer, gets this long. */
const READ_BUDGET_MS = 30_000;

/**
 * A background response read by id, as a task made by any process sharing MCP_TASK_SECRET
 * needs it: still working, done (with the result a call would have returned), cancelled, or
 * gone (the upstream no longer holds it). Nothing is counted here: the process that ran the
 * call counts its usage.
 */
export function remoteWork(upstream: () => Upstream, clock: Clock): RemoteWork {
  const ask = async (ref: string, features: VersionFeatures, signal: CancelSignal, how: 'read' | 'cancel'): Promise<RemoteState> => {
    const background = upstream().background;
    if (!background) return { state: 'gone' };
    const budget = { signal, deadline: clock.now() + READ_BUDGET_MS };
    let state: BackgroundState;
    try {
      state = await background[how](ref, budget);
    } catch (error) {
      if (error instanceof UpstreamError && error.status === 404) return { state: 'gone' };
      throw error;
    }
    switch (state.status) {
      case 'working':
        return { state: 'working', statusMessage: `${capitalize(state.what)}.` };
      case 'completed':
        return { state: 'done', result: successResult(state.completion, features) };
      case 'failed':
        return { state: 'done', result: errorResult(withAdvice(state.error.message)) };
      case 'cancelled':
        return { state: 'cancelled' };
    }
  };
  return {
    read: (ref, features, signal) => ask(ref, features, signal, 'read'),
    cancel: (ref, features, signal) => ask(ref, features, signal, 'cancel'),
  };
}
