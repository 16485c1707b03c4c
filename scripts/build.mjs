// Builds the server into one CommonJS file, minified, with no runtime dependencies:
// dist/openai-mcp-relay.cjs is what npm installs (`bin`), what npx runs and what the container
// image ships. Start-up and idle memory matter to stdio users and small hosts (an ESM entry
// costs Node's loader about 1 MB more), so the upstream client's part of undici, which most
// of the file would be, is bundled on its own, compressed (brotli) and embedded as a string:
// it is decompressed and compiled on the first upstream call, and a process that never makes
// one never parses it (a plain bundle would pre-parse ~300 KB at every start).
import { readFileSync, chmodSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const src = (path) => new URL(`../src/${path}`, import.meta.url).pathname;
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.18',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
};

const undici = await build({ ...common, entryPoints: [src('tool/upstream/undici.ts')], write: false });
const compressed = brotliCompressSync(undici.outputFiles[0].contents, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });

/** Serves `import('./undici.ts')` from the embedded, compressed bundle. */
const embedUndici = {
  name: 'embed-undici',
  setup(builder) {
    builder.onResolve({ filter: /\/undici\.ts$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: 'undici', namespace: 'embedded' } : undefined,
    );
    builder.onLoad({ filter: /.*/, namespace: 'embedded' }, () => ({
      loader: 'js',
      contents: [
        `const packed = ${JSON.stringify(compressed.toString('base64'))};`,
        "const code = require('node:zlib').brotliDecompressSync(Buffer.from(packed, 'base64')).toString('utf8');",
        'const loaded = { exports: {} };',
        "require('node:vm').compileFunction(code, ['module', 'exports', 'require'], { filename: 'undici (bundled)' })(loaded, loaded.exports, require);",
        'module.exports = loaded.exports;',
      ].join('\n'),
    }));
  },
};

const outfile = new URL('../dist/openai-mcp-relay.cjs', import.meta.url).pathname;
await build({
  ...common,
  entryPoints: [src('main.ts')],
  outfile,
  // import.meta.url only serves the from-source branch of src/version.ts, which the version
  // define removes.
  define: { __RELAY_VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '""' },
  banner: { js: '#!/usr/bin/env node' },
  plugins: [embedUndici],
});
chmodSync(outfile, 0o755);
