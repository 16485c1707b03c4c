import type { Clock, Sleep } from '../../clock.ts';
import { LeftRunning } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { isRecord } from './citations.ts';
import { DeadlineExceeded, type Redactor, UpstreamError } from './errors.ts';
import type { CallBudget, UpstreamHttp } from './http-client.ts';
import { ResponseEvents } from './response-events.ts';
import { completionFromResponse, failedResponse, PENDING_STATUSES } from './responses-result.ts';
import type { BackgroundResponses, BackgroundState, CompleteOptions, Completion, ResponsesRequest } from './types.ts';

/** Polling a background response: the first wait, the growth per poll, and the longest wait. */
const POLL_FIRST_MS = 1_000;
const POLL_GROWTH = 1.5;
const POLL_MAX_MS = 10_000;
/** Failed reads (a cut stream, a 5xx or 429 on a poll) in a row before the call gives up. */
const MAX_FAILURES = 5;
/** A background stream silent this long is treated as cut, and resumed (a dead connection says nothing). */
const STREAM_IDLE_MS = 120_000;
/** The upstream gets this long to acknowledge a cancel; nobody waits for it. */
const CANCEL_BUDGET_MS = 10_000;

export interface BackgroundDeps {
  http: UpstreamHttp;
  redact: Redactor;
  clock: Clock;
  sleep: Sleep;
  log: Logger;
  maxBytes: number;
}

/** What a call is waiting on, in words, by the response's status. */
export function waitingOn(status: string | undefined): string {
  return status === 'queued' ? 'the background response is queued upstream' : 'the model is working on the background response';
}

/**
 * A background Responses call (`background: true`): created, then followed to its end. With
 * `onText` the call streams, and a cut stream is resumed from the last event seen
 * (`GET /responses/{id}?stream=true&starting_after=N`), so no text is lost or repeated;
 * without, the response is polled with a growing interval. Once the response exists, failures
 * are handled here (a new response would start the work over), and a call that ends before
 * its response does (cancelled, out of time, failed) cancels it upstream, without waiting.
 */
export async function followBackground(deps: BackgroundDeps, body: ResponsesRequest, call: CompleteOptions): Promise<Completion> {
  const events = new ResponseEvents(call, deps.redact, deps.maxBytes, body.model);
  let finished = false;
  let announcedStatus: string | undefined;
  let announced = false;
  // Tells the caller the response's id once, and what it waits on whenever that changes.
  const observe = (): void => {
    if (!announced && events.responseId !== undefined) {
      announced = true;
      call.onBackground?.(events.responseId);
    }
    if (events.status !== undefined && events.status !== announcedStatus) {
      announcedStatus = events.status;
      call.onWaiting?.(waitingOn(events.status));
    }
  };
  try {
    const follow: Follow = { deps, body, call, events, observe };
    const completion = call.onText ? await streamed(follow) : await polled(follow);
    finished = true;
    return completion;
  } catch (error) {
    // A response's own end (failed, cancelled upstream), or one the upstream no longer has, needs no cancel.
    if (
      error instanceof UpstreamError &&
      (error.failure === 'cancelled' || (error.failure === 'http' && (error.status === undefined || error.status === 404)))
    ) {
      finished = true;
    }
    throw error;
  } finally {
    const leftRunning = call.signal.aborted && call.signal.reason instanceof LeftRunning;
    if (!finished && !leftRunning && events.responseId !== undefined) cancelQuietly(deps, events.responseId);
  }
}

/** One background call being followed: how, what, and what it has seen. */
interface Follow {
  deps: BackgroundDeps;
  body: ResponsesRequest;
  call: CompleteOptions;
  events: ResponseEvents;
  /** Tells the caller what changed (the response's id, its status). */
  observe: () => void;
}

async function streamed(follow: Follow): Promise<Completion> {
  const { deps, body, call, events, observe } = follow;
  const budget: CallBudget = { signal: call.signal, deadline: call.deadline, idleMs: STREAM_IDLE_MS };
  const onEvent: typeof events.onEvent = (event, requestId) => {
    const verdict = events.onEvent(event, requestId);
    observe();
    return verdict;
  };
  let requestId: string | undefined;
  let failures = 0;
  let read = () => deps.http.events('POST', '/responses', { ...body, background: true, stream: true }, budget, onEvent);
  for (;;) {
    const before = events.lastSequence;
    try {
      const answer = await read();
      requestId = answer.requestId ?? requestId;
      if (answer.json !== undefined) {
        // An upstream that answered JSON: finished already, or polled from here on.
        if (!isRecord(answer.json) || !PENDING_STATUSES.has(answer.json.status as string)) {
          return events.finishWith(completionFromResponse(answer.json, body.model, requestId, deps.redact));
        }
        events.noteResponse(answer.json);
        observe();
        return events.finishWith(await poll(follow, requestId));
      }
      if (events.final) return events.completion(requestId);
      // Ended without its terminal event: where does the response stand (cancelled elsewhere, done)?
      const id = events.responseId;
      if (id !== undefined) {
        const state = await deps.http.json('GET', `/responses/${encodeURIComponent(id)}`, undefined, call);
        if (!isRecord(state.body) || !PENDING_STATUSES.has(state.body.status as string)) {
          return events.finishWith(completionFromResponse(state.body, body.model, state.requestId ?? requestId, deps.redact));
        }
      }
      // Still working: a stream that ends again and again with nothing new is a failure like any other.
      failures = events.lastSequence > before ? 0 : failures + 1;
      if (failures > MAX_FAILURES) {
        // (A protocol failure, so the catch below does not take it for one more cut to resume.)
        throw new UpstreamError('protocol', `The background response's stream kept ending early (${MAX_FAILURES} tries).`, {
          requestId,
          retryable: false,
        });
      }
      if (failures > 0) await wait(deps, Math.min(POLL_MAX_MS, 500 * 2 ** (failures - 1)), call);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      // Before the response exists nothing is lost: the retry layer may start the call over.
      if (events.responseId === undefined) throw error;
      if (!resumable(error)) throw error.final();
      failures = events.lastSequence > before ? 1 : failures + 1;
      if (failures > MAX_FAILURES) throw error.withNote(` The stream could not be resumed (${MAX_FAILURES} tries).`, 1).final();
      await wait(deps, backoff(failures, error), call);
    }
    const id = events.responseId;
    if (id === undefined) throw new UpstreamError('protocol', "The upstream's background stream named no response id.", { requestId });
    // Without sequence numbers a resumed stream would replay the text already sent: polled instead.
    if (events.lastSequence < 0 && events.delivered) return events.finishWith(await poll(follow, requestId));
    call.onWaiting?.('reconnecting to the background response (its stream was cut)');
    read = () =>
      deps.http.events(
        'GET',
        `/responses/${encodeURIComponent(id)}?stream=true&starting_after=${events.lastSequence}`,
        undefined,
        budget,
        onEvent,
      );
  }
}

async function polled(follow: Follow): Promise<Completion> {
  const { deps, body, call, events, observe } = follow;
  const created = await deps.http.json('POST', '/responses', { ...body, background: true }, call);
  if (!isRecord(created.body) || !PENDING_STATUSES.has(created.body.status as string)) {
    return completionFromResponse(created.body, body.model, created.requestId, deps.redact);
  }
  events.noteResponse(created.body);
  observe();
  return poll(follow, created.requestId);
}

/** Polls a created background response until it is done, waiting longer each time. */
async function poll(follow: Follow, requestId: string | undefined): Promise<Completion> {
  const { deps, body, call, events, observe } = follow;
  const id = events.responseId;
  if (id === undefined) throw new UpstreamError('protocol', 'The upstream created a background response without an id.', { requestId });
  let interval = POLL_FIRST_MS;
  let failures = 0;
  let pause = interval;
  for (;;) {
    await wait(deps, pause, call);
    try {
      const answer = await deps.http.json('GET', `/responses/${encodeURIComponent(id)}`, undefined, call);
      failures = 0;
      if (!isRecord(answer.body) || !PENDING_STATUSES.has(answer.body.status as string)) {
        return completionFromResponse(answer.body, body.model, answer.requestId ?? requestId, deps.redact);
      }
      events.noteResponse(answer.body);
      observe();
      interval = Math.min(POLL_MAX_MS, Math.round(interval * POLL_GROWTH));
      pause = interval;
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      if (!resumable(error)) throw error.final();
      if (++failures > MAX_FAILURES)
        throw error.withNote(` Polling the background response failed ${MAX_FAILURES} times in a row.`, 1).final();
      pause = backoff(failures, error);
    }
  }
}

/** A cut connection, or an HTTP status worth another try; not the response's own failure. */
function resumable(error: UpstreamError): boolean {
  if (error.failure === 'network') return true;
  return error.failure === 'http' && error.status !== undefined && error.retryable;
}

function backoff(failures: number, error: UpstreamError): number {
  return error.retryAfterMs ?? Math.min(POLL_MAX_MS, 500 * 2 ** (failures - 1));
}

/** Waits on the call's signal; running out of time there is the call's timeout. */
async function wait(deps: BackgroundDeps, ms: number, call: CompleteOptions): Promise<void> {
  try {
    await deps.sleep(ms, call.signal);
  } catch (reason) {
    if (reason instanceof DeadlineExceeded) throw new UpstreamError('timeout', reason.message);
    throw reason;
  }
}

/** `POST /responses/{id}/cancel`, fire and forget: the upstream stops spending tokens. */
function cancelQuietly(deps: BackgroundDeps, responseId: string): void {
  const budget = { signal: new AbortController().signal, deadline: deps.clock.now() + CANCEL_BUDGET_MS };
  deps.http.json('POST', `/responses/${encodeURIComponent(responseId)}/cancel`, undefined, budget).then(
    () => deps.log.info('background response cancelled upstream', { response_id: responseId }),
    (error: unknown) =>
      deps.log.warn('could not cancel a background response upstream', {
        response_id: responseId,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
}

/** Reading and cancelling background responses by id, as any replica answers for a task. */
export function backgroundResponses(deps: BackgroundDeps): BackgroundResponses {
  const stateOf = (body: unknown, requestId: string | undefined): BackgroundState => {
    if (!isRecord(body)) throw new UpstreamError('protocol', 'The upstream answered, but not with a response.', { requestId });
    const status = body.status;
    if (typeof status === 'string' && PENDING_STATUSES.has(status)) return { status: 'working', what: waitingOn(status) };
    if (status === 'cancelled') return { status: 'cancelled' };
    if (status === 'failed') return { status: 'failed', error: failedResponse(body, requestId, deps.redact) };
    return { status: 'completed', completion: completionFromResponse(body, '', requestId, deps.redact) };
  };
  return {
    async read(responseId, budget) {
      const answer = await deps.http.json('GET', `/responses/${encodeURIComponent(responseId)}`, undefined, budget);
      return stateOf(answer.body, answer.requestId);
    },
    async cancel(responseId, budget) {
      const answer = await deps.http.json('POST', `/responses/${encodeURIComponent(responseId)}/cancel`, undefined, budget);
      return stateOf(answer.body, answer.requestId);
    },
  };
}
