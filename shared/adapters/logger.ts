import { AsyncLocalStorage } from 'node:async_hooks';
import {
  LogFormatter,
  LogItem,
  LogLevelThreshold,
  Logger as PowertoolsLogger,
} from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { LogFields, Logger } from '../ports.js';

/** The service name on every log line and metric. */
export const SERVICE_NAME = 'serverless-jobs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LOG_LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'silent'] satisfies LogLevel[];

/** `value` (any case) as a level, or `fallback` when it names none. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const level = value?.toLowerCase();
  return level !== undefined && LOG_LEVELS.includes(level) ? (level as LogLevel) : fallback;
}

/**
 * How lines are written: `json`, one JSON object per line (CloudWatch Logs, files, pipes); `pretty`,
 * `08:31:02 INFO  run succeeded job_id=… execution_id=…` for a person at a terminal.
 */
export type LogFormat = 'json' | 'pretty';

/** `value` as a format, `undefined` when unset or empty; throws on anything else. */
export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  if (value === undefined || value === '') return undefined;
  const format = value.toLowerCase();
  if (format === 'json' || format === 'pretty') return format;
  throw new RangeError(`LOG_FORMAT must be "json" or "pretty", not "${value}".`);
}

export interface LoggerOptions {
  /** Lines below this level are not written; `silent` writes none. @default 'info' */
  level?: LogLevel;
  /** @default 'json' */
  format?: LogFormat;
  /** Colours the level and the keys of `pretty` lines (for a terminal). @default false */
  color?: boolean;
  /** Receives each line, without its newline (tests capture them). @default a write to stdout */
  sink?: (line: string) => void;
}

/**
 * The service's logger: Powertools for AWS Lambda's `Logger` (levels, Lambda's Advanced Logging Controls
 * level and `POWERTOOLS_LOGGER_SAMPLE_RATE` honoured, errors with their stack and cause, values JSON
 * cannot hold made safe), with our line shape, and keys scoped to a unit of work by
 * {@link Logger.withKeys}.
 *
 * A JSON line: `{"level":"info","timestamp":"…","message":"run succeeded","request_id":"…",
 * "job_id":"…","execution_id":"…","attempt":1,"service":"serverless-jobs"}`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const color = options.color ?? false;
  const output: Output = {
    render:
      options.format === 'pretty'
        ? (attributes, replacer) => renderPretty(attributes, replacer, color)
        : renderJson,
    sink: options.sink ?? writeLine,
  };
  return new ScopedLogger(new ServiceLogger(options.level ?? 'info', output));
}

type JsonReplacer = (key: string, value: unknown) => unknown;

interface Output {
  render(attributes: LogAttributes, replacer: JsonReplacer): string;
  sink(line: string): void;
}

const writeLine = (line: string) => {
  process.stdout.write(`${line}\n`);
};

/** The keys that call sites' id fields are written under: one key finds a job's lines whoever wrote them. */
const CANONICAL_KEYS = new Map([
  ['jobId', 'job_id'],
  ['executionId', 'execution_id'],
]);

/**
 * The line shape: level, time and message, then the unit of work's ids, then the event's own fields, then
 * the service and the X-Ray trace id (when traced).
 */
class ServiceLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const fields: LogAttributes = {};
    for (const [key, value] of Object.entries(additional)) fields[CANONICAL_KEYS.get(key) ?? key] = value;
    const { request_id, job_id, execution_id, ...rest } = fields;
    return new LogItem({
      attributes: {
        level: attributes.logLevel.toLowerCase(),
        timestamp: this.formatTimestamp(attributes.timestamp),
        message: attributes.message,
        request_id,
        job_id,
        execution_id,
        ...rest,
        service: attributes.serviceName,
        xray_trace_id: attributes.xRayTraceId,
      },
    });
  }
}

/** Powertools' Logger writing through our {@link Output} instead of its own console. */
class ServiceLogger extends PowertoolsLogger {
  // Unset while Powertools' constructor runs (it may print a warning from there): those lines go to stdout.
  private output: Output | undefined;

  constructor(level: LogLevel, output: Output) {
    super({ logLevel: level, serviceName: SERVICE_NAME, logFormatter: new ServiceLogFormatter() });
    this.output = output;
  }

  protected override printLog(_level: number, log: LogItem): void {
    log.prepareForPrint();
    const replacer = this.getJsonReplacer() as JsonReplacer;
    const output = this.output ?? { render: renderJson, sink: writeLine };
    output.sink(output.render(log.getAttributes(), replacer));
  }
}

class ScopedLogger implements Logger {
  readonly #scope = new AsyncLocalStorage<LogFields>();

  constructor(private readonly logger: ServiceLogger) {}

  // A line below the level (the invocation's, as Powertools decides it) is dropped here, before its fields
  // are merged and before Powertools reads the environment for it: the request path logs several such lines
  // per request. No log buffer is configured, so Powertools would drop them too.
  debug(message: string, fields?: LogFields): void {
    if (this.logger.level > LogLevelThreshold.DEBUG) return;
    this.logger.debug(message, this.#with(fields));
  }

  info(message: string, fields?: LogFields): void {
    if (this.logger.level > LogLevelThreshold.INFO) return;
    this.logger.info(message, this.#with(fields));
  }

  warn(message: string, fields?: LogFields): void {
    if (this.logger.level > LogLevelThreshold.WARN) return;
    this.logger.warn(message, this.#with(fields));
  }

  error(message: string, fields?: LogFields): void {
    this.logger.error(message, this.#with(fields));
  }

  withKeys<T>(keys: LogFields, work: () => Promise<T>): Promise<T> {
    return this.#scope.run({ ...this.#scope.getStore(), ...keys }, work);
  }

  /** The scope's keys, then the call's fields (which win). */
  #with(fields: LogFields | undefined): LogFields {
    return { ...this.#scope.getStore(), ...fields };
  }
}

function renderJson(attributes: LogAttributes, replacer: JsonReplacer): string {
  return JSON.stringify(attributes, replacer);
}

const LEVEL_COLOURS = new Map([
  ['debug', '90'],
  ['info', '36'],
  ['warn', '33'],
  ['error', '31'],
  ['critical', '31'],
]);
/** Written on every JSON line, noise on a terminal. */
const PRETTY_HIDDEN = new Set(['level', 'timestamp', 'message', 'service', 'request_id', 'xray_trace_id']);
const BARE_VALUE = /^[\w.:/@+-]+$/;

/**
 * `08:31:02 INFO  run succeeded job_id=… execution_id=… attempt=1`: local time, level, message, fields as
 * `key=value` (quoted when they hold spaces); an error's stack and causes follow on indented lines.
 */
function renderPretty(attributes: LogAttributes, replacer: JsonReplacer, color: boolean): string {
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = String(attributes.level);
  const head = [
    paint('2', clockTime(attributes.timestamp)),
    paint(LEVEL_COLOURS.get(level) ?? '0', level.toUpperCase().padEnd(5)),
    String(attributes.message),
  ];
  const tail: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (PRETTY_HIDDEN.has(key)) continue;
    if (value instanceof Error) {
      head.push(`${paint('2', `${key}=`)}${bare(`${value.name}: ${value.message}`)}`);
      tail.push(...errorLines(value).map((line) => paint('2', line)));
      continue;
    }
    const text =
      typeof value === 'string'
        ? bare(value)
        : typeof value === 'bigint'
          ? String(value)
          : (JSON.stringify(value, replacer) ?? String(value));
    head.push(`${paint('2', `${key}=`)}${text}`);
  }
  return [head.join(' '), ...tail].join('\n');
}

function bare(text: string): string {
  return BARE_VALUE.test(text) ? text : JSON.stringify(text);
}

function clockTime(timestamp: unknown): string {
  const date = new Date(String(timestamp));
  if (Number.isNaN(date.getTime())) return String(timestamp);
  return [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
}

/** The stack below the first line (already on the line as `error=…`), then each cause's, indented. */
function errorLines(error: Error, depth = 0): string[] {
  const indent = '    '.repeat(depth + 1);
  const frames = (error.stack ?? '')
    .split('\n')
    .slice(1)
    .map((frame) => `${indent}${frame.trim()}`);
  if (!(error.cause instanceof Error)) return frames;
  return [
    ...frames,
    `${indent}caused by ${error.cause.name}: ${error.cause.message}`,
    ...errorLines(error.cause, depth + 1),
  ];
}
