/**
 * Runs every tests/*.test.ts file in its own Node process (isolation: a leaked handle or a
 * crash stays in its file), two at a time, each under a time limit. Prints each file's uvu
 * output, then one line `N passed, N failed` from uvu's own counts. Exit 1 on any failure.
 *
 *   tsx tests/run.ts [substring ...]
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => filters.length === 0 || filters.some((f) => name.includes(f)))
  .sort();
const limitMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 180_000);
const parallel = Number(process.env.TEST_CONCURRENCY ?? Math.min(2, availableParallelism()));

interface Outcome {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  ms: number;
}

function runFile(file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${dir}${file}`], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n  ✘ ${file} did not finish within ${limitMs} ms; killed\n`;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const total = count(output, 'Total');
      const passed = count(output, 'Passed');
      const skipped = count(output, 'Skipped');
      let failed = total === undefined || passed === undefined ? 1 : total - passed;
      // A file that exits non-zero (a crash after its summary, an assertion in a hook) fails.
      if (code !== 0 && failed === 0) failed = 1;
      resolve({ file, passed: passed ?? 0, failed, skipped: skipped ?? 0, output, ms: Date.now() - started });
    });
  });
}

function count(output: string, label: string): number | undefined {
  const matches = [...output.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))];
  const last = matches.at(-1);
  return last ? Number(last[1]) : undefined;
}

const queue = [...files];
const outcomes: Outcome[] = [];
await Promise.all(
  Array.from({ length: Math.max(1, parallel) }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const outcome = await runFile(file);
      outcomes.push(outcome);
      const status = outcome.failed > 0 ? 'FAIL' : 'ok  ';
      process.stdout.write(`${status} ${file} (${outcome.passed} passed, ${outcome.failed} failed, ${outcome.ms} ms)\n`);
      if (outcome.failed > 0 || process.env.TEST_VERBOSE) process.stdout.write(`${outcome.output}\n`);
    }
  }),
);
const passed = outcomes.reduce((sum, o) => sum + o.passed, 0);
const failed = outcomes.reduce((sum, o) => sum + o.failed, 0);
if (files.length === 0) process.stdout.write('no test files matched\n');
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
