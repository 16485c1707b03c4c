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

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
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

function jsonLine(level: string, msg: string, fields?: LogFields): string {
  return `${safeStringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`;
}

function textLine(level: string, msg: string, fields?: LogFields): string {
  let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`;
  if (fields) {
    for (const [key, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      line += ` ${key}=${typeof value === 'string' && !/\s/.test(value) ? value : safeStringify(value)}`;
    }
  }
  return `${line}\n`;
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return '"[unserializable]"';
  }
}

/** A logger that drops everything: tests and embedders that want silence. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
