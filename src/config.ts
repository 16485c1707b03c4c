import { LocalError } from './errors.ts';
import { LOG_LEVEL_NAMES, type LogFormat, type LogLevelName } from './log.ts';

export const TRANSPORTS = ['streamable-http', 'sse', 'stdio'] as const;
export type TransportName = (typeof TRANSPORTS)[number];
export const UPSTREAMS = ['openai', 'echo'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

export interface Config {
  transport: TransportName;
  host: string;
  port: number;
  upstream: UpstreamName;
  openaiApiKey: string | undefined;
  openaiBaseUrl: string;
  model: string;
  temperature: number;
  timeoutMs: number;
  maxRetries: number;
  /** OPENAI_REASONING_MODELS: glob patterns (`!` excludes); `none` for no reasoning models. */
  reasoningModels: string[];
  /** OPENAI_ALLOWED_MODELS; empty means any model. */
  allowedModels: string[];
  /** OPENAI_MAX_TOKENS: upper bound on generated tokens, also when a call names none. */
  maxTokens: number | undefined;
  maxPromptChars: number;
  maxConcurrency: number;
  maxQueue: number;
  /** Named client keys from MCP_API_KEYS (`name:key,...`), plus MCP_API_KEY as "default". */
  apiKeys: { name: string; key: string }[];
  /** MCP_KEYS_FILE: keys with per-key policy (read by main, re-read on SIGHUP). */
  keysFile: string | undefined;
  /** `none` turns HTTP authentication off. */
  auth: 'apikey' | 'none';
  allowedOrigins: string[];
  allowedHosts: string[];
  stateless: boolean;
  sessionIdleMs: number;
  maxSessions: number;
  maxSseStreams: number;
  /** Per-key caps; undefined: the global cap with one key, a quarter of it with several. */
  maxSessionsPerKey: number | undefined;
  maxStreamsPerKey: number | undefined;
  maxCallsPerKey: number | undefined;
  /** An event stream that carries nothing for this long is ended. */
  streamIdleMs: number;
  /** Most messages in a 2025-03-26 batch. */
  maxBatch: number;
  /** Most TCP connections at once; undefined: derived from the file limit at start. */
  maxConnections: number | undefined;
  shutdownGraceMs: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  logLevel: LogLevelName;
  logFormat: LogFormat;
}

export const DEFAULT_REASONING_MODELS = 'o1*,o3*,o4*,gpt-5*,!gpt-5*chat*';

/** One row per setting: its env var, its flag (if any), its default, and its help line. */
interface Setting {
  env: string;
  flag?: string;
  /** Shown in --help; `undefined` means "not set". */
  default?: string;
  help: string;
  /** Never echoed back in messages. */
  secret?: boolean;
}

export const SETTINGS: readonly Setting[] = [
  { env: 'MCP_TRANSPORT', flag: '--transport', default: 'streamable-http', help: 'streamable-http, sse or stdio' },
  { env: 'HOST', flag: '--host', default: '0.0.0.0', help: 'address the HTTP transports listen on' },
  { env: 'PORT', flag: '--port', default: '8000', help: 'port the HTTP transports listen on' },
  { env: 'MCP_UPSTREAM', flag: '--upstream', default: 'openai', help: 'openai, or echo (offline, no key needed)' },
  { env: 'OPENAI_API_KEY', help: 'API key for the upstream (required with --upstream openai)', secret: true },
  { env: 'OPENAI_BASE_URL', flag: '--base-url', default: 'https://api.openai.com/v1', help: 'any OpenAI-compatible API' },
  { env: 'OPENAI_MODEL', flag: '--model', default: 'gpt-4o-mini', help: 'model used when a call names none' },
  { env: 'OPENAI_TEMPERATURE', flag: '--temperature', default: '0.2', help: 'temperature used when a call names none (0-2)' },
  {
    env: 'OPENAI_TIMEOUT_MS',
    flag: '--timeout-ms',
    default: '60000',
    help: 'upper bound on one call, retries and queueing included, in ms',
  },
  { env: 'OPENAI_MAX_RETRIES', flag: '--max-retries', default: '2', help: 'retries of 408, 409, 429, 5xx and connection failures' },
  {
    env: 'OPENAI_REASONING_MODELS',
    flag: '--reasoning-models',
    default: DEFAULT_REASONING_MODELS,
    help: 'models sent max_completion_tokens and no default temperature (globs; ! excludes; none)',
  },
  { env: 'OPENAI_ALLOWED_MODELS', flag: '--allowed-models', help: 'models calls may use, comma-separated (unset: every model)' },
  { env: 'OPENAI_MAX_TOKENS', flag: '--max-tokens', help: 'upper bound on max_tokens, applied also when a call sets none' },
  {
    env: 'MCP_MAX_PROMPT_CHARS',
    flag: '--max-prompt-chars',
    default: '200000',
    help: 'longest prompt (with system) accepted, in characters',
  },
  { env: 'MCP_MAX_CONCURRENCY', flag: '--max-concurrency', default: '256', help: 'upstream calls at once; more wait in a queue' },
  { env: 'MCP_MAX_QUEUE', flag: '--max-queue', default: '1024', help: 'calls waiting at most; past it a call is refused as busy' },
  { env: 'MCP_API_KEY', help: 'key HTTP clients must send (generated at start when no key is set)', secret: true },
  { env: 'MCP_API_KEYS', help: 'several client keys, name:key,name:key (names show in logs)', secret: true },
  { env: 'MCP_AUTH', flag: '--auth', default: 'apikey', help: 'apikey, or none to turn HTTP authentication off' },
  { env: 'MCP_ALLOWED_ORIGINS', flag: '--allowed-origins', help: 'extra Origins allowed, comma-separated (* for any)' },
  { env: 'MCP_ALLOWED_HOSTS', flag: '--allowed-hosts', help: 'Host header values allowed, comma-separated' },
  { env: 'MCP_STATELESS', flag: '--stateless', default: 'false', help: 'true: no sessions, every POST stands alone' },
  { env: 'MCP_SESSION_IDLE_MS', flag: '--session-idle-ms', default: '1800000', help: 'an idle session expires after this long' },
  { env: 'MCP_MAX_SESSIONS', flag: '--max-sessions', default: '1000', help: 'most sessions open at once' },
  {
    env: 'MCP_MAX_SSE_STREAMS',
    flag: '--max-sse-streams',
    default: '1000',
    help: 'most event streams open at once (GET /mcp, /sse, subscriptions, POST answers)',
  },
  { env: 'MCP_KEYS_FILE', flag: '--keys-file', help: 'JSON file of client keys with per-key limits (re-read on SIGHUP)' },
  {
    env: 'MCP_MAX_SESSIONS_PER_KEY',
    flag: '--max-sessions-per-key',
    help: 'sessions one key may hold (default: all with one key, a quarter with several)',
  },
  { env: 'MCP_MAX_STREAMS_PER_KEY', flag: '--max-streams-per-key', help: 'event streams one key may hold open (default: as above)' },
  { env: 'MCP_MAX_CALLS_PER_KEY', flag: '--max-calls-per-key', help: 'calls one key may have running or queued (default: as above)' },
  {
    env: 'MCP_STREAM_IDLE_MS',
    flag: '--stream-idle-ms',
    default: '600000',
    help: 'an event stream that carries nothing this long is ended',
  },
  { env: 'MCP_MAX_BATCH', flag: '--max-batch', default: '32', help: 'most messages in one JSON-RPC batch (2025-03-26)' },
  { env: 'MCP_MAX_CONNECTIONS', flag: '--max-connections', help: 'most TCP connections at once (default: from the open-file limit)' },
  { env: 'MCP_SHUTDOWN_GRACE_MS', flag: '--shutdown-grace-ms', default: '10000', help: 'time calls get to finish on SIGTERM' },
  { env: 'MCP_REQUEST_TIMEOUT_MS', flag: '--request-timeout-ms', default: '30000', help: 'time a client gets to send a request body' },
  { env: 'MCP_MAX_BODY_BYTES', flag: '--max-body-bytes', default: '1048576', help: 'largest accepted message, in bytes' },
  { env: 'LOG_LEVEL', flag: '--log-level', default: 'info', help: 'debug, info, warn, error or silent (stderr)' },
  { env: 'LOG_FORMAT', flag: '--log-format', default: 'json', help: 'json or text (stderr)' },
];

export type CliAction = { action: 'help' } | { action: 'version' } | { action: 'run'; config: Config };

/** A configuration problem: the process prints the message and exits 1. */
export class ConfigError extends LocalError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CliAction {
  const flags = new Map<string, string>();
  const byFlag = new Map(SETTINGS.filter((s) => s.flag).map((s) => [s.flag!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { action: 'help' };
    if (arg === '--version' || arg === '-v') return { action: 'version' };
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const setting = byFlag.get(name);
    if (!setting) throw new ConfigError(`Unknown option ${quoteArg(name)}. Run with --help to see the options.`);
    // --stateless alone means true; every other flag takes a value.
    const value = eq > 0 ? arg.slice(eq + 1) : name === '--stateless' && !isBooleanText(argv[i + 1]) ? 'true' : argv[++i];
    if (value === undefined) throw new ConfigError(`Option ${name} needs a value.`);
    flags.set(setting.env, value);
  }
  // A flag beats its env var; an empty env var counts as unset (compose files pass those).
  const raw = (name: string): string | undefined => {
    const value = flags.get(name) ?? env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const text = (name: string): string => raw(name) ?? defaultOf(name);

  const config: Config = {
    transport: oneOf(text('MCP_TRANSPORT'), TRANSPORTS, 'MCP_TRANSPORT'),
    host: text('HOST'),
    port: integer(text('PORT'), 'PORT', 0, 65535),
    upstream: oneOf(text('MCP_UPSTREAM'), UPSTREAMS, 'MCP_UPSTREAM'),
    openaiApiKey: raw('OPENAI_API_KEY'),
    openaiBaseUrl: baseUrl(text('OPENAI_BASE_URL')),
    model: text('OPENAI_MODEL'),
    temperature: number(text('OPENAI_TEMPERATURE'), 'OPENAI_TEMPERATURE', 0, 2),
    timeoutMs: integer(text('OPENAI_TIMEOUT_MS'), 'OPENAI_TIMEOUT_MS', 1, 24 * 3600 * 1000),
    maxRetries: integer(text('OPENAI_MAX_RETRIES'), 'OPENAI_MAX_RETRIES', 0, 10),
    reasoningModels: text('OPENAI_REASONING_MODELS').toLowerCase() === 'none' ? [] : list(text('OPENAI_REASONING_MODELS')),
    allowedModels: list(raw('OPENAI_ALLOWED_MODELS')),
    maxTokens: optionalInteger(raw('OPENAI_MAX_TOKENS'), 'OPENAI_MAX_TOKENS', 1, 10_000_000),
    maxPromptChars: integer(text('MCP_MAX_PROMPT_CHARS'), 'MCP_MAX_PROMPT_CHARS', 1, 100_000_000),
    maxConcurrency: integer(text('MCP_MAX_CONCURRENCY'), 'MCP_MAX_CONCURRENCY', 1, 1_000_000),
    maxQueue: integer(text('MCP_MAX_QUEUE'), 'MCP_MAX_QUEUE', 0, 10_000_000),
    apiKeys: apiKeys(raw('MCP_API_KEY'), raw('MCP_API_KEYS')),
    auth: oneOf(text('MCP_AUTH'), ['apikey', 'none'] as const, 'MCP_AUTH'),
    allowedOrigins: list(raw('MCP_ALLOWED_ORIGINS')),
    allowedHosts: list(raw('MCP_ALLOWED_HOSTS')).map((host) => host.toLowerCase()),
    stateless: boolean(text('MCP_STATELESS'), 'MCP_STATELESS'),
    sessionIdleMs: integer(text('MCP_SESSION_IDLE_MS'), 'MCP_SESSION_IDLE_MS', 1000, 7 * 24 * 3600 * 1000),
    maxSessions: integer(text('MCP_MAX_SESSIONS'), 'MCP_MAX_SESSIONS', 1, 1_000_000),
    maxSseStreams: integer(text('MCP_MAX_SSE_STREAMS'), 'MCP_MAX_SSE_STREAMS', 1, 1_000_000),
    keysFile: raw('MCP_KEYS_FILE'),
    maxSessionsPerKey: optionalInteger(raw('MCP_MAX_SESSIONS_PER_KEY'), 'MCP_MAX_SESSIONS_PER_KEY', 1, 1_000_000),
    maxStreamsPerKey: optionalInteger(raw('MCP_MAX_STREAMS_PER_KEY'), 'MCP_MAX_STREAMS_PER_KEY', 1, 1_000_000),
    maxCallsPerKey: optionalInteger(raw('MCP_MAX_CALLS_PER_KEY'), 'MCP_MAX_CALLS_PER_KEY', 1, 10_000_000),
    streamIdleMs: integer(text('MCP_STREAM_IDLE_MS'), 'MCP_STREAM_IDLE_MS', 1000, 7 * 24 * 3600 * 1000),
    maxBatch: integer(text('MCP_MAX_BATCH'), 'MCP_MAX_BATCH', 1, 10_000),
    maxConnections: optionalInteger(raw('MCP_MAX_CONNECTIONS'), 'MCP_MAX_CONNECTIONS', 1, 10_000_000),
    shutdownGraceMs: integer(text('MCP_SHUTDOWN_GRACE_MS'), 'MCP_SHUTDOWN_GRACE_MS', 0, 3600 * 1000),
    requestTimeoutMs: integer(text('MCP_REQUEST_TIMEOUT_MS'), 'MCP_REQUEST_TIMEOUT_MS', 100, 3600 * 1000),
    maxBodyBytes: integer(text('MCP_MAX_BODY_BYTES'), 'MCP_MAX_BODY_BYTES', 1024, 256 * 1024 * 1024),
    logLevel: oneOf(text('LOG_LEVEL'), LOG_LEVEL_NAMES, 'LOG_LEVEL'),
    logFormat: oneOf(text('LOG_FORMAT'), ['json', 'text'] as const, 'LOG_FORMAT'),
  };
  if (config.allowedModels.length > 0 && !config.allowedModels.includes(config.model)) {
    throw new ConfigError(
      `OPENAI_MODEL (${quoteArg(config.model)}) must be one of OPENAI_ALLOWED_MODELS (${config.allowedModels.join(', ')}).`,
    );
  }
  return { action: 'run', config };
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

function isBooleanText(value: string | undefined): boolean {
  return value !== undefined && [...TRUE, ...FALSE].includes(value.toLowerCase());
}

function boolean(value: string, name: string): boolean {
  const lower = value.toLowerCase();
  if (TRUE.includes(lower)) return true;
  if (FALSE.includes(lower)) return false;
  throw new ConfigError(`${name} must be true or false (got ${quoteArg(value)}).`);
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** MCP_API_KEYS entries are `name:key`; MCP_API_KEY joins them as "default". Values are never echoed. */
function apiKeys(single: string | undefined, several: string | undefined): { name: string; key: string }[] {
  const keys: { name: string; key: string }[] = [];
  if (single) keys.push({ name: 'default', key: single });
  list(several).forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim() : '';
    const key = colon > 0 ? entry.slice(colon + 1).trim() : '';
    if (!name || !key) throw new ConfigError(`MCP_API_KEYS entry ${index + 1} must look like name:key.`);
    if (!/^[\w.@-]{1,64}$/.test(name)) {
      throw new ConfigError(`MCP_API_KEYS entry ${index + 1}: the name may hold letters, digits, _ . @ - (up to 64).`);
    }
    if (keys.some((k) => k.name === name)) throw new ConfigError(`MCP_API_KEYS names must be unique (${quoteArg(name)} repeats).`);
    if (keys.some((k) => k.key === key)) throw new ConfigError(`MCP_API_KEYS entry ${quoteArg(name)} repeats another key.`);
    keys.push({ name, key });
  });
  return keys;
}

function defaultOf(name: string): string {
  return SETTINGS.find((s) => s.env === name)?.default ?? '';
}

function quoteArg(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got ${quoteArg(value)}).`);
}

function optionalInteger(value: string | undefined, name: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integer(value, name, min, max);
}

function number(value: string, name: string, min: number, max: number): number {
  const parsed = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isFinite(parsed) && parsed >= min && parsed <= max) return parsed;
  throw new ConfigError(`${name} must be a number from ${min} to ${max} (got ${quoteArg(value)}).`);
}

function integer(value: string, name: string, min: number, max: number): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(parsed) && parsed >= min && parsed <= max) return parsed;
  throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${quoteArg(value)}).`);
}

function baseUrl(value: string): string {
  // A value that is not URL-shaped may be a key pasted into the wrong variable: not echoed.
  const shown = value.includes('://') ? quoteArg(value) : `a value of ${value.length} characters with no scheme`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`OPENAI_BASE_URL must be an http(s) URL (got ${shown}).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`OPENAI_BASE_URL must be an http(s) URL (got ${shown}).`);
  }
  if (url.username || url.password) throw new ConfigError('OPENAI_BASE_URL must not carry credentials; use OPENAI_API_KEY.');
  return url.href.replace(/\/+$/, '');
}

export function helpText(name: string, version: string): string {
  const lines = [
    `${name} ${version}: an MCP server with one tool, generate, relaying prompts to OpenAI-compatible APIs.`,
    '',
    `Usage: ${name} [options]`,
    '',
    'Options (each mirrors an environment variable; a flag beats its variable):',
  ];
  for (const s of SETTINGS) {
    const left = s.flag ? `  ${s.flag} <value>` : '  (env only)';
    const def = s.default === undefined ? '' : ` [default: ${s.default}]`;
    lines.push(`${left.padEnd(26)} ${s.env}: ${s.help}${def}`);
  }
  lines.push('  --help, -h                 show this help', '  --version, -v              show the version', '');
  lines.push('Secrets are read from the environment only, so they never show in process listings.');
  return `${lines.join('\n')}\n`;
}
