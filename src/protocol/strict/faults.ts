import type { ServerApp } from '../context.ts';
import { passes, type LogLevel } from '../logging.ts';
import { isObject, notification, type JsonRpcNotification } from '../messages.ts';
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
  const message = redacted(offending);
  app.telemetry.clientFault(rule);
  if (scene.session) recordOf(scene.session).count(rule);
  const facts = { rule, requirement: spec.keyword, revision: revision ?? 'unknown', section: spec.section };
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
  return app.strict === 'reject' && spec.refuses !== 'no';
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

/**
 * The offending message as a report shows it: ids, methods and member names as sent, other
 * strings cut short, tool arguments as their types only (prompts are the user's words), the
 * whole at most 400 characters. Raw text (a line that is not JSON) is cut to 120.
 */
export function redacted(value: unknown): string {
  if (typeof value === 'string') return cut(JSON.stringify(cut(value, 120)), MAX_MESSAGE_CHARS);
  let text: string;
  try {
    text = JSON.stringify(shape(value, 0)) ?? String(value);
  } catch {
    text = '"[unserializable]"';
  }
  return cut(text, MAX_MESSAGE_CHARS);
}

function shape(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return cut(value, 40);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 4) return Array.isArray(value) ? '[…]' : '{…}';
  if (Array.isArray(value)) return value.slice(0, 5).map((item) => shape(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, 12)) {
    out[key] = key === 'arguments' && isObject(item) ? typesOf(item) : shape(item, depth + 1);
  }
  return out;
}

function typesOf(args: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(args).slice(0, 12)) {
    out[key] = typeof item === 'string' ? `string(${item.length})` : item === null ? 'null' : Array.isArray(item) ? 'array' : typeof item;
  }
  return out;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
