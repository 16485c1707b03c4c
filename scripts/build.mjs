// Builds the server into single CommonJS files, minified, because start-up and idle memory
// matter to stdio users and small hosts (an ESM entry costs Node's loader about 1 MB more):
//
//   dist/openai-mcp-relay.cjs             what npm installs (`bin`); undici, a runtime dependency,
//                                          is required from node_modules, and only on the first
//                                          upstream call, so its code is not even parsed before.
//   dist/openai-mcp-relay.standalone.cjs  everything inlined: runs with no node_modules at all
//                                          (the container image ships this one file).
import { readFileSync, chmodSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.18',
  minify: true,
  legalComments: 'none',
  // import.meta.url only serves the from-source branch of src/version.ts, which the version
  // define removes.
  define: { __RELAY_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '""' },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
};

for (const [file, external] of [
  ['openai-mcp-relay.cjs', ['undici', 'undici/*']],
  ['openai-mcp-relay.standalone.cjs', []],
]) {
  const outfile = new URL(`../dist/${file}`, import.meta.url).pathname;
  await build({ ...common, outfile, external });
  chmodSync(outfile, 0o755);
}
