/**
 * Built-in modules loaded when first used rather than at start-up: an idle server then has
 * not paid for them (node:crypto alone allocates enough to grow V8's young generation, about
 * 1 MB of resident memory, before the first request).
 */
let cryptoModule: typeof import('node:crypto') | undefined;

export function crypto(): typeof import('node:crypto') {
  cryptoModule ??= process.getBuiltinModule('node:crypto');
  return cryptoModule;
}
