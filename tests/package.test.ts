/** npm pack: the package holds only what a user needs, and npx runs it from the tarball. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });

test('the package has no runtime dependencies: everything it runs is inside the one bundled file', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.dependencies ?? {}, {});
  assert.is(pkg.optionalDependencies, undefined);
  assert.is(pkg.peerDependencies, undefined);
});

test('npm pack holds the bundle, the README, the license and package.json, nothing else', () => {
  const packed = npm(['pack', '--json', '--pack-destination', dir], root);
  assert.is(packed.status, 0, packed.stderr);
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  assert.equal(info!.files.map((f) => f.path).sort(), ['LICENSE', 'README.md', 'dist/openai-mcp-relay.cjs', 'package.json']);
  assert.is(info!.files.filter((f) => /\.(c|m)?js$/.test(f.path)).length, 1, 'one JavaScript file');
});

test('installed from the tarball in an empty folder with no network, `npx openai-mcp-relay --transport stdio` answers a call', async () => {
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const app = join(dir, 'app');
  spawnSync('mkdir', ['-p', app]);
  const installed = npm(
    ['install', '--offline', '--no-audit', '--no-fund', '--no-save', '--registry', 'http://127.0.0.1:9/', join(dir, tarball)],
    app,
  );
  assert.is(installed.status, 0, installed.stderr);
  assert.equal(
    readdirSync(join(app, 'node_modules')).filter((name) => !name.startsWith('.')),
    ['openai-mcp-relay'],
    'nothing else was installed',
  );
  // No proxy and no registry reachable: npx must run what is installed.
  const offline = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_offline: 'true',
  };
  const child = spawn('npx', ['--offline', 'openai-mcp-relay', '--transport', 'stdio', '--upstream', 'echo'], { cwd: app, env: offline });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stdin.write(
    `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'npx', version: '1' } } })}\n`,
  );
  child.stdin.write(
    `${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'generate', arguments: { prompt: 'from the tarball' } } })}\n`,
  );
  const deadline = Date.now() + 15_000;
  while (!stdout.includes('"id":2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.stdin.end();
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.match(stdout, /"id":1,"result":\{"protocolVersion":"2025-11-25"/);
  assert.match(stdout, /from the tarball/);
  assert.is(code, 0);
});

test.run();
