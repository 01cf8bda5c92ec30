import { parseArgs } from 'node:util';
import { ControlPlaneClient, JobError } from '../sdk/index.js';
import { JobsServiceError } from '../shared/domain/errors.js';
import { httpStatusOf } from '../shared/http/errors-to-http.js';
import {
  type CliIo,
  type CommandContext,
  type CommandSpec,
  type OptionSpec,
  type OptionValues,
  stringOption,
  UsageError,
} from './command.js';
import { DEFAULT_API_URL, resolveApiKey, resolveApiUrl, resolveAuth } from './config.js';
import { formatErrorLine, formatRecord } from './format.js';
import { commandHelp, groupHelp, rootHelp, usageLine } from './help.js';
import { parseJsonObject, readSource } from './input.js';
import { findCommand, GLOBAL_OPTIONS, GROUPS, groupCommands } from './registry.js';
import { readVersion } from './version.js';

export type { CliIo } from './command.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/** The options as `parseArgs` takes them (without the help texts). */
function parseArgsOptions(options: Readonly<Record<string, OptionSpec>>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, option]) => [
      name,
      {
        type: option.type,
        ...(option.short !== undefined && { short: option.short }),
        ...(option.multiple !== undefined && { multiple: option.multiple }),
      },
    ]),
  );
}

/** `parseArgs`'s messages, shortened to what the user typed wrong. */
function describeParseError(error: Error & { code?: string }): string {
  const quoted = /'(?:-\w, )?(--?[\w-]+)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (error.message.includes('does not take an argument')) return `option ${quoted} takes no value`;
    if (error.message.includes('ambiguous')) {
      return `option ${quoted} needs a value (for one starting with "-", write ${quoted}=-…)`;
    }
    return `option ${quoted} needs a value`;
  }
  return error.message.split('\n')[0] ?? error.message;
}

function parseOptions(
  args: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
): { values: OptionValues; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args: [...args],
      options: parseArgsOptions(options),
      allowPositionals: true,
      strict: true,
    });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(describeParseError(error as Error));
    }
    throw error;
  }
}

/**
 * Splits argv into the command's words (`trigger`, `entities get`) and the rest. Global options may come
 * before the command (`jobs --json list`), so those are stepped over, with the value of those that take one.
 */
function splitCommand(argv: readonly string[]): { words: string[]; rest: string[] } {
  const before: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    before.push(token);
    const name = token.startsWith('--') ? token.slice(2) : undefined;
    if (name !== undefined && GLOBAL_OPTIONS[name]?.type === 'string' && i + 1 < argv.length) {
      before.push(argv[i + 1] ?? '');
      i++;
    }
  }
  const words: string[] = [];
  const first = argv[i];
  if (first !== undefined && first !== '--') {
    words.push(first);
    const second = argv[i + 1];
    if (GROUPS[first] !== undefined && second !== undefined && !second.startsWith('-')) words.push(second);
  }
  return { words, rest: [...before, ...argv.slice(i + words.length)] };
}

/** Writes `text` and a newline. */
const line = (stream: CliIo['stdout'], text: string) => stream.write(`${text}\n`);

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveSleep) => {
    if (signal?.aborted) {
      resolveSleep();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolveSleep();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function makeContext(io: CliIo, values: OptionValues): CommandContext {
  const fetchFn = io.fetch ?? globalThis.fetch;
  const apiUrl = () => resolveApiUrl(stringOption(values, 'url'), io.env);
  return {
    json: values.json === true,
    now: io.now ?? (() => new Date()),
    sleep: io.sleep ?? defaultSleep,
    fetch: fetchFn,
    signal: io.signal,
    env: (name) => io.env[name],
    print: (text) => line(io.stdout, text),
    printJson: (value) => line(io.stdout, JSON.stringify(value, null, 2)),
    printRecord: (value) =>
      line(io.stdout, values.json === true ? JSON.stringify(value, null, 2) : formatRecord({ ...value })),
    note: (text) => line(io.stderr, text),
    apiUrl,
    async client() {
      const baseUrl = apiUrl();
      if (resolveAuth(stringOption(values, 'auth'), io.env) === 'iam') {
        const region = io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION;
        return new ControlPlaneClient({
          baseUrl,
          auth: { type: 'iam', ...(region && { region }) },
          fetch: fetchFn,
        });
      }
      const apiKey = await resolveApiKey({
        flag: stringOption(values, 'api-key'),
        url: baseUrl,
        env: io.env,
        cwd: io.cwd,
      });
      return new ControlPlaneClient({ baseUrl, apiKey, fetch: fetchFn });
    },
    readText: (source, option) => readSource(source, option, io),
    async readJsonObject(source, option) {
      const text = await readSource(source, option, io);
      return parseJsonObject(text, source === '-' ? `${option} - (stdin)` : `${option} ${source}`);
    },
  };
}

/** The error's line (and the usage of `command`, for a usage error) on stderr; the exit code it means. */
function report(error: unknown, io: CliIo, values: OptionValues, command: CommandSpec | undefined): number {
  if (error instanceof UsageError) {
    line(io.stderr, `error: ${error.message}`);
    if (command && error.showUsage) {
      line(io.stderr, `Usage: ${usageLine(command)}`);
      line(io.stderr, `Run "jobs ${command.name} --help" for its options and examples.`);
    }
    return EXIT_USAGE;
  }
  if (io.signal?.aborted) return EXIT_INTERRUPTED;
  if (error instanceof JobError) {
    let text = formatErrorLine(error) + setTypeHint(error, values);
    if (error.status === 0 && error.code === 'network_error') {
      const url = stringOption(values, 'url') ?? (io.env.JOBS_API_URL || DEFAULT_API_URL);
      text += ` (is the service running at ${url}?)`;
    }
    line(io.stderr, text);
    return EXIT_FAILED;
  }
  if (error instanceof JobsServiceError) {
    // The domain's own errors, from what the CLI computes locally (`jobs cron`): shown as the service would.
    line(
      io.stderr,
      formatErrorLine({
        status: httpStatusOf(error),
        code: error.code,
        message: error.message,
        details: error.details,
      }),
    );
    return EXIT_FAILED;
  }
  line(io.stderr, `error: ${error instanceof Error ? error.message : String(error)}`);
  return EXIT_FAILED;
}

/**
 * `--set key=value` always sends a string; when the service refuses such a key for its type (`--set
 * enabled=false`), say how to send another type.
 */
function setTypeHint(error: JobError, values: OptionValues): string {
  const sets = values.set;
  if (!Array.isArray(sets)) return '';
  const stringKeys = new Set(
    sets
      .filter((item) => typeof item === 'string' && !/^[^=:]+:=/.test(item))
      .map((item) => String(item).split('=')[0]),
  );
  const key = error.details.find(
    (detail) => detail.code === 'invalid_type' && stringKeys.has(detail.path),
  )?.path;
  return key === undefined ? '' : ` (--set ${key}=… sends a string; use ${key}:=<json> for other types)`;
}

/** Runs the `jobs` command line `argv` (without `node` and the script) and returns its exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { words, rest } = splitCommand(argv);
  let values: OptionValues = {};
  let command: CommandSpec | undefined;
  try {
    const [first, second] = words;
    if (first === undefined) {
      ({ values } = parseOptions(rest, GLOBAL_OPTIONS));
      if (values.version === true) {
        line(io.stdout, await readVersion());
        return EXIT_OK;
      }
      if (values.help === true) {
        line(io.stdout, rootHelp());
        return EXIT_OK;
      }
      line(io.stderr, rootHelp());
      return EXIT_USAGE;
    }
    if (first === 'help') return helpFor(rest, io);

    const group = GROUPS[first] !== undefined ? first : undefined;
    if (group !== undefined && second === undefined) {
      ({ values } = parseOptions(rest, GLOBAL_OPTIONS));
      if (values.help === true) {
        line(io.stdout, groupHelp(group));
        return EXIT_OK;
      }
      line(io.stderr, `error: "jobs ${group}" needs a command`);
      line(io.stderr, groupHelp(group));
      return EXIT_USAGE;
    }
    command = findCommand(words.join(' '));
    if (!command) {
      const what = group !== undefined ? `${group} command "${second}"` : `command "${first}"`;
      const where = group !== undefined ? `jobs ${group} --help` : 'jobs --help';
      throw new UsageError(`unknown ${what}. Run "${where}" for the list of commands.`);
    }

    const parsed = parseOptions(rest, { ...GLOBAL_OPTIONS, ...command.options });
    values = parsed.values;
    if (values.help === true) {
      line(io.stdout, commandHelp(command));
      return EXIT_OK;
    }
    if (values.version === true) {
      line(io.stdout, await readVersion());
      return EXIT_OK;
    }
    checkArguments(command, parsed.positionals);
    return await command.run(makeContext(io, values), parsed);
  } catch (error) {
    return report(error, io, values, command);
  }
}

/** Too few or too many positional arguments, or an empty required one, is a `UsageError`. */
function checkArguments(command: CommandSpec, positionals: readonly string[]): void {
  const required = command.args.filter((arg) => !arg.startsWith('['));
  const missing = required[positionals.length];
  if (missing !== undefined) throw new UsageError(`missing argument ${missing}`);
  const empty = required.findIndex((_, i) => positionals[i] === '');
  if (empty >= 0) throw new UsageError(`${required[empty]} must not be empty`);
  // `cron` explains its own extra arguments (an unquoted expression).
  if (positionals.length > command.args.length && command.name !== 'cron') {
    throw new UsageError(`unexpected argument "${positionals[command.args.length]}"`);
  }
}

/** `jobs help [command]`: the help of that command, group, or of everything. */
function helpFor(rest: readonly string[], io: CliIo): number {
  const words = rest.filter((token) => !token.startsWith('-'));
  if (words.length === 0) {
    line(io.stdout, rootHelp());
    return EXIT_OK;
  }
  const name = words.join(' ');
  const command = findCommand(name);
  if (command) line(io.stdout, commandHelp(command));
  else if (words.length === 1 && groupCommands(name).length > 0) line(io.stdout, groupHelp(name));
  else {
    line(io.stderr, `error: unknown command "${name}". Run "jobs --help" for the list of commands.`);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}
