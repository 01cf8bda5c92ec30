import type {
  NotificationChannel,
  NotificationChannelCreateInput,
  NotificationChannelPatchInput,
  NotificationChannelWithSecret,
} from '../../sdk/index.js';
import {
  booleanOption,
  type CommandContext,
  type CommandSpec,
  type OptionValues,
  stringList,
  stringOption,
  UsageError,
} from '../command.js';
import { type Column, formatRecord, formatTable, formatTime } from '../format.js';
import { readPatch } from './jobs.js';

export const CHANNELS_SUMMARY = 'Manage the notification channels alert events go to';

const CHANNEL_COLUMNS: readonly Column<NotificationChannel>[] = [
  { header: 'id', value: (channel) => channel.id },
  { header: 'name', value: (channel) => channel.name, max: 30 },
  { header: 'type', value: (channel) => channel.type },
  { header: 'destination', value: (channel) => channel.url ?? channel.topic_arn ?? '-', max: 50 },
  { header: 'events', value: (channel) => channel.events?.join(',') ?? 'all', max: 40 },
  { header: 'default', value: (channel) => (channel.default ? 'yes' : '') },
  {
    header: 'last delivery',
    value: (channel) =>
      channel.last_delivery_status === null
        ? '-'
        : `${channel.last_delivery_status} ${formatTime(channel.last_delivery_at)}`,
  },
  { header: 'failures', value: (channel) => String(channel.consecutive_delivery_failures) },
];

function printChannel(
  context: CommandContext,
  channel: NotificationChannel | NotificationChannelWithSecret,
  headline: string,
): void {
  if (context.json) {
    context.printJson(channel);
    return;
  }
  context.print(headline);
  context.print(formatRecord(channel));
  if ('signing_secret' in channel && channel.signing_secret !== undefined) {
    context.print(
      '\nsigning_secret is shown only in this answer and cannot be read again: give it to the receiver now, ' +
        'so it can verify the Standard Webhooks signature of every notification.',
    );
  }
}

/** The fields `create` takes as options; each replaces the same field of `-f`. */
function createFields(values: OptionValues): Record<string, unknown> {
  const events = stringList(values, 'event');
  const fields: Record<string, unknown> = {
    name: stringOption(values, 'name'),
    type: stringOption(values, 'type'),
    // Not `--url`: that one is the API's, for every command.
    url: stringOption(values, 'webhook-url'),
    topic_arn: stringOption(values, 'topic-arn'),
    ...(events.length > 0 && { events }),
    ...(booleanOption(values, 'default') && { default: true }),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

export const channelCommands: readonly CommandSpec[] = [
  {
    name: 'channels list',
    args: [],
    summary: 'List notification channels',
    description:
      'Lists every notification channel, newest first, with its destination, the events it receives and how its last delivery went.',
    options: {},
    examples: ['jobs channels list', 'jobs channels list --json'],
    async run(context) {
      const client = await context.client();
      const channels = await client.notificationChannels.list();
      if (context.json) context.printJson(channels);
      else {
        context.print(
          channels.length === 0 ? 'No notification channels.' : formatTable(channels, CHANNEL_COLUMNS),
        );
      }
      return 0;
    },
  },
  {
    name: 'channels get',
    args: ['<id>'],
    summary: 'Show one notification channel',
    description: 'Shows every field of a channel, its delivery counters included (never its signing secret).',
    options: {},
    examples: ['jobs channels get nch_0m5xy3k0w0123456789abcdef'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const channel = await client.notificationChannels.get(id);
      context.printRecord(channel);
      return 0;
    },
  },
  {
    name: 'channels create',
    args: [],
    summary: 'Create a notification channel',
    description:
      'Creates a channel from options, or from a JSON file (options replace its fields): a webhook channel ' +
      '(--webhook-url) receives a signed JSON POST per alert event; on AWS an sns channel (--type sns --topic-arn) ' +
      'publishes to a topic the deployment allows. --event (repeatable) limits the events it receives ' +
      '(run.failed, job.failing, job.paused, job.recovered, fire.missed, run.overdue; default all). --default ' +
      'makes it hear of every job whose config.alerts names no channels. A webhook channel answers with its ' +
      'signing_secret, shown this once and never again.',
    options: {
      name: { type: 'string', value: 'name', help: 'The channel name' },
      'webhook-url': {
        type: 'string',
        value: 'url',
        help: 'Webhook channels: where notifications are POSTed',
      },
      type: { type: 'string', value: 'webhook|sns', help: 'The channel type (default webhook)' },
      'topic-arn': { type: 'string', value: 'arn', help: 'sns channels: the topic to publish to' },
      event: {
        type: 'string',
        multiple: true,
        value: 'type',
        help: 'An event type the channel receives (repeatable; default all)',
      },
      default: { type: 'boolean', help: 'Receive the events of every job that names no channels' },
      file: { type: 'string', short: 'f', value: 'file', help: 'The channel as JSON; - reads stdin' },
    },
    examples: [
      'jobs channels create --name on-call --webhook-url https://hooks.example.com/jobs-alerts --default',
      'jobs channels create --name failures --webhook-url https://hooks.example.com/a --event job.failing --event job.paused',
      'jobs channels create -f channel.json',
    ],
    async run(context, { values }) {
      const file = stringOption(values, 'file');
      const body: Record<string, unknown> = {
        ...(file !== undefined && (await context.readJsonObject(file, '-f'))),
        ...createFields(values),
      };
      body.type ??= 'webhook';
      if (body.name === undefined) throw new UsageError('--name is required (or "name" in -f)');
      const client = await context.client();
      const channel = await client.notificationChannels.create(body as NotificationChannelCreateInput);
      printChannel(context, channel, `Created notification channel ${channel.id}.`);
      return 0;
    },
  },
  {
    name: 'channels update',
    args: ['<id>'],
    summary: 'Change fields of a notification channel',
    description:
      'Sends a partial update: name, url, topic_arn, events (null: all) or default. The type cannot change, ' +
      'and the signing secret stays.',
    options: {
      file: {
        type: 'string',
        short: 'f',
        value: 'file',
        help: 'Fields to change as a JSON object; - reads stdin',
      },
      set: {
        type: 'string',
        multiple: true,
        value: 'key=value',
        help: 'Set a top-level field (repeatable): key=text for a string, key:=<json> for anything else; applied after -f',
      },
    },
    examples: [
      'jobs channels update nch_0m5xy3k0w0123456789abcdef --set name=on-call --set default:=true',
      `jobs channels update nch_0m5xy3k0w0123456789abcdef --set events:='["job.failing","fire.missed"]'`,
    ],
    async run(context, { positionals: [id = ''], values }) {
      const patch = await readPatch(context, values);
      const client = await context.client();
      const channel = await client.notificationChannels.update(id, patch as NotificationChannelPatchInput);
      printChannel(context, channel, `Updated notification channel ${channel.id}.`);
      return 0;
    },
  },
  {
    name: 'channels delete',
    args: ['<id>'],
    summary: 'Delete a notification channel',
    description:
      'Deletes a channel; notifications waiting for it are dropped. Jobs naming it keep their other ' +
      'channels, and those left with none go to the default channels.',
    options: {},
    examples: ['jobs channels delete nch_0m5xy3k0w0123456789abcdef'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      await client.notificationChannels.delete(id);
      if (context.json) context.printJson({ id, deleted: true });
      else context.print(`Deleted notification channel ${id}.`);
      return 0;
    },
  },
  {
    name: 'channels test',
    args: ['<id>'],
    summary: 'Send a test notification',
    description:
      'Sends a signed test event to the channel now, once, and says how it went; exits 1 when the ' +
      'receiver did not accept it.',
    options: {},
    examples: ['jobs channels test nch_0m5xy3k0w0123456789abcdef'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const result = await client.notificationChannels.test(id);
      if (context.json) context.printJson(result);
      else if (result.delivered) context.print(`Delivered test event ${result.event_id} to ${id}.`);
      else context.note(`Test event ${result.event_id} was not delivered to ${id}: ${result.error}`);
      return result.delivered ? 0 : 1;
    },
  },
];
