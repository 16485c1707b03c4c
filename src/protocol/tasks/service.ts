import type { Clock } from '../../clock.ts';
import { LeftRunning } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { CallContext, RemoteState, RemoteWork, Tool } from '../context.ts';
import { ErrorCode, invalidParams, WireError } from '../errors.ts';
import type { JsonObject } from '../messages.ts';
import type { TaskRecord } from './record.ts';
import { type TaskStore, TaskExpired } from './store.ts';
import { endMessage, type TaskView } from './task.ts';
import { type TaskClaims, TaskTokens } from './token.ts';

/** The extension's identifier (2026-07-28). */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

export interface TasksOptions {
  /** MCP_TASKS */
  mode: 'auto' | 'always' | 'never';
  store: TaskStore;
  tokens: TaskTokens;
  /** MCP_TASK_TTL_MS: the default TTL and the most a client may ask for. */
  ttlMs: number;
  clock: Clock;
  log: Logger;
}

/** Suggested polling intervals: work here is short; a background response is polled upstream anyway. */
export const LOCAL_POLL_MS = 2_000;
export const BACKGROUND_POLL_MS = 5_000;

/** How long one upstream read of a task made elsewhere answers for it, and how many such reads are kept. */
const REMOTE_READ_REUSE_MS = 1_000;
const REMOTE_READS_KEPT = 4096;

/** A task found by id: this process's record, or a view of work that lives upstream (another process made it). */
export type FoundTask = { local: TaskRecord } | { remote: RemoteView };

/**
 * MCP tasks on this server: settings, the in-process store, and the signed ids that let any
 * process sharing MCP_TASK_SECRET answer for a task whose work is a background response.
 */
export class Tasks {
  /** Upstream reads of tasks made elsewhere, kept a moment: a client polling fast must not make the upstream read as fast. */
  private readonly reads = new Map<string, { at: number; state: RemoteState }>();
  readonly mode: 'auto' | 'always' | 'never';
  readonly store: TaskStore;
  readonly tokens: TaskTokens;
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly log: Logger;

  constructor(options: TasksOptions) {
    this.mode = options.mode;
    this.store = options.store;
    this.tokens = options.tokens;
    this.ttlMs = options.ttlMs;
    this.clock = options.clock;
    this.log = options.log;
  }

  get enabled(): boolean {
    return this.mode !== 'never';
  }

  /**
   * tasks/list only where it can be complete and scoped: the caller is identified (a key, the
   * stdio client), and no other process can hold this caller's tasks (no shared secret).
   */
  listable(owner: string): boolean {
    return this.enabled && owner !== 'anonymous' && !this.tokens.shared;
  }

  /** The 2025-11-25 `tasks` capability, for this caller. */
  capability(owner: string): JsonObject {
    return { ...(this.listable(owner) ? { list: {} } : {}), cancel: {}, requests: { tools: { call: {} } } };
  }

  /** The TTL a task gets: the client's wish (2025-11-25), within a second and MCP_TASK_TTL_MS. */
  ttlFor(requested: number | undefined): number {
    return requested === undefined ? this.ttlMs : Math.min(this.ttlMs, Math.max(1000, Math.round(requested)));
  }

  /** The caller's task by id, here or upstream; -32602 when there is none (another owner's included). */
  async find(id: string, call: CallContext): Promise<FoundTask> {
    const local = this.store.get(id, call.owner);
    if (local) return { local };
    const claims = TaskTokens.isSigned(id) ? this.tokens.open(id, call.owner) : undefined;
    if (!claims) throw this.store.expired(id, call.owner) ? taskExpired() : taskNotFound();
    if (this.clock.now() >= claims.createdAt + claims.ttlMs) throw taskExpired();
    const remote = remoteWorkOf(call.app.tools);
    if (!remote) throw taskNotFound();
    const now = this.clock.now();
    // Keyed by revision too: the result is shaped for the reader's.
    const key = `${call.version} ${id}`;
    const cached = this.reads.get(key);
    let state: RemoteState;
    if (cached && now - cached.at < REMOTE_READ_REUSE_MS) {
      state = cached.state;
    } else {
      state = await this.ask(() => remote.read(claims.ref, call.features, call.signal));
      this.reads.delete(key);
      this.reads.set(key, { at: now, state });
      if (this.reads.size > REMOTE_READS_KEPT) this.reads.delete(this.reads.keys().next().value!);
    }
    if (state.state === 'gone') throw taskExpired();
    return { remote: new RemoteView(id, claims, state, now) };
  }

  /** Asks the upstream to stop a task made elsewhere; its state afterwards. */
  async cancelRemote(view: RemoteView, call: CallContext): Promise<RemoteView> {
    const remote = remoteWorkOf(call.app.tools);
    if (!remote) throw taskNotFound();
    for (const key of this.reads.keys()) if (key.endsWith(` ${view.id}`)) this.reads.delete(key);
    const state = await this.ask(() => remote.cancel(view.claims.ref, call.features, call.signal));
    if (state.state === 'gone') throw taskExpired();
    return new RemoteView(view.id, view.claims, state, this.clock.now());
  }

  /** The server stops: work still running here ends (see docs/decisions.md for background work). */
  shutdown(): void {
    for (const record of this.store.workingTasks()) {
      // With a shared secret another process can answer for work that lives upstream: leave it running there.
      const detach = record.ref !== undefined && this.tokens.shared;
      record.cancel(
        'The server stopped before the task finished.',
        detach ? new LeftRunning('the server stopped; the work continues upstream') : new TaskExpired('the server stopped'),
      );
    }
  }

  private async ask(read: () => Promise<RemoteState>): Promise<RemoteState> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof WireError) throw error;
      this.log.warn('could not read a task from the upstream', { error: error instanceof Error ? error.message : String(error) });
      throw new WireError(ErrorCode.InternalError, 'Failed to retrieve task: the upstream could not be reached; try again');
    }
  }
}

/** A task whose work is a background response made by another process (or before a restart), as the upstream reports it. */
export class RemoteView implements TaskView {
  readonly id: string;
  readonly claims: TaskClaims;
  readonly state: TaskView['state'];
  readonly outcome: TaskView['outcome'];
  readonly statusMessage: string | undefined;
  readonly createdAt: number;
  readonly lastUpdatedAt: number;
  readonly ttlMs: number;
  readonly pollIntervalMs = BACKGROUND_POLL_MS;

  constructor(id: string, claims: TaskClaims, remote: RemoteState, now: number) {
    this.id = id;
    this.claims = claims;
    this.createdAt = claims.createdAt;
    this.ttlMs = claims.ttlMs;
    this.lastUpdatedAt = now;
    this.state = remote.state === 'done' ? 'done' : remote.state === 'working' ? 'working' : 'cancelled';
    this.outcome = remote.state === 'done' ? { result: remote.result } : undefined;
    this.statusMessage = remote.state === 'working' ? remote.statusMessage : this.outcome && endMessage(this.outcome);
  }
}

function remoteWorkOf(tools: readonly Tool[]): RemoteWork | undefined {
  return tools.find((tool) => tool.remote)?.remote;
}

/** -32021: the request needs the tasks extension, and the client did not declare it on this request. */
export function tasksNotDeclared(): WireError {
  return new WireError(ErrorCode.MissingRequiredClientCapability, 'Missing required client capability', {
    requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } },
  });
}

export function taskNotFound(): WireError {
  return invalidParams('Failed to retrieve task: Task not found');
}

export function taskExpired(): WireError {
  return invalidParams('Failed to retrieve task: Task has expired');
}
