import type { ControlPlaneClient } from '../sdk/index.js';

/**
 * Everything the CLI touches outside itself. `main.ts` passes the process's streams and environment;
 * tests pass strings, a fake `fetch`, a fixed clock and an instant `sleep`.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (`-f job.json`, `.data/api-key`) are read from. */
  cwd: string;
  /** Standard input, read to its end (`-f -`). */
  readStdin?: () => Promise<string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default () => new Date() */
  now?: () => Date;
  /** Waits `ms`, or less when `signal` aborts. @default a timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Aborted on Ctrl+C: `--watch` and `--wait` stop there. */
  signal?: AbortSignal;
}

/**
 * A mistake in how the CLI was called or configured; nothing was sent. Exit code 2. The command's usage
 * line follows the message unless `showUsage` is false (a missing key or file, where usage would not help).
 */
export class UsageError extends Error {
  readonly showUsage: boolean;

  constructor(message: string, options: { showUsage?: boolean } = {}) {
    super(message);
    this.name = 'UsageError';
    this.showUsage = options.showUsage ?? true;
  }
}

/** A command-line option as `parseArgs` takes it, plus what its help shows. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder of the value in help: `--limit <n>`. */
  value?: string;
  help: string;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a command receives: its positional arguments and the options given (global ones included). */
export interface CommandInput {
  positionals: string[];
  values: OptionValues;
}

/** The services a command may use; built once per run by `run()`. */
export interface CommandContext {
  /** `--json`: print the raw JSON result instead of tables. */
  readonly json: boolean;
  readonly now: () => Date;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly fetch: typeof fetch;
  readonly signal: AbortSignal | undefined;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** Prints a line (or lines) to stdout. */
  print(text: string): void;
  /** Prints `value` as indented JSON to stdout. */
  printJson(value: unknown): void;
  /** Prints one object: as indented JSON under `--json`, else a field a line (`formatRecord`). */
  printRecord(value: object): void;
  /** Prints a line to stderr: progress and notes that scripts reading stdout should not see. */
  note(text: string): void;
  /** The API URL: `--url`, else `JOBS_API_URL`, else the local default. */
  apiUrl(): string;
  /** An SDK client for the API URL with the resolved key (throws `UsageError` when there is none). */
  client(): Promise<ControlPlaneClient>;
  /** A JSON object from a file, or from stdin when `source` is `-`. */
  readJsonObject(source: string, option: string): Promise<Record<string, unknown>>;
  /** A file's text, or stdin's when `source` is `-`. */
  readText(source: string, option: string): Promise<string>;
}

/** One command: `list`, `entities get`, `webhook send`. Help and parsing are generated from this. */
export interface CommandSpec {
  /** The words after `jobs`. */
  name: string;
  /** Positional arguments as usage shows them; `[x]` is optional. */
  args: readonly string[];
  /** Options the command cannot do without, shown in its usage: `-f <file>`. */
  requiredOptions?: readonly string[];
  /** One line for `jobs --help`. */
  summary: string;
  /** A paragraph for `jobs <command> --help`. */
  description: string;
  options: Readonly<Record<string, OptionSpec>>;
  examples: readonly string[];
  run(context: CommandContext, input: CommandInput): Promise<number>;
}

/** `values[name]` as a string (the last one if given twice), or undefined. */
export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  if (Array.isArray(value)) {
    const last = value.at(-1);
    return typeof last === 'string' ? last : undefined;
  }
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a repeatable string option, in order. */
export function stringList(values: OptionValues, name: string): string[] {
  const value = values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((item): item is string => typeof item === 'string');
}

export function booleanOption(values: OptionValues, name: string): boolean {
  return values[name] === true;
}

/** `values[name]` as a whole number within `[min, max]`, `fallback` when absent; a `UsageError` otherwise. */
export function integerOption(
  values: OptionValues,
  name: string,
  range: { min: number; max: number; fallback: number },
): number {
  const text = stringOption(values, name);
  if (text === undefined) return range.fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= range.min && value <= range.max)) {
    throw new UsageError(
      `--${name} must be a whole number from ${range.min} to ${range.max} (got "${text}")`,
    );
  }
  return value;
}
