import type { CancelSignal } from '../cancel.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Telemetry } from '../telemetry.ts';
import type { LogLevel } from './logging.ts';
import type { McpHeaders } from './era.ts';
import type { JsonObject, JsonRpcNotification, RequestId } from './messages.ts';
import type { Session } from './session.ts';
import type { StrictMode } from './strict/faults.ts';
import type { Tasks } from './tasks/service.ts';
import type { ProtocolVersion, VersionFeatures } from './versions.ts';

export type ProgressToken = string | number;

/** Who this server is, and what it offers; shared by every connection. */
export interface ServerApp {
  readonly name: string;
  readonly title: string;
  readonly version: string;
  readonly instructions: string;
  readonly tools: readonly Tool[];
  readonly log: Logger;
  readonly telemetry: Telemetry;
  /** Aborted when the server begins to stop: long-lived requests end gracefully. */
  readonly stopping: AbortSignal;
  readonly limits: {
    /** Most messages in one batch (MCP_MAX_BATCH). */
    readonly maxBatch: number;
    /** A subscription that carries nothing this long is torn down (MCP_STREAM_IDLE_MS). */
    readonly streamIdleMs: number;
  };
  readonly clock: Clock;
  /** MCP tasks: the store, signed ids, and the settings (MCP_TASKS). */
  readonly tasks: Tasks;
  /** MCP_STRICT: report (and in `reject`, refuse) what the client does against the spec. */
  readonly strict: StrictMode;
}

/** What a tool tells about its call, for the request's log line and metrics. */
export interface CallNotes {
  tool?: string;
  outcome?: string;
  upstreamStatus?: number;
  attempts?: number;
  prompt?: string;
  /** The task the call was answered with, if any (its outcome is reported when the task ends). */
  task?: string;
}

/** What a transport hands the protocol core with each incoming message. */
export interface Context {
  readonly app: ServerApp;
  readonly session: Session;
  /** Delivers a notification that relates to the message being handled (progress, log). */
  notify(message: JsonRpcNotification): void;
  /** For logs and metrics: the transport, and the name of the client's key (never the key). */
  readonly origin?: { readonly transport: string; readonly key?: string };
  /** HTTP: the request's MCP header values, as plain data; the core decides the era from them and the body. */
  readonly headers?: McpHeaders;
  /**
   * Delivers a notification outside any request, after its reply (stdio's output, a session's
   * GET stream, the /sse stream), where the transport has such a channel: a task's progress.
   */
  readonly home?: (message: JsonRpcNotification) => void;
}

/** What a method handler sees of the request it serves. */
export interface CallContext {
  readonly id: RequestId;
  readonly version: ProtocolVersion;
  readonly features: VersionFeatures;
  /** Aborted when the request is cancelled (reason: CancelledError) or by `abort`. */
  readonly signal: CancelSignal;
  /** Aborts the request's own work with a reason of the tool's (a deadline); the reply still goes out. */
  abort(reason: Error): void;
  /** True once the client or transport cancelled the request: no reply will be sent. */
  readonly cancelled: boolean;
  readonly progressToken: ProgressToken | undefined;
  readonly app: ServerApp;
  readonly session: Session;
  /** The name of the client's key (HTTP), for per-key policy and fair share; undefined on stdio. */
  readonly caller: string | undefined;
  /** Whose work this is, for tasks: `key:<name>`, `stdio` (the one client of the process), or `anonymous` (no authentication). */
  readonly owner: string;
  /** The session's channel for notifications after the reply (see Context.home). */
  readonly home: ((message: JsonRpcNotification) => void) | undefined;
  /** 2026-07-28: the client capabilities this request declared in its `_meta`; undefined before. */
  readonly clientCapabilities: JsonObject | undefined;
  /** Filled in by the tool; logged and counted when the request ends. */
  readonly notes: CallNotes;
  /** Sends a notification for this request; silently dropped once the reply is decided. */
  notify(message: JsonRpcNotification): void;
  /** `notifications/message` to the client, when its level allows; `logger` names a part of this server. Never pass secrets. */
  log(level: LogLevel, data: unknown, logger?: string): void;
  /** What the call is doing now, as a phrase ("queued for a free upstream slot"): a task's statusMessage. */
  status(what: string): void;
  /** The call's work now lives upstream under `ref` (a background response), so a task can be answered from there. */
  durable(ref: string): void;
  /** The work was cancelled where it ran (upstream, by another process): a task wrapping the call ends cancelled. */
  cancelledElsewhere(): void;
}

/** A tool the server offers. */
export interface Tool {
  readonly name: string;
  /** The tools/list entry, shaped for the negotiated revision. */
  describe(features: VersionFeatures): JsonObject;
  /**
   * Runs the tool. Returns a CallToolResult; throws WireError only for protocol errors
   * (such as -32602 for bad arguments before 2025-11-25).
   */
  call(args: JsonObject, call: CallContext): Promise<JsonObject>;
  /** Whether this call's work would run upstream in the background (announced through CallContext.durable). */
  runsInBackground?(args: JsonObject, call: CallContext): boolean;
  /** Work announced as durable, read and cancelled by its reference from any process. */
  readonly remote?: RemoteWork;
}

/** Where work that lives upstream stands, as a tasks/* answer needs it. */
export type RemoteState =
  | { state: 'working'; statusMessage: string }
  | { state: 'done'; result: JsonObject }
  | { state: 'cancelled' }
  /** The upstream no longer holds it. */
  | { state: 'gone' };

export interface RemoteWork {
  /** Reads the work's state; its result shaped for `features`. Throws when the upstream cannot be asked. */
  read(ref: string, features: VersionFeatures, signal: CancelSignal): Promise<RemoteState>;
  /** Asks the upstream to stop the work; resolves with its state afterwards. */
  cancel(ref: string, features: VersionFeatures, signal: CancelSignal): Promise<RemoteState>;
}
