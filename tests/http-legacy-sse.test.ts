import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly } from './helpers.ts';
import { initializeBody, jsonHeaders, KEY, raw, rpc, SseClient, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('the 2024-11-05 HTTP+SSE transport at /sse');
let upstream: FakeUpstream;
let server: TestServer;
const streams: SseClient[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
  server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  for (const s of streams) s.close();
  await server.close();
  await upstream.close();
});

async function connectSse(
  headers: Record<string, string> = { authorization: `Bearer ${KEY}` },
): Promise<{ stream: SseClient; endpoint: string }> {
  const stream = new SseClient(server.url, { method: 'GET', path: '/sse', headers: { accept: 'text/event-stream', ...headers } });
  streams.push(stream);
  await stream.waitFor((events) => events.length >= 1);
  const first = stream.events[0]!;
  assert.is(first.event, 'endpoint');
  return { stream, endpoint: first.data };
}

test('the first event is `endpoint`, its data a plain same-origin path carrying the session', async () => {
  const { stream, endpoint } = await connectSse();
  assert.match(endpoint, /^\/messages\?sessionId=[A-Za-z0-9_-]{22,}$/);
  assert.match(String(stream.response!.headers['content-type']), /^text\/event-stream/);
});

test('POSTs get 202; replies and notifications arrive as `message` events on the stream', async () => {
  const { stream, endpoint } = await connectSse();
  const post = (body: object) => raw(server.url, { path: endpoint, headers: jsonHeaders(), body });
  assert.is((await post(initializeBody('2024-11-05'))).status, 202);
  await stream.waitFor((events) => events.some((e) => e.event === 'message'));
  const init = JSON.parse(stream.events.find((e) => e.event === 'message')!.data);
  assert.is(init.id, 'init');
  assert.is(init.result.protocolVersion, '2024-11-05');
  assert.is((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
  upstream.next({ type: 'stream', pieces: ['x', 'y', 'z'], intervalMs: 60 });
  assert.is(
    (await post(rpc('tools/call', { name: 'generate', arguments: { prompt: 'p' }, _meta: { progressToken: 't' } }, 7))).status,
    202,
  );
  await stream.waitFor((events) => events.some((e) => e.data.includes('"id":7')));
  const messages = stream.events.filter((e) => e.event === 'message').map((e) => JSON.parse(e.data));
  const progress = messages.filter((m) => m.method === 'notifications/progress');
  assert.ok(progress.length >= 1);
  assert.ok(
    progress.every((p) => !('message' in p.params)),
    '2024-11-05 progress has no message',
  );
  const reply = messages.find((m) => m.id === 7);
  assert.is(JSON.parse(reply.result.content[0].text).text, 'xyz');
});

test("a missing sessionId is 400, an unknown one 404, another key's 404; wrong content type 415", async () => {
  const { endpoint } = await connectSse();
  assert.is((await raw(server.url, { path: '/messages', headers: jsonHeaders(), body: rpc('ping') })).status, 400);
  assert.is((await raw(server.url, { path: '/messages?sessionId=nope', headers: jsonHeaders(), body: rpc('ping') })).status, 404);
  const other = await startHttp(
    { MCP_UPSTREAM: 'echo' },
    {
      apiKeys: [
        { name: 'a', key: KEY },
        { name: 'b', key: 'second-key-zzzzzzzzzzzzzzz' },
      ],
    },
  );
  try {
    const s = new SseClient(other.url, {
      method: 'GET',
      path: '/sse',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}` },
    });
    await s.waitFor((e) => e.length >= 1);
    const path = s.events[0]!.data;
    const stolen = await raw(other.url, {
      path,
      headers: { ...jsonHeaders(), authorization: 'Bearer second-key-zzzzzzzzzzzzzzz' },
      body: rpc('ping'),
    });
    assert.is(stolen.status, 404);
    s.close();
  } finally {
    await other.close();
  }
  assert.is(
    (await raw(server.url, { path: endpoint, headers: jsonHeaders({ 'content-type': 'text/plain' }), body: rpc('ping') })).status,
    415,
  );
  const bad = await raw(server.url, { path: endpoint, headers: jsonHeaders(), body: '{oops' });
  assert.is(bad.status, 400);
  assert.is(bad.json().error.code, -32700);
});

test('closing the stream ends the session and aborts its calls (the upstream sees its connection close)', async () => {
  const { stream, endpoint } = await connectSse();
  const post = (body: object) => raw(server.url, { path: endpoint, headers: jsonHeaders(), body });
  await post(initializeBody('2024-11-05'));
  await stream.waitFor((events) => events.some((e) => e.event === 'message'));
  upstream.next({ type: 'hang' });
  await post(rpc('tools/call', { name: 'generate', arguments: { prompt: 'p' } }, 'slow'));
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, () => stream.close());
  // The call was aborted because the session ended with its stream.
  assert.is((await post(rpc('ping'))).status, 404);
});

test('the same perimeter: 401 without a key, 403 for a foreign Origin, 406 without Accept SSE', async () => {
  assert.is((await raw(server.url, { method: 'GET', path: '/sse', headers: { accept: 'text/event-stream' } })).status, 401);
  assert.is(
    (
      await raw(server.url, {
        method: 'GET',
        path: '/sse',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${KEY}`, origin: 'http://evil.example' },
      })
    ).status,
    403,
  );
  assert.is(
    (await raw(server.url, { method: 'GET', path: '/sse', headers: { accept: 'application/json', authorization: `Bearer ${KEY}` } }))
      .status,
    406,
  );
});

test.run();
