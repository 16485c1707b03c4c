// Preloaded into the server by tests/soak.test.ts (with --expose-gc): on SIGUSR2, collect
// garbage and write process.memoryUsage() to $GC_REPORT, so the soak measures live memory.
'use strict';
process.on('SIGUSR2', () => {
  global.gc();
  global.gc();
  require('node:fs').writeFileSync(process.env.GC_REPORT, JSON.stringify(process.memoryUsage()));
});
