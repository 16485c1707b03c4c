import type { KeyRing } from '../keys.ts';
import type { GenerateArguments } from './arguments.ts';

export interface CallPolicyOptions {
  model: string;
  /** OPENAI_ALLOWED_MODELS; empty allows any. */
  allowedModels: readonly string[];
  /** MCP_MAX_PROMPT_CHARS, counting prompt and system together. */
  maxPromptChars: number;
  /** OPENAI_API */
  api: 'chat' | 'responses' | 'auto';
  keys: KeyRing;
}

/**
 * What the deployment refuses in a call, checked before anything is queued or sent: a model
 * the server or the key does not allow, a prompt too long, a feature the configured API lacks.
 */
export function policyProblem(args: GenerateArguments, caller: string | undefined, options: CallPolicyOptions): string | undefined {
  const model = args.model ?? options.model;
  const shown = JSON.stringify(model.slice(0, 100));
  if (options.allowedModels.length > 0 && !options.allowedModels.includes(model)) {
    return `Model ${shown} is not allowed on this server. Allowed models: ${options.allowedModels.join(', ')}.`;
  }
  if (!options.keys.allowsModel(caller, model)) {
    const allowed = options.keys.policy(caller)?.models?.join(', ') ?? '';
    return `Model ${shown} is not allowed for key "${caller}". Its allowed models: ${allowed}.`;
  }
  const length = args.prompt.length + (args.system?.length ?? 0);
  if (length > options.maxPromptChars) {
    const what = args.system === undefined ? '' : ' (with the system message)';
    return `The prompt is ${length} characters long${what}; this server accepts at most ${options.maxPromptChars} (MCP_MAX_PROMPT_CHARS).`;
  }
  if (args.previous_response_id !== undefined && options.api === 'chat') {
    return (
      'previous_response_id continues a conversation the Responses API stored, but this server sends every call to Chat Completions ' +
      '(OPENAI_API=chat), which stores none. Send the whole conversation in the prompt instead, or ask the operator for OPENAI_API=auto.'
    );
  }
  return undefined;
}
