// Runs the bundle smoke test (tests/bundle.test.ts) under other Node majors, fetched as the
// npm registry's `node` package. Prints each run's output and one total line
// "N passed, N failed"; exits 1 on any failure.
import { spawnSync } from 'node:child_process';

const versions = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['22', '24'];
let passed = 0;
let failed = 0;
for (const version of versions) {
  process.stdout.write(`--- bundle smoke test on Node ${version}\n`);
  const run = spawnSync('npx', ['-y', '-p', `node@${version}`, 'node', '--import', 'tsx', 'tests/run.ts', 'bundle'], {
    encoding: 'utf8',
    env: { ...process.env, TEST_VERBOSE: '1' },
  });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.replace(/^npm warn.*\n/gm, '');
  process.stdout.write(output);
  const summary = [...output.matchAll(/^(\d+) passed, (\d+) failed$/gm)].at(-1);
  if (!summary || !output.includes(`on Node ${version}.`)) {
    failed += 1;
    process.stdout.write(`Node ${version}: the smoke test did not run\n`);
    continue;
  }
  passed += Number(summary[1]);
  failed += Number(summary[2]) + (run.status === 0 ? 0 : Number(summary[2]) === 0 ? 1 : 0);
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
