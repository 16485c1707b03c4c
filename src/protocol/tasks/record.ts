import type { CancelSignal } from '../../cancel.ts';
import type { Clock } from '../../clock.ts';
import type { JsonRpcNotification } from '../messages.ts';
import { type TaskOutcome, type TaskView, withRelatedTask } from './task.ts';

/** Where a task's notifications go: a live request's stream, or the session's own channel. */
export type Channel = (message: JsonRpcNotification) => void;

/**
 * A task held by this process: its work's AbortController (the task outlives the request
 * that made it: only tasks/cancel, its TTL or the server stopping end it), its state, and
 * the channels its notifications can take.
 */
export class TaskRecord implements TaskView {
  id: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly ttlMs: number;
  readonly pollIntervalMs: number;
  /** Order of creation in the store, for tasks/list cursors. */
  readonly seq: number;
  readonly controller = new AbortController();
  state: 'working' | 'done' | 'cancelled' = 'working';
  outcome: TaskOutcome | undefined;
  statusMessage: string | undefined;
  lastUpdatedAt: number;
  /** The upstream reference the id is signed over, once the work lives there (a background response). */
  ref: string | undefined;
  /** Bytes of the stored outcome. */
  bytes = 0;
  /** The session's channel (stdio, a session's GET stream), when there is one; dropped once the task ends. */
  home: Channel | undefined;
  /** The client has been given the task (its id is final): notifications from now on carry it. */
  answered = false;
  private readonly clock: Clock;
  /** Requests waiting on the task (the one that made it, tasks/result): the newest takes its notifications. */
  private readonly listeners: Channel[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(init: { id: string; owner: string; ttlMs: number; pollIntervalMs: number; seq: number; clock: Clock }) {
    this.id = init.id;
    this.owner = init.owner;
    this.clock = init.clock;
    this.createdAt = init.clock.now();
    this.lastUpdatedAt = this.createdAt;
    this.ttlMs = init.ttlMs;
    this.pollIntervalMs = init.pollIntervalMs;
    this.seq = init.seq;
  }

  get terminal(): boolean {
    return this.state !== 'working';
  }

  /** What the work is doing now, in words; the time of the change is the task's lastUpdatedAt. */
  setStatusMessage(message: string): void {
    if (this.terminal || message === this.statusMessage) return;
    this.statusMessage = message;
    this.lastUpdatedAt = this.clock.now();
  }

  /** Records how the work ended; false when the task had already ended (a cancelled task stays cancelled). */
  finish(outcome: TaskOutcome, bytes: number, statusMessage: string | undefined): boolean {
    if (this.terminal) return false;
    this.state = 'done';
    this.outcome = outcome;
    this.bytes = bytes;
    this.statusMessage = statusMessage;
    this.settle();
    return true;
  }

  /** Marks the task cancelled and stops its work; false when it had already ended. */
  cancel(message: string, reason: Error): boolean {
    if (this.terminal) return false;
    this.state = 'cancelled';
    this.statusMessage = message;
    this.home = undefined;
    this.settle();
    this.controller.abort(reason);
    return true;
  }

  /** Resolves once the task is terminal; rejects with the signal's reason if it aborts first. */
  settled(signal?: CancelSignal): Promise<void> {
    if (this.terminal) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiters.delete(done);
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      this.waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A request now waiting on the task takes its notifications until `release` is called. */
  listen(channel: Channel): () => void {
    this.listeners.push(channel);
    return () => {
      const index = this.listeners.lastIndexOf(channel);
      if (index >= 0) this.listeners.splice(index, 1);
    };
  }

  /**
   * A notification about the task to the newest listener (else the session's channel), tagged
   * with the task once it has been answered (before, it is the creating request's); none once
   * the task has ended.
   */
  notify(message: JsonRpcNotification): void {
    if (this.terminal) return;
    const channel = this.listeners.at(-1) ?? this.home;
    channel?.(this.answered ? withRelatedTask(message, this.id) : message);
  }

  private settle(): void {
    this.lastUpdatedAt = this.clock.now();
    this.listeners.length = 0;
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }
}
