import type { Era } from '../era.ts';
import type { ErrorObject } from '../errors.ts';
import { isObject, type JsonObject, type JsonRpcNotification } from '../messages.ts';

export type TaskStatus = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

/** How a task's work ended: the call's result, or the JSON-RPC error it raised. */
export type TaskOutcome = { result: JsonObject } | { error: ErrorObject };

/** `_meta` key tying a message to its task (2025-11-25). */
export const RELATED_TASK = 'io.modelcontextprotocol/related-task';

/** What a tasks/* answer is made from, wherever the task lives (this process, or the upstream). */
export interface TaskView {
  readonly id: string;
  readonly state: 'working' | 'done' | 'cancelled';
  readonly outcome: TaskOutcome | undefined;
  readonly statusMessage: string | undefined;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
}

/**
 * A task's status as each era names it: an `isError` tool result is `failed` in 2025-11-25
 * and `completed` (its result inline) under the 2026-07-28 extension, where `failed` is for
 * JSON-RPC errors alone.
 */
export function statusOf(view: TaskView, era: Era): TaskStatus {
  if (view.state === 'working') return 'working';
  if (view.state === 'cancelled') return 'cancelled';
  const outcome = view.outcome;
  if (!outcome || 'error' in outcome) return 'failed';
  return outcome.result.isError === true && era === 'initialize' ? 'failed' : 'completed';
}

/** The Task object of 2025-11-25 (`ttl`, `pollInterval`; ISO 8601 times). */
export function taskObject(view: TaskView): JsonObject {
  return taskFields(view, 'initialize');
}

/** The Task object of the 2026-07-28 extension (`ttlMs`, `pollIntervalMs`). */
export function modernTaskObject(view: TaskView): JsonObject {
  return taskFields(view, 'modern');
}

function taskFields(view: TaskView, era: Era): JsonObject {
  const task: JsonObject = { taskId: view.id, status: statusOf(view, era) };
  if (view.statusMessage !== undefined) task.statusMessage = view.statusMessage;
  task.createdAt = iso(view.createdAt);
  task.lastUpdatedAt = iso(view.lastUpdatedAt);
  // The extension renamed them, saying the unit.
  task[era === 'modern' ? 'ttlMs' : 'ttl'] = view.ttlMs;
  task[era === 'modern' ? 'pollIntervalMs' : 'pollInterval'] = view.pollIntervalMs;
  return task;
}

/** The extension's DetailedTask: the task, with its result or error inline once it has one. */
export function detailedTask(view: TaskView): JsonObject {
  const task = modernTaskObject(view);
  const outcome = view.state === 'done' ? view.outcome : undefined;
  if (outcome && 'error' in outcome) task.error = outcome.error;
  else if (outcome) task.result = { resultType: 'complete', ...outcome.result };
  return task;
}

/** A failed task says why in its statusMessage (for clients that read no result of a failed task). */
export function endMessage(outcome: TaskOutcome): string | undefined {
  if ('error' in outcome) return outcome.error.message.slice(0, 500);
  if (outcome.result.isError !== true) return undefined;
  const content = outcome.result.content;
  const first = Array.isArray(content) ? (content[0] as { text?: unknown } | undefined) : undefined;
  return typeof first?.text === 'string' ? first.text.slice(0, 500) : 'The tool call failed.';
}

/** A notification tied to its task, as 2025-11-25 requires of every message about one. */
export function withRelatedTask(message: JsonRpcNotification, taskId: string): JsonRpcNotification {
  const params = message.params ?? {};
  const meta = isObject(params._meta) ? params._meta : {};
  return { ...message, params: { ...params, _meta: { ...meta, [RELATED_TASK]: { taskId } } } };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
