// Strict mode against clients we did not write: the official SDK clients (v1 and v2, stdio and
// Streamable HTTP, the initialize era and 2026-07-28) run a normal session and the relay, under
// MCP_STRICT=reject, reports no fault at all. A rule that fires on a correct client is a bug in the rule.
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttpTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport as ModernStdioTransport } from '@modelcontextprotocol/client/stdio';
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport as LegacyStdioTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as LegacyHttpTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../src/log.ts';
import { eventually } from './helpers.ts';
import { KEY, startHttp, type TestServer } from './http-helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('strict mode: the official SDK clients make no fault');
const lines: string[] = [];
let server: TestServer;
const auth = { authorization: `Bearer ${KEY}` };

test.before(async () => {
  const log = createLogger({ level: 'info', write: (line) => void lines.push(line) });
  server = await startHttp({ MCP_UPSTREAM: 'echo', MCP_STRICT: 'reject' }, {}, log);
});
test.after(() => server.close());

const faultsIn = (text: string[]) => text.filter((line) => line.includes('"client fault"'));

interface Callable {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(
    params: { name: string; arguments: Record<string, unknown> },
    schema?: undefined,
    options?: { onprogress?: (p: { message?: string }) => void },
  ): Promise<{ structuredContent?: unknown }>;
}

/** What a normal session does: list, call, call with progress, call again. */
async function normalSession(client: Callable): Promise<void> {
  const { tools } = await client.listTools();
  assert.equal(
    tools.map((t) => t.name),
    ['generate'],
  );
  const first = await client.callTool({ name: 'generate', arguments: { prompt: 'one' } });
  assert.is((first.structuredContent as { text: string }).text, 'one');
  const seen: string[] = [];
  const streamed = await client.callTool({ name: 'generate', arguments: { prompt: 'two' } }, undefined, {
    onprogress: (p) => void seen.push(p.message ?? ''),
  });
  assert.is((streamed.structuredContent as { text: string }).text, 'two');
  const [a, b] = await Promise.all([
    client.callTool({ name: 'generate', arguments: { prompt: 'three' } }),
    client.callTool({ name: 'generate', arguments: { prompt: 'four' } }),
  ]);
  assert.is((a.structuredContent as { text: string }).text, 'three');
  assert.is((b.structuredContent as { text: string }).text, 'four');
}

test('v1 client, Streamable HTTP, with its GET stream, log level and DELETE at the end', async () => {
  const transport = new LegacyHttpTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: auth } });
  const client = new LegacyClient({ name: 'sdk-v1', version: '1.0.0' });
  await client.connect(transport);
  await client.setLoggingLevel('warning');
  await normalSession(client as unknown as Callable);
  await transport.terminateSession();
  await client.close();
  await eventually(() => lines.some((l) => l.includes('"client faults this session"')), 'the session summary');
  assert.equal(faultsIn(lines), []);
  assert.match(lines.find((l) => l.includes('"client faults this session"'))!, /"total":0/);
});

test('v1 client, the 2024-11-05 SSE transport', async () => {
  const client = new LegacyClient({ name: 'sdk-v1-sse', version: '1.0.0' });
  await client.connect(new SSEClientTransport(new URL(`${server.url}/sse`), { requestInit: { headers: auth } }));
  await normalSession(client as unknown as Callable);
  await client.close();
  assert.equal(faultsIn(lines), []);
});

test('v2 client, initialize era, Streamable HTTP', async () => {
  const transport = new ModernHttpTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: auth } });
  const client = new ModernClient({ name: 'sdk-v2', version: '1.0.0' });
  await client.connect(transport);
  assert.is(client.getProtocolEra(), 'legacy');
  await normalSession(client as unknown as Callable);
  await transport.terminateSession();
  await client.close();
  assert.equal(faultsIn(lines), []);
});

test('v2 client pinned to 2026-07-28, Streamable HTTP', async () => {
  const client = new ModernClient({ name: 'sdk-v2', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new ModernHttpTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: auth } }));
  assert.is(client.getProtocolEra(), 'modern');
  await normalSession(client as unknown as Callable);
  await client.close();
  assert.equal(faultsIn(lines), []);
});

/** The relay's stderr over a whole stdio session, up to its summary line. */
async function stderrOf(stream: Readable | null, run: () => Promise<void>, close: () => Promise<void>): Promise<string[]> {
  let text = '';
  stream?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  await run();
  await close();
  await eventually(() => text.includes('"client faults this session"'), 'the stdio summary line');
  return text.split('\n');
}

const stdioArgs = [BIN, '--transport', 'stdio', '--upstream', 'echo', '--strict', 'reject'];

test('v1 client over stdio', async () => {
  const transport = new LegacyStdioTransport({
    command: process.execPath,
    args: stdioArgs,
    env: { PATH: process.env.PATH ?? '' },
    stderr: 'pipe',
  });
  const client = new LegacyClient({ name: 'sdk-v1-stdio', version: '1.0.0' });
  const err = await stderrOf(
    transport.stderr as Readable | null,
    async () => {
      await client.connect(transport);
      await client.setLoggingLevel('warning');
      await normalSession(client as unknown as Callable);
    },
    () => client.close(),
  );
  assert.equal(faultsIn(err), []);
  assert.match(err.find((l) => l.includes('"client faults this session"'))!, /"total":0/);
});

test('v2 client over stdio, initialize era and pinned to 2026-07-28', async () => {
  for (const options of [{}, { versionNegotiation: { mode: { pin: '2026-07-28' as const } } }]) {
    const transport = new ModernStdioTransport({
      command: process.execPath,
      args: stdioArgs,
      env: { PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    const client = new ModernClient({ name: 'sdk-v2-stdio', version: '1.0.0' }, options);
    const err = await stderrOf(
      transport.stderr as Readable | null,
      async () => {
        await client.connect(transport);
        await normalSession(client as unknown as Callable);
      },
      () => client.close(),
    );
    assert.equal(faultsIn(err), []);
  }
});

test.run();
