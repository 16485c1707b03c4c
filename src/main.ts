import { writeSync } from 'node:fs';
import { createRelayApp } from './app.ts';
import { ConfigError, helpText, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { serveStdio } from './transports/stdio.ts';
import { NAME, VERSION } from './version.ts';

/** The command line: read the configuration, start the chosen transport, stop cleanly. */
async function main(): Promise<void> {
  let config: Config;
  try {
    const action = loadConfig(process.argv.slice(2), process.env);
    // --help and --version are not protocol mode, so they may use stdout.
    if (action.action === 'help') return void writeSync(1, helpText(NAME, VERSION));
    if (action.action === 'version') return void writeSync(1, `${VERSION}\n`);
    config = action.config;
  } catch (error) {
    if (error instanceof ConfigError) return fail(`${NAME}: ${error.message}`);
    throw error;
  }
  if (config.upstream === 'openai' && !config.openaiApiKey) {
    return fail(
      `${NAME}: OPENAI_API_KEY is not set.\n` +
        '  Set it in the environment, e.g. OPENAI_API_KEY=sk-... npx openai-mcp-relay --transport stdio\n' +
        '  or try the server offline without a key: --upstream echo (MCP_UPSTREAM=echo).',
    );
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  guardProcess(log);
  if (config.transport !== 'stdio') {
    return fail(
      `${NAME}: the ${config.transport} transport is not available in this version yet; ` +
        'run with --transport stdio (MCP_TRANSPORT=stdio).',
    );
  }
  await runStdio(config, log);
}

async function runStdio(config: Config, log: Logger): Promise<void> {
  const relay = createRelayApp(config, log);
  const server = serveStdio({
    app: relay.app,
    input: process.stdin,
    output: process.stdout,
    maxLineBytes: config.maxBodyBytes,
  });
  const stop = (signal: string): void => {
    log.info('stopping', { signal });
    void server.shutdown(`received ${signal}`);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info('serving MCP over stdio', { version: VERSION, upstream: config.upstream, model: config.model });
  await server.done;
  await relay.close();
  log.debug('stdio closed; exiting');
  process.exit(0);
}

/** Nothing a client sends may take the process down: log what escaped, keep serving. */
function guardProcess(log: Logger): void {
  process.on('uncaughtException', (error) => log.error('uncaught exception', { error }));
  process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
}

function fail(message: string): void {
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}

void main();
