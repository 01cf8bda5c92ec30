import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock, IdGenerator, LogFields, Logger } from '../ports.js';

export const systemClock: Clock = { now: () => new Date() };

/** The run partition the next execution id of this process goes to (see `executionId`). */
let nextShard = randomBytes(1)[0] ?? 0;

export const randomIds: IdGenerator = {
  jobId: () => `job_${randomUUID()}`,
  entityId: () => `ent_${randomUUID()}`,
  // Milliseconds in fixed-width base 36 first, so ids sort by creation time; 76 random bits after, and a
  // last hex digit that takes turns, so a process spreads its runs evenly over the 16 run partitions
  // (the partition of a run is its id's last digit).
  executionId: () =>
    `exec_${Date.now().toString(36).padStart(9, '0')}${randomBytes(10).toString('hex').slice(0, 19)}${(nextShard++ % 16).toString(16)}`,
};

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const level = value?.toLowerCase();
  return level !== undefined && level in LEVEL_ORDER ? (level as LogLevel) : fallback;
}

/** A structured JSON logger: one line per entry, fields as keys, `Error`s reduced to name/message/stack. */
export function createJsonLogger(
  options: { level?: LogLevel; sink?: (line: string) => void; base?: LogFields } = {},
): Logger {
  const threshold = LEVEL_ORDER[options.level ?? 'info'];
  const sink = options.sink ?? ((line: string) => process.stdout.write(`${line}\n`));
  const write = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < threshold) return;
    const entry: LogFields = { level, time: new Date().toISOString(), message, ...options.base };
    for (const [key, value] of Object.entries(fields ?? {})) entry[key] = serializable(value);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}

function serializable(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack, cause: serializable(value.cause) };
  }
  return value;
}
