import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isoTimestamp } from '../src/log.ts';

test('log timestamps are exactly toISOString, across milliseconds, seconds, days and a clock set back', () => {
  const base = Date.UTC(2026, 11, 31, 23, 59, 58);
  const moments = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2001, 86_400_000 + 7, 5, 3_600_000 * 24 * 400 + 42];
  for (const offset of moments) {
    const ms = base + offset;
    assert.is(isoTimestamp(ms), new Date(ms).toISOString(), `at ${ms}`);
  }
  for (let ms = base - 3000; ms < base + 3000; ms += 7) assert.is(isoTimestamp(ms), new Date(ms).toISOString());
  assert.is(isoTimestamp(0), '1970-01-01T00:00:00.000Z');
});

test.run();
