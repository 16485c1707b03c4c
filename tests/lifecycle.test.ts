import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Harness, errorOf, resultOf, testApp } from './helpers.ts';

const test = suite('lifecycle and version negotiation');
const { app } = testApp({ MCP_UPSTREAM: 'echo' });

for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
  test(`initialize echoes ${version}`, async () => {
    const h = new Harness(app);
    const result = resultOf(await h.initialize(version));
    assert.is(result.protocolVersion, version);
    // 2025-11-25 adds tasks (cancel, task-augmented tools/call; no list for a caller without a key: this harness has none).
    const tasks = { tasks: { cancel: {}, requests: { tools: { call: {} } } } };
    assert.equal(result.capabilities, { tools: { listChanged: false }, logging: {}, ...(version === '2025-11-25' ? tasks : {}) });
    const info = result.serverInfo as Record<string, unknown>;
    assert.is(info.name, 'openai-mcp-relay');
    assert.is(typeof info.version, 'string');
    // Implementation.title exists from 2025-06-18 on.
    assert.is('title' in info, version >= '2025-06-18');
    assert.type(result.instructions, 'string');
    assert.is(h.session.version, version);
  });
}

for (const requested of ['2099-01-01', '1.0', '2024-10-07', '2026-07-28']) {
  test(`initialize answers 2025-11-25 when asked for ${requested}`, async () => {
    const h = new Harness(app);
    assert.is(resultOf(await h.initialize(requested)).protocolVersion, '2025-11-25');
  });
}

test('requests before initialize get -32600 naming initialize; ping is answered', async () => {
  const h = new Harness(app);
  assert.equal(resultOf(await h.request('ping')), {});
  for (const method of ['tools/list', 'tools/call', 'logging/setLevel', 'no/such/method']) {
    const error = errorOf(await h.request(method, {}));
    assert.is(error.code, -32600, method);
    assert.match(error.message, /initialize/);
  }
});

test('a second initialize is refused and the first negotiation stands', async () => {
  const h = new Harness(app);
  await h.initialize('2025-06-18');
  const error = errorOf(
    await h.request('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }),
  );
  assert.is(error.code, -32600);
  assert.is(h.session.version, '2025-06-18');
});

test('initialize with malformed params is -32602 and leaves the session uninitialized', async () => {
  const cases = [
    {},
    { protocolVersion: 20250618, capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    { protocolVersion: '2025-06-18', clientInfo: { name: 'x', version: '1' } },
    { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x' } },
    { protocolVersion: '2025-06-18', capabilities: [], clientInfo: { name: 'x', version: '1' } },
  ];
  for (const params of cases) {
    const h = new Harness(app);
    const error = errorOf(await h.request('initialize', params));
    assert.is(error.code, -32602, JSON.stringify(params));
    assert.is(h.session.initialized, false);
  }
});

test('notifications/initialized gets no reply, before or after initialize', async () => {
  const h = new Harness(app);
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
  await h.initialize();
  assert.is(await h.send({ jsonrpc: '2.0', method: 'notifications/initialized' }), undefined);
  assert.is(h.notifications.length, 0);
});

test('ping answers {} at any time', async () => {
  const h = new Harness(app);
  await h.initialize();
  assert.equal(await h.send({ jsonrpc: '2.0', id: 'p', method: 'ping' }), { jsonrpc: '2.0', id: 'p', result: {} });
  assert.equal(await h.send({ jsonrpc: '2.0', id: 'q', method: 'ping', params: {} }), { jsonrpc: '2.0', id: 'q', result: {} });
});

test('logging/setLevel takes RFC 5424 levels and rejects others with -32602', async () => {
  const h = new Harness(app);
  await h.initialize();
  for (const level of ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency']) {
    assert.equal(resultOf(await h.request('logging/setLevel', { level })), {});
    assert.is(h.session.logLevel, level);
  }
  for (const level of ['verbose', 'WARNING', 3, undefined]) {
    const error = errorOf(await h.request('logging/setLevel', level === undefined ? {} : { level }));
    assert.is(error.code, -32602);
  }
  assert.is(h.session.logLevel, 'emergency');
});

test.run();
