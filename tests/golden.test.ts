/**
 * Golden wire exchanges (tests/fixtures/modern): exact request bytes in, exact status and bytes
 * out, over HTTP and (where the fixture says) stdio, one test per fixture and transport. Each
 * fixture names the spec rule it pins in its `rationale`. After a deliberate change,
 * `UPDATE_FIXTURES=1 npx tsx tests/run.ts golden` rewrites the expected outputs.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VERSION } from '../src/version.ts';
import { KEY, raw, startHttp, type TestServer } from './http-helpers.ts';
import { StdioProcess } from './stdio-process.ts';

interface Fixture {
  name: string;
  rationale: string;
  transports: ('stdio' | 'http')[];
  request: { method?: string; headers: Record<string, string>; body: string };
  http: { status: number; body: string };
  stdio?: string;
}

const test = suite('golden 2026-07-28 exchanges');
const update = process.env.UPDATE_FIXTURES === '1';
const dir = new URL('./fixtures/modern/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const fixtures = files.map((f) => ({ file: new URL(f, dir), fixture: JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Fixture }));
// The server's version appears in its answers; fixtures hold a placeholder.
const expand = (text: string): string => text.replaceAll('${VERSION}', VERSION);
const placeholder = (text: string): string => text.replaceAll(VERSION, '${VERSION}');

let server: TestServer;
let stdio: StdioProcess;
test.before(async () => {
  server = await startHttp({ MCP_UPSTREAM: 'echo' });
  stdio = new StdioProcess(['--upstream', 'echo', '--log-level', 'silent'], {});
});
test.after(async () => {
  stdio.kill();
  await server.close();
  if (update) for (const { file, fixture } of fixtures) writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
});

test('every fixture names the spec rule it pins', () => {
  assert.ok(fixtures.length >= 28);
  for (const { fixture } of fixtures)
    assert.match(fixture.rationale, /^20\d\d-\d\d-\d\d \S+/, `${fixture.name}: a rationale starting with the revision and the spec page`);
});

for (const { fixture } of fixtures) {
  test(`HTTP ${fixture.name}: ${fixture.rationale}`, async () => {
    const res = await raw(server.url, {
      method: fixture.request.method ?? 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${KEY}`,
        ...fixture.request.headers,
      },
      ...(fixture.request.method ? {} : { body: fixture.request.body }),
    });
    if (update) fixture.http = { status: res.status, body: placeholder(res.text) };
    assert.is(res.status, fixture.http.status);
    assert.is(res.text, expand(fixture.http.body));
  });

  if (!fixture.transports.includes('stdio')) continue;
  test(`stdio ${fixture.name}: the same bytes as over HTTP`, async () => {
    const id = (JSON.parse(fixture.request.body) as { id: unknown }).id;
    stdio.send(fixture.request.body);
    await stdio.waitFor((m) => m.id === id);
    const line = stdio.stdout.split('\n').find((l) => l.startsWith(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},`))!;
    if (update) fixture.stdio = placeholder(line);
    assert.is(line, expand(fixture.stdio!));
    assert.is(line, expand(fixture.http.body), 'stdio and HTTP agree');
    assert.equal(stdio.junk, []);
  });
}

test.run();
