import { systemClock, type Clock, type Sleep } from './clock.ts';
import type { Config } from './config.ts';
import { KeyRing, perKeyCap } from './keys.ts';
import { Tasks } from './protocol/tasks/service.ts';
import { TaskStore } from './protocol/tasks/store.ts';
import { TaskTokens } from './protocol/tasks/token.ts';
import type { Logger } from './log.ts';
import type { ServerApp } from './protocol/context.ts';
import { createGenerateTool } from './tool/generate.ts';
import { Admission } from './tool/admission.ts';
import { Limiter } from './tool/limiter.ts';
import { Quotas } from './tool/quota.ts';
import { modelMatcher } from './tool/models.ts';
import { Telemetry } from './telemetry.ts';
import { createEchoUpstream } from './tool/upstream/echo.ts';
import { createOpenAIUpstream } from './tool/upstream/openai.ts';
import { withRetries } from './tool/upstream/retrying.ts';
import type { Upstream } from './tool/upstream/types.ts';
import { NAME, TITLE, VERSION } from './version.ts';

export interface RelayApp {
  readonly app: ServerApp;
  /** Tells long-lived requests (subscriptions) that the server is stopping. */
  beginShutdown(): void;
  readonly limiter: Limiter;
  /** The client keys and their policies; the HTTP transport authenticates against the same ring. */
  readonly keys: KeyRing;
  /** Closes the upstream's connection pool. */
  close(): Promise<void>;
}

/** Assembles the server: identity, the `generate` tool, and its upstream (built on first call). */
export interface RelayOptions {
  keys?: KeyRing;
  clock?: Clock;
  /** How waits between upstream attempts are taken (the clock's own by default; tests pass a virtual one). */
  sleep?: Sleep;
  /** Jitter for retry backoff. */
  random?: () => number;
}

export function createRelayApp(config: Config, log: Logger, options: RelayOptions = {}): RelayApp {
  const telemetry = new Telemetry(log);
  const clock = options.clock ?? systemClock;
  const keys =
    options.keys ??
    new KeyRing(
      config.apiKeys.map((k) => ({ ...k, policy: {} })),
      { openEnded: config.auth === 'oauth' },
    );
  const stopping = new AbortController();
  let upstream: Upstream | undefined;
  const getUpstream = (): Upstream =>
    (upstream ??=
      config.upstream === 'echo'
        ? createEchoUpstream()
        : withRetries(
            createOpenAIUpstream({
              baseUrl: config.openaiBaseUrl,
              apiKey: config.openaiApiKey ?? '',
              userAgent: `${NAME}/${VERSION}`,
              log,
              clock,
              ...(options.sleep ? { sleep: options.sleep } : {}),
            }),
            {
              maxRetries: config.maxRetries,
              log,
              clock,
              ...(options.sleep ? { sleep: options.sleep } : {}),
              ...(options.random ? { random: options.random } : {}),
              onAttempt: (status, seconds) => telemetry.upstreamAttempt(status, seconds),
            },
          ));
  const limiter = new Limiter(config.maxConcurrency, config.maxQueue);
  const tasks = new Tasks({
    mode: config.tasks,
    store: new TaskStore({
      clock,
      maxTasks: config.maxTasks,
      maxTasksPerOwner: () => perKeyCap(config.maxTasksPerKey, config.maxTasks, keys.count),
      maxBytes: config.maxTaskBytes,
      maxBytesPerOwner: () => perKeyCap(undefined, config.maxTaskBytes, keys.count),
    }),
    tokens: new TaskTokens(config.taskSecret),
    ttlMs: config.taskTtlMs,
    clock,
    log,
  });
  const tool = createGenerateTool({
    model: config.model,
    temperature: config.temperature,
    maxTokens: config.maxTokens,
    isReasoningModel: modelMatcher(config.reasoningModels),
    api: config.api,
    isResponsesModel: modelMatcher(config.responsesModels),
    background: config.background,
    isBackgroundModel: modelMatcher(config.backgroundModels),
    backgroundTimeoutMs: config.backgroundTimeoutMs,
    heartbeatMs: config.heartbeatMs,
    store: config.store,
    timeoutMs: config.timeoutMs,
    allowedModels: config.allowedModels,
    maxPromptChars: config.maxPromptChars,
    admission: new Admission({
      limiter,
      quotas: new Quotas(clock),
      keys,
      maxCallsPerKey: config.maxCallsPerKey,
      capacity: config.maxConcurrency + config.maxQueue,
    }),
    keys,
    upstream: getUpstream,
    clock,
  });
  const app: ServerApp = {
    name: NAME,
    title: TITLE,
    version: VERSION,
    instructions:
      `Call the "generate" tool to send a prompt to a language model (${config.model} unless you name another) ` +
      'and get its answer. Optional arguments: system, model, temperature, max_tokens, extra.',
    tools: [tool],
    log,
    telemetry,
    stopping: stopping.signal,
    limits: { maxBatch: config.maxBatch, streamIdleMs: config.streamIdleMs },
    clock,
    tasks,
    strict: config.strict,
  };
  telemetry.registry.gauge('mcp_tool_calls_running', 'Tool calls holding an upstream slot.', () => [[{}, limiter.running]]);
  telemetry.registry.gauge('mcp_tool_calls_queued', 'Tool calls waiting for an upstream slot (queue depth).', () => [[{}, limiter.queued]]);
  telemetry.registry.gauge('mcp_tasks', 'Tasks held, by state (working, or ended and kept for their result).', () => {
    const working = tasks.store.working;
    return [
      [{ state: 'working' }, working],
      [{ state: 'ended' }, tasks.store.size - working],
    ];
  });
  telemetry.registry.gauge('mcp_task_result_bytes', 'Bytes of task results held (MCP_MAX_TASK_BYTES).', () => [[{}, tasks.store.bytes]]);
  const close = async (): Promise<void> => {
    tasks.shutdown();
    await upstream?.close();
  };
  return { app, limiter, keys, beginShutdown: () => stopping.abort(), close };
}
