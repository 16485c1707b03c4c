import type { Clock, Timer } from '../../clock.ts';
import { CancelledError } from '../../errors.ts';
import { crypto } from '../../lazy.ts';
import { invalidParams } from '../errors.ts';
import { TaskRecord } from './record.ts';
import type { TaskOutcome } from './task.ts';

export interface TaskStoreOptions {
  clock: Clock;
  /** MCP_MAX_TASKS */
  maxTasks: number;
  /** MCP_MAX_TASKS_PER_KEY (or its default share), read when a task is made: keys can change. */
  maxTasksPerOwner: () => number;
  /** MCP_MAX_TASK_BYTES */
  maxBytes: number;
  maxBytesPerOwner: () => number;
}

/** Why a task could not be made, in words that name the setting. */
export interface TaskRefusal {
  refused: string;
}

/** Ids of tasks that expired or were dropped, remembered this many at most, to tell "expired" from "not found". */
const GONE_REMEMBERED = 4096;
const PAGE_SIZE = 50;

/**
 * The tasks this process holds: each owner's (a key, the stdio client) apart, capped in
 * number (in all and per owner) and in bytes of stored results (in all and per owner), each
 * removed when its TTL (counted from creation) runs out, its work stopped if it still runs.
 * One owner's tasks never make room for another's.
 */
export class TaskStore {
  private readonly options: TaskStoreOptions;
  private readonly byId = new Map<string, TaskRecord>();
  /** Each owner's tasks in order of creation. */
  private readonly byOwner = new Map<string, Set<TaskRecord>>();
  private readonly timers = new Map<TaskRecord, Timer>();
  private readonly gone = new Map<string, string>();
  private readonly ownerBytes = new Map<string, number>();
  private totalBytes = 0;
  private seq = 0;

  constructor(options: TaskStoreOptions) {
    this.options = options;
  }

  get size(): number {
    return this.byId.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Tasks still working. */
  get working(): number {
    let count = 0;
    for (const record of this.byId.values()) if (!record.terminal) count++;
    return count;
  }

  /**
   * A new working task with an unguessable id (128 random bits), or why not. At a cap, the
   * owner's own oldest finished task makes room (its result is dropped early); another owner's
   * never does.
   */
  create(owner: string, ttlMs: number, pollIntervalMs: number): TaskRecord | TaskRefusal {
    const own = this.byOwner.get(owner);
    const perOwner = this.options.maxTasksPerOwner();
    if ((own?.size ?? 0) >= perOwner && !this.dropOldestFinished(owner)) {
      return { refused: `this key holds ${own?.size ?? 0} tasks, the most it may (MCP_MAX_TASKS_PER_KEY), none of them finished` };
    }
    if (this.byId.size >= this.options.maxTasks && !this.dropOldestFinished(owner)) {
      return { refused: `the server holds ${this.byId.size} tasks, its limit (MCP_MAX_TASKS)` };
    }
    if (this.totalBytes >= this.options.maxBytes && !this.dropOldestFinished(owner)) {
      return { refused: 'the results held by this server fill MCP_MAX_TASK_BYTES' };
    }
    const id = `task_${crypto().randomBytes(16).toString('base64url')}`;
    const record = new TaskRecord({ id, owner, ttlMs, pollIntervalMs, seq: ++this.seq, clock: this.options.clock });
    this.byId.set(id, record);
    const mine = this.byOwner.get(owner);
    if (mine) mine.add(record);
    else this.byOwner.set(owner, new Set([record]));
    this.timers.set(
      record,
      this.options.clock.setTimeout(() => this.drop(record), ttlMs),
    );
    return record;
  }

  /** The owner's task by id; another owner's is not found. */
  get(id: string, owner: string): TaskRecord | undefined {
    const record = this.byId.get(id);
    return record && record.owner === owner ? record : undefined;
  }

  /** The owner's task that expired or was dropped under this id, if it is still remembered. */
  expired(id: string, owner: string): boolean {
    return this.gone.get(id) === owner;
  }

  /** A task's id becomes the signed one once its work lives upstream. */
  rename(record: TaskRecord, id: string, ref: string): void {
    this.byId.delete(record.id);
    record.id = id;
    record.ref = ref;
    this.byId.set(id, record);
  }

  /**
   * Stores a task's outcome. A result that would take the owner past its share of
   * MCP_MAX_TASK_BYTES first drops the owner's oldest finished tasks; one that cannot fit
   * at all is replaced by an error result saying so.
   */
  finish(record: TaskRecord, outcome: TaskOutcome, statusMessage: string | undefined): boolean {
    if (record.terminal || !this.byId.has(record.id)) return false;
    let stored = outcome;
    let bytes = sizeOf(outcome);
    if (!this.makeRoom(record.owner, bytes, record)) {
      const why =
        bytes > Math.min(this.options.maxBytesPerOwner(), this.options.maxBytes)
          ? 'is larger than this server keeps for one key'
          : 'did not fit: the task results this server holds fill its limit';
      const text = `The answer (${bytes} bytes) ${why} (MCP_MAX_TASK_BYTES); run the call without a task to receive it.`;
      stored = { result: { content: [{ type: 'text', text }], isError: true } };
      bytes = sizeOf(stored);
    }
    if (!record.finish(stored, bytes, statusMessage)) return false;
    this.ownerBytes.set(record.owner, (this.ownerBytes.get(record.owner) ?? 0) + bytes);
    this.totalBytes += bytes;
    return true;
  }

  /** One page of the owner's tasks, oldest first; the cursor is opaque and names the last task of the page before. */
  list(owner: string, cursor: unknown): { tasks: TaskRecord[]; nextCursor?: string } {
    let after = 0;
    if (cursor !== undefined) {
      const parsed = typeof cursor === 'string' && /^c[0-9]{1,15}$/.test(cursor) ? Number(cursor.slice(1)) : Number.NaN;
      if (!Number.isSafeInteger(parsed) || parsed > this.seq) throw invalidParams('tasks/list: unknown cursor');
      after = parsed;
    }
    const tasks: TaskRecord[] = [];
    for (const record of this.byOwner.get(owner) ?? []) {
      if (record.seq <= after) continue;
      if (tasks.length === PAGE_SIZE) return { tasks, nextCursor: `c${tasks.at(-1)!.seq}` };
      tasks.push(record);
    }
    return { tasks };
  }

  /** Every task still working (the server is stopping). */
  workingTasks(): TaskRecord[] {
    return [...this.byId.values()].filter((record) => !record.terminal);
  }

  /** Removes a task (TTL over, or room made): work still running is stopped. */
  drop(record: TaskRecord, reason = 'its TTL ran out'): void {
    if (this.byId.get(record.id) !== record) return;
    this.byId.delete(record.id);
    const own = this.byOwner.get(record.owner);
    own?.delete(record);
    if (own?.size === 0) this.byOwner.delete(record.owner);
    this.options.clock.clearTimeout(this.timers.get(record));
    this.timers.delete(record);
    if (record.bytes > 0) {
      this.ownerBytes.set(record.owner, (this.ownerBytes.get(record.owner) ?? 0) - record.bytes);
      this.totalBytes -= record.bytes;
    }
    this.gone.set(record.id, record.owner);
    if (this.gone.size > GONE_REMEMBERED) this.gone.delete(this.gone.keys().next().value!);
    if (!record.terminal) record.cancel(`The task was removed: ${reason}.`, new TaskExpired(reason));
  }

  /** Drops the owner's oldest finished task; false when it has none. */
  private dropOldestFinished(owner: string): boolean {
    for (const record of this.byOwner.get(owner) ?? []) {
      if (record.terminal) {
        this.drop(record, 'room was needed for a newer task');
        return true;
      }
    }
    return false;
  }

  private makeRoom(owner: string, bytes: number, keep: TaskRecord): boolean {
    const perOwner = Math.min(this.options.maxBytesPerOwner(), this.options.maxBytes);
    if (bytes > perOwner) return false;
    const own = this.byOwner.get(owner) ?? new Set<TaskRecord>();
    for (const oldest of [...own]) {
      const ownerUsed = this.ownerBytes.get(owner) ?? 0;
      if (ownerUsed + bytes <= perOwner && this.totalBytes + bytes <= this.options.maxBytes) return true;
      if (oldest !== keep && oldest.terminal && oldest.bytes > 0) this.drop(oldest, 'room was needed for newer results');
    }
    return (this.ownerBytes.get(owner) ?? 0) + bytes <= perOwner && this.totalBytes + bytes <= this.options.maxBytes;
  }
}

/** The abort reason of a task removed while it worked (its TTL ran out): a cancel, as far as the work is concerned. */
export class TaskExpired extends CancelledError {
  constructor(reason: string) {
    super(`the task was removed: ${reason}`);
  }
}

function sizeOf(outcome: TaskOutcome): number {
  return Buffer.byteLength(JSON.stringify(outcome));
}
