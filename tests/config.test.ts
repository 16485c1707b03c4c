import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/config.ts';
import { SETTINGS } from '../src/settings.ts';

const test = suite('configuration');
const OAUTH = { MCP_AUTH: 'oauth', MCP_OAUTH_ISSUER: 'https://auth.example.com', MCP_RESOURCE_URL: 'https://relay.example.com/mcp' };
const BIN = new URL('../dist/openai-mcp-relay.cjs', import.meta.url).pathname;

function config(argv: string[], env: Record<string, string> = {}) {
  const action = loadConfig(argv, env);
  if (action.action !== 'run') throw new Error(action.action);
  return action.config;
}

function run(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    input: '',
    encoding: 'utf8',
    timeout: 10_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('defaults', () => {
  const c = config([]);
  assert.is(c.transport, 'streamable-http');
  assert.is(c.host, '0.0.0.0');
  assert.is(c.port, 8000);
  assert.is(c.upstream, 'openai');
  assert.is(c.openaiBaseUrl, 'https://api.openai.com/v1');
  assert.is(c.model, 'gpt-4o-mini');
  assert.is(c.temperature, 0.2);
  assert.is(c.openaiApiKey, undefined);
  assert.equal(c.apiKeys, []);
});

test('env vars are read by their exact names; flags beat them', () => {
  const env = {
    MCP_TRANSPORT: 'sse',
    HOST: '127.0.0.1',
    PORT: '9000',
    OPENAI_MODEL: 'gpt-4o',
    OPENAI_TEMPERATURE: '1.5',
    OPENAI_BASE_URL: 'http://localhost:11434/v1/',
    MCP_UPSTREAM: 'echo',
    OPENAI_API_KEY: 'k',
    MCP_API_KEY: 'm',
  };
  const c = config([], env);
  assert.equal(
    [c.transport, c.host, c.port, c.model, c.temperature, c.openaiBaseUrl, c.upstream, c.openaiApiKey, c.apiKeys],
    ['sse', '127.0.0.1', 9000, 'gpt-4o', 1.5, 'http://localhost:11434/v1', 'echo', 'k', [{ name: 'default', key: 'm' }]],
  );
  const f = config(
    ['--transport', 'stdio', '--port=9001', '--model', 'o3-mini', '--upstream', 'openai', '--host', '::1', '--temperature', '0'],
    env,
  );
  assert.equal([f.transport, f.port, f.model, f.upstream, f.host, f.temperature], ['stdio', 9001, 'o3-mini', 'openai', '::1', 0]);
});

test('HTTP settings: keys, auth, perimeter lists, stateless, limits', () => {
  const c = config([], {
    MCP_API_KEY: 'single',
    MCP_API_KEYS: 'alice:key-a, bob:key:with:colons',
    MCP_ALLOWED_ORIGINS: 'https://a.example, http://b.example',
    MCP_ALLOWED_HOSTS: 'MCP.example.com,api.example.com:8443',
    MCP_STATELESS: 'true',
    MCP_SESSION_IDLE_MS: '5000',
    MCP_MAX_SESSIONS: '3',
    MCP_SHUTDOWN_GRACE_MS: '0',
  });
  assert.equal(c.apiKeys, [
    { name: 'default', key: 'single' },
    { name: 'alice', key: 'key-a' },
    { name: 'bob', key: 'key:with:colons' },
  ]);
  assert.equal(c.allowedOrigins, ['https://a.example', 'http://b.example']);
  assert.equal(c.allowedHosts, ['mcp.example.com', 'api.example.com:8443']);
  assert.equal([c.stateless, c.sessionIdleMs, c.maxSessions, c.shutdownGraceMs, c.auth], [true, 5000, 3, 0, 'apikey']);
  const d = config([]);
  assert.equal(
    [d.stateless, d.sessionIdleMs, d.maxSessions, d.shutdownGraceMs, d.maxBodyBytes],
    [false, 1_800_000, 1000, 10_000, 1_048_576],
  );
  assert.is(config(['--stateless']).stateless, true);
  assert.is(config(['--stateless', 'false']).stateless, false);
  assert.is(config(['--stateless', '--port', '1']).port, 1);
  assert.is(config(['--auth', 'none']).auth, 'none');
});

test('MCP_STRICT: off by default; --strict alone is report; a flag beats the variable; anything else is refused', () => {
  assert.is(config([]).strict, 'off');
  assert.is(config(['--strict']).strict, 'report');
  assert.is(config(['--strict', '--upstream', 'echo']).strict, 'report');
  assert.is(config(['--strict', 'reject']).strict, 'reject');
  assert.is(config(['--strict=report'], { MCP_STRICT: 'reject' }).strict, 'report');
  assert.is(config([], { MCP_STRICT: 'reject' }).strict, 'reject');
  assert.throws(() => loadConfig([], { MCP_STRICT: 'loud', OPENAI_API_KEY: 'k' }), /MCP_STRICT/);
});

test('generate settings: retries, models, limits', () => {
  const c = config([], {
    OPENAI_MAX_RETRIES: '5',
    OPENAI_REASONING_MODELS: 'a*, !ab*',
    OPENAI_ALLOWED_MODELS: 'gpt-4o-mini,o3',
    OPENAI_MAX_TOKENS: '256',
    MCP_MAX_PROMPT_CHARS: '1000',
    MCP_MAX_CONCURRENCY: '8',
    MCP_MAX_QUEUE: '16',
  });
  assert.equal(
    [c.maxRetries, c.reasoningModels, c.allowedModels, c.maxTokens, c.maxPromptChars, c.maxConcurrency, c.maxQueue],
    [5, ['a*', '!ab*'], ['gpt-4o-mini', 'o3'], 256, 1000, 8, 16],
  );
  const d = config([]);
  assert.equal(
    [d.maxRetries, d.allowedModels, d.maxTokens, d.maxPromptChars, d.maxConcurrency, d.maxQueue, d.timeoutMs],
    [2, [], undefined, 200_000, 256, 1024, 60_000],
  );
  assert.equal(d.reasoningModels, ['o1*', 'o3*', 'o4*', 'gpt-5*', '!gpt-5*chat*']);
  assert.equal(config([], { OPENAI_REASONING_MODELS: 'none' }).reasoningModels, []);
  assert.is(config(['--max-retries', '0']).maxRetries, 0);
});

test('OAuth settings: the resource in canonical form, scopes with their broader alternatives, introspection, loopback http allowed', () => {
  const c = config([], {
    ...OAUTH,
    MCP_RESOURCE_URL: 'HTTPS://Relay.Example.COM/mcp/',
    MCP_OAUTH_SCOPES: 'mcp:tools|mcp, mcp:read',
    MCP_OAUTH_CLIENT_ID: 'relay',
    MCP_OAUTH_CLIENT_SECRET: 'secret',
  });
  assert.equal(c.oauth, {
    issuer: 'https://auth.example.com',
    resource: 'https://relay.example.com/mcp',
    scopes: [['mcp:tools', 'mcp'], ['mcp:read']],
    jwksUrl: undefined,
    introspection: { url: undefined, clientId: 'relay', clientSecret: 'secret' },
  });
  assert.is(
    config([], { ...OAUTH, MCP_OAUTH_ISSUER: 'http://127.0.0.1:9000', MCP_RESOURCE_URL: 'http://localhost:8000/mcp' }).oauth?.resource,
    'http://localhost:8000/mcp',
  );
  assert.is(config([], {}).oauth, undefined);
});

test('empty env vars count as unset', () => {
  assert.is(config([], { PORT: '', OPENAI_MODEL: '  ' }).port, 8000);
  assert.is(config([], { OPENAI_MODEL: '' }).model, 'gpt-4o-mini');
});

const bad: [string[], Record<string, string>, RegExp][] = [
  [[], { PORT: 'abc' }, /PORT must be an integer from 0 to 65535\.$/],
  [[], { PORT: '70000' }, /PORT must be an integer/],
  [[], { OPENAI_TEMPERATURE: '9' }, /OPENAI_TEMPERATURE must be a number from 0 to 2\.$/],
  [[], { OPENAI_TEMPERATURE: 'hot' }, /OPENAI_TEMPERATURE must be a number/],
  [[], { MCP_TRANSPORT: 'websocket' }, /MCP_TRANSPORT must be one of streamable-http, sse, stdio\.$/],
  [[], { MCP_UPSTREAM: 'anthropic' }, /MCP_UPSTREAM must be one of openai, echo/],
  [[], { OPENAI_BASE_URL: 'ftp://x' }, /OPENAI_BASE_URL must be an http\(s\) URL/],
  [[], { OPENAI_BASE_URL: 'https://user:pass@x' }, /must not carry credentials/],
  [['--transport'], {}, /--transport needs a value/],
  [[], { MCP_API_KEYS: 'nocolon' }, /MCP_API_KEYS entry 1 must look like name:key/],
  [[], { MCP_API_KEYS: 'a:x,a:y' }, /entry 2 repeats the name of an earlier key/],
  [[], { MCP_API_KEYS: 'a:x,b:x' }, /repeats another key/],
  [[], { MCP_API_KEYS: 'bad name:x' }, /the name may hold/],
  [[], { MCP_STATELESS: 'maybe' }, /MCP_STATELESS must be true or false/],
  [[], { OPENAI_ALLOWED_MODELS: 'gpt-4o' }, /OPENAI_MODEL must be one of the models in OPENAI_ALLOWED_MODELS/],
  [[], { HOST: 'not a host!' }, /HOST must be an IP address or a host name/],
  [[], { OPENAI_MAX_RETRIES: '11' }, /OPENAI_MAX_RETRIES must be an integer from 0 to 10/],
  [[], { OPENAI_MAX_TOKENS: '0' }, /OPENAI_MAX_TOKENS must be an integer/],
  [[], { MCP_MAX_CONCURRENCY: '0' }, /MCP_MAX_CONCURRENCY must be an integer/],
  [[], { MCP_AUTH: 'token' }, /MCP_AUTH must be one of apikey, none, oauth/],
  [[], { MCP_AUTH: 'oauth' }, /MCP_AUTH=oauth needs MCP_OAUTH_ISSUER/],
  [[], { MCP_AUTH: 'oauth', MCP_OAUTH_ISSUER: 'https://auth.example.com' }, /MCP_AUTH=oauth needs MCP_RESOURCE_URL/],
  [
    [],
    { ...OAUTH, MCP_OAUTH_ISSUER: 'http://auth.example.com' },
    /MCP_OAUTH_ISSUER must be an https URL \(http only on a loopback address/,
  ],
  [[], { ...OAUTH, MCP_OAUTH_ISSUER: 'https://auth.example.com/?tenant=1' }, /MCP_OAUTH_ISSUER must have no query/],
  [[], { ...OAUTH, MCP_RESOURCE_URL: 'relay.example.com/mcp' }, /MCP_RESOURCE_URL must be an https URL/],
  [[], { ...OAUTH, MCP_RESOURCE_URL: 'https://relay.example.com/mcp#x' }, /MCP_RESOURCE_URL must be an https URL .* no fragment/],
  [[], { ...OAUTH, MCP_OAUTH_CLIENT_ID: 'relay' }, /MCP_OAUTH_CLIENT_ID and MCP_OAUTH_CLIENT_SECRET go together/],
  [[], { ...OAUTH, MCP_OAUTH_INTROSPECTION_URL: 'https://auth.example.com/introspect' }, /needs MCP_OAUTH_CLIENT_ID/],
  [[], { ...OAUTH, MCP_OAUTH_SCOPES: 'a "b"' }, /MCP_OAUTH_SCOPES must be scope names/],
  [[], { ...OAUTH, MCP_API_KEY: 'k' }, /MCP_AUTH=oauth accepts OAuth tokens only/],
  [[], { MCP_MAX_SESSIONS: '0' }, /MCP_MAX_SESSIONS must be an integer/],
  [['--bogus'], {}, /Unknown option "--bogus"/],
];
for (const [argv, env, message] of bad) {
  test(`rejects ${JSON.stringify(argv)} ${JSON.stringify(env)}`, () => {
    assert.throws(() => loadConfig(argv, env), message);
  });
}

test('every setting is documented in the README', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const setting of SETTINGS) {
    assert.ok(readme.includes(`\`${setting.env}\``), `${setting.env} missing from README`);
    if (setting.flag) assert.ok(readme.includes(`\`${setting.flag}\``), `${setting.flag} missing from README`);
  }
});

test('the built binary: a bad value stops the start with a clear message and status 1', () => {
  const result = run(['--transport', 'stdio'], { PORT: 'abc', OPENAI_API_KEY: 'k' });
  assert.is(result.status, 1);
  assert.match(result.stderr, /PORT must be an integer/);
  assert.is(result.stdout, '');
});

test('the built binary: no OPENAI_API_KEY with the openai upstream exits 1 naming both fixes', () => {
  const result = run(['--transport', 'stdio']);
  assert.is(result.status, 1);
  assert.match(result.stderr, /OPENAI_API_KEY is not set/);
  assert.match(result.stderr, /--upstream echo/);
  assert.match(result.stderr, /MCP_UPSTREAM=echo/);
  assert.is(result.stdout, '');
});

test('the built binary: --version and --help', () => {
  const version = run(['--version']);
  assert.is(version.status, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  const help = run(['--help']);
  assert.is(help.status, 0);
  for (const setting of SETTINGS) assert.ok(help.stdout.includes(setting.env), setting.env);
});

test('no start-up error echoes a value: a key pasted into the wrong variable never reaches stderr', () => {
  const pasted = 'sk-proj-SECRET-abc123def456';
  const variables = [
    'PORT',
    'OPENAI_TEMPERATURE',
    'MCP_TRANSPORT',
    'MCP_UPSTREAM',
    'OPENAI_BASE_URL',
    'OPENAI_TIMEOUT_MS',
    'MCP_AUTH',
    'MCP_STATELESS',
    'LOG_LEVEL',
    'LOG_FORMAT',
    'MCP_MAX_BATCH',
    'MCP_MAX_CONNECTIONS',
  ];
  for (const name of variables) {
    assert.throws(
      () => loadConfig([], { [name]: pasted }),
      (error: Error) => error.message.startsWith(`${name} must`) && !error.message.includes('SECRET'),
      name,
    );
  }
  const model = { OPENAI_MODEL: pasted, OPENAI_ALLOWED_MODELS: 'gpt-4o' };
  assert.throws(
    () => loadConfig([], model),
    (error: Error) => !error.message.includes('SECRET'),
  );
  const base = { OPENAI_BASE_URL: `https://${pasted}` };
  assert.throws(
    () => loadConfig([], { ...base, OPENAI_BASE_URL: `ftp://${pasted}` }),
    (error: Error) => !error.message.includes('SECRET'),
  );
  assert.throws(
    () => loadConfig([], { HOST: `${pasted}!` }),
    (error: Error) => !error.message.includes('SECRET'),
  );
  // A key-shaped HOST is a valid host name: listening on it fails, and that message names no value either.
  const result = run([], { HOST: pasted, PORT: '0', OPENAI_API_KEY: 'k', MCP_API_KEY: 'client-key-1234567890' });
  assert.is(result.status, 1);
  assert.match(result.stderr, /cannot listen on port 0 of the HOST address/);
  assert.not.match(result.stderr, /SECRET/);
});

test('messages about keys never echo them', () => {
  try {
    loadConfig([], { MCP_API_KEYS: 'good:secret-one,secret-two-without-name' });
    assert.unreachable();
  } catch (error) {
    assert.not.match(String(error), /secret/);
  }
});

test('the built binary: a key given to the process never shows in its output', () => {
  const result = run(['--transport', 'stdio', '--upstream', 'echo', '--log-level', 'debug'], {
    OPENAI_API_KEY: 'sk-never-print-me-123456',
  });
  assert.not.ok(result.stdout.includes('sk-never-print-me'));
  assert.not.ok(result.stderr.includes('sk-never-print-me'));
});

test.run();
