/** Operator logs: one line per event on stderr, JSON (default) or text. stdout is never used. */
export const LOG_LEVEL_NAMES = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVEL_NAMES)[number];
export type LogFormat = 'json' | 'text';
export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevelName;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  enabled(level: Exclude<LogLevelName, 'silent'>): boolean;
}

export interface LoggerOptions {
  level?: LogLevelName;
  format?: LogFormat;
  write?: (line: string) => void;
}

const RANK: Record<LogLevelName, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/**
 * stderr, batched and bounded: lines written in one turn of the event loop go out in one
 * write (a write per line costs a system call per request under load), flushed when the
 * process exits. When stderr does not keep up (a stalled log reader), at most
 * MAX_PENDING_CHARS wait; later lines are dropped and counted, and once stderr drains one line
 * says how many were lost. Logs never grow memory; stdout (the protocol) is not touched.
 */
const MAX_PENDING_CHARS = 1024 * 1024;
let pending = '';
let scheduled = false;
let hooked = false;
let blocked = false;
let droppedSince = 0;
let droppedTotal = 0;
let dropNotice: (count: number) => string = (count) => jsonLine('warn', 'log lines dropped: stderr did not keep up', { dropped: count });

/** Log lines dropped since start because stderr did not keep up (`log_lines_dropped_total`). */
export function droppedLogLines(): number {
  return droppedTotal;
}

export function flushLogs(): void {
  scheduled = false;
  if (pending === '' || blocked) return;
  const out = pending;
  pending = '';
  if (!process.stderr.write(out)) {
    blocked = true;
    process.stderr.once('drain', onDrain);
  }
}

function onDrain(): void {
  blocked = false;
  if (droppedSince > 0) {
    pending = dropNotice(droppedSince) + pending;
    droppedSince = 0;
  }
  flushLogs();
}

function writeStderr(line: string): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      blocked = false; // a last try: nothing else will write them
      flushLogs();
    });
  }
  if (pending.length + line.length > MAX_PENDING_CHARS) {
    droppedSince++;
    droppedTotal++;
    return;
  }
  pending += line;
  if (blocked) return;
  if (pending.length > 64 * 1024) flushLogs();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flushLogs);
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const write = options.write ?? writeStderr;
  if (!options.write && format === 'text')
    dropNotice = (count) => textLine('warn', 'log lines dropped: stderr did not keep up', { dropped: count });
  const threshold = RANK[level];
  const emit = (at: Exclude<LogLevelName, 'silent'>, message: string, fields?: LogFields): void => {
    if (RANK[at] < threshold) return;
    write(format === 'json' ? jsonLine(at, message, fields) : textLine(at, message, fields));
  };
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (at) => RANK[at] >= threshold,
  };
}

/** ISO timestamps, formatted once per millisecond (a busy server logs many lines in one). */
let stampedAt = 0;
let stamp = '';
function now(): string {
  const ms = Date.now();
  if (ms !== stampedAt) {
    stampedAt = ms;
    stamp = isoTimestamp(ms);
  }
  return stamp;
}

/**
 * `Date.prototype.toISOString`'s text, with the date and time up to the second formatted once
 * per second: a quiet server logs each line in a new millisecond, and toISOString cost about
 * as much as serializing the line's fields.
 */
let secondAt = Number.NaN;
let secondText = '';
export function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== secondAt) {
    secondAt = second;
    secondText = new Date(second * 1000).toISOString().slice(0, -4);
  }
  const milli = ms - second * 1000;
  return `${secondText}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

// Characters some log readers take for line ends or terminal controls: C1 controls, NEL
// (U+0085), and the line and paragraph separators. JSON.stringify leaves them raw.
const UNSAFE = /[\u0080-\u009f\u2028\u2029]/;
const UNSAFE_ALL = /[\u0080-\u009f\u2028\u2029]/g;
const escapeUnsafe = (line: string): string =>
  UNSAFE.test(line) ? line.replace(UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : line;

function jsonLine(level: string, msg: string, fields?: LogFields): string {
  // The fixed head is written as text, the fields serialized once: no merged copy per line.
  const rest = fields === undefined ? '}' : safeStringify(fields);
  const tail = rest.length > 2 && rest.startsWith('{') ? `,${rest.slice(1)}` : '}';
  return `${escapeUnsafe(`{"time":"${now()}","level":"${level}","msg":${JSON.stringify(msg)}${tail}`)}\n`;
}

function textLine(level: string, msg: string, fields?: LogFields): string {
  let line = `${now()} ${level.toUpperCase().padEnd(5)} ${msg}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      // Plain only when visibly safe: client-chosen values (method, id) may hold escapes.
      line += ` ${key}=${typeof value === 'string' && /^[\x21-\x7e]+$/.test(value) ? value : safeStringify(value)}`;
    }
  }
  return `${escapeUnsafe(line)}\n`;
}

function safeStringify(value: unknown): string {
  try {
    // A replacer slows JSON.stringify down several times; only fields holding errors need one.
    const hasError = typeof value === 'object' && value !== null && holdsError(value);
    return hasError
      ? JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))
      : JSON.stringify(value);
  } catch {
    return '"[unserializable]"';
  }
}

function holdsError(value: object): boolean {
  for (const key in value) if ((value as Record<string, unknown>)[key] instanceof Error) return true;
  return false;
}

/** A logger that drops everything: tests and embedders that want silence. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
