import type { CommandSpec, OptionSpec } from './command.js';
import { GLOBAL_OPTIONS, GROUPS, groupCommands, SECTIONS } from './registry.js';

const WIDTH = 100;

/** `text` wrapped at `WIDTH`, every line after the first indented by `indent` spaces. */
function wrap(text: string, indent = 0, firstLineUsed = indent): string {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - firstLineUsed;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** Two columns, the left padded to its widest entry, the right wrapped under itself. */
function twoColumns(rows: readonly [string, string][], minimum = 0): string {
  const width = Math.max(minimum, ...rows.map(([left]) => left.length));
  const indent = 2 + width + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${wrap(right, indent)}`).join('\n');
}

function optionLabel(name: string, option: OptionSpec): string {
  const flags = option.short ? `-${option.short}, --${name}` : `    --${name}`;
  return option.type === 'string' ? `${flags} <${option.value ?? 'value'}>` : flags;
}

/** The command with its arguments, as lists show it: `trigger <id>`, `create -f <file>`. */
function synopsis(command: CommandSpec): string {
  return [command.name, ...command.args, ...(command.requiredOptions ?? [])].join(' ');
}

/** `jobs entities get <id> [options]` */
export function usageLine(command: CommandSpec): string {
  const optional = Object.keys(command.options).length > (command.requiredOptions?.length ?? 0);
  return `jobs ${synopsis(command)}${optional ? ' [options]' : ''}`;
}

const CONFIGURATION =
  'Configuration: JOBS_API_URL and JOBS_API_KEY (or --url, --api-key). Against a service on this machine ' +
  '(127.0.0.1 or localhost) without a key, the CLI reads the key "npm start" saved in ' +
  '$JOBS_DATA_DIR/api-key (.data/api-key by default, relative to the current directory). With --auth iam ' +
  '(or JOBS_AUTH=iam), requests are signed with AWS credentials instead, for a deployment with IAM authorization.';

const EXIT_CODES =
  'Exit codes: 0 success; 1 the service refused the request, or a waited-for run did not succeed; ' +
  '2 usage or configuration error (nothing was sent).';

/** What `jobs --help` prints. */
export function rootHelp(): string {
  const sections = SECTIONS.map(
    (section) =>
      `${section.title}:\n${twoColumns(
        section.commands.map((command) => [synopsis(command), command.summary]),
        28,
      )}`,
  );
  const globals = twoColumns(
    Object.entries(GLOBAL_OPTIONS).map(([name, option]) => [optionLabel(name, option), option.help]),
  );
  return [
    'Usage: jobs <command> [options]',
    '',
    wrap(
      'Serverless Jobs from the command line: manage jobs and the entities they run, trigger runs and follow ' +
        'them, manage where alerts go, preview cron schedules and send signed webhook deliveries.',
    ),
    '',
    sections.join('\n\n'),
    '',
    `Global options:\n${globals}`,
    '',
    wrap(CONFIGURATION),
    '',
    wrap(EXIT_CODES),
    '',
    'Run "jobs <command> --help" for the options and examples of a command.',
  ].join('\n');
}

/** What `jobs <command> --help` prints. */
export function commandHelp(command: CommandSpec): string {
  const options = Object.entries(command.options);
  return [
    `Usage: ${usageLine(command)}`,
    '',
    wrap(command.description),
    ...(options.length > 0
      ? [
          '',
          `Options:\n${twoColumns(options.map(([name, option]) => [optionLabel(name, option), option.help]))}`,
        ]
      : []),
    '',
    'Global options: --url <url>, --api-key <key>, --json, -h/--help (see "jobs --help").',
    '',
    `Example${command.examples.length > 1 ? 's' : ''}:`,
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** What `jobs entities --help` prints. */
export function groupHelp(group: string): string {
  const commands = groupCommands(group);
  const names = commands.map((command) => command.name.slice(group.length + 1));
  return [
    `Usage: jobs ${group} <${names.join('|')}> [options]`,
    '',
    wrap(`${GROUPS[group] ?? ''}.`),
    '',
    `Commands:\n${twoColumns(commands.map((command) => [synopsis(command), command.summary]))}`,
    '',
    `Run "jobs ${group} <command> --help" for the options and examples of a command.`,
  ].join('\n');
}
