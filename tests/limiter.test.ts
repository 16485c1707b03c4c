import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Limiter, PushedOut, type Release } from '../src/tool/limiter.ts';

const test = suite('fair limiter: deficit round-robin over per-key queues');

const share = (weight = 1, maxCalls = 1000) => ({ weight, maxCalls });
const signal = () => new AbortController().signal;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Starts calls and records the order in which they get a slot. */
function recorder(limiter: Limiter) {
  const granted: string[] = [];
  const releases: Release[] = [];
  const refused: string[] = [];
  const start = (key: string, label: string, weight = 1, maxCalls = 1000, abort?: AbortSignal) => {
    const slot = limiter.acquire(key, abort ?? signal(), share(weight, maxCalls));
    if (!(slot instanceof Promise)) {
      refused.push(`${label}:${slot.refused}`);
      return;
    }
    slot.then(
      (release) => {
        granted.push(label);
        releases.push(release);
      },
      (reason) => refused.push(`${label}:${reason instanceof PushedOut ? 'pushed-out' : 'aborted'}`),
    );
  };
  /** Ends the oldest running call, so its slot passes on. */
  const finishOne = async () => {
    releases.shift()!();
    await tick();
  };
  return { granted, refused, start, finishOne };
}

test("a quiet key waiting behind a flood is served within one round: after the flood's current turn", async () => {
  const limiter = new Limiter(2, 100);
  const r = recorder(limiter);
  for (let i = 0; i < 20; i++) r.start('flood', `f${i}`);
  await tick();
  assert.equal(r.granted, ['f0', 'f1']);
  r.start('quiet', 'q0');
  await r.finishOne();
  await r.finishOne();
  // Two releases: fewer than the calls running, so well within one upstream call's time.
  assert.equal(r.granted.slice(2), ['f2', 'q0']);
  r.start('quiet', 'q1');
  await r.finishOne();
  await r.finishOne();
  assert.equal(r.granted.slice(4), ['f3', 'q1'], 'the flood and the quiet key alternate');
  assert.is(limiter.queued, 16, 'the flood waits behind its own calls');
});

test('several keys with calls waiting are served in turn, each `weight` calls a turn', async () => {
  const limiter = new Limiter(1, 100);
  const r = recorder(limiter);
  r.start('x', 'hold');
  await tick();
  for (let i = 0; i < 4; i++) r.start('a', `a${i}`, 2);
  for (let i = 0; i < 4; i++) r.start('b', `b${i}`, 1);
  for (let i = 0; i < 4; i++) r.start('c', `c${i}`, 1);
  for (let i = 0; i < 12; i++) await r.finishOne();
  assert.equal(r.granted.slice(1), ['a0', 'a1', 'b0', 'c0', 'a2', 'a3', 'b1', 'c1', 'b2', 'c2', 'b3', 'c3']);
});

test('a key that leaves the round and comes straight back joins behind the others', async () => {
  const limiter = new Limiter(1, 100);
  const r = recorder(limiter);
  r.start('f', 'f0');
  await tick();
  for (let i = 1; i < 6; i++) r.start('f', `f${i}`);
  r.start('q', 'q0');
  await r.finishOne();
  await r.finishOne();
  assert.equal(r.granted, ['f0', 'f1', 'q0']);
  r.start('q', 'q1'); // at once, before the next slot frees
  await r.finishOne();
  await r.finishOne();
  assert.equal(r.granted, ['f0', 'f1', 'q0', 'f2', 'q1'], 'no key gets two turns in a row by re-joining');
});

test('a full waiting room: a newcomer takes the place of the newest call of the key holding the most', async () => {
  const limiter = new Limiter(1, 4);
  const r = recorder(limiter);
  r.start('flood', 'f0');
  await tick();
  for (let i = 1; i <= 4; i++) r.start('flood', `f${i}`);
  assert.is(limiter.queued, 4);
  r.start('flood', 'f5');
  assert.equal(r.refused, ['f5:busy'], 'the flood cannot push itself out');
  r.start('quiet', 'q0');
  await tick();
  assert.equal(r.refused, ['f5:busy', 'f4:pushed-out']);
  assert.is(limiter.queued, 4);
  r.start('quiet', 'q1');
  await tick();
  assert.equal(r.refused, ['f5:busy', 'f4:pushed-out', 'f3:pushed-out'], 'shares even out: 2 and 2');
  r.start('quiet', 'q2');
  assert.equal(r.refused.at(-1), 'q2:busy', 'a key never pushes out one holding no more than it would');
});

test('a key at its own cap is refused at once; other keys are not', async () => {
  const limiter = new Limiter(1, 100);
  const r = recorder(limiter);
  r.start('a', 'a0', 1, 2);
  r.start('a', 'a1', 1, 2);
  r.start('a', 'a2', 1, 2);
  r.start('b', 'b0', 1, 2);
  await tick();
  assert.equal(r.refused, ['a2:caller']);
  assert.is(limiter.inFlight('a'), 2);
  assert.is(limiter.inFlight('b'), 1);
  const refusal = limiter.acquire('a', signal(), share(1, 2));
  assert.equal(refusal, { refused: 'caller', inFlight: 2, limit: 2 });
});

test('a waiting call that is aborted leaves its queue, and the round goes on without it', async () => {
  const limiter = new Limiter(1, 100);
  const r = recorder(limiter);
  r.start('a', 'a0');
  await tick();
  const gone = new AbortController();
  r.start('b', 'b0', 1, 100, gone.signal);
  r.start('c', 'c0');
  gone.abort(new Error('cancelled'));
  await tick();
  assert.is(limiter.queued, 1);
  await r.finishOne();
  assert.equal(r.granted, ['a0', 'c0']);
  assert.equal(r.refused, ['b0:aborted']);
  await r.finishOne();
  assert.is(limiter.running, 0);
  assert.is(limiter.inFlight('a') + limiter.inFlight('b') + limiter.inFlight('c'), 0, 'nothing is kept for keys with nothing in flight');
});

test.run();
