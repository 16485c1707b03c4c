import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { ServerApp } from './protocol/context.ts';
import { createGenerateTool } from './tool/generate.ts';
import { Limiter } from './tool/limiter.ts';
import { modelMatcher } from './tool/models.ts';
import { createEchoUpstream } from './tool/upstream/echo.ts';
import { createOpenAIUpstream } from './tool/upstream/openai.ts';
import { withRetries } from './tool/upstream/retrying.ts';
import type { Upstream } from './tool/upstream/types.ts';
import { NAME, TITLE, VERSION } from './version.ts';

export interface RelayApp {
  readonly app: ServerApp;
  readonly limiter: Limiter;
  /** Closes the upstream's connection pool. */
  close(): Promise<void>;
}

/** Assembles the server: identity, the `generate` tool, and its upstream (built on first call). */
export function createRelayApp(config: Config, log: Logger): RelayApp {
  let upstream: Upstream | undefined;
  const getUpstream = (): Upstream =>
    (upstream ??=
      config.upstream === 'echo'
        ? createEchoUpstream()
        : withRetries(
            createOpenAIUpstream({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey ?? '', userAgent: `${NAME}/${VERSION}`, log }),
            { maxRetries: config.maxRetries, log },
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
  };
  return { app, limiter, close: async () => upstream?.close() };
}
