import type { CommandSpec, OptionSpec } from './command.js';
import { CHANNELS_SUMMARY, channelCommands } from './commands/channels.js';
import { cronCommands } from './commands/cron.js';
import { ENTITIES_SUMMARY, entityCommands } from './commands/entities.js';
import { healthCommands } from './commands/health.js';
import { jobCommands } from './commands/jobs.js';
import { runCommands } from './commands/runs.js';
import { WEBHOOK_SUMMARY, webhookCommands } from './commands/webhook.js';

/** Options every command takes, before or after the command name. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  url: { type: 'string', value: 'url', help: 'API URL (default: $JOBS_API_URL, else http://127.0.0.1:3000)' },
  'api-key': {
    type: 'string',
    value: 'key',
    help: 'API key (default: $JOBS_API_KEY; for a URL on this machine, the key "npm start" saved in $JOBS_DATA_DIR/api-key, .data/api-key by default)',
  },
  auth: {
    type: 'string',
    value: 'api-key|iam',
    help: 'How to authenticate (default: $JOBS_AUTH, else api-key): iam signs requests with SigV4 from the AWS credential chain (profiles, SSO, environment, instance roles; region from the URL or $AWS_REGION)',
  },
  json: { type: 'boolean', help: 'Print the raw JSON result instead of tables (for scripts)' },
  help: { type: 'boolean', short: 'h', help: 'Show help; "jobs <command> --help" for a command' },
  version: { type: 'boolean', short: 'V', help: 'Print the version' },
};

/** The commands as `jobs --help` lists them. */
export const SECTIONS: readonly { title: string; commands: readonly CommandSpec[] }[] = [
  { title: 'Jobs', commands: [...jobCommands, ...runCommands] },
  { title: 'Entities', commands: entityCommands },
  { title: 'Alerts', commands: channelCommands },
  { title: 'Tools', commands: [...cronCommands, ...webhookCommands, ...healthCommands] },
];

export const COMMANDS: readonly CommandSpec[] = SECTIONS.flatMap((section) => section.commands);

/** Commands of two words (`entities get`, `channels test`, `webhook send`), by their first word. */
export const GROUPS: Readonly<Record<string, string>> = {
  entities: ENTITIES_SUMMARY,
  channels: CHANNELS_SUMMARY,
  webhook: WEBHOOK_SUMMARY,
};

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/** The commands of a group (`entities` → `entities list`, `entities get`, …). */
export function groupCommands(group: string): CommandSpec[] {
  return COMMANDS.filter((command) => command.name.startsWith(`${group} `));
}
