import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LineReader, type LineEvent } from '../src/transports/line-reader.ts';

const test = suite('stdio line reader');

function read(chunks: (string | Buffer)[], max = 64): LineEvent[] {
  const events: LineEvent[] = [];
  const reader = new LineReader(max, (e) => events.push(e));
  for (const chunk of chunks) reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  reader.end();
  return events;
}

test('splits on newlines across chunk boundaries and drops a trailing CR', () => {
  assert.equal(read(['{"a":', '1}\n{"b"', ':2}\r\n', '{"c":3}']), [
    { kind: 'line', text: '{"a":1}' },
    { kind: 'line', text: '{"b":2}' },
    { kind: 'line', text: '{"c":3}' },
  ]);
});

test('blank lines are skipped', () => {
  assert.equal(read(['\n\n  \n{"a":1}\n\n']), [{ kind: 'line', text: '{"a":1}' }]);
});

test('a multi-byte character split across chunks decodes whole', () => {
  const bytes = Buffer.from('"héllo ✓"\n');
  assert.equal(read([bytes.subarray(0, 3), bytes.subarray(3, 10), bytes.subarray(10)]), [{ kind: 'line', text: '"héllo ✓"' }]);
});

test('invalid UTF-8 is reported, and the next line is read normally', () => {
  assert.equal(read([Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), '{"ok":1}\n']), [
    { kind: 'invalid-utf8' },
    { kind: 'line', text: '{"ok":1}' },
  ]);
});

test('a line over the cap is dropped whole and reported once, then reading goes on', () => {
  const long = 'x'.repeat(100);
  assert.equal(read([long.slice(0, 50), long.slice(50), '\n{"ok":1}\n'], 64), [
    { kind: 'oversize', bytes: 100 },
    { kind: 'line', text: '{"ok":1}' },
  ]);
});

test('a line of exactly the cap is accepted', () => {
  const exact = 'y'.repeat(64);
  assert.equal(read([`${exact}\n`], 64), [{ kind: 'line', text: exact }]);
});

test.run();
