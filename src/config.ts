import { LocalError } from './errors.ts';
import { LOG_LEVEL_NAMES, type LogFormat, type LogLevelName } from './log.ts';
import { OAuthSettingError, type OAuthSettings, readOAuthSettings } from './oauth-settings.ts';
import { SETTINGS } from './settings.ts';
import { STRICT_MODES, type StrictMode } from './protocol/strict/faults.ts';

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
  /** OPENAI_API: which API calls go to; `auto` picks per call. */
  api: 'chat' | 'responses' | 'auto';
  /** OPENAI_RESPONSES_MODELS: models `auto` sends to the Responses API (globs). */
  responsesModels: string[];
  /** OPENAI_STORE: `store` for Responses calls that set none; undefined leaves the upstream's default. */
  store: boolean | undefined;
  /** OPENAI_BACKGROUND: which Responses calls run as background responses. */
  background: 'auto' | 'always' | 'never';
  /** OPENAI_BACKGROUND_MODELS: the models `auto` runs in the background (globs). */
  backgroundModels: string[];
  /** OPENAI_BACKGROUND_TIMEOUT_MS: a background call's deadline (OPENAI_TIMEOUT_MS bounds the others). */
  backgroundTimeoutMs: number;
  /** MCP_HEARTBEAT_MS: progress at least this often while a call waits; 0 for none. */
  heartbeatMs: number;
  /** MCP_TASKS: `never` turns tasks off; `always` answers every 2026-07-28 call that declares tasks with one. */
  tasks: 'auto' | 'always' | 'never';
  /** MCP_TASK_SECRET: signs background task ids; undefined: a random secret per process. */
  taskSecret: string | undefined;
  /** MCP_TASK_TTL_MS: a task's lifetime from creation, the default and the most a client may ask for. */
  taskTtlMs: number;
  maxTasks: number;
  maxTasksPerKey: number | undefined;
  /** MCP_MAX_TASK_BYTES: task results held at once, in bytes. */
  maxTaskBytes: number;
  /** OPENAI_MAX_TOKENS: upper bound on generated tokens, also when a call names none. */
  maxTokens: number | undefined;
  maxPromptChars: number;
  maxConcurrency: number;
  maxQueue: number;
  /** Named client keys from MCP_API_KEYS (`name:key,...`), plus MCP_API_KEY as "default". */
  apiKeys: { name: string; key: string }[];
  /** MCP_KEYS_FILE: keys with per-key policy (read by main, re-read on SIGHUP). */
  keysFile: string | undefined;
  /** `none` turns HTTP authentication off; `oauth` makes the server an OAuth 2.1 resource server. */
  auth: 'apikey' | 'none' | 'oauth';
  /** MCP_AUTH=oauth: the authorization server and this resource. */
  oauth: OAuthSettings | undefined;
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
  /** MCP_STRICT: off, report or reject. */
  strict: StrictMode;
  logLevel: LogLevelName;
  logFormat: LogFormat;
}

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
    // --stateless alone means true, --strict alone `report`; every other flag takes a value.
    const value =
      eq > 0
        ? arg.slice(eq + 1)
        : name === '--stateless' && !isBooleanText(argv[i + 1])
          ? 'true'
          : name === '--strict' && !(STRICT_MODES as readonly string[]).includes(argv[i + 1] ?? '')
            ? 'report'
            : argv[++i];
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
    host: hostAddress(text('HOST')),
    port: integer(text('PORT'), 'PORT', 0, 65535),
    upstream: oneOf(text('MCP_UPSTREAM'), UPSTREAMS, 'MCP_UPSTREAM'),
    openaiApiKey: raw('OPENAI_API_KEY'),
    openaiBaseUrl: baseUrl(text('OPENAI_BASE_URL')),
    model: text('OPENAI_MODEL'),
    temperature: number(text('OPENAI_TEMPERATURE'), 'OPENAI_TEMPERATURE', 0, 2),
    timeoutMs: integer(text('OPENAI_TIMEOUT_MS'), 'OPENAI_TIMEOUT_MS', 1, 24 * 3600 * 1000),
    maxRetries: integer(text('OPENAI_MAX_RETRIES'), 'OPENAI_MAX_RETRIES', 0, 10),
    reasoningModels: patterns(text('OPENAI_REASONING_MODELS')),
    allowedModels: list(raw('OPENAI_ALLOWED_MODELS')),
    maxTokens: optionalInteger(raw('OPENAI_MAX_TOKENS'), 'OPENAI_MAX_TOKENS', 1, 10_000_000),
    api: oneOf(text('OPENAI_API'), ['chat', 'responses', 'auto'] as const, 'OPENAI_API'),
    responsesModels: patterns(text('OPENAI_RESPONSES_MODELS')),
    store: raw('OPENAI_STORE') === undefined ? undefined : boolean(raw('OPENAI_STORE')!, 'OPENAI_STORE'),
    background: oneOf(text('OPENAI_BACKGROUND'), ['auto', 'always', 'never'] as const, 'OPENAI_BACKGROUND'),
    backgroundModels: patterns(text('OPENAI_BACKGROUND_MODELS')),
    backgroundTimeoutMs: integer(text('OPENAI_BACKGROUND_TIMEOUT_MS'), 'OPENAI_BACKGROUND_TIMEOUT_MS', 1, 24 * 3600 * 1000),
    heartbeatMs: heartbeat(text('MCP_HEARTBEAT_MS')),
    tasks: oneOf(text('MCP_TASKS'), ['auto', 'always', 'never'] as const, 'MCP_TASKS'),
    taskSecret: taskSecret(raw('MCP_TASK_SECRET')),
    taskTtlMs: integer(text('MCP_TASK_TTL_MS'), 'MCP_TASK_TTL_MS', 1000, 7 * 24 * 3600 * 1000),
    maxTasks: integer(text('MCP_MAX_TASKS'), 'MCP_MAX_TASKS', 1, 1_000_000),
    maxTasksPerKey: optionalInteger(raw('MCP_MAX_TASKS_PER_KEY'), 'MCP_MAX_TASKS_PER_KEY', 1, 1_000_000),
    maxTaskBytes: integer(text('MCP_MAX_TASK_BYTES'), 'MCP_MAX_TASK_BYTES', 1024, 64 * 1024 * 1024 * 1024),
    maxPromptChars: integer(text('MCP_MAX_PROMPT_CHARS'), 'MCP_MAX_PROMPT_CHARS', 1, 100_000_000),
    maxConcurrency: integer(text('MCP_MAX_CONCURRENCY'), 'MCP_MAX_CONCURRENCY', 1, 1_000_000),
    maxQueue: integer(text('MCP_MAX_QUEUE'), 'MCP_MAX_QUEUE', 0, 10_000_000),
    apiKeys: apiKeys(raw('MCP_API_KEY'), raw('MCP_API_KEYS')),
    auth: oneOf(text('MCP_AUTH'), ['apikey', 'none', 'oauth'] as const, 'MCP_AUTH'),
    oauth: undefined,
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
    strict: oneOf(text('MCP_STRICT'), STRICT_MODES, 'MCP_STRICT'),
    logLevel: oneOf(text('LOG_LEVEL'), LOG_LEVEL_NAMES, 'LOG_LEVEL'),
    logFormat: oneOf(text('LOG_FORMAT'), ['json', 'text'] as const, 'LOG_FORMAT'),
  };
  if (config.auth === 'oauth') {
    try {
      config.oauth = readOAuthSettings(raw);
    } catch (error) {
      if (error instanceof OAuthSettingError) throw new ConfigError(error.message);
      throw error;
    }
    // OAuth tokens only: the spec forbids accepting any other token (a key file may still name subjects).
    if (config.apiKeys.length > 0) throw new ConfigError('MCP_AUTH=oauth accepts OAuth tokens only: unset MCP_API_KEY and MCP_API_KEYS.');
  }
  if (config.allowedModels.length > 0 && !config.allowedModels.includes(config.model)) {
    throw new ConfigError('OPENAI_MODEL must be one of the models in OPENAI_ALLOWED_MODELS.');
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
  throw new ConfigError(`${name} must be true or false.`);
}

/** A model glob list; `none` for none. */
function patterns(value: string): string[] {
  return value.toLowerCase() === 'none' ? [] : list(value);
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
    if (keys.some((k) => k.name === name)) throw new ConfigError(`MCP_API_KEYS entry ${index + 1} repeats the name of an earlier key.`);
    if (keys.some((k) => k.key === key)) throw new ConfigError(`MCP_API_KEYS entry ${index + 1} repeats another key.`);
    keys.push({ name, key });
  });
  return keys;
}

function defaultOf(name: string): string {
  return SETTINGS.find((s) => s.env === name)?.default ?? '';
}

function hostAddress(value: string): string {
  // An IPv4 or IPv6 address, or a host name.
  if (
    /^[0-9a-fA-F:.]+$/.test(value) ||
    /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(value)
  ) {
    if (value.length <= 253) return value;
  }
  throw new ConfigError('HOST must be an IP address or a host name to listen on, such as 127.0.0.1 or 0.0.0.0.');
}

function quoteArg(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function oneOf<T extends string>(value: string, allowed: readonly T[], name: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${name} must be one of ${allowed.join(', ')}.`);
}

function optionalInteger(value: string | undefined, name: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integer(value, name, min, max);
}

function number(value: string, name: string, min: number, max: number): number {
  const parsed = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isFinite(parsed) && parsed >= min && parsed <= max) return parsed;
  throw new ConfigError(`${name} must be a number from ${min} to ${max}.`);
}

function integer(value: string, name: string, min: number, max: number): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(parsed) && parsed >= min && parsed <= max) return parsed;
  throw new ConfigError(`${name} must be an integer from ${min} to ${max}.`);
}

function heartbeat(value: string): number {
  const ms = integer(value, 'MCP_HEARTBEAT_MS', 0, 3600 * 1000);
  if (ms !== 0 && ms < 100) throw new ConfigError('MCP_HEARTBEAT_MS must be 0 (off) or at least 100.');
  return ms;
}

/** A signing secret: long enough to resist guessing; never echoed. */
function taskSecret(value: string | undefined): string | undefined {
  if (value !== undefined && value.length < 32) {
    throw new ConfigError('MCP_TASK_SECRET must be at least 32 characters (for example the output of: openssl rand -hex 32).');
  }
  return value;
}

/** Values are never echoed in these messages: a key pasted into the wrong variable must not reach stderr. */
function baseUrl(value: string): string {
  const wrong = 'OPENAI_BASE_URL must be an http(s) URL, such as https://api.openai.com/v1.';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(wrong);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(wrong);
  if (url.username || url.password) throw new ConfigError('OPENAI_BASE_URL must not carry credentials; use OPENAI_API_KEY.');
  return url.href.replace(/\/+$/, '');
}
