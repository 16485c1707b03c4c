/**
 * The README's snippets, tried as a new user would: every JSON block parses, every stdio
 * client entry starts the server and answers initialize (npx mapped to the built bundle),
 * every HTTP entry names /mcp and a key header the server accepts, and the quick start runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/config.ts';
import { initializeBody, raw, startHttp } from './http-helpers.ts';
import { BIN } from './stdio-process.ts';

const test = suite('README snippets');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = (lang: string): string[] => [...readme.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1]!);

interface ServerEntry {
  type?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  url?: string;
  headers?: Record<string, string>;
}

const entries: [string, ServerEntry][] = blocks('json')
  .map((text) => JSON.parse(text) as { mcpServers?: Record<string, ServerEntry>; servers?: Record<string, ServerEntry> })
  .flatMap((doc) => Object.entries({ ...doc.mcpServers, ...doc.servers }));

/** Starts the command a client would start, with npx resolved to the built bundle. */
async function initializeVia(command: string, args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin.write(`${JSON.stringify(initializeBody())}\n`);
  const deadline = Date.now() + 15_000;
  while (!stdout.includes('"id":"init"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
  return stdout;
}

test('agent CLI commands that pass the server flags put -- before them (Gemini CLI swallows flags it knows otherwise)', () => {
  const commands = blocks('sh')
    .flatMap((block) => block.split('\n'))
    .filter((line) => /^(gemini|codex|claude) mcp add /.test(line));
  for (const cli of ['gemini', 'codex', 'claude'])
    assert.ok(
      commands.some((line) => line.startsWith(`${cli} `)),
      `a ${cli} snippet`,
    );
  for (const line of commands.filter((l) => l.includes('openai-mcp-relay --transport stdio'))) {
    assert.ok(
      line.indexOf(' -- ') !== -1 && line.indexOf(' -- ') < line.indexOf('openai-mcp-relay'),
      `-- before the server's arguments: ${line}`,
    );
  }
  const toml = blocks('toml').join('\n');
  assert.match(toml, /^\[mcp_servers\.openai\]$/m);
  assert.match(toml, /^args = \["-y", "openai-mcp-relay", "--transport", "stdio"\]$/m);
});

test('every JSON snippet parses, and there are client entries for stdio and HTTP', () => {
  assert.ok(entries.filter(([, e]) => e.command).length >= 4, 'stdio entries');
  assert.ok(entries.filter(([, e]) => e.url).length >= 2, 'HTTP entries');
});

test('every stdio entry passes --transport stdio and valid flags, and its npx form starts and answers initialize', async () => {
  for (const [name, entry] of entries.filter(([, e]) => e.command)) {
    const args = entry.args ?? [];
    assert.ok(args.join(' ').includes('--transport stdio'), `${name}: --transport stdio`);
    const flags = args.slice(args.indexOf('--transport'));
    assert.is(loadConfig(flags, entry.env ?? {}).action, 'run', `${name}: flags`);
    if (entry.command === 'docker') {
      assert.ok(args[0] === 'run' && args.includes('-i') && args.includes('--rm'), `${name}: docker run -i --rm`);
      assert.ok(args.includes('openai-mcp-relay'), `${name}: the image built as in the README`);
      assert.ok(args.includes('OPENAI_API_KEY'), `${name}: the key passed from env, not written in args`);
      continue;
    }
    assert.is(entry.command, 'npx', name);
    assert.equal(args.slice(0, 2), ['-y', 'openai-mcp-relay'], name);
    const stdout = await initializeVia(process.execPath, [BIN, ...args.slice(2)], entry.env ?? {});
    assert.match(stdout, /"id":"init","result":\{"protocolVersion":"2025-11-25"/, `${name} answered initialize`);
  }
});

test('every HTTP entry names /mcp on port 8000 and sends a key in a header the server accepts', async () => {
  for (const [name, entry] of entries.filter(([, e]) => e.url)) {
    const url = new URL(entry.url!);
    assert.is(url.pathname, '/mcp', name);
    assert.is(url.port, '8000', name);
    const [header, value] = Object.entries(entry.headers ?? {})[0] ?? [];
    assert.ok(header && value, `${name}: a key header`);
    // The snippet's placeholder (an ${input:…} or a literal) becomes the server's key.
    const key = value!.replace(/^Bearer\s+/i, '');
    const server = await startHttp({ MCP_UPSTREAM: 'echo' }, { apiKeys: [{ name: 'readme', key }] });
    try {
      const res = await raw(server.url, {
        path: url.pathname,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', [header!]: value! },
        body: initializeBody(),
      });
      assert.is(res.status, 200, `${name}: ${res.text}`);
    } finally {
      await server.close();
    }
  }
});

test('the Inspector command starts the server with valid flags', () => {
  const line = blocks('sh')
    .join('\n')
    .split('\n')
    .find((l) => l.includes('@modelcontextprotocol/inspector'));
  assert.ok(line, 'an Inspector command');
  const args = line!.split(/\s+/);
  const at = args.indexOf('openai-mcp-relay');
  assert.ok(at > 0);
  assert.is(loadConfig(args.slice(at + 1), {}).action, 'run');
});

test('the quick start: npm start -- --transport stdio --upstream echo answers initialize', async () => {
  const quick = blocks('sh')[0]!.split('\n')[0]!;
  assert.is(quick, 'npm ci && npm start -- --transport stdio --upstream echo');
  const stdout = await initializeVia('npm', ['start', '--', '--transport', 'stdio', '--upstream', 'echo'], {
    HOME: process.env.HOME ?? '',
  });
  assert.match(stdout, /"id":"init","result"/);
});

test.run();
