import { droppedLogLines, type Logger } from './log.ts';
import { Registry } from './metrics.ts';
import type { RequestId } from './protocol/messages.ts';

/** What the protocol core and the tool learn about one request, for its log line and metrics. */
export interface RequestReport {
  transport: string;
  method: string;
  id: RequestId;
  /** The name of the client's API key (HTTP). */
  key: string | undefined;
  /** 'ok', 'cancelled', or the JSON-RPC error code. */
  status: string;
  durationMs: number;
  tool?: string;
  /** ok, invalid_arguments, refused, rate_limited, busy, timeout, upstream_error, cancelled */
  outcome?: string;
  upstreamStatus?: number;
  attempts?: number;
  /** Only logged at debug level. */
  prompt?: string;
  /** The task the call was answered with (its outcome comes with the task's end). */
  task?: string;
}

/** A task's work ended: counted then, once, as the tool call it was. */
export interface TaskReport {
  key: string | undefined;
  task: string;
  tool: string | undefined;
  /** As RequestReport's, or `cancelled`. */
  outcome: string | undefined;
  upstreamStatus: number | undefined;
  attempts: number | undefined;
  durationMs: number;
}

/** Methods kept as metric labels; anything else counts as "other" (clients pick method names). */
const KNOWN_METHODS = new Set([
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'logging/setLevel',
  'server/discover',
  'subscriptions/listen',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
  'tasks/list',
  'tasks/update',
]);
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** One log line per request, and the counters behind /metrics. */
export class Telemetry {
  readonly registry = new Registry();
  private readonly log: Logger;
  private readonly requests = this.registry.counter('mcp_requests_total', 'JSON-RPC requests handled, by method and status.');
  private readonly toolCalls = this.registry.counter('mcp_tool_calls_total', 'Tool calls, by tool and outcome.');
  private readonly upstreamLatency = this.registry.histogram(
    'upstream_request_duration_seconds',
    'Upstream HTTP attempts, by status class, in seconds.',
    LATENCY_BUCKETS,
  );
  private readonly retries = this.registry.counter('upstream_retries_total', 'Upstream attempts retried.');
  private readonly tokens = this.registry.counter('upstream_tokens_total', 'Tokens the upstream reported, by type.');
  private readonly keyCalls = this.registry.counter('mcp_key_tool_calls_total', 'Tool calls, by client key name and outcome.');
  private readonly keyTokens = this.registry.counter('mcp_key_tokens_total', 'Tokens the upstream reported, by client key name and type.');
  private readonly clientFaults = this.registry.counter('mcp_client_faults_total', 'Client faults seen under MCP_STRICT, by rule.');

  constructor(log: Logger) {
    this.log = log;
    const started = Date.now() / 1000;
    this.registry.gauge('process_resident_memory_bytes', 'Resident memory of the process.', () => [[{}, process.memoryUsage.rss()]]);
    this.registry.gauge('process_start_time_seconds', 'When the process started, in seconds since the epoch.', () => [[{}, started]]);
    this.registry.counterFrom('log_lines_dropped_total', 'Log lines dropped because stderr did not keep up.', () => [
      [{}, droppedLogLines()],
    ]);
  }

  request(report: RequestReport): void {
    const method = KNOWN_METHODS.has(report.method) ? report.method : 'other';
    this.requests.inc({ method, status: report.status });
    if (report.tool !== undefined && report.outcome !== undefined) {
      this.toolCalls.inc({ tool: report.tool, outcome: report.outcome });
      if (report.key !== undefined) this.keyCalls.inc({ key: keyLabel(report.key), outcome: report.outcome });
    }
    if (!this.log.enabled('info')) return;
    // Written on the next tick: the transport writes the reply in the same run of microtasks
    // that returned it, so the line is formatted and written after the reply is on its way,
    // off the client's path. main() lets pending ticks run before the process exits.
    process.nextTick(logRequest, this.log, report);
  }

  taskEnded(report: TaskReport): void {
    if (report.tool !== undefined && report.outcome !== undefined) {
      this.toolCalls.inc({ tool: report.tool, outcome: report.outcome });
      if (report.key !== undefined) this.keyCalls.inc({ key: keyLabel(report.key), outcome: report.outcome });
    }
    this.log.info('task ended', {
      task: shortTaskId(report.task),
      tool: report.tool,
      outcome: report.outcome,
      duration_ms: Math.round(report.durationMs),
      upstream_status: report.upstreamStatus,
      attempts: report.attempts,
      key: report.key,
    });
  }

  upstreamAttempt(status: number | undefined, seconds: number): void {
    this.upstreamLatency.observe(seconds, { status: status === undefined ? 'none' : `${Math.floor(status / 100)}xx` });
  }

  /** MCP_STRICT: one fault of the client's, by its rule id (a closed set). */
  clientFault(rule: string): void {
    this.clientFaults.inc({ rule });
  }

  retry(): void {
    this.retries.inc();
  }

  usage(
    usage: { prompt_tokens?: number; completion_tokens?: number; reasoning_tokens?: number; cached_tokens?: number } | undefined,
    key?: string,
  ): void {
    if (!usage) return;
    this.countTokens('prompt', usage.prompt_tokens, key);
    this.countTokens('completion', usage.completion_tokens, key);
    this.countTokens('reasoning', usage.reasoning_tokens, key);
    this.countTokens('cached', usage.cached_tokens, key);
  }

  private countTokens(type: string, count: number | undefined, key: string | undefined): void {
    if (!count) return;
    this.tokens.inc({ type }, count);
    if (key !== undefined) this.keyTokens.inc({ key: keyLabel(key), type }, count);
  }
}

/** Task ids in logs: enough to tell them apart; a signed id is long. */
function shortTaskId(id: string): string {
  return id.length > 40 ? `${id.slice(0, 20)}…${id.slice(-12)}` : id;
}

/**
 * A caller as a metric label: a configured name as it is (the configuration bounds them), and
 * every OAuth subject no keys-file entry names (`sub:...`, unbounded) as `other`.
 */
function keyLabel(name: string): string {
  return name.includes(':') ? 'other' : name;
}

function logRequest(log: Logger, report: RequestReport): void {
  log.info('request', {
    transport: report.transport,
    method: report.method.slice(0, 100),
    id: typeof report.id === 'string' ? report.id.slice(0, 100) : report.id,
    tool: report.tool,
    status: report.status,
    outcome: report.outcome,
    duration_ms: Math.round(report.durationMs * 10) / 10,
    upstream_status: report.upstreamStatus,
    attempts: report.attempts,
    key: report.key,
    ...(report.task !== undefined ? { task: shortTaskId(report.task) } : {}),
    ...(log.enabled('debug') && report.prompt !== undefined ? { prompt: report.prompt.slice(0, 2000) } : {}),
  });
}
