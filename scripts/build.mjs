// Builds the server into one CommonJS file, minified, with no runtime dependencies:
// dist/openai-mcp-relay.cjs is what npm installs (`bin`), what npx runs and what the container
// image ships. Start-up and idle memory matter to stdio users and small hosts (an ESM entry
// costs Node's loader about 1 MB more), so the upstream client's part of undici, which most
// of the file would be, is bundled on its own, compressed (brotli) and embedded as a string:
// it is decompressed and compiled on the first upstream call, and a process that never makes
// one never parses it (a plain bundle would pre-parse ~300 KB at every start). jose, which
// only OAuth mode needs, is embedded the same way.
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

/**
 * Modules loaded on first use, each bundled on its own, compressed (brotli) and embedded as a
 * string: undici (the first upstream call) and jose (OAuth mode only).
 */
const LAZY = { undici: src('tool/upstream/undici.ts'), jose: src('transports/http/oauth/jose.ts') };
const packed = {};
for (const [name, entry] of Object.entries(LAZY)) {
  const bundled = await build({ ...common, entryPoints: [entry], write: false });
  packed[name] = brotliCompressSync(bundled.outputFiles[0].contents, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).toString(
    'base64',
  );
}

/** Serves `import('./undici.ts')` and `import('./jose.ts')` from the embedded, compressed bundles. */
const embedLazy = {
  name: 'embed-lazy',
  setup(builder) {
    builder.onResolve({ filter: /\/(undici|jose)\.ts$/ }, (args) => {
      const name = /\/(undici|jose)\.ts$/.exec(args.path)[1];
      return args.kind === 'dynamic-import' ? { path: name, namespace: 'embedded' } : undefined;
    });
    builder.onLoad({ filter: /.*/, namespace: 'embedded' }, (args) => ({
      loader: 'js',
      contents: [
        `const packed = ${JSON.stringify(packed[args.path])};`,
        "const code = require('node:zlib').brotliDecompressSync(Buffer.from(packed, 'base64')).toString('utf8');",
        'const loaded = { exports: {} };',
        `require('node:vm').compileFunction(code, ['module', 'exports', 'require'], { filename: ${JSON.stringify(`${args.path} (bundled)`)} })(loaded, loaded.exports, require);`,
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
  plugins: [embedLazy],
});
chmodSync(outfile, 0o755);
