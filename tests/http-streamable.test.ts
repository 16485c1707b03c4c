import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';
import { assertAbortedPromptly, eventually } from './helpers.ts';
import { initializeBody, jsonHeaders, openSession, raw, rpc, SseClient, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('streamable HTTP at /mcp');
let upstream: FakeUpstream;
let server: TestServer;
const clients: SseClient[] = [];

test.before(async () => {
  upstream = await startFakeUpstream();
  server = await startHttp({ OPENAI_BASE_URL: upstream.baseUrl, OPENAI_MODEL: 'gpt-test' });
});
test.before.each(() => {
  upstream.reset();
});
test.after(async () => {
  for (const c of clients) c.close();
  await server.close();
  await upstream.close();
});

const sse = (options: ConstructorParameters<typeof SseClient>[1]): SseClient => {
  const client = new SseClient(server.url, options);
  clients.push(client);
  return client;
};
const call = (id: string | number, args: object, meta?: object) =>
  rpc('tools/call', { name: 'generate', arguments: args, ...(meta ? { _meta: meta } : {}) }, id);

test('initialize answers JSON with an Mcp-Session-Id of at least 128 random bits in visible ASCII', async () => {
  const res = await raw(server.url, { headers: jsonHeaders(), body: initializeBody() });
  assert.is(res.status, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const id = res.headers['mcp-session-id'] as string;
  assert.ok(/^[\x21-\x7e]+$/.test(id), id);
  assert.ok(Buffer.from(id, 'base64url').length >= 16);
  assert.is(res.json().result.protocolVersion, '2025-11-25');
  const other = await raw(server.url, { headers: jsonHeaders(), body: initializeBody() });
  assert.is.not(other.headers['mcp-session-id'], id);
});

test('a failed initialize opens no session', async () => {
  const res = await raw(server.url, { headers: jsonHeaders(), body: rpc('initialize', { protocolVersion: 1 }) });
  assert.is(res.status, 200);
  assert.is(res.json().error.code, -32602);
  assert.is(res.headers['mcp-session-id'], undefined);
});

test('notifications and responses get 202 with no body', async () => {
  const session = await openSession(server.url);
  const headers = jsonHeaders({ 'mcp-session-id': session });
  for (const body of [
    { jsonrpc: '2.0', method: 'notifications/initialized' },
    { jsonrpc: '2.0', id: 9, result: {} },
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'x' } },
  ]) {
    const res = await raw(server.url, { headers, body });
    assert.is(res.status, 202);
    assert.is(res.text, '');
  }
});

test('requests without a session id get 400; an unknown one 404; an ended one 404', async () => {
  const missing = await raw(server.url, { headers: jsonHeaders(), body: rpc('tools/list') });
  assert.is(missing.status, 400);
  assert.is(missing.json().error.code, -32000);
  assert.is(missing.json().id, null);
  const unknown = await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': 'no-such-session' }), body: rpc('tools/list') });
  assert.is(unknown.status, 404);
  assert.is(unknown.json().error.code, -32001);
  const session = await openSession(server.url);
  assert.is((await raw(server.url, { method: 'DELETE', headers: jsonHeaders({ 'mcp-session-id': session }) })).status, 204);
  assert.is((await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: rpc('tools/list') })).status, 404);
  assert.is((await raw(server.url, { method: 'DELETE', headers: jsonHeaders({ 'mcp-session-id': session }) })).status, 404);
});

test('a request gets application/json when nothing precedes the reply', async () => {
  const session = await openSession(server.url);
  const res = await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: call(1, { prompt: 'hi' }) });
  assert.is(res.status, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.is(res.json().result.structuredContent.text, 'Hello from the fake upstream.');
});

test('progress turns the answer into an event stream: priming event, progress, reply, end', async () => {
  const session = await openSession(server.url);
  upstream.next({ type: 'stream', pieces: ['a', 'b', 'c'], intervalMs: 60 });
  const stream = sse({ headers: jsonHeaders({ 'mcp-session-id': session }), body: call(2, { prompt: 'x' }, { progressToken: 'p' }) });
  const res = await stream.ready;
  assert.match(String(res.headers['content-type']), /^text\/event-stream/);
  await stream.waitForEnd();
  const [priming, ...rest] = stream.events;
  assert.ok(priming!.id, 'the priming event has an id');
  assert.is(priming!.data, '');
  const messages = stream.messages();
  assert.ok(messages.slice(0, -1).every((m) => m.method === 'notifications/progress'));
  assert.is(messages.at(-1).id, 2);
  assert.is(messages.at(-1).result.structuredContent.text, 'abc');
  // Event ids: unique, and all naming the same stream.
  const ids = stream.events.map((e) => e.id!);
  assert.is(new Set(ids).size, ids.length);
  assert.is(new Set(ids.map((id) => id.slice(0, id.lastIndexOf(':')))).size, 1);
  assert.ok(rest.every((e) => e.id));
});

test('clients before 2025-11-25 get no priming event', async () => {
  const session = await openSession(server.url, '2025-06-18');
  upstream.next({ type: 'stream', pieces: ['a', 'b'], intervalMs: 60 });
  const stream = sse({ headers: jsonHeaders({ 'mcp-session-id': session }), body: call(3, { prompt: 'x' }, { progressToken: 'p' }) });
  await stream.waitForEnd();
  assert.ok(stream.events.every((e) => e.data !== ''));
  assert.is(stream.messages().at(-1).id, 3);
});

test('Accept: an Accept allowing neither type is 406; JSON-only drops progress; SSE-only always streams', async () => {
  const session = await openSession(server.url);
  const neither = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, accept: 'text/html' }),
    body: rpc('tools/list'),
  });
  assert.is(neither.status, 406);
  assert.is(neither.json().error.code, -32000);
  upstream.next({ type: 'stream', pieces: ['a', 'b'], intervalMs: 60 });
  const jsonOnly = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, accept: 'application/json' }),
    body: call(4, { prompt: 'x' }, { progressToken: 'p' }),
  });
  assert.match(String(jsonOnly.headers['content-type']), /^application\/json/);
  assert.is(jsonOnly.json().result.structuredContent.text, 'ab');
  const sseOnly = sse({
    headers: jsonHeaders({ 'mcp-session-id': session, accept: 'text/event-stream' }),
    body: rpc('tools/list', undefined, 5),
  });
  await sseOnly.waitForEnd();
  assert.match(String(sseOnly.response!.headers['content-type']), /^text\/event-stream/);
  assert.is(sseOnly.messages()[0].id, 5);
});

test('a Content-Type other than JSON is 415', async () => {
  const session = await openSession(server.url);
  for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
    const res = await raw(server.url, {
      headers: jsonHeaders({ 'mcp-session-id': session, 'content-type': type }),
      body: rpc('tools/list'),
    });
    assert.is(res.status, 415);
  }
  const headers = jsonHeaders({ 'mcp-session-id': session });
  delete (headers as Record<string, string>)['content-type'];
  assert.is((await raw(server.url, { headers, body: rpc('tools/list') })).status, 415);
  assert.is(
    (
      await raw(server.url, {
        headers: jsonHeaders({ 'mcp-session-id': session, 'content-type': 'application/json; charset=utf-8' }),
        body: rpc('tools/list'),
      })
    ).status,
    200,
  );
});

test('a POST holding no request but errors (malformed notifications) is 400, never 200', async () => {
  const session = await openSession(server.url, '2025-03-26');
  const headers = jsonHeaders({ 'mcp-session-id': session });
  for (const body of [
    [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 5 },
    ],
    [1, 2],
    { jsonrpc: '2.0', id: 1 },
  ]) {
    const res = await raw(server.url, { headers, body });
    assert.is(res.status, 400, JSON.stringify(body));
  }
  const sseOnly = await raw(server.url, { headers: { ...headers, accept: 'text/event-stream' }, body: [1] });
  assert.is(sseOnly.status, 400);
  const accepted = await raw(server.url, { headers, body: { jsonrpc: '2.0', method: 'notifications/initialized' } });
  assert.is(accepted.status, 202);
  assert.is(accepted.headers['content-length'], '0');
});

test('unparseable JSON is 400 with a -32700 error', async () => {
  const session = await openSession(server.url);
  const res = await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: '{"jsonrpc":' });
  assert.is(res.status, 400);
  assert.equal(res.json().error.code, -32700);
  assert.is(res.json().id, null);
});

test('MCP-Protocol-Version: unsupported is 400; any supported value is accepted; the session decides behaviour', async () => {
  const session = await openSession(server.url, '2025-03-26');
  const bad = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'mcp-protocol-version': '2030-01-01' }),
    body: rpc('tools/list'),
  });
  assert.is(bad.status, 400);
  const bogus = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'mcp-protocol-version': 'banana' }),
    body: rpc('tools/list'),
  });
  assert.is(bogus.status, 400);
  // A differing supported header is accepted; the negotiated 2025-03-26 still decides (no outputSchema).
  const other = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }),
    body: rpc('tools/list'),
  });
  assert.is(other.status, 200);
  assert.not.ok('outputSchema' in other.json().result.tools[0]);
  // ...and batches are answered, because the session negotiated 2025-03-26.
  const batch = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'mcp-protocol-version': '2025-03-26' }),
    body: [rpc('ping', undefined, 1), rpc('tools/list', undefined, 2)],
  });
  assert.is(batch.status, 200);
  assert.equal(
    batch
      .json()
      .map((r: { id: number }) => r.id)
      .sort(),
    [1, 2],
  );
});

test('under 2025-11-25 a batch is 400 with one -32600 error, id null', async () => {
  const session = await openSession(server.url);
  const res = await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: [rpc('ping', undefined, 1)] });
  assert.is(res.status, 400);
  assert.is(res.json().error.code, -32600);
  assert.is(res.json().id, null);
});

test('GET opens the session stream (priming event); a second concurrent GET is 409; GET needs Accept SSE', async () => {
  const session = await openSession(server.url);
  const stream = sse({
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
  });
  const res = await stream.ready;
  assert.is(res.statusCode, 200);
  await stream.waitFor((events) => events.length === 1);
  assert.ok(stream.events[0]!.id);
  const second = await raw(server.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
  });
  assert.is(second.status, 409);
  const noAccept = await raw(server.url, {
    method: 'GET',
    headers: { accept: 'application/json', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
  });
  assert.is(noAccept.status, 406);
  stream.close();
  await eventually(
    async () =>
      (await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: jsonHeaders().authorization! } })).text.includes(
        'mcp_sse_streams_open 0',
      ),
    'the server saw the stream close',
  );
  const again = sse({
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: jsonHeaders().authorization!, 'mcp-session-id': session },
  });
  assert.is((await again.ready).statusCode, 200);
  // DELETE ends the session and its stream.
  assert.is((await raw(server.url, { method: 'DELETE', headers: jsonHeaders({ 'mcp-session-id': session }) })).status, 204);
  await again.waitForEnd();
});

test("DELETE aborts the session's calls in flight: the upstream request closes and no reply is sent", async () => {
  const session = await openSession(server.url);
  upstream.next({ type: 'hang' });
  const pending = raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: call('slow', { prompt: 'x' }) });
  const [request] = await upstream.waitForRequests(1);
  await assertAbortedPromptly(request, async () => {
    assert.is((await raw(server.url, { method: 'DELETE', headers: jsonHeaders({ 'mcp-session-id': session }) })).status, 204);
  });
  const answer = await pending;
  assert.match(String(answer.headers['content-type']), /^text\/event-stream/);
  assert.not.match(answer.text, /"id":"slow"/);
});

test('notifications/cancelled: no reply; the POST answer is an event stream that ends; its resume is 405', async () => {
  const session = await openSession(server.url);
  upstream.next({ type: 'hang' });
  const stream = sse({ headers: jsonHeaders({ 'mcp-session-id': session }), body: call('c1', { prompt: 'x' }) });
  const [request] = await upstream.waitForRequests(1);
  const cancel = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session }),
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c1' } },
  });
  assert.is(cancel.status, 202);
  assert.ok((await request!.closed).aborted);
  await stream.waitForEnd();
  assert.match(String(stream.response!.headers['content-type']), /^text\/event-stream/);
  assert.equal(stream.messages(), []);
  const priming = stream.events[0]!.id!;
  const resume = await raw(server.url, {
    method: 'GET',
    headers: {
      accept: 'text/event-stream',
      authorization: jsonHeaders().authorization!,
      'mcp-session-id': session,
      'last-event-id': priming,
    },
  });
  assert.is(resume.status, 405);
  assert.ok(resume.headers.allow);
});

test('a disconnect is not a cancel: the call runs on and a GET with Last-Event-ID replays that stream only', async () => {
  const session = await openSession(server.url);
  const headers = jsonHeaders({ 'mcp-session-id': session });
  upstream.next({ type: 'stream', pieces: ['one ', 'two ', 'three ', 'four'], intervalMs: 150 });
  const first = sse({ headers, body: call('r1', { prompt: 'x' }, { progressToken: 'r' }) });
  await first.waitFor((events) => events.some((e) => e.data.includes('notifications/progress')));
  const lastSeen = first.events.at(-1)!.id!;
  first.close();
  // Another stream in the same session, which a resume must never replay.
  upstream.next({ type: 'stream', pieces: ['other'], intervalMs: 10 });
  const other = sse({ headers, body: call('r2', { prompt: 'y' }, { progressToken: 'o' }) });
  await other.waitForEnd();
  const [request] = upstream.requests;
  const closed = await request!.closed;
  assert.not.ok(closed.aborted, 'the upstream call ran to the end');
  const resume = sse({
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: headers.authorization!, 'mcp-session-id': session, 'last-event-id': lastSeen },
  });
  await resume.waitForEnd();
  const replayed = resume.messages();
  assert.is(replayed.at(-1).id, 'r1');
  assert.is(replayed.at(-1).result.structuredContent.text, 'one two three four');
  assert.ok(replayed.every((m) => m.id === 'r1' || m.params?.progressToken === 'r'));
  const seenText = first
    .messages()
    .filter((m) => m.method === 'notifications/progress')
    .map((m) => m.params.message)
    .join('');
  const replayedText = replayed
    .filter((m) => m.method === 'notifications/progress')
    .map((m) => m.params.message)
    .join('');
  assert.is(seenText + replayedText, 'one two three four');
  // Everything has been replayed now: a second resume from the end has nothing left.
  const again = await raw(server.url, {
    method: 'GET',
    headers: {
      accept: 'text/event-stream',
      authorization: headers.authorization!,
      'mcp-session-id': session,
      'last-event-id': resume.events.at(-1)!.id!,
    },
  });
  assert.is(again.status, 405);
});

test('the replay log is bounded: an event too large to keep is sent but not kept', async () => {
  const session = await openSession(server.url);
  const headers = jsonHeaders({ 'mcp-session-id': session });
  const big = 'é'.repeat(600_000);
  const okCalls = async () => {
    const metrics = await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: headers.authorization! } });
    return Number(/^mcp_tool_calls_total\{tool="generate",outcome="ok"\} (\d+)$/m.exec(metrics.text)?.[1] ?? 0);
  };
  const before = await okCalls();
  upstream.next({ type: 'stream', pieces: [big, big], intervalMs: 100 });
  const first = sse({ headers, body: call('huge', { prompt: 'x' }, { progressToken: 'h' }) });
  await first.waitFor((events) => events.some((e) => e.data.includes('notifications/progress')));
  const lastSeen = first.events.at(-1)!.id!;
  first.close();
  await eventually(async () => (await okCalls()) === before + 1, 'the call finished, with nobody connected');
  // The reply (over two million characters) exceeded the session's cap: it pushed out the
  // events before it and was not kept itself, so there is nothing to replay.
  const resume = await raw(server.url, {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: headers.authorization!, 'mcp-session-id': session, 'last-event-id': lastSeen },
  });
  assert.is(resume.status, 405);
});

test('a resume while the call still runs picks up the live stream', async () => {
  const session = await openSession(server.url);
  const headers = jsonHeaders({ 'mcp-session-id': session });
  upstream.next({ type: 'stream', pieces: ['a', 'b', 'c', 'd', 'e', 'f'], intervalMs: 100 });
  const first = sse({ headers, body: call('live', { prompt: 'x' }, { progressToken: 'l' }) });
  await first.waitFor((events) => events.length >= 2);
  first.close();
  const resume = sse({
    method: 'GET',
    headers: {
      accept: 'text/event-stream',
      authorization: headers.authorization!,
      'mcp-session-id': session,
      'last-event-id': first.events.at(-1)!.id!,
    },
  });
  await resume.waitForEnd();
  assert.is(resume.messages().at(-1).result.structuredContent.text, 'abcdef');
});

test('a malformed Last-Event-ID is 400', async () => {
  const session = await openSession(server.url);
  const res = await raw(server.url, {
    method: 'GET',
    headers: {
      accept: 'text/event-stream',
      authorization: jsonHeaders().authorization!,
      'mcp-session-id': session,
      'last-event-id': 'garbage',
    },
  });
  assert.is(res.status, 400);
});

test('wrong methods on /mcp are 405 with Allow', async () => {
  for (const method of ['PUT', 'PATCH']) {
    const res = await raw(server.url, { method, headers: jsonHeaders() });
    assert.is(res.status, 405);
    assert.is(res.headers.allow, 'GET, POST, DELETE');
    assert.is(res.json().error.code, -32000);
  }
});

test.run();
