import type { CallContext, Tool } from './context.ts';
import { invalidParams } from './errors.ts';
import { isObject, quote, type JsonObject } from './messages.ts';
import { declaresTasks } from './tasks/methods.ts';
import { startTask, type TaskPlan } from './tasks/start.ts';
import { modernTaskObject, taskObject } from './tasks/task.ts';

/** `tools/list`: one page holds every tool, so any cursor is one we never issued. */
export function listTools(params: JsonObject, call: CallContext): JsonObject {
  if ('cursor' in params) throw invalidParams('tools/list: unknown cursor (this server returns every tool in one page)');
  // 2025-11-25: each tool says whether it may run as a task.
  const offersTasks = call.features.tasks && call.app.tasks.enabled;
  return {
    tools: call.app.tools.map((tool) => {
      const entry = tool.describe(call.features);
      return offersTasks ? { ...entry, execution: { taskSupport: 'optional' } } : entry;
    }),
  };
}

/** `tools/call`: finds the tool and hands it the arguments, or starts it as a task and answers with the task. */
export async function callTool(params: JsonObject, call: CallContext): Promise<JsonObject> {
  const { name } = params;
  if (typeof name !== 'string') throw invalidParams('tools/call: "name" must be a string');
  const tool = call.app.tools.find((candidate) => candidate.name === name);
  if (!tool) throw invalidParams(`Unknown tool: ${quote(name)}`);
  const args = params.arguments === undefined ? {} : params.arguments;
  if (!isObject(args)) throw invalidParams('tools/call: "arguments" must be an object when present');
  const plan = taskPlan(params, call, tool, args);
  if (!plan) return tool.call(args, call);
  const started = await startTask(tool, args, call, plan);
  if ('result' in started) return started.result;
  call.notes.task = started.task.id;
  // The task as it began (working), whatever its work has done since.
  return plan.era === 'initialize' ? { task: taskObject(started.task) } : { resultType: 'task', ...modernTaskObject(started.task) };
}

/**
 * Whether a call runs as a task. 2025-11-25: when the client asks (`params.task`). 2026-07-28:
 * the server decides, for a client that declared the extension on this request: work bound
 * for the background, or every call with MCP_TASKS=always (`params.task` is ignored there).
 * With MCP_TASKS=never, and in older revisions, never (`params.task` is ignored).
 */
function taskPlan(params: JsonObject, call: CallContext, tool: Tool, args: JsonObject): TaskPlan | undefined {
  const { tasks } = call.app;
  if (!tasks.enabled) return undefined;
  if (call.features.tasks) {
    if (!('task' in params)) return undefined;
    const task = params.task;
    if (!isObject(task) || !(task.ttl === undefined || task.ttl === null || (typeof task.ttl === 'number' && task.ttl >= 0))) {
      throw invalidParams('tools/call: "task" must be an object, its "ttl" (when present) a number of milliseconds');
    }
    const ttl = typeof task.ttl === 'number' ? task.ttl : undefined;
    return { era: 'initialize', ttlMs: tasks.ttlFor(ttl), background: tool.runsInBackground?.(args, call) ?? false };
  }
  if (!call.features.modern || !declaresTasks(call)) return undefined;
  const background = tool.runsInBackground?.(args, call) ?? false;
  return background || tasks.mode === 'always' ? { era: 'modern', ttlMs: tasks.ttlMs, background } : undefined;
}
