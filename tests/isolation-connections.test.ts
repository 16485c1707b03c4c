/**
 * A hostile tenant at the TCP and HTTP level: idle sockets, re-dialling floods, bodies that do
 * not stop, and malformed Host headers. /health and the other tenant keep being served.
 */
import { connect, type Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultMaxConnections } from '../src/transports/http/connections.ts';
import { auth, getStream, openSession, raw, rpc, startHttp, type TestServer } from './http-helpers.ts';

const test = suite('isolation: connections and HTTP framing');
const ALICE = 'alice-key-0123456789abcdef';
const MALLORY = 'mallory-key-0123456789abcd';
const keys = [
  { name: 'alice', key: ALICE },
  { name: 'mallory', key: MALLORY },
];

function idleSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.resume(); // reads (and so notices a close); the server gets nothing
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

/** Sends raw bytes and reads until the server closes; `onData` may write more meanwhile. */
function exchange(port: number, head: string, feed?: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      feed?.(socket);
    });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

async function metricValue(server: TestServer, name: string): Promise<number> {
  const metrics = await raw(server.url, { method: 'GET', path: '/metrics', headers: { authorization: `Bearer ${ALICE}` } });
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics.text)?.[1]);
}

test('MCP_MAX_CONNECTIONS: idle sockets past the cap make room (strangers first); /health, keyed calls and open streams are unharmed', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: keys, maxConnections: 20 });
  const sockets: Socket[] = [];
  try {
    const session = await openSession(server.url, '2025-11-25', { authorization: `Bearer ${ALICE}` });
    const stream = getStream(server.url, session, ALICE);
    await stream.ready;
    for (let i = 0; i < 60; i++) sockets.push(await idleSocket(server.port));
    assert.is((await raw(server.url, { method: 'GET', path: '/health' })).status, 200);
    const call = await raw(server.url, {
      headers: auth(ALICE, { 'mcp-session-id': session }),
      body: rpc('tools/call', { name: 'generate', arguments: { prompt: 'still here' } }),
    });
    assert.is(call.status, 200);
    assert.match(call.text, /still here/);
    assert.is(stream.ended, false, 'the open event stream was never taken for an idle socket');
    assert.ok((await metricValue(server, 'http_connections_open')) <= 20);
    const closed = sockets.filter((s) => s.destroyed || s.readableEnded).length;
    assert.ok(closed >= 40, `the idle strangers were closed to make room (${closed} of 60)`);
    stream.close();
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.close();
  }
});

test('a client re-dialling sockets as fast as it can does not keep /health from answering', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: keys, maxConnections: 50 });
  let flooding = true;
  const dial = async (): Promise<void> => {
    while (flooding) {
      const socket = await idleSocket(server.port).catch(() => undefined);
      socket?.on('close', () => undefined);
      if (!socket) continue;
      setImmediate(() => socket.destroy());
    }
  };
  const flood = Promise.all([dial(), dial(), dial(), dial()]);
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await raw(server.url, { method: 'GET', path: '/health' })).status);
    assert.equal(statuses, Array(50).fill(200));
  } finally {
    flooding = false;
    await flood;
    await server.close();
  }
});

test('a connection that never sends a request is closed by the server', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: keys, requestTimeoutMs: 300 });
  try {
    const socket = await idleSocket(server.port);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    assert.ok(true, 'closed');
  } finally {
    await server.close();
  }
});

test('the default connection cap leaves room below the file limit for upstream sockets and the rest', () => {
  assert.is(defaultMaxConnections(256, 4096), 4096 - 256 - 64);
  assert.is(defaultMaxConnections(256, 1024), 1024 - 256 - 64);
  assert.is(defaultMaxConnections(256, 1_048_576), 16_384, 'capped for memory');
  assert.is(defaultMaxConnections(256, 200), 16);
  assert.ok(defaultMaxConnections(256) >= 16, "reads this process's limit");
});

test('two Host headers (even equal ones) and an invalid Host are 400, on every path', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: keys });
  try {
    for (const path of ['/health', '/mcp']) {
      const twice = await exchange(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.match(twice, /^HTTP\/1\.1 400 /, `${path}: ${twice.slice(0, 80)}`);
      assert.match(twice, /more than one Host header/);
      for (const host of ['[::1]evil.com', 'a b', 'example.com:99999', 'example.com:']) {
        const bad = await exchange(server.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        assert.match(bad, /^HTTP\/1\.1 400 /, `${path} Host ${host}: ${bad.slice(0, 80)}`);
      }
    }
    for (const host of ['localhost:8000', '127.0.0.1', '[::1]:80']) {
      const ok = await exchange(server.port, `GET /health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(ok, /^HTTP\/1\.1 200 /, host);
    }
  } finally {
    await server.close();
  }
});

test('an answer sent before the body was read says Connection: close, and reaches the client', async () => {
  const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: keys, maxBodyBytes: 4096 });
  try {
    // A refusal (wrong key) while the body is still coming.
    const refused = await exchange(
      server.port,
      'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer wrong\r\nContent-Length: 100000\r\n\r\n',
      (socket) => {
        socket.write(`{"jsonrpc":"2.0","id":1,"method":"ping","x":"${'x'.repeat(60_000)}`);
      },
    );
    assert.match(refused, /^HTTP\/1\.1 401 /);
    assert.match(refused, /\r\nconnection: close\r\n/i);
    // A chunked body that never stops: the 413 arrives, then the connection ends.
    const chunk = 'x'.repeat(16 * 1024);
    let writes = 0;
    const tooBig = await exchange(
      server.port,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${ALICE}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      (socket) => {
        const more = (): void => {
          if (socket.destroyed || writes++ > 400) return;
          socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`, () => setImmediate(more));
        };
        more();
      },
    );
    assert.match(tooBig, /^HTTP\/1\.1 413 /, tooBig.slice(0, 100));
    assert.match(tooBig, /\r\nconnection: close\r\n/i);
    assert.match(tooBig, /MCP_MAX_BODY_BYTES/);
    // A refusal of a request without a body keeps its connection.
    const kept = await exchange(
      server.port,
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer wrong\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    assert.match(kept, /^HTTP\/1\.1 401 [\s\S]*HTTP\/1\.1 200 /, 'the next request on the connection was served');
    assert.not.match(kept.slice(0, kept.indexOf('HTTP/1.1 200')), /connection: close/i);
  } finally {
    await server.close();
  }
});

test.run();
