import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { ServerApp } from './protocol/context.ts';
import { createGenerateTool } from './tool/generate.ts';
import { Limiter } from './tool/limiter.ts';
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
  /** Closes the upstream's connection pool. */
  close(): Promise<void>;
}

/** Assembles the server: identity, the `generate` tool, and its upstream (built on first call). */
export function createRelayApp(config: Config, log: Logger): RelayApp {
  const telemetry = new Telemetry(log);
  const stopping = new AbortController();
  let upstream: Upstream | undefined;
  const getUpstream = (): Upstream =>
    (upstream ??=
      config.upstream === 'echo'
        ? createEchoUpstream()
        : withRetries(
            createOpenAIUpstream({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey ?? '', userAgent: `${NAME}/${VERSION}`, log }),
            {
              maxRetries: config.maxRetries,
              log,
              onAttempt: (status, seconds) => telemetry.upstreamAttempt(status, seconds),
            },
          ));
  const limiter = new Limiter(config.maxConcurrency, config.maxQueue);
  const tool = createGenerateTool({
    model: config.model,
    temperature: config.temperature,
    maxTokens: config.maxTokens,
    isReasoningModel: modelMatcher(config.reasoningModels),
    timeoutMs: config.timeoutMs,
    allowedModels: config.allowedModels,
    maxPromptChars: config.maxPromptChars,
    limiter,
    upstream: getUpstream,
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
  };
  telemetry.registry.gauge('mcp_tool_calls_running', 'Tool calls holding an upstream slot.', () => [[{}, limiter.running]]);
  telemetry.registry.gauge('mcp_tool_calls_queued', 'Tool calls waiting for an upstream slot (queue depth).', () => [[{}, limiter.queued]]);
  return { app, limiter, beginShutdown: () => stopping.abort(), close: async () => upstream?.close() };
}
