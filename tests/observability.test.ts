import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { Harness, testApp } from './helpers.ts';
import { KEY, openSession, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('logs and metrics');
const SECRET_PROMPT = 'the secret plan is in the blue folder';
let upstream: FakeUpstream;
let server: TestServer;
const lines: string[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
  server = await startHttp(
    { OPENAI_BASE_URL: upstream.baseUrl, OPENAI_API_KEY: 'sk-upstream-never-logged', OPENAI_MAX_RETRIES: '1' },
    { apiKeys: [{ name: 'alice', key: KEY }] },
    createLogger({ level: 'info', write: (line) => void lines.push(line) }),
  );
});
test.before.each(() => {
  upstream.reset();
  lines.length = 0;
});
test.after(async () => {
  await server.close();
  await upstream.close();
});

const headers = (session?: string) => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  authorization: `Bearer ${KEY}`,
  ...(session ? { 'mcp-session-id': session } : {}),
});
const requestLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');

test('one JSON line per request on stderr: method, tool, status, duration, upstream status, key name', async () => {
  const session = await openSession(server.url);
  upstream.next({ type: 'json', content: 'ok' });
  await raw(server.url, {
    headers: headers(session),
    body: rpc('tools/call', { name: 'generate', arguments: { prompt: SECRET_PROMPT } }, 7),
  });
  await raw(server.url, { headers: headers(session), body: rpc('no/such/method', {}, 8) });
  const logged = requestLines();
  const call = logged.find((l) => l.id === 7)!;
  assert.equal(
    {
      method: call.method,
      tool: call.tool,
      status: call.status,
      outcome: call.outcome,
      upstream_status: call.upstream_status,
      key: call.key,
      transport: call.transport,
      attempts: call.attempts,
      level: call.level,
    },
    {
      method: 'tools/call',
      tool: 'generate',
      status: 'ok',
      outcome: 'ok',
      upstream_status: 200,
      key: 'alice',
      transport: 'streamable-http',
      attempts: 1,
      level: 'info',
    },
  );
  assert.type(call.duration_ms, 'number');
  assert.type(call.time, 'string');
  assert.is(logged.find((l) => l.id === 8)!.status, '-32601');
  const all = lines.join('');
  assert.not.ok(all.includes(SECRET_PROMPT), 'no prompt at info');
  assert.not.ok(all.includes(KEY), 'never a client key');
  assert.not.ok(all.includes('sk-upstream-never-logged'), 'never the upstream key');
});

/** A request's log line is written once its reply is on its way, on the next tick. */
const afterReply = () => new Promise((resolve) => setImmediate(resolve));

test('the prompt is logged only at debug; text format for people', async () => {
  const debugLines: string[] = [];
  const debug = testApp({ MCP_UPSTREAM: 'echo' }, createLogger({ level: 'debug', write: (l) => void debugLines.push(l) }));
  const h = new Harness(debug.app);
  await h.initialize();
  await h.callTool({ prompt: SECRET_PROMPT });
  await afterReply();
  assert.ok(debugLines.some((l) => l.includes(SECRET_PROMPT)));
  const textLines: string[] = [];
  const text = testApp({ MCP_UPSTREAM: 'echo' }, createLogger({ format: 'text', write: (l) => void textLines.push(l) }));
  const t = new Harness(text.app);
  await t.initialize();
  await t.callTool({ prompt: 'x' });
  await afterReply();
  const line = textLines.find((l) => l.includes('method=tools/call'))!;
  assert.match(
    line,
    /^\d{4}-\d{2}-\d{2}T\S+ INFO {2}request transport=unknown method=tools\/call id=\d+ tool=generate status=ok outcome=ok duration_ms=[\d.]+/,
  );
});

test('client-chosen values cannot inject terminal escapes into text logs, and long ids are cut', async () => {
  const textLines: string[] = [];
  const text = testApp({ MCP_UPSTREAM: 'echo' }, createLogger({ format: 'text', write: (l) => void textLines.push(l) }));
  const t = new Harness(text.app);
  await t.initialize();
  await t.send({ jsonrpc: '2.0', id: `\u001b]0;owned\u0007${'z'.repeat(500)}`, method: '\u001b[31mFAKE\u001b[0m' });
  await afterReply();
  const line = textLines.find((l) => l.includes('FAKE'))!;
  assert.not.ok(line.includes('\u001b'), 'no raw escape character');
  assert.match(line, /method="\\u001b\[31mFAKE/);
  assert.ok(line.length < 400, `${line.length} characters`);
});

test('a failed upstream call logs its status and attempts', async () => {
  const session = await openSession(server.url);
  upstream.next(
    { type: 'error', status: 503, headers: { 'retry-after-ms': '10' } },
    { type: 'error', status: 503, headers: { 'retry-after-ms': '10' } },
  );
  await raw(server.url, { headers: headers(session), body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' } }, 9) });
  const call = requestLines().find((l) => l.id === 9)!;
  assert.equal([call.status, call.outcome, call.upstream_status, call.attempts], ['ok', 'upstream_error', 503, 2]);
});

test('/metrics needs a key', async () => {
  const res = await raw(server.url, { method: 'GET', path: '/metrics' });
  assert.is(res.status, 401);
});

test('/metrics: requests, tool calls, upstream latency, retries, tokens, sessions, streams, queue depth', async () => {
  const session = await openSession(server.url);
  upstream.next(
    { type: 'error', status: 500, headers: { 'retry-after-ms': '10' } },
    {
      type: 'json',
      content: 'ok',
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, completion_tokens_details: { reasoning_tokens: 3 } },
    },
  );
  await raw(server.url, { headers: headers(session), body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'x' } }, 10) });
  await raw(server.url, { headers: headers(session), body: rpc('tools/call', { name: 'generate', arguments: {} }, 11) });
  await raw(server.url, { headers: headers(session), body: rpc('made-up/method', {}, 12) });
  const res = await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${KEY}` } });
  assert.is(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const text = res.text;
  for (const line of text.trim().split('\n')) {
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.match(line, /^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? -?[\d.e+-]+$/, line);
  }
  const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"+.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  assert.ok(value('mcp_requests_total{method="tools/call",status="ok"}') >= 2);
  assert.ok(value('mcp_requests_total{method="other",status="-32601"}') >= 1, 'client-chosen method names collapse to "other"');
  assert.ok(value('mcp_requests_total{method="initialize",status="ok"}') >= 1);
  assert.ok(value('mcp_tool_calls_total{tool="generate",outcome="ok"}') >= 1);
  assert.ok(value('mcp_tool_calls_total{tool="generate",outcome="invalid_arguments"}') >= 1);
  assert.ok(value('upstream_retries_total') >= 1);
  assert.ok(value('upstream_request_duration_seconds_count{status="5xx"}') >= 1);
  assert.ok(value('upstream_request_duration_seconds_count{status="2xx"}') >= 1);
  assert.ok(value('upstream_request_duration_seconds_bucket{status="2xx",le="+Inf"}') >= 1);
  assert.ok(value('upstream_tokens_total{type="prompt"}') >= 11);
  assert.ok(value('upstream_tokens_total{type="completion"}') >= 7);
  assert.ok(value('upstream_tokens_total{type="reasoning"}') >= 3);
  assert.ok(value('mcp_sessions_open{transport="streamable-http"}') >= 1);
  assert.is(value('mcp_sessions_open{transport="sse"}'), 0);
  assert.is(value('mcp_sse_streams_open'), 0);
  assert.is(value('mcp_tool_calls_queued'), 0);
  assert.is(value('mcp_tool_calls_running'), 0);
  assert.ok(value('process_resident_memory_bytes') > 1e6);
  assert.not.ok(text.includes(KEY));
});

test.run();
