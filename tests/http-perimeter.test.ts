import { connect } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { delay } from './helpers.ts';
import { initializeBody, jsonHeaders, KEY, openSession, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('HTTP authentication and perimeter');
let server: TestServer;
const OTHER = 'another-client-key-abcdefghijklmnop';

test.before(async () => {
  server = await startHttp(
    { MCP_UPSTREAM: 'echo' },
    {
      apiKeys: [
        { name: 'alice', key: KEY },
        { name: 'bob', key: OTHER },
      ],
      maxBodyBytes: 4096,
      requestTimeoutMs: 600,
    },
  );
});
test.after(async () => {
  // The server stayed up through everything above.
  assert.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 200);
  await server.close();
});

const noAuth = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

test('a key is accepted as Authorization: Bearer and as X-API-Key', async () => {
  assert.is((await raw(server.url, { headers: { ...noAuth, authorization: `Bearer ${KEY}` }, body: initializeBody() })).status, 200);
  assert.is((await raw(server.url, { headers: { ...noAuth, authorization: `bearer ${OTHER}` }, body: initializeBody() })).status, 200);
  assert.is((await raw(server.url, { headers: { ...noAuth, 'x-api-key': KEY }, body: initializeBody() })).status, 200);
});

test('no key, a wrong key or a malformed header: 401 with WWW-Authenticate, the same body every time', async () => {
  const cases: Record<string, string>[] = [
    {},
    { authorization: 'Bearer wrong' },
    { authorization: `Basic ${KEY}` },
    { 'x-api-key': 'wrong' },
    { authorization: 'Bearer' },
    { authorization: `Bearer ${KEY}x` },
  ];
  const bodies = new Set<string>();
  for (const headers of cases) {
    for (const path of ['/mcp', '/sse', '/messages?sessionId=x', '/unknown']) {
      const res = await raw(server.url, {
        path,
        method: path === '/sse' ? 'GET' : 'POST',
        headers: { ...noAuth, ...headers },
        ...(path === '/sse' ? {} : { body: rpc('ping') }),
      });
      assert.is(res.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      bodies.add(res.text);
    }
  }
  assert.is(bodies.size, 1);
  const body = JSON.parse([...bodies][0]!);
  assert.is(body.error.code, -32000);
  assert.not.ok(body.error.message.includes(KEY));
});

test('a session belongs to the key that opened it: another key gets 404', async () => {
  const session = await openSession(server.url);
  const stolen = await raw(server.url, { headers: { ...noAuth, 'x-api-key': OTHER, 'mcp-session-id': session }, body: rpc('tools/list') });
  assert.is(stolen.status, 404);
  assert.is(
    (await raw(server.url, { method: 'DELETE', headers: { ...noAuth, 'x-api-key': OTHER, 'mcp-session-id': session } })).status,
    404,
  );
  assert.is(
    (await raw(server.url, { method: 'GET', headers: { accept: 'text/event-stream', 'x-api-key': OTHER, 'mcp-session-id': session } }))
      .status,
    404,
  );
  assert.is(
    (await raw(server.url, { headers: { ...noAuth, 'x-api-key': KEY, 'mcp-session-id': session }, body: rpc('tools/list') })).status,
    200,
  );
});

test("a present Origin that is not allowed is 403; the server's own origin is allowed", async () => {
  for (const origin of ['http://evil.example', 'null', `http://localhost:${server.port + 1}`]) {
    const res = await raw(server.url, { headers: jsonHeaders({ origin }), body: initializeBody() });
    assert.is(res.status, 403, origin);
    assert.is(res.json().error.code, -32000);
    assert.is(res.json().id, null);
  }
  const own = await raw(server.url, { headers: jsonHeaders({ origin: `http://127.0.0.1:${server.port}` }), body: initializeBody() });
  assert.is(own.status, 200);
  assert.is(own.headers['access-control-allow-origin'], `http://127.0.0.1:${server.port}`);
  assert.match(String(own.headers['access-control-expose-headers']), /Mcp-Session-Id/);
});

test('DNS rebinding: bound to loopback, a foreign Host is 403; localhost, 127.0.0.1 and [::1] on any port pass', async () => {
  for (const host of ['evil.example', `evil.example:${server.port}`, `10.0.0.1:${server.port}`, 'localhost.evil.example']) {
    const res = await raw(server.url, { headers: jsonHeaders({ host }), body: initializeBody() });
    assert.is(res.status, 403, host);
  }
  // The rebinding attack proper: the page's own origin, pointed at us by DNS.
  const rebind = await raw(server.url, {
    headers: jsonHeaders({ host: 'evil.example:80', origin: 'http://evil.example:80' }),
    body: initializeBody(),
  });
  assert.is(rebind.status, 403);
  for (const host of ['localhost', `localhost:${server.port}`, '127.0.0.1:1', '[::1]:9999', 'LOCALHOST']) {
    assert.is((await raw(server.url, { headers: jsonHeaders({ host }), body: initializeBody() })).status, 200, host);
  }
});

test('MCP_ALLOWED_HOSTS and MCP_ALLOWED_ORIGINS', async () => {
  const custom = await startHttp(
    { MCP_UPSTREAM: 'echo' },
    { allowedHosts: ['mcp.example.com', 'api.example.com:8443'], allowedOrigins: ['https://app.example.com'] },
  );
  try {
    assert.is((await raw(custom.url, { headers: jsonHeaders({ host: 'mcp.example.com:1234' }), body: initializeBody() })).status, 200);
    assert.is((await raw(custom.url, { headers: jsonHeaders({ host: 'api.example.com:8443' }), body: initializeBody() })).status, 200);
    assert.is((await raw(custom.url, { headers: jsonHeaders({ host: 'api.example.com:80' }), body: initializeBody() })).status, 403);
    assert.is((await raw(custom.url, { headers: jsonHeaders({ host: 'localhost' }), body: initializeBody() })).status, 403);
    const allowed = await raw(custom.url, {
      headers: jsonHeaders({ host: 'mcp.example.com', origin: 'https://app.example.com' }),
      body: initializeBody(),
    });
    assert.is(allowed.status, 200);
    assert.is(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.is(
      (
        await raw(custom.url, {
          headers: jsonHeaders({ host: 'mcp.example.com', origin: 'https://other.example.com' }),
          body: initializeBody(),
        })
      ).status,
      403,
    );
    const preflight = await raw(custom.url, {
      method: 'OPTIONS',
      headers: { host: 'mcp.example.com', origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.is(preflight.status, 204);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Mcp-Session-Id/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
  } finally {
    await custom.close();
  }
});

test('on a public address with no MCP_ALLOWED_HOSTS, an Origin naming the Host is not trusted (DNS rebinding)', async () => {
  const open = await startHttp({ MCP_UPSTREAM: 'echo' }, { host: '0.0.0.0', auth: 'none', apiKeys: [] });
  try {
    const url = `http://127.0.0.1:${open.port}`;
    const rebound = await raw(url, {
      headers: { ...jsonHeaders(), host: `attacker.example:${open.port}`, origin: `http://attacker.example:${open.port}` },
      body: initializeBody(),
    });
    assert.is(rebound.status, 403);
    assert.is((await raw(url, { headers: jsonHeaders(), body: initializeBody() })).status, 200, 'clients without Origin are served');
  } finally {
    await open.close();
  }
  const listed = await startHttp(
    { MCP_UPSTREAM: 'echo' },
    { host: '0.0.0.0', auth: 'none', apiKeys: [], allowedOrigins: ['https://app.example'] },
  );
  try {
    const res = await raw(`http://127.0.0.1:${listed.port}`, {
      headers: { ...jsonHeaders(), origin: 'https://app.example' },
      body: initializeBody(),
    });
    assert.is(res.status, 200);
  } finally {
    await listed.close();
  }
});

test('a body over MCP_MAX_BODY_BYTES is 413, declared or streamed', async () => {
  const session = await openSession(server.url);
  const big = JSON.stringify(rpc('tools/call', { name: 'generate', arguments: { prompt: 'x'.repeat(10_000) } }));
  const declared = await raw(server.url, { headers: jsonHeaders({ 'mcp-session-id': session }), body: big });
  assert.is(declared.status, 413);
  assert.is(declared.json().error.code, -32000);
  // Chunked, so the size is only known as bytes arrive.
  const chunked = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'transfer-encoding': 'chunked' }),
    body: big,
    trickle: { pieces: 10, intervalMs: 5 },
  }).catch((e: Error) => e);
  assert.ok(chunked instanceof Error || chunked.status === 413, String(chunked instanceof Error ? chunked : chunked.status));
});

test('a slowly trickled body is cut off with 408 and a JSON body', async () => {
  const session = await openSession(server.url);
  const body = JSON.stringify(rpc('ping'));
  const res = await raw(server.url, {
    headers: jsonHeaders({ 'mcp-session-id': session, 'content-length': String(body.length) }),
    body,
    trickle: { pieces: body.length, intervalMs: 100 },
  }).catch((e: Error) => e);
  assert.ok(!(res instanceof Error), String(res));
  if (!(res instanceof Error)) {
    assert.is(res.status, 408);
    assert.match(res.json().message, /did not arrive within 600 ms \(MCP_REQUEST_TIMEOUT_MS\)/);
  }
});

test('a client that sends headers and then nothing is disconnected; the server stays up', async () => {
  const socket = connect(server.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d.toString()));
  socket.write('POST /mcp HTTP/1.1\r\nHost: localhost\r\n');
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.on('error', () => undefined);
  await Promise.race([closed, delay(5_000)]);
  assert.ok(socket.destroyed, 'the half-sent request was dropped');
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /"error":"request_timeout"/);
  assert.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 200);
});

test('malformed HTTP gets 400 and the server stays up', async () => {
  const socket = connect(server.port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => (answer += d.toString()));
  socket.write('THIS IS NOT HTTP\r\n\r\n');
  await new Promise((resolve) => socket.on('close', resolve));
  assert.match(answer, /^HTTP\/1\.1 400/);
});

test('unknown paths are 404 and wrong methods 405 with Allow, each with a JSON body', async () => {
  const unknown = await raw(server.url, { path: '/nope', method: 'GET', headers: { authorization: `Bearer ${KEY}` } });
  assert.is(unknown.status, 404);
  assert.ok(unknown.json().message);
  const cases: [string, string, string][] = [
    ['/sse', 'POST', 'GET'],
    ['/messages', 'GET', 'POST'],
    ['/mcp', 'PUT', 'GET, POST, DELETE'],
    ['/health', 'POST', 'GET, HEAD'],
  ];
  for (const [path, method, allow] of cases) {
    const res = await raw(server.url, { path, method, headers: { authorization: `Bearer ${KEY}` } });
    assert.is(res.status, 405, `${method} ${path}`);
    assert.is(res.headers.allow, allow);
    assert.ok(res.json());
  }
});

test('/health answers GET and HEAD without a key, and says nothing secret', async () => {
  const res = await raw(server.url, { path: '/health', method: 'GET' });
  assert.is(res.status, 200);
  const body = res.json();
  assert.equal(Object.keys(body).sort(), ['status', 'transport', 'uptime_s', 'version']);
  assert.is(body.status, 'ok');
  assert.is(body.transport, 'streamable-http');
  assert.not.ok(res.text.includes(KEY));
  const head = await raw(server.url, { path: '/health', method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.text, '');
  // Perimeter rules do not apply: probes use pod IPs and odd Host headers.
  assert.is((await raw(server.url, { path: '/health', method: 'GET', headers: { host: '10.1.2.3:8000' } })).status, 200);
});

test('MCP_AUTH=none needs no key', async () => {
  const open = await startHttp({ MCP_UPSTREAM: 'echo' }, { auth: 'none', apiKeys: [] });
  try {
    const res = await raw(open.url, { headers: noAuth, body: initializeBody() });
    assert.is(res.status, 200);
  } finally {
    await open.close();
  }
});

test.run();
