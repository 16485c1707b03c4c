/**
 * MCP_KEYS_FILE: the format and its validation, every per-key limit, SIGHUP reload against
 * the built server, and per-key metrics.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../src/config.ts';
import { mergeKeys, parseKeysFile } from '../src/keys-file.ts';
import { type KeyEntry, KeyRing } from '../src/keys.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { delay, errorOf, Harness, resultOf, testApp, textOf } from './helpers.ts';
import { initializeBody, raw, rpc } from './http-helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('per-key policy: the keys file');
const dir = mkdtempSync(join(tmpdir(), 'relay-keys-'));
const children: ChildProcessWithoutNullStreams[] = [];
let upstream: FakeUpstream;
test.before(async () => {
  upstream = await startFakeUpstream();
});
test.before.each(() => upstream.reset());
test.after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  await upstream.close();
});

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const parse = (value: unknown) => parseKeysFile(JSON.stringify(value), 'keys.json');
function refusal(value: unknown, text?: string): string {
  try {
    parseKeysFile(text ?? JSON.stringify(value), 'keys.json');
  } catch (error) {
    assert.instance(error, ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the file to be refused');
}

test('a valid file: names, keys or their digests, every optional limit', () => {
  const entries = parse({
    keys: [
      {
        name: 'alice',
        key: 'alice-secret',
        models: ['gpt-4o*', '!gpt-4o-audio*'],
        max_tokens: 500,
        requests_per_minute: 10,
        tokens_per_day: 100000,
        max_concurrency: 4,
        weight: 3,
      },
      { name: 'ci', sha256: sha256('ci-secret') },
    ],
  });
  assert.equal(entries, [
    {
      name: 'alice',
      key: 'alice-secret',
      policy: {
        models: ['gpt-4o*', '!gpt-4o-audio*'],
        maxTokens: 500,
        requestsPerMinute: 10,
        tokensPerDay: 100000,
        maxConcurrency: 4,
        weight: 3,
      },
    },
    { name: 'ci', sha256: sha256('ci-secret'), policy: {} },
  ]);
});

test('every problem names the entry and the field, and never echoes a key', () => {
  const secret = 'sk-do-not-echo-me-123456';
  const cases: [unknown, RegExp][] = [
    [{ keys: [{ name: 'a', key: secret, max_tokens: 0 }] }, /keys\[0\] \("a"\): "max_tokens" must be an integer from 1 to/],
    [{ keys: [{ name: 'a', key: secret, requests_per_minute: 1.5 }] }, /keys\[0\] \("a"\): "requests_per_minute" must be an integer/],
    [{ keys: [{ name: 'a', key: secret, tokens_per_day: '100' }] }, /"tokens_per_day" must be an integer/],
    [{ keys: [{ name: 'a', key: secret, max_concurrency: -1 }] }, /"max_concurrency" must be an integer/],
    [{ keys: [{ name: 'a', key: secret, weight: 1000 }] }, /"weight" must be an integer from 1 to 100/],
    [{ keys: [{ name: 'a', key: secret, models: [] }] }, /"models" must be a non-empty array/],
    [{ keys: [{ name: 'a', key: secret, max_token: 5 }] }, /keys\[0\] \("a"\): unknown field "max_token"/],
    [{ keys: [{ name: 'a' }] }, /give exactly one of "key", "sha256" \(API keys\) and "subject" \(MCP_AUTH=oauth\)/],
    [{ keys: [{ name: 'a', key: secret, sha256: sha256(secret) }] }, /give exactly one of "key", "sha256"/],
    [{ keys: [{ name: 'a', key: secret, subject: 'svc' }] }, /give exactly one of "key", "sha256"/],
    [{ keys: [{ name: 'a', subject: '' }] }, /"subject" must be a string of 1 to 256 characters/],
    [
      {
        keys: [
          { name: 'a', subject: 'svc' },
          { name: 'b', subject: 'svc' },
        ],
      },
      /keys\[1\] \("b"\): the same subject as an earlier entry/,
    ],
    [{ keys: [{ name: 'a', sha256: sha256(secret).toUpperCase() }] }, /"sha256" must be 64 lowercase hex digits/],
    [{ keys: [{ name: 'a', key: 'has space' }] }, /"key" must be a non-empty string without spaces/],
    [{ keys: [{ name: 'bad name', key: secret }] }, /keys\[0\]: "name" must be a string of letters/],
    [
      {
        keys: [
          { name: 'a', key: secret },
          { name: 'a', key: 'other-key-123' },
        ],
      },
      /keys\[1\]: the name "a" repeats/,
    ],
    [
      {
        keys: [
          { name: 'a', key: secret },
          { name: 'b', key: secret },
        ],
      },
      /keys\[1\] \("b"\): the same key as an earlier entry/,
    ],
    [{ keys: [] }, /"keys" holds no entry/],
    [{ key: [] }, /must be a JSON object with a "keys" array/],
    [{ keys: [{ name: 'a', key: secret }], extra: 1 }, /unknown top-level field "extra"/],
  ];
  for (const [value, pattern] of cases) {
    const message = refusal(value);
    assert.match(message, pattern);
    assert.not.match(message, /do-not-echo/, message);
    assert.match(message, /^MCP_KEYS_FILE \(keys\.json\)/);
  }
  const broken = refusal(undefined, `{"keys": [{"name": "a", "key": "${secret}",}]}`);
  assert.match(broken, /is not valid JSON/);
  assert.not.match(broken, /do-not-echo/);
});

test('OAuth subjects: an entry names a subject and sets its policy; other subjects are sub:<subject>, which no entry name can be', () => {
  const entries = parseKeysFile(
    JSON.stringify({
      keys: [
        { name: 'service', subject: 'client-1', max_tokens: 10 },
        { name: 'everyone', subject: '*', requests_per_minute: 5 },
      ],
    }),
    'keys.json',
  );
  assert.equal(entries[0], { name: 'service', subject: 'client-1', policy: { maxTokens: 10 } });
  const ring = new KeyRing(entries, { openEnded: true });
  assert.is(ring.nameForToken('client-1', 'client-1'), 'service', "the client's own token");
  assert.is(ring.nameForToken(undefined, 'client-1'), 'service', 'a token with no sub, by its client id');
  assert.is(ring.nameForToken('alice', 'client-1'), 'sub:alice', 'a user signed in through the client is not the client');
  assert.is(ring.nameForToken(undefined, 'client-2'), 'client:client-2');
  assert.is(ring.nameForToken('service', undefined), 'sub:service', 'a subject that looks like a name is not that name');
  assert.is(ring.policy('service')?.maxTokens, 10);
  assert.is(ring.policy('sub:alice')?.requestsPerMinute, 5, 'subjects no entry names take the "*" entry’s limits');
  assert.is(ring.policy('sub:alice')?.maxTokens, undefined);
  assert.is(ring.identify(''), undefined, 'a subject entry is no key');
  assert.is(ring.count, 2, 'under OAuth, always several callers to share among');
});

test('the built binary: subject entries only under MCP_AUTH=oauth, key entries only outside it', () => {
  const file = join(dir, 'mixed.json');
  const start = (keys: object[], env: Record<string, string>) => {
    writeFileSync(file, JSON.stringify({ keys }));
    return spawnSync(process.execPath, [BIN], {
      env: { PATH: process.env.PATH ?? '', MCP_UPSTREAM: 'echo', MCP_KEYS_FILE: file, PORT: '0', HOST: '127.0.0.1', ...env },
      encoding: 'utf8',
      timeout: 10_000,
    });
  };
  const keyMode = start([{ name: 'svc', subject: 'client-1' }], {});
  assert.is(keyMode.status, 1);
  assert.match(keyMode.stderr, /the entry "svc" names a "subject", which only MCP_AUTH=oauth uses/);
  const oauth = start([{ name: 'ci', key: 'k-0123456789abcdef' }], {
    MCP_AUTH: 'oauth',
    MCP_OAUTH_ISSUER: 'https://auth.example.com',
    MCP_RESOURCE_URL: 'https://relay.example.com/mcp',
  });
  assert.is(oauth.status, 1);
  assert.match(oauth.stderr, /the entry "ci" holds a key; under MCP_AUTH=oauth entries name a "subject" instead/);
  assert.not.match(oauth.stderr, /k-0123456789abcdef/);
});

test('keys from MCP_API_KEYS and the file must not share names or keys', () => {
  const env: KeyEntry[] = [{ name: 'ci', key: 'ci-secret', policy: {} }];
  assert.throws(() => mergeKeys(env, parse({ keys: [{ name: 'ci', key: 'other' }] })), /"ci" is also given by MCP_API_KEY or MCP_API_KEYS/);
  assert.throws(
    () => mergeKeys(env, parse({ keys: [{ name: 'x', sha256: sha256('ci-secret') }] })),
    /holds a key also given by MCP_API_KEY/,
  );
  assert.is(mergeKeys(env, parse({ keys: [{ name: 'x', key: 'x-secret' }] })).length, 2);
});

/** A relay whose ring holds `entries`, and a harness per key name. */
function relayWith(entries: unknown[], env: Record<string, string> = {}, clock = new ManualClock()) {
  const relay = testApp(
    { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-4o-mini', OPENAI_MAX_RETRIES: '0', ...env },
    undefined,
    clock,
  );
  relay.keys.replace(parse({ keys: entries }));
  const as = async (name: string, version = '2025-11-25') => {
    const h = new Harness(relay.app, undefined, name);
    await h.initialize(version);
    return h;
  };
  return { relay, as, clock };
}

test('models: a key may use only the models its globs allow (checked before anything is sent)', async () => {
  const { relay, as } = relayWith([
    { name: 'alice', key: 'a-secret', models: ['gpt-4o*', '!gpt-4o-audio*'] },
    { name: 'bob', key: 'b-secret' },
  ]);
  const alice = await as('alice');
  const refused = resultOf(await alice.callTool({ prompt: 'x', model: 'o3' }));
  assert.is(refused.isError, true);
  assert.match(textOf(refused), /Model "o3" is not allowed for key "alice"\. Its allowed models: gpt-4o\*, !gpt-4o-audio\*\./);
  assert.is(resultOf(await alice.callTool({ prompt: 'x', model: 'gpt-4o-audio-preview' })).isError, true);
  const old = await as('alice', '2025-06-18');
  assert.is(
    errorOf(await old.callTool({ prompt: 'x', model: 'o3' })).code,
    -32602,
    'older revisions get the -32602 refusal, as for OPENAI_ALLOWED_MODELS',
  );
  assert.is(upstream.requests.length, 0);
  resultOf(await alice.callTool({ prompt: 'x' }));
  resultOf(await (await as('bob')).callTool({ prompt: 'x', model: 'o3' }));
  assert.is(upstream.requests.length, 2);
  await relay.close();
});

test("max_tokens: the key's bound and OPENAI_MAX_TOKENS both hold; the smaller wins", async () => {
  const { relay, as } = relayWith(
    [
      { name: 'alice', key: 'a-secret', max_tokens: 50 },
      { name: 'bob', key: 'b-secret', max_tokens: 5000 },
    ],
    { OPENAI_MAX_TOKENS: '1000' },
  );
  await (await as('alice')).callTool({ prompt: 'x', max_tokens: 400 });
  await (await as('alice')).callTool({ prompt: 'x', extra: { max_completion_tokens: 9999 } });
  await (await as('bob')).callTool({ prompt: 'x', max_tokens: 4000 });
  assert.equal(
    upstream.requests.map((r) => r.body.max_tokens),
    [50, 50, 1000],
  );
  assert.is(upstream.requests[1]!.body.max_completion_tokens, 50);
  await relay.close();
});

test('requests_per_minute: a sliding window; the refusal names the limit and when it lets calls through again', async () => {
  const { relay, as, clock } = relayWith([
    { name: 'alice', key: 'a-secret', requests_per_minute: 2 },
    { name: 'bob', key: 'b-secret' },
  ]);
  const alice = await as('alice');
  resultOf(await alice.callTool({ prompt: '1' }));
  clock.advance(20_000);
  resultOf(await alice.callTool({ prompt: '2' }));
  const limited = resultOf(await alice.callTool({ prompt: '3' }));
  assert.is(limited.isError, true);
  const resets = new Date(clock.now() + 40_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  assert.is(textOf(limited), `Rate limit reached for key "alice": requests_per_minute is 2. Try again in 40 s (at ${resets}).`);
  resultOf(await (await as('bob')).callTool({ prompt: 'bob' }));
  clock.advance(40_000);
  assert.is(resultOf(await alice.callTool({ prompt: '4' })).isError, undefined, 'the oldest call left the window');
  assert.is(upstream.requests.length, 4);
  await relay.close();
});

test('tokens_per_day: counts the usage the upstream reports; refused once spent, until midnight UTC', async () => {
  const clock = new ManualClock(Date.UTC(2026, 11, 1, 22, 0, 0));
  const { relay, as } = relayWith([{ name: 'alice', key: 'a-secret', tokens_per_day: 40 }], {}, clock);
  const alice = await as('alice');
  upstream.next(
    { type: 'json', usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 } },
    { type: 'json', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } },
  );
  resultOf(await alice.callTool({ prompt: '1' }));
  resultOf(await alice.callTool({ prompt: '2' }));
  const spent = resultOf(await alice.callTool({ prompt: '3' }));
  assert.is(
    textOf(spent),
    'Daily token budget reached for key "alice": tokens_per_day is 40 and 45 were used today (UTC). It resets at 2026-12-02T00:00:00Z.',
  );
  assert.is(upstream.requests.length, 2);
  clock.advance(2 * 3600_000);
  resultOf(await alice.callTool({ prompt: 'next day' }));
  assert.is(upstream.requests.length, 3);
  await relay.close();
});

test("max_concurrency: calls in flight past it are refused at once; the key's other calls run", async () => {
  const { relay, as } = relayWith([{ name: 'alice', key: 'a-secret', max_concurrency: 2 }]);
  const alice = await as('alice');
  upstream.next({ type: 'held' }, { type: 'held' });
  const first = alice.callTool({ prompt: '1' });
  const second = alice.callTool({ prompt: '2' });
  const third = resultOf(await alice.callTool({ prompt: '3' }));
  assert.is(
    textOf(third),
    'This key already has 2 calls in flight, its limit (max_concurrency in MCP_KEYS_FILE). Wait for one to finish, then try again.',
  );
  await upstream.waitForRequests(2);
  upstream.release(2);
  resultOf(await first);
  resultOf(await second);
  await relay.close();
});

test("weight: a key with weight 3 gets three slots to another's one while both wait", async () => {
  const { relay, as } = relayWith(
    [
      { name: 'heavy', key: 'h-secret', weight: 3 },
      { name: 'light', key: 'l-secret' },
    ],
    { MCP_MAX_CONCURRENCY: '1', MCP_MAX_CALLS_PER_KEY: '100' },
  );
  const heavy = await as('heavy');
  const light = await as('light');
  upstream.fallback = () => ({ type: 'held' });
  try {
    const calls = [light.callTool({ prompt: 'light hold' })];
    await upstream.waitForRequests(1);
    for (let i = 0; i < 6; i++) calls.push(heavy.callTool({ prompt: `heavy ${i}` }));
    for (let i = 0; i < 6; i++) calls.push(light.callTool({ prompt: `light ${i}` }));
    for (let n = 2; n <= 9; n++) {
      upstream.release(1);
      await upstream.waitForRequests(n);
    }
    const order = upstream.requests.slice(1).map((r) => (r.body.messages as { content: string }[]).at(-1)!.content.split(' ')[0]);
    assert.equal(order, ['heavy', 'heavy', 'heavy', 'light', 'heavy', 'heavy', 'heavy', 'light']);
  } finally {
    upstream.fallback = () => ({ type: 'json' });
    upstream.release(upstream.held);
    await relay.close();
  }
});

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
}

async function startServer(file: string, env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', MCP_UPSTREAM: 'echo', MCP_KEYS_FILE: file, ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 500 && !/"port":\d+/.test(stderr) && child.exitCode === null; i++) await delay(20);
  const port = /"port":(\d+)/.exec(stderr)?.[1];
  if (!port) throw new Error(`did not start: ${stderr}`);
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => stderr };
}

const headers = (key: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${key}`,
  ...extra,
});

async function waitFor(read: () => string, pattern: RegExp): Promise<void> {
  for (let i = 0; i < 250 && !pattern.test(read()); i++) await delay(20);
  assert.match(read(), pattern);
}

test('SIGHUP re-reads the file without dropping sessions; an invalid file leaves the old keys in force', async () => {
  const file = join(dir, 'reload.json');
  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { name: 'alice', key: 'alice-secret-1' },
        { name: 'bob', sha256: sha256('bob-secret-1') },
      ],
    }),
  );
  const server = await startServer(file);
  const init = await raw(server.url, { headers: headers('alice-secret-1'), body: initializeBody() });
  assert.is(init.status, 200);
  const session = init.headers['mcp-session-id'] as string;
  assert.is(
    (await raw(server.url, { headers: headers('bob-secret-1'), body: initializeBody() })).status,
    200,
    'a digest entry authenticates its key',
  );

  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { name: 'alice', key: 'alice-secret-1' },
        { name: 'carol', key: 'carol-secret-1', requests_per_minute: 1 },
      ],
    }),
  );
  server.child.kill('SIGHUP');
  await waitFor(server.stderr, /keys file reloaded/);
  assert.is((await raw(server.url, { headers: headers('bob-secret-1'), body: initializeBody() })).status, 401, 'a removed key is refused');
  assert.is((await raw(server.url, { headers: headers('carol-secret-1'), body: initializeBody() })).status, 200, 'an added key works');
  assert.is(
    (await raw(server.url, { headers: headers('alice-secret-1', { 'mcp-session-id': session }), body: rpc('ping') })).status,
    200,
    "alice's session survived the reload",
  );

  writeFileSync(file, '{"keys": [{"name": "alice", "key": "alice-secret-1", "weight": 0}]}');
  server.child.kill('SIGHUP');
  await waitFor(server.stderr, /keys file not reloaded; the previous keys stay in force/);
  assert.match(server.stderr(), /keys\[0\] \(\\"alice\\"\): \\"weight\\" must be an integer/);
  assert.is((await raw(server.url, { headers: headers('carol-secret-1'), body: initializeBody() })).status, 200, 'the old keys stay');
  assert.not.match(server.stderr(), /alice-secret-1|carol-secret-1/, 'no key reached the logs');
  server.child.kill('SIGTERM');
});

test('a bad file at start stops the server with exit 1 and a message naming the entry and field', async () => {
  const file = join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ keys: [{ name: 'alice', key: 'alice-secret-2', requests_per_minute: 'ten' }] }));
  const child = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', MCP_UPSTREAM: 'echo', MCP_KEYS_FILE: file },
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.is(code, 1);
  assert.match(stderr, /MCP_KEYS_FILE \(.*bad\.json\): keys\[0\] \("alice"\): "requests_per_minute" must be an integer/);
  assert.not.match(stderr, /alice-secret-2/);
  const missing = spawn(process.execPath, [BIN], {
    env: { PATH: process.env.PATH ?? '', MCP_UPSTREAM: 'echo', MCP_KEYS_FILE: join(dir, 'nope.json') },
  });
  children.push(missing);
  let said = '';
  missing.stderr.on('data', (d: Buffer) => (said += d.toString()));
  assert.is(await new Promise<number | null>((resolve) => missing.on('exit', resolve)), 1);
  assert.match(said, /MCP_KEYS_FILE \(.*nope\.json\) cannot be read \(ENOENT\)/);
});

test('/metrics carries calls and tokens by key name', async () => {
  const file = join(dir, 'metrics.json');
  writeFileSync(
    file,
    JSON.stringify({
      keys: [
        { name: 'alice', key: 'alice-secret-3' },
        { name: 'bob', key: 'bob-secret-3' },
      ],
    }),
  );
  const server = await startServer(file);
  for (const key of ['alice-secret-3', 'alice-secret-3', 'bob-secret-3']) {
    const init = await raw(server.url, { headers: headers(key), body: initializeBody() });
    const session = init.headers['mcp-session-id'] as string;
    await raw(server.url, {
      headers: headers(key, { 'mcp-session-id': session }),
      body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'count me please' } }),
    });
  }
  const metrics = (await raw(server.url, { method: 'GET', path: '/metrics', headers: headers('bob-secret-3') })).text;
  assert.match(metrics, /^mcp_key_tool_calls_total\{key="alice",outcome="ok"\} 2$/m);
  assert.match(metrics, /^mcp_key_tool_calls_total\{key="bob",outcome="ok"\} 1$/m);
  assert.match(metrics, /^mcp_key_tokens_total\{key="alice",type="completion"\} \d+$/m);
  server.child.kill('SIGTERM');
});

test.run();
