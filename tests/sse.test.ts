import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SseParser } from '../src/tool/upstream/sse.ts';

const test = suite('event-stream parser for upstream replies');

function parse(chunks: string[], max?: number): string[] {
  const events: string[] = [];
  const parser = new SseParser((event) => events.push(event.data), max);
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  parser.end();
  return events;
}

test('data lines, split anywhere, with LF or CRLF', () => {
  assert.equal(parse(['data: {"a"', ':1}\n\nda', 'ta: [DONE]\r\n\r\n']), ['{"a":1}', '[DONE]']);
});

test('comments and other fields are skipped; multi-line data is joined', () => {
  assert.equal(parse([': keep-alive\n\nevent: x\nid: 3\ndata: a\ndata: b\n\n']), ['a\nb']);
});

test('data without a space after the colon, and a last event without a blank line', () => {
  assert.equal(parse(['data:x\n\ndata: y']), ['x', 'y']);
});

test('an event larger than the cap throws', () => {
  assert.throws(() => parse([`data: ${'z'.repeat(200)}\n\n`], 100), /size limit/);
  assert.throws(() => parse([`data: ${'z'.repeat(200)}`], 100), /size limit/);
});

test('event names are kept with their data (the Responses API names its events)', () => {
  const events: { event: string | undefined; data: string }[] = [];
  const parser = new SseParser((event) => events.push(event));
  parser.push(Buffer.from('event: response.output_text.delta\ndata: {"delta":"a"}\n\ndata: plain\n\n'));
  assert.equal(events, [
    { event: 'response.output_text.delta', data: '{"delta":"a"}' },
    { event: undefined, data: 'plain' },
  ]);
});

test('one long line in small writes is scanned once (linear), not rescanned per write', () => {
  const size = Math.floor(3.9 * 1024 * 1024);
  const line = `data: ${'x'.repeat(size)}\n\n`;
  const events: string[] = [];
  const parser = new SseParser((event) => events.push(event.data));
  for (let at = 0; at < line.length; at += 512) parser.push(Buffer.from(line.slice(at, at + 512)));
  parser.end();
  assert.is(events.length, 1);
  assert.is(events[0]!.length, size);
  assert.is(parser.scanned, line.length, 'every character was searched exactly once');
});

test.run();
