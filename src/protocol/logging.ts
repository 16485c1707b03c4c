/** RFC 5424 severities as MCP names them, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return (LOG_LEVELS as readonly unknown[]).includes(value);
}

export function severity(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

/** True when a message at `level` passes a client's threshold. */
export function passes(level: LogLevel, threshold: LogLevel): boolean {
  return severity(level) >= severity(threshold);
}
