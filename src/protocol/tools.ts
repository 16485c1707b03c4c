import type { CallContext } from './context.ts';
import { invalidParams } from './errors.ts';
import { isObject, quote, type JsonObject } from './messages.ts';

/** `tools/list`: one page holds every tool, so any cursor is one we never issued. */
export function listTools(params: JsonObject, call: CallContext): JsonObject {
  if ('cursor' in params) throw invalidParams('tools/list: unknown cursor (this server returns every tool in one page)');
  return { tools: call.app.tools.map((tool) => tool.describe(call.features)) };
}

/** `tools/call`: finds the tool and hands it the arguments. */
export function callTool(params: JsonObject, call: CallContext): Promise<JsonObject> {
  const { name } = params;
  if (typeof name !== 'string') throw invalidParams('tools/call: "name" must be a string');
  const tool = call.app.tools.find((candidate) => candidate.name === name);
  if (!tool) throw invalidParams(`Unknown tool: ${quote(name)}`);
  const args = params.arguments === undefined ? {} : params.arguments;
  if (!isObject(args)) throw invalidParams('tools/call: "arguments" must be an object when present');
  return tool.call(args, call);
}
