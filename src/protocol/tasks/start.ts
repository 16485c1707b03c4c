import { CancelledError } from '../../errors.ts';
import type { CallContext, CallNotes, Tool } from '../context.ts';
import type { Era } from '../era.ts';
import { ErrorCode, WireError } from '../errors.ts';
import { passes } from '../logging.ts';
import { notification, type JsonObject } from '../messages.ts';
import { capitalize } from '../progress.ts';
import { logMessage } from '../run.ts';
import type { TaskRecord } from './record.ts';
import { BACKGROUND_POLL_MS, LOCAL_POLL_MS } from './service.ts';
import { endMessage, type TaskOutcome, type TaskView, taskObject } from './task.ts';

/** A tools/call run as a task: the task as answered (working), or (the server's choice, 2026-07-28) the plain result after all. */
export type TaskStart = { task: TaskView } | { result: JsonObject };

export interface TaskPlan {
  era: Era;
  ttlMs: number;
  /** The work will live upstream (a background response): the task's id is then the signed one. */
  background: boolean;
}

/**
 * How long a call bound for the background may take to reach the upstream before its task is
 * answered with a local id (readable on this process only): a call queued for a slot must not
 * hold the CreateTaskResult back.
 */
const DURABLE_WAIT_MS = 10_000;

/**
 * Makes a task and starts its work, detached from the request: the work has its own
 * AbortController, so closing the request's stream or session does not stop it (tasks/cancel,
 * its TTL, or the server stopping do). Work bound for the background is answered once the
 * upstream holds it, under an id signed over the response's id. The task is answered as
 * `working` (tasks begin so), whatever its work has done meanwhile.
 */
export async function startTask(tool: Tool, args: JsonObject, call: CallContext, plan: TaskPlan): Promise<TaskStart> {
  const { tasks } = call.app;
  const made = tasks.store.create(call.owner, plan.ttlMs, plan.background ? BACKGROUND_POLL_MS : LOCAL_POLL_MS);
  if ('refused' in made) {
    // 2026-07-28 lets the server answer without a task; a 2025-11-25 client asked for one, and is told why not.
    if (plan.era === 'modern') return { result: await tool.call(args, call) };
    throw new WireError(ErrorCode.ServerError, `Cannot create a task: ${made.refused}. Wait for a task to end, or call without a task.`);
  }
  const record = made;
  if (plan.era === 'initialize') record.home = call.home;
  // Until the task is answered, its notifications go on the request's own stream (untagged: they are the request's).
  const release = record.listen((message) => call.notify(message));
  let announce!: (ref: string) => void;
  const durable = new Promise<string>((resolve) => (announce = resolve));
  const taskCall = detachedContext(call, record, plan.era, announce, () =>
    record.cancel('The task was cancelled.', new CancelledError('cancelled upstream')),
  );
  const finished = runWork(tool, args, taskCall, record);
  let inline = false;
  try {
    if (plan.background) {
      const ref = await firstOf(durable, finished, call);
      if (ref !== undefined) {
        tasks.store.rename(record, tasks.tokens.mint({ ref, createdAt: record.createdAt, ttlMs: record.ttlMs }, call.owner), ref);
      } else if (plan.era === 'modern' && record.state === 'done' && record.outcome && 'result' in record.outcome) {
        // Over before it reached the background (refused, failed at once): answered as an ordinary call.
        inline = true;
        Object.assign(call.notes, taskCall.notes);
        tasks.store.drop(record, 'answered without a task');
        return { result: record.outcome.result };
      }
    }
    // Cancelled before it was answered, nobody will ever know the task's id: it is stopped.
    if (call.cancelled) record.cancel('The request that made the task was cancelled.', new CancelledError('its request was cancelled'));
    record.answered = true;
    return { task: { ...viewOf(record), state: 'working', outcome: undefined, lastUpdatedAt: record.createdAt } };
  } finally {
    release();
    if (!inline) {
      finished
        .then((durationMs) => report(call, taskCall.notes, record, durationMs))
        .catch((error: unknown) => call.app.log.error('could not report a task', { error }));
    }
  }
}

/** The first of: the work's upstream reference, the work's end, the request's cancel, DURABLE_WAIT_MS. */
async function firstOf(durable: Promise<string>, finished: Promise<number>, call: CallContext): Promise<string | undefined> {
  const { clock } = call.app;
  let timer: object | undefined;
  let onAbort: (() => void) | undefined;
  const waited = new Promise<undefined>((resolve) => {
    timer = clock.setTimeout(() => resolve(undefined), DURABLE_WAIT_MS);
    onAbort = () => resolve(undefined);
    call.signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([durable, finished.then(() => undefined), waited]);
  } finally {
    clock.clearTimeout(timer);
    call.signal.removeEventListener('abort', onAbort!);
  }
}

function viewOf(record: TaskRecord): TaskView {
  const { id, state, outcome, statusMessage, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs } = record;
  return { id, state, outcome, statusMessage, createdAt, lastUpdatedAt, ttlMs, pollIntervalMs };
}

/** The request's context, re-homed on the task: its own signal, its notifications through the task. */
function detachedContext(
  call: CallContext,
  record: TaskRecord,
  era: Era,
  announce: (ref: string) => void,
  cancelledElsewhere: () => void,
): CallContext {
  const { signal } = record.controller;
  // 2025-11-25 keeps the progress token (and the session's logs) for the task's life; the extension carries neither.
  const live = era === 'initialize';
  const { session, app } = call;
  return {
    id: call.id,
    version: call.version,
    features: call.features,
    signal,
    abort: (reason) => record.controller.abort(reason),
    get cancelled() {
      return signal.aborted && signal.reason instanceof CancelledError;
    },
    progressToken: live ? call.progressToken : undefined,
    app,
    session,
    caller: call.caller,
    owner: call.owner,
    home: undefined,
    clientCapabilities: call.clientCapabilities,
    notes: {},
    notify: live ? (message) => record.notify(message) : () => undefined,
    log: (level, data, logger) => {
      if (live && passes(level, session.logLevel)) record.notify(logMessage(app.name, level, data, logger));
    },
    status: (what) => record.setStatusMessage(`${capitalize(what)}.`),
    durable: announce,
    cancelledElsewhere,
  };
}

/** Runs the work and stores how it ended (unless the task was cancelled first); resolves with its duration. */
async function runWork(tool: Tool, args: JsonObject, taskCall: CallContext, record: TaskRecord): Promise<number> {
  const { app } = taskCall;
  const started = app.clock.now();
  let outcome: TaskOutcome | undefined;
  try {
    const result = await tool.call(args, taskCall);
    if (!taskCall.cancelled) outcome = { result };
  } catch (error) {
    if (!taskCall.cancelled) {
      if (!(error instanceof WireError)) app.log.error('internal error in a task', { task: record.id.slice(0, 40), error });
      outcome = { error: error instanceof WireError ? error.toJSON() : { code: ErrorCode.InternalError, message: 'Internal error' } };
    }
  }
  const home = record.home;
  // The session's channel is not needed any more: the task must not keep the session alive.
  record.home = undefined;
  if (outcome && app.tasks.store.finish(record, outcome, endMessage(outcome)) && home) {
    // 2025-11-25 lets the server say so (clients poll regardless), after the task itself was
    // answered: work that ended at once waits for the reply to go out first.
    const status = notification('notifications/tasks/status', taskObject(record));
    setImmediate(() => {
      if (record.answered) home(status);
    });
  }
  return app.clock.now() - started;
}

/** The task's work is counted once, when it ends: its outcome in the tool-call metrics, one log line. */
function report(call: CallContext, notes: CallNotes, record: TaskRecord, durationMs: number): void {
  call.app.telemetry.taskEnded({
    key: call.caller,
    task: record.id,
    tool: notes.tool,
    outcome: record.state === 'cancelled' ? 'cancelled' : notes.outcome,
    upstreamStatus: notes.upstreamStatus,
    attempts: notes.attempts,
    durationMs,
  });
}
