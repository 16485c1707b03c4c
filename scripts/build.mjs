// Bundles the server into one ESM file, dist/openai-mcp-relay.mjs, that runs with no
// node_modules beside it. Dependencies are inlined; undici is still loaded lazily (on the
// first upstream call), because esbuild keeps dynamic imports of bundled modules deferred.
import { readFileSync, chmodSync } from 'node:fs';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const outfile = new URL('../dist/openai-mcp-relay.mjs', import.meta.url).pathname;

await build({
  entryPoints: [new URL('../src/main.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  minifySyntax: true,
  legalComments: 'none',
  define: { __RELAY_VERSION__: JSON.stringify(pkg.version) },
  // Bundled CommonJS (undici) calls require() for node: built-ins; give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __relayCreateRequire } from 'node:module';\nconst require = __relayCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync(outfile, 0o755);
