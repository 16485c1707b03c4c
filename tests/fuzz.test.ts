/**
 * Property-based fuzzing of the JSON-RPC layer, the tool's arguments, HTTP input and stdio
 * framing: whatever comes in, the answer is a spec-correct error or a correct result, never a
 * crash, a thrown exception or a hang.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handle, handleText } from '../src/protocol/handle.ts';
import { Harness, testApp } from './helpers.ts';
import { KEY, raw, startHttp, type TestServer } from './http-helpers.ts';
import { StdioProcess } from './stdio-process.ts';

const test = suite('fuzzing');
const { app } = testApp({ MCP_UPSTREAM: 'echo' });
const CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32020, -32022]);
const METHODS = [
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'logging/setLevel',
  'server/discover',
  'notifications/cancelled',
  'notifications/initialized',
  'resources/list',
];

/** A response is well formed: jsonrpc 2.0, a string/integer/null id, exactly one of result and error. */
function assertResponse(response: unknown, context: unknown): void {
  const r = response as Record<string, unknown>;
  const where = JSON.stringify(context)?.slice(0, 300);
  assert.is(r.jsonrpc, '2.0', where);
  assert.ok(r.id === null || typeof r.id === 'string' || Number.isSafeInteger(r.id), `id ${String(r.id)} for ${where}`);
  assert.is('result' in r, !('error' in r), where);
  if ('error' in r) {
    const error = r.error as { code: number; message: string };
    assert.ok(CODES.has(error.code), `code ${error.code} for ${where}`);
    assert.type(error.message, 'string');
    assert.is.not(error.code, -32603, `no internal error for ${where}`);
  } else {
    assert.type(r.result, 'object');
  }
}

function assertReply(reply: unknown, context: unknown): void {
  if (reply === undefined) return;
  if (Array.isArray(reply)) for (const item of reply) assertResponse(item, context);
  else assertResponse(reply, context);
}

async function sessions(): Promise<Harness[]> {
  const fresh = new Harness(app);
  const batching = new Harness(app);
  await batching.initialize('2025-03-26');
  const latest = new Harness(app);
  await latest.initialize('2025-11-25');
  return [fresh, batching, latest];
}

const anyId = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.constant(0),
  fc.constant(''),
  fc.double(),
  fc.constant(null),
  fc.boolean(),
  fc.object({ maxDepth: 1 }),
);
const message = fc.record(
  {
    jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant('2.0') }, fc.constantFrom('1.0', 2, null)),
    id: anyId,
    method: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...METHODS) }, fc.string({ maxLength: 20 }), fc.integer()),
    params: fc.oneof(
      fc.record(
        {
          name: fc.constantFrom('generate', 'other'),
          arguments: fc.oneof(
            fc.dictionary(
              fc.constantFrom('prompt', 'model', 'temperature', 'max_tokens', 'extra', 'system', 'x'),
              fc.jsonValue({ maxDepth: 3 }),
            ),
            fc.jsonValue({ maxDepth: 2 }),
          ),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          protocolVersion: fc.constantFrom('2025-11-25', '2025-03-26', 'x'),
          capabilities: fc.jsonValue({ maxDepth: 1 }),
          clientInfo: fc.jsonValue({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          _meta: fc.record(
            {
              'io.modelcontextprotocol/protocolVersion': fc.constantFrom('2026-07-28', '2025-11-25', 'zzz'),
              'io.modelcontextprotocol/clientCapabilities': fc.jsonValue({ maxDepth: 1 }),
              progressToken: fc.oneof(fc.string(), fc.integer()),
            },
            { requiredKeys: [] },
          ),
          level: fc.string(),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    ),
  },
  { requiredKeys: [] },
);

test('any JSON value, to every kind of session: a well-formed reply or none, never a throw', async () => {
  const harnesses = await sessions();
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }), message, fc.array(message, { maxLength: 4 })), async (value) => {
      for (const h of harnesses) assertReply(await handle(value, h.ctx), value);
    }),
    { numRuns: 400 },
  );
});

test('ids: a valid id is echoed; an unreadable one is null; notifications get nothing', async () => {
  const [, , h] = await sessions();
  await fc.assert(
    fc.asyncProperty(message, async (value) => {
      const reply = (await handle(value, h!.ctx)) as Record<string, unknown> | undefined;
      const v = value as Record<string, unknown>;
      const validId = typeof v.id === 'string' || Number.isSafeInteger(v.id);
      if (
        !('id' in v) &&
        v.jsonrpc === '2.0' &&
        typeof v.method === 'string' &&
        (v.params === undefined || (typeof v.params === 'object' && v.params !== null && !Array.isArray(v.params)))
      ) {
        assert.is(reply, undefined, 'a notification gets no reply');
      } else if (reply !== undefined) {
        assert.is(reply.id, validId ? v.id : null, JSON.stringify(value));
      }
    }),
    { numRuns: 400 },
  );
});

test('any text on the wire: parse errors are -32700 with id null', async () => {
  const [h] = await sessions();
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string(),
        fc.string({ unit: 'binary' }),
        fc
          .jsonValue()
          .map((v) => JSON.stringify(v))
          .chain((s) => fc.nat(s.length).map((n) => s.slice(0, n))),
      ),
      async (text) => {
        const reply = await handleText(text, h!.ctx);
        assertReply(reply, text);
      },
    ),
    { numRuns: 400 },
  );
});

test('huge and deep values are refused cleanly', async () => {
  const [, , h] = await sessions();
  const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
  assertReply(await handleText(deep, h!.ctx), 'deep array');
  let extra: Record<string, unknown> = {};
  for (let i = 0; i < 5000; i++) extra = { nested: extra };
  const deepExtra = (await h!.callTool({ prompt: 'x', extra })) as { result: { isError: boolean; content: { text: string }[] } };
  assert.is(deepExtra.result.isError, true);
  assert.match(deepExtra.result.content[0]!.text, /nested more than 32 levels/);
  const big = (await h!.callTool({ prompt: 'y'.repeat(150_000) })) as { result: { structuredContent: { text: string } } };
  assert.is(big.result.structuredContent.text.length, 150_000);
});

test('tools/call with arbitrary arguments: a result (possibly isError) or -32602, never an internal error', async () => {
  const harnesses = await sessions();
  await fc.assert(
    fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (args) => {
      for (const h of harnesses.slice(1)) {
        const reply = await handle({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'generate', arguments: args } }, h.ctx);
        assertReply(reply, args);
      }
    }),
    { numRuns: 300 },
  );
});

let server: TestServer;

test('HTTP: random bodies, types and headers get a listed status, and error statuses a JSON body', async () => {
  server = await startHttp({ MCP_UPSTREAM: 'echo' }, { maxBodyBytes: 4096 });
  const statuses = new Set([200, 202, 204, 400, 401, 403, 404, 405, 406, 409, 413, 415, 503]);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }).map((b) => Buffer.from(b).toString('latin1')),
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        message.map((m) => JSON.stringify(m)),
        fc.string({ maxLength: 5000 }),
      ),
      fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', ''),
      fc.constantFrom('application/json, text/event-stream', 'text/event-stream', 'application/json', '*/*', 'text/html', ''),
      fc.option(fc.constantFrom('2025-11-25', '2026-07-28', '2025-03-26', 'nope'), { nil: undefined }),
      fc.option(fc.constantFrom('bogus-session', ''), { nil: undefined }),
      fc.constantFrom('POST', 'GET', 'DELETE', 'PUT'),
      async (body, type, accept, version, session, method) => {
        const headers: Record<string, string> = { authorization: `Bearer ${KEY}` };
        if (type) headers['content-type'] = type;
        if (accept) headers.accept = accept;
        if (version) headers['mcp-protocol-version'] = version;
        if (session) headers['mcp-session-id'] = session;
        const res = await raw(server.url, { method, headers, ...(method === 'POST' ? { body } : {}) });
        assert.ok(statuses.has(res.status), `status ${res.status}`);
        if (res.status >= 400) assert.ok(res.json(), res.text);
      },
    ),
    { numRuns: 250 },
  );
  assert.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 200);
  await server.close();
});

test('stdio: random bytes, invalid UTF-8 and truncated lines never stop the server', async () => {
  const p = new StdioProcess(['--upstream', 'echo', '--log-level', 'silent', '--max-body-bytes', '4096'], {});
  const chunks = fc.sample(
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      message.map((m) => Buffer.from(`${JSON.stringify(m)}\n`)),
      message.map((m) => Buffer.from(JSON.stringify(m).slice(0, 10))),
      fc.constant(Buffer.from([0xff, 0xfe, 0x0a])),
      fc.constant(Buffer.from(`${'x'.repeat(5000)}\n`)),
    ),
    { numRuns: 300, seed: 42 },
  );
  for (const chunk of chunks) p.child.stdin.write(chunk);
  p.child.stdin.write('\n{"jsonrpc":"2.0","id":"last","method":"ping"}\n');
  const last = await p.waitFor((m) => m.id === 'last', 10_000);
  assert.ok(last.result !== undefined || last.error !== undefined);
  assert.equal(p.junk, [], 'every line on stdout is a JSON-RPC message');
  for (const m of p.messages) if ('id' in m && ('result' in m || 'error' in m)) assertResponse(m, 'stdio');
  p.child.stdin.end();
  assert.is((await p.exited).code, 0);
});

test.run();
