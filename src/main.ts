import { writeSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createRelayApp } from './app.ts';
import { crypto } from './lazy.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { helpText } from './settings.ts';
import { KeyRing, type KeyEntry } from './keys.ts';
import { mergeKeys, readKeysFile } from './keys-file.ts';
import { createLogger, flushLogs, type Logger } from './log.ts';
import { defaultMaxConnections } from './transports/http/connections.ts';
import { createHttpTransport } from './transports/http/server.ts';
import { isLoopback } from './transports/http/perimeter.ts';
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
  if (config.transport === 'stdio') await runStdio(config, log);
  else await runHttp(config, log);
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
    relay.beginShutdown();
    // Subscriptions end gracefully (their replies go out) before calls in flight are aborted.
    setImmediate(() => void server.shutdown(`received ${signal}`));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log.info('serving MCP over stdio', { version: VERSION, upstream: config.upstream, model: config.model });
  await server.done;
  await relay.close();
  log.debug('stdio closed; exiting');
  await afterPendingTicks();
  process.exit(0);
}

async function runHttp(config: Config, log: Logger): Promise<void> {
  let entries: KeyEntry[];
  try {
    entries = loadKeys(config);
  } catch (error) {
    if (error instanceof ConfigError) return fail(`${NAME}: ${error.message}`);
    throw error;
  }
  if (config.auth === 'apikey' && entries.length === 0) {
    // No key configured: make one, and show it on stderr only, never on stdout or in JSON logs.
    const key = crypto().randomBytes(32).toString('base64url');
    flushLogs();
    entries = [{ name: 'generated', key, policy: {} }];
    process.stderr.write(
      `Generated MCP API Key: ${key}\n` +
        'Clients send it as "Authorization: Bearer <key>" or "X-API-Key: <key>". It changes at every start;\n' +
        'set MCP_API_KEY (or MCP_API_KEYS=name:key,..., or MCP_KEYS_FILE) to use a fixed one, or MCP_AUTH=none to turn authentication off.\n',
    );
  }
  const keys = new KeyRing(config.auth === 'none' ? [] : entries, { openEnded: config.auth === 'oauth' });
  const relay = createRelayApp(config, log, { keys });
  if (config.auth === 'none' && !isLoopback(config.host)) {
    log.warn(
      `authentication is off (MCP_AUTH=none) and the server listens on ${config.host}: anyone who can reach it can spend the upstream key`,
    );
  }
  if (config.keysFile !== undefined) {
    // SIGHUP re-reads the keys file; sessions stay, and an invalid file leaves the old keys in place.
    process.on('SIGHUP', () => {
      try {
        const reloaded = loadKeys(config);
        keys.replace(reloaded);
        log.info('keys file reloaded', { keys: reloaded.length });
      } catch (error) {
        const message = error instanceof ConfigError ? error.message : String(error);
        log.error('keys file not reloaded; the previous keys stay in force', { reason: message });
      }
    });
  }
  const http = createHttpTransport({
    app: relay.app,
    host: config.host,
    port: config.port,
    keys,
    auth: config.auth,
    oauth: config.oauth,
    allowedOrigins: config.allowedOrigins,
    allowedHosts: config.allowedHosts,
    stateless: config.stateless,
    sessionIdleMs: config.sessionIdleMs,
    maxSessions: config.maxSessions,
    maxSseStreams: config.maxSseStreams,
    maxSessionsPerKey: config.maxSessionsPerKey,
    maxStreamsPerKey: config.maxStreamsPerKey,
    streamIdleMs: config.streamIdleMs,
    maxConnections: config.maxConnections ?? defaultMaxConnections(config.maxConcurrency),
    maxBodyBytes: config.maxBodyBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    transport: config.transport,
  });
  let address: AddressInfo;
  try {
    address = await http.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return fail(`${NAME}: cannot listen on port ${config.port} of the HOST address (${code}). Set HOST and PORT (or --host, --port).`);
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const base = `http://${host}:${address.port}`;
  const endpoints =
    config.transport === 'sse'
      ? `SSE endpoint ${base}/sse (streamable HTTP also at ${base}/mcp)`
      : `streamable HTTP endpoint ${base}/mcp (legacy SSE also at ${base}/sse)`;
  log.info(`listening: ${endpoints}`, {
    version: VERSION,
    transport: config.transport,
    port: address.port,
    stateless: config.stateless,
    auth: config.auth,
    upstream: config.upstream,
    model: config.model,
  });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info('stopping: no new requests; calls in flight get the grace period', { signal, grace_ms: config.shutdownGraceMs });
    relay.beginShutdown();
    await http.shutdown(config.shutdownGraceMs);
    await relay.close();
    log.info('stopped');
    await afterPendingTicks();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/**
 * The client keys: MCP_API_KEY and MCP_API_KEYS, then MCP_KEYS_FILE's entries. Under
 * MCP_AUTH=oauth the file's entries name token subjects (and hold no keys); otherwise keys.
 */
function loadKeys(config: Config): KeyEntry[] {
  const fromEnv = config.apiKeys.map((k) => ({ ...k, policy: {} }));
  const entries: KeyEntry[] = config.keysFile === undefined ? fromEnv : mergeKeys(fromEnv, readKeysFile(config.keysFile));
  const oauth = config.auth === 'oauth';
  const wrong = entries.find((entry) => (entry.subject !== undefined) !== oauth);
  if (wrong) {
    throw new ConfigError(
      oauth
        ? `MCP_KEYS_FILE: the entry ${JSON.stringify(wrong.name)} holds a key; under MCP_AUTH=oauth entries name a "subject" instead.`
        : `MCP_KEYS_FILE: the entry ${JSON.stringify(wrong.name)} names a "subject", which only MCP_AUTH=oauth uses; give it a "key" or "sha256".`,
    );
  }
  return entries;
}

/** Nothing a client sends may take the process down: log what escaped, keep serving. */
function guardProcess(log: Logger): void {
  process.on('uncaughtException', (error) => log.error('uncaught exception', { error }));
  process.on('unhandledRejection', (error) => log.error('unhandled rejection', { error }));
}

function fail(message: string): void {
  flushLogs();
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}

/** Requests' log lines are written on the tick after their replies: they go out before the process exits. */
const afterPendingTicks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

void main();
