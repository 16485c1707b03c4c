/** Shared test helpers: an in-process harness for the protocol core, and config builders. */
import { createRelayApp, type RelayApp } from '../src/app.ts';
import type { Clock, Sleep } from '../src/clock.ts';
import type { ManualClock } from './clock.ts';
import { loadConfig, type Config } from '../src/config.ts';
import { silentLogger, type Logger } from '../src/log.ts';
import type { Context, ServerApp } from '../src/protocol/context.ts';
import { handle } from '../src/protocol/handle.ts';
import type { JsonObject, JsonRpcNotification, Reply } from '../src/protocol/messages.ts';
import { Session } from '../src/protocol/session.ts';
import * as assert from 'uvu/assert';
import type { Received } from './fake-upstream.ts';

export function testConfig(env: Record<string, string> = {}): Config {
  const action = loadConfig([], { OPENAI_API_KEY: 'sk-test-key-0123456789abcdef', ...env });
  if (action.action !== 'run') throw new Error('unexpected CLI action');
  return action.config;
}

export function testApp(env: Record<string, string> = {}, log: Logger = silentLogger, clock?: Clock, sleep?: Sleep): RelayApp {
  return createRelayApp(testConfig(env), log, { ...(clock ? { clock } : {}), ...(sleep ? { sleep } : {}) });
}

/**
 * A sleep on a manual clock that records each wait and moves the clock on by it at once
 * (timers falling due on the way fire): code that waits chooses how long, and no test waits
 * for real.
 */
export function virtualSleep(clock: ManualClock, waits: number[] = []): Sleep {
  return (ms, signal) => {
    waits.push(ms);
    clock.advance(ms);
    return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
  };
}

/** Drives the protocol core as a transport would, recording the notifications it sends. */
export class Harness {
  readonly session: Session;
  readonly notifications: JsonRpcNotification[] = [];
  /** What went to the session's own channel (after a reply: a task's progress, its status). */
  readonly home: JsonRpcNotification[] = [];
  readonly ctx: Context;
  private nextId = 1000;

  /** `key`: the client key's name this harness calls with, as an HTTP transport would pass it. */
  constructor(app: ServerApp, session = new Session(), key?: string) {
    this.session = session;
    this.ctx = {
      app,
      session,
      notify: (n) => void this.notifications.push(n),
      home: (n) => void this.home.push(n),
      ...(key !== undefined ? { origin: { transport: 'test', key } } : {}),
    };
  }

  send(message: unknown): Promise<Reply | undefined> {
    return handle(message, this.ctx);
  }

  /** Sends a request with a fresh id and returns the whole response object. */
  async request(method: string, params?: JsonObject, id: string | number = this.nextId++): Promise<JsonObject> {
    const reply = await this.send({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });
    if (reply === undefined || Array.isArray(reply)) throw new Error(`expected one response, got ${JSON.stringify(reply)}`);
    return reply as unknown as JsonObject;
  }

  async initialize(protocolVersion = '2025-11-25'): Promise<JsonObject> {
    const reply = await this.request('initialize', {
      protocolVersion,
      capabilities: {},
      clientInfo: { name: 'harness', version: '1.0.0' },
    });
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return reply;
  }

  callTool(args: JsonObject, meta?: JsonObject, id?: string | number): Promise<JsonObject> {
    return this.request('tools/call', { name: 'generate', arguments: args, ...(meta ? { _meta: meta } : {}) }, id);
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The `result` of a response, or a thrown error showing what came back instead. */
export function resultOf(response: JsonObject): JsonObject {
  if (!('result' in response)) throw new Error(`expected a result, got ${JSON.stringify(response)}`);
  return response.result as JsonObject;
}

export function errorOf(response: JsonObject): { code: number; message: string; data?: unknown } {
  if (!('error' in response)) throw new Error(`expected an error, got ${JSON.stringify(response)}`);
  return response.error as { code: number; message: string; data?: unknown };
}

export function textOf(result: JsonObject): string {
  const content = result.content as { type: string; text: string }[];
  return content.map((block) => block.text).join('');
}

/**
 * Runs `trigger` (a cancel, a disconnect, a signal) and asserts that the upstream request was
 * abandoned, not finished, within `withinMs` of it.
 */
export async function assertAbortedPromptly(request: Received | undefined, trigger: () => unknown, withinMs = 200): Promise<void> {
  if (!request) throw new Error('no upstream request to watch');
  const triggeredAt = Date.now();
  await trigger();
  const closed = await request.closed;
  assert.ok(closed.aborted, 'the upstream request was abandoned, not finished');
  assert.ok(closed.at - triggeredAt < withinMs, `upstream closed ${closed.at - triggeredAt} ms after the trigger`);
}

/**
 * Waits for a positive signal: polls `condition` until it holds (bounded), then asserts it.
 * For state the code reaches on its own schedule (a socket closing, a slot freed); never a
 * substitute for checking that something did not happen.
 */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.ok(await condition(), what);
}

/**
 * A sleep the test releases one wait at a time: the code under test decides how long it
 * waits (`waits`), the test decides when that wait is over (`release`, which moves the manual
 * clock on by it). A wait whose signal aborts rejects at once, as a real sleep does.
 */
export class SteppedSleep {
  readonly waits: number[] = [];
  private readonly clock: ManualClock;
  private readonly pending: { ms: number; resolve: () => void }[] = [];
  private wake: (() => void) | undefined;

  constructor(clock: ManualClock) {
    this.clock = clock;
  }

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const entry = {
        ms,
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const index = this.pending.indexOf(entry);
        if (index >= 0) this.pending.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waits.push(ms);
      this.pending.push(entry);
      this.wake?.();
    });

  /** Waits until the code sleeps, and returns how long it asked to. */
  async next(): Promise<number> {
    for (let i = 0; i < 1000 && this.pending.length === 0; i++) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 10);
      });
    }
    const entry = this.pending[0];
    if (!entry) throw new Error('the code never slept');
    return entry.ms;
  }

  /** Ends the oldest wait: the clock moves on by it. */
  async release(): Promise<number> {
    const ms = await this.next();
    const entry = this.pending.shift()!;
    this.clock.advance(ms);
    entry.resolve();
    return ms;
  }
}
