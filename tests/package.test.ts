/** npm pack: the package holds only what a user needs, and npx runs it from the tarball. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('the npm package');
const root = new URL('../', import.meta.url).pathname;
let dir: string;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'relay-pack-'));
});
test.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

test('npm pack holds the bundle, the README, the license and package.json, nothing else', () => {
  const packed = npm(['pack', '--json', '--pack-destination', dir], root);
  assert.is(packed.status, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.equal(info!.files.map((f) => f.path).sort(), ['LICENSE', 'README.md', 'dist/openai-mcp-relay.cjs', 'package.json']);
});

test('installed from the tarball (offline, from the npm cache), `npx openai-mcp-relay --transport stdio` serves', async () => {
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const app = join(dir, 'app');
  spawnSync('mkdir', ['-p', app]);
  const installed = npm(['install', '--offline', '--no-audit', '--no-fund', '--no-save', join(dir, tarball)], app);
  assert.is(installed.status, 0, installed.stderr);
  const child = spawn('npx', ['--offline', 'openai-mcp-relay', '--transport', 'stdio', '--upstream', 'echo'], { cwd: app, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'npx', version: '1' } } })}\n`);
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'from the tarball' } } })}\n`);
  const deadline = Date.now() + 15_000;
  while (!stdout.includes('"id":2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.stdin.end();
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.match(stdout, /"id":1,"result":\{"protocolVersion":"2025-11-25"/);
  assert.match(stdout, /from the tarball/);
  assert.is(code, 0);
});

test.run();
