import type { ServerApp } from '../context.ts';
import { passes, type LogLevel } from '../logging.ts';
import { notification, type JsonRpcNotification } from '../messages.ts';
import type { ProtocolVersion } from '../versions.ts';
import type { Session } from '../session.ts';
import { ClientRecord } from './record.ts';
import { type Rule, RULES, type RuleId } from './rules.ts';

export const STRICT_MODES = ['off', 'report', 'reject'] as const;
export type StrictMode = (typeof STRICT_MODES)[number];

/** Where a fault was seen, and how its client can be told. */
export interface FaultScene {
  readonly app: ServerApp;
  /** The client's protocol state (stdio process, HTTP session), which keeps its tally. */
  readonly session?: Session | undefined;
  readonly transport: string;
  /** The caller's key name, never the key. */
  readonly key?: string | undefined;
  /** The channel to the client for a `notifications/message`, if there is one now. */
  readonly deliver?: ((message: JsonRpcNotification) => void) | undefined;
  /** The level the client asked for logs at (undefined: it asked for none). */
  readonly logLevel?: LogLevel | undefined;
}

/** The strict-mode record of a session, made on first use. */
export function recordOf(session: Session): ClientRecord {
  session.client ??= new ClientRecord();
  return session.client;
}

/**
 * Reports one client fault: a warning log line, `mcp_client_faults_total{rule}`, the
 * session's tally, and a `notifications/message` at `warning` to the client when it asked
 * for logs at that level. True when MCP_STRICT=reject and the rule lets the server refuse.
 */
export function fault(scene: FaultScene, rule: RuleId, revision: string | undefined, offending: unknown): boolean {
  const { app } = scene;
  const spec: Rule = RULES[rule];
  // A rule binds the revisions whose text states it (unknown before initialize: it binds then).
  if (revision !== undefined && !(spec.revisions as readonly string[]).includes(revision)) return false;
  app.telemetry.clientFault(rule);
  // Counted always; told (log line, notification) sparingly, so a client repeating itself cannot flood the log.
  const tell = scene.session ? recordOf(scene.session).count(rule) : sessionlessAllowance(app, rule);
  if (tell) {
    const message = redacted(offending);
    const facts = { rule, requirement: keywordOf(spec, revision), revision: revision ?? 'unknown', section: spec.section };
    app.log.warn('client fault', { ...facts, transport: scene.transport, key: scene.key, message });
    if (scene.deliver && scene.logLevel !== undefined && passes('warning', scene.logLevel)) {
      scene.deliver(
        notification('notifications/message', {
          level: 'warning',
          logger: `${app.name}/strict`,
          data: { ...facts, spec: spec.sentence, message },
        }),
      );
    }
  }
  return app.strict === 'reject' && spec.refuses !== 'no';
}

/** The keyword the revision's text uses. */
function keywordOf(spec: Rule, revision: string | undefined): string {
  return (revision !== undefined ? spec.keywords?.[revision as ProtocolVersion] : undefined) ?? spec.keyword;
}

/** Faults with no session to count them on (stateless and 2026-07-28 HTTP): at most 10 lines a minute per rule. */
const SESSIONLESS_PER_MINUTE = 10;
const sessionless = new WeakMap<ServerApp, Map<RuleId, { minute: number; told: number }>>();

function sessionlessAllowance(app: ServerApp, rule: RuleId): boolean {
  let rules = sessionless.get(app);
  if (!rules) {
    rules = new Map();
    sessionless.set(app, rules);
  }
  const minute = Math.floor(app.clock.now() / 60_000);
  const entry = rules.get(rule);
  if (!entry || entry.minute !== minute) {
    rules.set(rule, { minute, told: 1 });
    return true;
  }
  entry.told++;
  return entry.told <= SESSIONLESS_PER_MINUTE;
}

/** One line when a client's session ends (stdio exit, HTTP session end): its faults by rule. */
export function summarize(app: ServerApp, session: Session, where: Record<string, unknown>): void {
  const faults = session.client?.summary() ?? {};
  const total = Object.values(faults).reduce((sum, n) => sum + n, 0);
  const fields = { ...where, faults, total };
  if (total > 0) app.log.warn('client faults this session', fields);
  else app.log.info('client faults this session', fields);
}

const MAX_MESSAGE_CHARS = 400;
/** Members whose string values a report shows as sent: protocol words, never user content or credentials. */
const SHOWN = new Set([
  'jsonrpc',
  'id',
  'method',
  'name',
  'protocolVersion',
  'level',
  'progressToken',
  'requestId',
  'version',
  'accept',
  'mcp-protocol-version',
  'reason',
  'session',
]);

/**
 * The offending message as a report shows it: its shape, with the strings of protocol members
 * (ids, methods, versions, levels, tokens) as sent and every other string as its length only,
 * so no prompt, tool argument or credential can reach a log; at most 400 characters. Text
 * that is not JSON is shown as its length.
 */
export function redacted(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(`text(${value.length})`);
  let text: string;
  try {
    text = JSON.stringify(shape(value, 0, undefined, false)) ?? String(value);
  } catch {
    text = '"[unserializable]"';
  }
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS - 1)}…` : text;
}

/** `hidden`: inside tool arguments, where even member names the report shows elsewhere are the user's. */
function shape(value: unknown, depth: number, member: string | undefined, hidden: boolean): unknown {
  if (typeof value === 'string') return !hidden && member !== undefined && SHOWN.has(member) ? cut(value, 60) : `string(${value.length})`;
  if (typeof value === 'bigint') return 'bigint';
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 4) return Array.isArray(value) ? '[…]' : '{…}';
  if (Array.isArray(value)) return value.slice(0, 5).map((item) => shape(item, depth + 1, undefined, hidden));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, 12)) out[key] = shape(item, depth + 1, key, hidden || key === 'arguments');
  return out;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
