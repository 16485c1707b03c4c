/** One row per setting: its env var, its flag (if any), its default, and its help line. */
export const DEFAULT_REASONING_MODELS = 'o1*,o3*,o4*,gpt-5*,!gpt-5*chat*';
/**
 * The model families OpenAI serves only on /v1/responses (openai-openapi's ResponsesOnlyModel,
 * 2026-08: the -pro models, the codex agent models, deep research, computer use, and two
 * special variants), as globs anchored on the family so that other servers' models do not match.
 */
export const DEFAULT_RESPONSES_MODELS =
  'o1-pro*,o3-pro*,gpt-5*-pro*,gpt-5*-codex*,o3-deep-research*,o4-mini-deep-research*,computer-use*,gpt-daybreak-*,gpt-5.6-cyber*';

/** The slow model families a call under OPENAI_BACKGROUND=auto runs in the background for. */
export const DEFAULT_BACKGROUND_MODELS = 'o1-pro*,o3-pro*,gpt-5*-pro*,o3-deep-research*,o4-mini-deep-research*';

export interface Setting {
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
    env: 'OPENAI_API',
    flag: '--api',
    default: 'auto',
    help: 'chat, responses, or auto (Responses for OPENAI_RESPONSES_MODELS and Responses-only features)',
  },
  {
    env: 'OPENAI_RESPONSES_MODELS',
    flag: '--responses-models',
    default: DEFAULT_RESPONSES_MODELS,
    help: 'models auto sends to the Responses API (globs; ! excludes; none)',
  },
  {
    env: 'OPENAI_STORE',
    flag: '--store',
    help: 'true or false: the store value for Responses calls that set none (unset: the upstream default)',
  },
  {
    env: 'OPENAI_BACKGROUND',
    flag: '--background',
    default: 'auto',
    help: 'auto, always or never: Responses calls run as background responses (auto: OPENAI_BACKGROUND_MODELS)',
  },
  {
    env: 'OPENAI_BACKGROUND_MODELS',
    flag: '--background-models',
    default: DEFAULT_BACKGROUND_MODELS,
    help: 'models auto runs in the background (globs; ! excludes; none)',
  },
  {
    env: 'OPENAI_BACKGROUND_TIMEOUT_MS',
    flag: '--background-timeout-ms',
    default: '3600000',
    help: 'upper bound on one background call, in ms',
  },
  {
    env: 'MCP_HEARTBEAT_MS',
    flag: '--heartbeat-ms',
    default: '15000',
    help: 'a call with a progress token hears from the server at least this often while it waits, in ms (0: off)',
  },
  { env: 'MCP_TASKS', flag: '--tasks', default: 'auto', help: 'auto, always or never: MCP tasks (auto: background calls, or when asked)' },
  {
    env: 'MCP_TASK_SECRET',
    help: 'signs task ids, so replicas sharing it answer for each other (random per process when unset)',
    secret: true,
  },
  {
    env: 'MCP_TASK_TTL_MS',
    flag: '--task-ttl-ms',
    default: '7200000',
    help: 'how long a task and its result are kept, and the most a client may ask for',
  },
  { env: 'MCP_MAX_TASKS', flag: '--max-tasks', default: '1000', help: 'tasks held at once, running or finished' },
  {
    env: 'MCP_MAX_TASKS_PER_KEY',
    flag: '--max-tasks-per-key',
    help: 'tasks one key may hold (default: all with one key, a quarter with several)',
  },
  {
    env: 'MCP_MAX_TASK_BYTES',
    flag: '--max-task-bytes',
    default: '67108864',
    help: 'bytes of task results held at once (each key: a share as above)',
  },
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
  {
    env: 'MCP_AUTH',
    flag: '--auth',
    default: 'apikey',
    help: 'apikey, oauth (OAuth 2.1 bearer tokens), or none to turn HTTP authentication off',
  },
  { env: 'MCP_OAUTH_ISSUER', flag: '--oauth-issuer', help: 'MCP_AUTH=oauth: the authorization server’s issuer URL' },
  { env: 'MCP_RESOURCE_URL', flag: '--resource-url', help: 'MCP_AUTH=oauth: this server’s public MCP URL, the audience tokens must carry' },
  {
    env: 'MCP_OAUTH_SCOPES',
    flag: '--oauth-scopes',
    help: 'MCP_AUTH=oauth: scopes every request needs, space-separated (a|b: a, or the broader b)',
  },
  { env: 'MCP_OAUTH_JWKS_URL', flag: '--oauth-jwks-url', help: 'MCP_AUTH=oauth: the signing keys’ URL, instead of the issuer’s jwks_uri' },
  {
    env: 'MCP_OAUTH_INTROSPECTION_URL',
    flag: '--oauth-introspection-url',
    help: 'MCP_AUTH=oauth: RFC 7662 introspection for opaque tokens (default: the issuer’s, when a client id is set)',
  },
  {
    env: 'MCP_OAUTH_CLIENT_ID',
    flag: '--oauth-client-id',
    help: 'MCP_AUTH=oauth: this server’s client id at the authorization server, for introspection',
  },
  { env: 'MCP_OAUTH_CLIENT_SECRET', help: 'MCP_AUTH=oauth: its client secret, for introspection', secret: true },
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
  {
    env: 'MCP_STRICT',
    flag: '--strict',
    default: 'off',
    help: 'off, report or reject: check the client against the spec (--strict alone: report)',
  },
  { env: 'LOG_LEVEL', flag: '--log-level', default: 'info', help: 'debug, info, warn, error or silent (stderr)' },
  { env: 'LOG_FORMAT', flag: '--log-format', default: 'json', help: 'json or text (stderr)' },
];

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
