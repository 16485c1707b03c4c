// Strict mode (MCP_STRICT): a deliberately faulty raw client breaks each rule, over the
// transport where a client can break it, once under `report` and once under `reject`. Each
// case asserts what the client sees (served, or refused with the spec's error) and that the
// fault was reported under its rule id (log line, metric).
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { RULE_IDS, type RuleId } from '../src/protocol/strict/rules.ts';
import { ManualClock } from './clock.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { eventually } from './helpers.ts';
import { initializeBody, jsonHeaders, KEY, openSession, raw, type RawResponse, rpc, startHttp, type TestServer } from './http-helpers.ts';
import { StdioProcess } from './stdio-process.ts';

const test = suite('strict mode: faulty clients, rule by rule');
type Mode = 'report' | 'reject';
const MODES: Mode[] = ['report', 'reject'];

let upstream: FakeUpstream;
const servers: Record<Mode, { server: TestServer; lines: string[] }> = {} as never;
const processes: StdioProcess[] = [];
const covered = new Set<RuleId>();

test.before(async () => {
  upstream = await startFakeUpstream();
  for (const mode of MODES) {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (line) => void lines.push(line) });
    const server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test', MCP_STRICT: mode }, {}, log);
    servers[mode] = { server, lines };
  }
});
test.before.each(() => {
  upstream.reset();
  for (const mode of MODES) servers[mode].lines.length = 0;
});
test.after(async () => {
  for (const p of processes) p.kill();
  for (const mode of MODES) await servers[mode].server.close();
  await upstream.close();
});

const faultRules = (lines: string[]): string[] =>
  lines.filter((l) => l.includes('"msg":"client fault"')).map((l) => (JSON.parse(l) as { rule: string }).rule);

/** Asserts `rule` was reported (and, unless `alone` is false, nothing else was). */
function assertReported(lines: string[], rule: RuleId, alone = true): void {
  covered.add(rule);
  const rules = faultRules(lines);
  assert.ok(rules.includes(rule), `${rule} reported; saw ${JSON.stringify(rules)}`);
  if (alone) assert.equal([...new Set(rules)], [rule], `only ${rule}`);
}

const session = (mode: Mode, version = '2025-06-18') => openSession(servers[mode].server.url, version, { 'mcp-protocol-version': version });
const post = (mode: Mode, id: string, body: object, extra: Record<string, string> = {}, version = '2025-06-18'): Promise<RawResponse> =>
  raw(servers[mode].server.url, { headers: jsonHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': version, ...extra }), body });

function stdio(mode: Mode): StdioProcess {
  const p = new StdioProcess(['--upstream', 'echo', '--strict', mode], {});
  processes.push(p);
  return p;
}
const stdioFaults = (p: StdioProcess) => faultRules(p.stderr.split('\n'));
async function stdioReported(p: StdioProcess, rule: RuleId): Promise<void> {
  covered.add(rule);
  await eventually(() => stdioFaults(p).includes(rule), `${rule} reported on stderr`);
}

const call = (id: string | number, args: object, meta?: object) =>
  rpc('tools/call', { name: 'generate', arguments: args, ...(meta ? { _meta: meta } : {}) }, id);

for (const mode of MODES) {
  const log = () => servers[mode].lines;

  test(`[${mode}] client.message-invalid: a message that is not JSON-RPC 2.0 gets -32600`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, { jsonrpc: '1.0', id: 1, method: 'ping' });
    assert.is(res.json().error.code, -32600);
    assertReported(log(), 'client.message-invalid');
  });

  test(`[${mode}] client.request-id-invalid: a null id gets -32600`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, { jsonrpc: '2.0', id: null, method: 'ping' });
    assert.is(res.json().error.code, -32600);
    assertReported(log(), 'client.request-id-invalid');
  });

  test(`[${mode}] client.request-id-reused: an id answered before is served again, and reported`, async () => {
    const id = await session(mode);
    assert.ok((await post(mode, id, rpc('tools/list', undefined, 7))).json().result);
    assert.equal(faultRules(log()), []);
    assert.ok((await post(mode, id, rpc('tools/list', undefined, 7))).json().result);
    assertReported(log(), 'client.request-id-reused');
  });

  test(`[${mode}] client.request-id-reused: an id in flight is refused with -32600 (stdio)`, async () => {
    const p = new StdioProcess(['--strict', mode], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
    processes.push(p);
    await p.initialize('2025-06-18');
    p.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await p.request({ id: 'l', method: 'logging/setLevel', params: { level: 'warning' } });
    upstream.next({ type: 'held', content: 'first' });
    p.send({ jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'a' } } });
    await eventually(() => upstream.held >= 1, 'the first call upstream');
    p.send({ jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'b' } } });
    const refused = await p.waitFor((m) => m.id === 'dup' && m.error !== undefined);
    assert.is(refused.error!.code, -32600);
    await stdioReported(p, 'client.request-id-reused');
    // The client asked for logs at warning: the fault is told to it too.
    const told = await p.waitFor((m) => m.method === 'notifications/message');
    assert.is((told.params as { level: string }).level, 'warning');
    assert.is((told.params as { data: { rule: string } }).data.rule, 'client.request-id-reused');
    upstream.release();
    const answered = await p.waitFor((m) => m.id === 'dup' && m.result !== undefined);
    assert.is((answered.result as { structuredContent: { text: string } }).structuredContent.text, 'first');
  });

  test(`[${mode}] client.request-before-initialize: stdio, -32600, and the summary line at exit`, async () => {
    const p = stdio(mode);
    const early = await p.request({ id: 1, method: 'tools/list' });
    assert.is(early.error!.code, -32600);
    await stdioReported(p, 'client.request-before-initialize');
    p.child.stdin.end();
    await eventually(() => p.stderr.includes('"client faults this session"'), 'the summary line');
    const summary = p.stderr.split('\n').find((l) => l.includes('"client faults this session"'))!;
    assert.equal(JSON.parse(summary).faults, { 'client.request-before-initialize': 1 });
  });

  test(`[${mode}] client.initialized-missing: served, reported once per session`, async () => {
    const url = servers[mode].server.url;
    const init = await raw(url, { headers: jsonHeaders(), body: initializeBody('2025-06-18') });
    const id = init.headers['mcp-session-id'] as string;
    assert.ok((await post(mode, id, rpc('tools/list', undefined, 1))).json().result);
    assert.ok((await post(mode, id, rpc('tools/list', undefined, 2))).json().result);
    assertReported(log(), 'client.initialized-missing');
    assert.is(faultRules(log()).length, 1);
  });

  test(`[${mode}] client.initialize-in-batch (2025-03-26): that item gets -32600`, async () => {
    const id = await session(mode, '2025-03-26');
    const res = await post(mode, id, [initializeBody('2025-03-26', 'again'), rpc('ping', undefined, 'p')], {}, '2025-03-26');
    const items = res.json() as { id: string; error?: { code: number } }[];
    assert.is(items.find((i) => i.id === 'again')!.error!.code, -32600);
    assertReported(log(), 'client.initialize-in-batch');
  });

  test(`[${mode}] client.batch-unsupported (2025-06-18): 400 with -32600`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, [rpc('ping', undefined, 1), rpc('ping', undefined, 2)]);
    assert.is(res.status, 400);
    assert.is(res.json().error.code, -32600);
    assertReported(log(), 'client.batch-unsupported');
  });

  test(`[${mode}] client.cancel-initialize: no answer, reported (stdio)`, async () => {
    const p = stdio(mode);
    await p.initialize('2025-06-18');
    p.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'init' } });
    await stdioReported(p, 'client.cancel-initialize');
  });

  test(`[${mode}] client.cancel-unknown-request: 202, reported; a cancel for a finished request is not`, async () => {
    const id = await session(mode);
    assert.ok((await post(mode, id, rpc('ping', undefined, 'done'))).json().result);
    const late = await post(mode, id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'done' } });
    assert.is(late.status, 202);
    assert.equal(faultRules(log()), []);
    const res = await post(mode, id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'never-sent' } });
    assert.is(res.status, 202);
    assertReported(log(), 'client.cancel-unknown-request');
  });

  test(`[${mode}] client.progress-token-invalid: the call is served, reported`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, call(1, { prompt: 'x' }, { progressToken: 1.5 }), { accept: 'application/json, text/event-stream' });
    assert.is(res.status, 200);
    assertReported(log(), 'client.progress-token-invalid');
  });

  test(`[${mode}] client.progress-token-reused: two calls in flight with one token, both served`, async () => {
    const id = await session(mode);
    upstream.next({ type: 'held', content: 'a' }, { type: 'held', content: 'b' });
    const first = post(mode, id, call('a', { prompt: 'a' }, { progressToken: 'same' }));
    await eventually(() => upstream.held >= 1, 'the first call upstream');
    const second = post(mode, id, call('b', { prompt: 'b' }, { progressToken: 'same' }));
    await eventually(() => upstream.held >= 2, 'the second call upstream');
    upstream.release(2);
    assert.is((await first).status, 200);
    assert.is((await second).status, 200);
    assertReported(log(), 'client.progress-token-reused');
  });

  test(`[${mode}] client.response-unknown-id: over HTTP ${mode === 'reject' ? '400' : '202'}`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, { jsonrpc: '2.0', id: 99, result: {} });
    assert.is(res.status, mode === 'reject' ? 400 : 202);
    if (mode === 'reject') assert.is(res.json().error.code, -32600);
    assertReported(log(), 'client.response-unknown-id');
  });

  test(`[${mode}] client.response-unknown-id: over stdio, no answer either way`, async () => {
    const p = stdio(mode);
    await p.initialize('2025-06-18');
    p.send({ jsonrpc: '2.0', id: 'r', result: {} });
    await stdioReported(p, 'client.response-unknown-id');
    const ping = await p.request({ id: 'after', method: 'ping' });
    assert.equal(ping.result, {});
    assert.not.ok(p.messages.some((m) => m.id === 'r'));
  });

  test(`[${mode}] client.capability-not-negotiated: resources/list gets -32601`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, rpc('resources/list'));
    assert.is(res.json().error.code, -32601);
    assertReported(log(), 'client.capability-not-negotiated');
  });

  test(`[${mode}] client.log-level-invalid: -32602`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, rpc('logging/setLevel', { level: 'loud' }));
    assert.is(res.json().error.code, -32602);
    assertReported(log(), 'client.log-level-invalid');
  });

  test(`[${mode}] client.arguments-invalid: -32602 under 2025-06-18, isError under 2025-11-25`, async () => {
    const id = await session(mode);
    assert.is((await post(mode, id, call(1, {}))).json().error.code, -32602);
    assertReported(log(), 'client.arguments-invalid');
    log().length = 0;
    const newer = await session(mode, '2025-11-25');
    assert.is((await post(mode, newer, call(2, { prompt: 7 }), {}, '2025-11-25')).json().result.isError, true);
    assertReported(log(), 'client.arguments-invalid');
  });

  test(`[${mode}] http.accept-missing: ${mode === 'reject' ? '406' : 'served'} with Accept: application/json alone`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, rpc('tools/list'), { accept: 'application/json' });
    assert.is(res.status, mode === 'reject' ? 406 : 200);
    assertReported(log(), 'http.accept-missing');
  });

  test(`[${mode}] http.protocol-version-missing: served (the spec says assume 2025-03-26), reported`, async () => {
    const id = await session(mode);
    const res = await raw(servers[mode].server.url, { headers: jsonHeaders({ 'mcp-session-id': id }), body: rpc('tools/list') });
    assert.is(res.status, 200);
    assertReported(log(), 'http.protocol-version-missing');
  });

  test(`[${mode}] http.protocol-version-mismatch: ${mode === 'reject' ? '400' : 'served'}`, async () => {
    const id = await session(mode);
    const res = await post(mode, id, rpc('tools/list'), {}, '2025-03-26');
    assert.is(res.status, mode === 'reject' ? 400 : 200);
    assertReported(log(), 'http.protocol-version-mismatch');
  });

  test(`[${mode}] http.session-id-missing: POST and GET get 400`, async () => {
    const url = servers[mode].server.url;
    assert.is((await raw(url, { headers: jsonHeaders(), body: rpc('tools/list') })).status, 400);
    assertReported(log(), 'http.session-id-missing');
    log().length = 0;
    const get = await raw(url, { method: 'GET', headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}` } });
    assert.is(get.status, 400);
    assertReported(log(), 'http.session-id-missing');
  });

  test(`[${mode}] stdio.not-json-line: -32700`, async () => {
    const p = stdio(mode);
    p.child.stdin.write('this is not json\n');
    const reply = await p.waitFor((m) => m.error !== undefined);
    assert.is(reply.error!.code, -32700);
    await stdioReported(p, 'stdio.not-json-line');
  });

  const V = '2026-07-28';
  const modernHeaders = (name = 'generate') => jsonHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'tools/call', 'mcp-name': name });

  test(`[${mode}] modern.envelope-missing: 400 with -32602`, async () => {
    const res = await raw(servers[mode].server.url, {
      headers: modernHeaders(),
      body: call(1, { prompt: 'x' }, { 'io.modelcontextprotocol/protocolVersion': V }),
    });
    assert.is(res.status, 400);
    assert.is(res.json().error.code, -32602);
    assertReported(log(), 'modern.envelope-missing');
  });

  test(`[${mode}] modern.header-mismatch: 400 with -32020`, async () => {
    const res = await raw(servers[mode].server.url, {
      headers: modernHeaders('other'),
      body: call(1, { prompt: 'x' }, { 'io.modelcontextprotocol/protocolVersion': V, 'io.modelcontextprotocol/clientCapabilities': {} }),
    });
    assert.is(res.status, 400);
    assert.is(res.json().error.code, -32020);
    assertReported(log(), 'modern.header-mismatch');
  });
}

test('client.session-not-deleted: a session that expires without a DELETE, in both modes; one that is deleted is not', async () => {
  for (const mode of MODES) {
    const clock = new ManualClock();
    const lines: string[] = [];
    const log = createLogger({ level: 'info', write: (line) => void lines.push(line) });
    const server = await startHttp({ MCP_UPSTREAM: 'echo', MCP_STRICT: mode }, { clock, sessionIdleMs: 60_000 }, log);
    try {
      const v = { 'mcp-protocol-version': '2025-06-18' };
      const kept = await openSession(server.url, '2025-06-18', v);
      const deleted = await openSession(server.url, '2025-06-18', v);
      const del = await raw(server.url, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${KEY}`, 'mcp-session-id': deleted, 'mcp-protocol-version': '2025-06-18' },
      });
      assert.is(del.status, 204);
      assert.equal(faultRules(lines), []);
      clock.advance(61_000);
      await eventually(() => faultRules(lines).includes('client.session-not-deleted'), 'reported at expiry');
      assert.is(faultRules(lines).length, 1);
      const summaries = lines.filter((l) => l.includes('"client faults this session"')).map((l) => JSON.parse(l));
      assert.is(summaries.length, 2);
      assert.ok(summaries.some((s) => s.session === kept.slice(0, 8) && s.faults['client.session-not-deleted'] === 1));
      covered.add('client.session-not-deleted');
    } finally {
      await server.close();
    }
  }
});

test('faults are counted in mcp_client_faults_total{rule}', async () => {
  const id = await session('report');
  await post('report', id, rpc('resources/list'));
  const metrics = await raw(servers.report.server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${KEY}` } });
  assert.match(metrics.text, /mcp_client_faults_total\{rule="client.capability-not-negotiated"\} \d+/);
});

test('off (the default): the same faults are neither reported nor counted', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', write: (line) => void lines.push(line) });
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, {}, log);
  try {
    const id = await openSession(server.url, '2025-06-18');
    const res = await raw(server.url, {
      headers: jsonHeaders({ 'mcp-session-id': id, accept: 'application/json' }),
      body: rpc('tools/list'),
    });
    assert.is(res.status, 200);
    await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': id }), body: { jsonrpc: '2.0', id: 5, result: {} } });
    assert.equal(faultRules(lines), []);
    const metrics = await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${KEY}` } });
    assert.not.match(metrics.text, /mcp_client_faults_total\{/);
  } finally {
    await server.close();
  }
});

test('a fault report names the rule, MUST or SHOULD, the revision and section, and shows the message redacted', async () => {
  const id = await session('report');
  const secret = 'sk-this-prompt-is-private-and-long-enough-to-cut';
  await post('report', id, call(1, { prompt: secret, temperature: 'hot' }));
  const line = servers.report.lines.find((l) => l.includes('"client.arguments-invalid"'))!;
  const report = JSON.parse(line);
  assert.is(report.requirement, 'schema', 'the spec puts no keyword on this one');
  assert.is(report.revision, '2025-06-18');
  assert.match(report.section, /server\/tools/);
  const reused = await post('report', id, rpc('resources/list'));
  assert.is(reused.json().error.code, -32601);
  const other = JSON.parse(servers.report.lines.find((l) => l.includes('"client.capability-not-negotiated"'))!);
  assert.is(other.requirement, 'MUST');
  assert.not.ok(line.includes(secret), 'tool arguments are shown as their types only');
  assert.match(report.message, /string\(48\)/);
});

test('review: no Accept header at all is a fault (report serves it, reject 406s it)', async () => {
  for (const mode of MODES) {
    const id = await session(mode);
    const headers = jsonHeaders({ 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
    delete headers.accept;
    const res = await raw(servers[mode].server.url, { headers, body: rpc('tools/list') });
    assert.is(res.status, mode === 'reject' ? 406 : 200);
    assertReported(servers[mode].lines, 'http.accept-missing');
    servers[mode].lines.length = 0;
  }
});

test('review: a long id is remembered by a hash (bounded memory) and its reuse still reported', async () => {
  const id = await session('report');
  const long = 'x'.repeat(10_000);
  await post('report', id, rpc('ping', undefined, long));
  assert.equal(faultRules(servers.report.lines), []);
  await post('report', id, rpc('ping', undefined, long));
  assertReported(servers.report.lines, 'client.request-id-reused');
  assert.ok(
    servers.report.lines.every((l) => l.length < 2000),
    'the report shows the id cut short',
  );
});

test('review: no false faults for legal moves (token reused after its request was cancelled, a late cancel, ping without a session, an error response without id, modern ids on stdio)', async () => {
  const id = await session('report');
  upstream.next({ type: 'held' }, { type: 'held' });
  const first = post('report', id, call('t1', { prompt: 'a' }, { progressToken: 'T' }));
  await eventually(() => upstream.held >= 1, 'the first call upstream');
  await post('report', id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 't1' } });
  const second = post('report', id, call('t2', { prompt: 'b' }, { progressToken: 'T' }));
  await eventually(() => upstream.held >= 2, 'the second call upstream');
  upstream.release(2);
  await first;
  await second;
  await post('report', id, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 't2' } });
  await post('report', id, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
  const url = servers.report.server.url;
  assert.is((await raw(url, { headers: jsonHeaders(), body: rpc('ping') })).status, 400);
  assert.equal(faultRules(servers.report.lines), []);
  const p = stdio('report');
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  assert.ok((await p.request({ id: 1, method: 'server/discover', params: { _meta: meta } })).result);
  await p.initialize('2025-06-18');
  p.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.ok((await p.request({ id: 1, method: 'tools/list' })).result, 'a modern id does not count against the session');
  p.child.stdin.end();
  await eventually(() => p.stderr.includes('"client faults this session"'), 'the summary');
  assert.equal(stdioFaults(p), []);
});

test('review: reports never show prompts, arguments, _meta values or raw lines; a repeated fault is logged sparingly, counted always', async () => {
  const id = await session('report');
  await post(
    'report',
    id,
    rpc('tools/call', { name: 'generate', arguments: 'my password is hunter2', _meta: { authorization: 'Bearer sk-secret-token' } }, 1),
  );
  await post('report', id, rpc('tools/call', { name: 'generate', arguments: { name: 'secret-name' } }, 2));
  const all = servers.report.lines.join('');
  for (const secret of ['hunter2', 'sk-secret', 'secret-name']) assert.not.ok(all.includes(secret), `${secret} is not shown`);
  servers.report.lines.length = 0;
  for (let n = 0; n < 10; n++) await post('report', id, rpc('resources/list', undefined, `r${n}`));
  assert.is(faultRules(servers.report.lines).length, 5, 'the 1st, 2nd, 3rd, 4th and 8th');
  const p = stdio('report');
  p.child.stdin.write('Authorization: Bearer sk-proj-do-not-log\n');
  await stdioReported(p, 'stdio.not-json-line');
  assert.not.ok(p.stderr.includes('sk-proj'), 'a raw line is shown as its length');
});

test('review: a 2025-03-26 client batching its first initialize; an invalid 2026-07-28 log level', async () => {
  const url = servers.report.server.url;
  const res = await raw(url, { headers: jsonHeaders(), body: [initializeBody('2025-03-26')] });
  assert.is(res.status, 400);
  assertReported(servers.report.lines, 'client.initialize-in-batch');
  servers.report.lines.length = 0;
  const V = '2026-07-28';
  const bad = await raw(url, {
    headers: jsonHeaders({ 'mcp-protocol-version': V, 'mcp-method': 'tools/list' }),
    body: rpc('tools/list', {
      _meta: {
        'io.modelcontextprotocol/protocolVersion': V,
        'io.modelcontextprotocol/clientCapabilities': {},
        'io.modelcontextprotocol/logLevel': 'verbose',
      },
    }),
  });
  assert.is(bad.status, 400);
  assertReported(servers.report.lines, 'client.log-level-invalid');
});

test('README lists every rule, in its table, with what reject does', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const rule of RULE_IDS) assert.ok(readme.includes(`| \`${rule}\` |`), `${rule} in README's table`);
});

test('every rule in the catalogue has a test above', () => {
  assert.equal(
    RULE_IDS.filter((rule) => !covered.has(rule)),
    [],
  );
});

test.run();
