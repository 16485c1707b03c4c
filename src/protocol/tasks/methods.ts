import { CancelledError } from '../../errors.ts';
import { sleepOn } from '../../clock.ts';
import type { CallContext } from '../context.ts';
import { ErrorCode, invalidParams, WireError } from '../errors.ts';
import { isObject, type JsonObject } from '../messages.ts';
import type { MethodHandler } from '../methods.ts';
import { type FoundTask, TASKS_EXTENSION, tasksNotDeclared } from './service.ts';
import { detailedTask, RELATED_TASK, statusOf, type TaskView, taskObject } from './task.ts';

/** tasks/* of 2025-11-25, where tasks are part of the core protocol (experimental). */
export const TASK_METHODS: ReadonlyMap<string, MethodHandler> = new Map<string, MethodHandler>([
  ['tasks/get', async (params, call) => taskObject(viewOf(await find(params, call, 'tasks/get')))],
  ['tasks/result', taskResult],
  ['tasks/cancel', cancelTask],
  ['tasks/list', listTasks],
]);

/** tasks/* of the 2026-07-28 extension, for clients that declare it on the request. */
export const MODERN_TASK_METHODS: ReadonlyMap<string, MethodHandler> = new Map<string, MethodHandler>([
  ['tasks/get', async (params, call) => detailedTask(viewOf(await find(params, call, 'tasks/get', true)))],
  [
    'tasks/update',
    async (params, call) => {
      await find(params, call, 'tasks/update', true);
      if (!isObject(params.inputResponses)) throw invalidParams('tasks/update: "inputResponses" must be an object');
      // This server never asks for input, so there is nothing outstanding to answer: acknowledged.
      return {};
    },
  ],
  [
    'tasks/cancel',
    async (params, call) => {
      const found = await find(params, call, 'tasks/cancel', true);
      // Cooperative: acknowledged whatever the task's state; work still running is asked to stop.
      if ('local' in found) found.local.cancel('The task was cancelled by request.', new CancelledError('cancelled by tasks/cancel'));
      else if (found.remote.state === 'working') await call.app.tasks.cancelRemote(found.remote, call);
      return {};
    },
  ],
]);

/** The task a request names, owned by its caller; tasks of the extension need the client to declare it on this request. */
async function find(params: JsonObject, call: CallContext, method: string, modern = false): Promise<FoundTask> {
  const { tasks } = call.app;
  if (!tasks.enabled || (!modern && !call.features.tasks)) {
    throw new WireError(ErrorCode.MethodNotFound, `Method not found: "${method}"`);
  }
  if (modern && !declaresTasks(call)) {
    throw tasksNotDeclared();
  }
  const { taskId } = params;
  if (typeof taskId !== 'string') throw invalidParams(`${method}: "taskId" must be a string`);
  return tasks.find(taskId, call);
}

/** Whether a 2026-07-28 request declared the tasks extension in its own client capabilities. */
export function declaresTasks(call: CallContext): boolean {
  const extensions = call.clientCapabilities?.extensions;
  return isObject(extensions) && isObject(extensions[TASKS_EXTENSION]);
}

function viewOf(found: FoundTask): TaskView {
  return 'local' in found ? found.local : found.remote;
}

/**
 * tasks/result: waits for the task to end (its notifications come on this request's stream
 * meanwhile), then answers exactly what the call would have: its result, tagged with the
 * task, or its JSON-RPC error. A cancelled task has no result (-32602).
 */
async function taskResult(params: JsonObject, call: CallContext): Promise<JsonObject> {
  let found = await find(params, call, 'tasks/result');
  if ('local' in found) {
    const record = found.local;
    const release = record.listen((message) => call.notify(message));
    try {
      await record.settled(call.signal);
    } finally {
      release();
    }
  } else {
    // Made by another process: the upstream is polled at the task's own interval.
    const sleep = sleepOn(call.app.clock);
    while (found.remote.state === 'working') {
      await sleep(found.remote.pollIntervalMs, call.signal);
      found = await call.app.tasks.find(found.remote.id, call);
      if ('local' in found) return taskResult(params, call);
    }
  }
  const view = viewOf(found);
  const outcome = view.outcome;
  if (view.state === 'cancelled' || !outcome) throw invalidParams(`Task ${view.id} was cancelled before it finished; it has no result`);
  if ('error' in outcome) throw new WireError(outcome.error.code, outcome.error.message, outcome.error.data);
  const meta = isObject(outcome.result._meta) ? outcome.result._meta : {};
  return { ...outcome.result, _meta: { ...meta, [RELATED_TASK]: { taskId: view.id } } };
}

/** tasks/cancel: a working task becomes `cancelled` (and its work stops) before the answer; an ended one is -32602. */
async function cancelTask(params: JsonObject, call: CallContext): Promise<JsonObject> {
  const found = await find(params, call, 'tasks/cancel');
  let view: TaskView = viewOf(found);
  if (view.state === 'working') {
    if ('local' in found) found.local.cancel('The task was cancelled by request.', new CancelledError('cancelled by tasks/cancel'));
    else view = await call.app.tasks.cancelRemote(found.remote, call);
  } else {
    throw invalidParams(`Cannot cancel task: already in terminal status '${statusOf(view, 'initialize')}'`);
  }
  if (view.state === 'done') throw invalidParams(`Cannot cancel task: already in terminal status '${statusOf(view, 'initialize')}'`);
  return { ...taskObject(view), status: 'cancelled' };
}

/** tasks/list: the caller's own tasks on this process, oldest first, a page at a time. */
function listTasks(params: JsonObject, call: CallContext): JsonObject {
  const { tasks } = call.app;
  if (!tasks.enabled || !call.features.tasks || !tasks.listable(call.owner)) {
    throw new WireError(ErrorCode.MethodNotFound, 'Method not found: "tasks/list"');
  }
  const page = tasks.store.list(call.owner, params.cursor);
  return { tasks: page.tasks.map(taskObject), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
}
