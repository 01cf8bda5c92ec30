import type { Job, JobCreateInput, JobPatchInput, TriggerType } from '../../sdk/index.js';
import {
  type CommandContext,
  type CommandSpec,
  type OptionValues,
  stringList,
  stringOption,
  UsageError,
} from '../command.js';
import { type Column, formatRecord, formatTable, formatTime } from '../format.js';
import { parseAssignments } from '../input.js';

const TRIGGER_TYPES: readonly TriggerType[] = ['cron', 'webhook', 'manual'];

const JOB_COLUMNS: readonly Column<Job>[] = [
  { header: 'id', value: (job) => job.id },
  { header: 'name', value: (job) => job.name, max: 40 },
  { header: 'trigger', value: (job) => job.trigger_type },
  {
    header: 'schedule',
    value: (job) => (job.cron_schedule ? `${job.cron_schedule} (${job.cron_timezone})` : '-'),
    max: 40,
  },
  { header: 'enabled', value: (job) => (job.enabled ? 'yes' : 'no') },
  { header: 'next run', value: (job) => formatTime(job.next_run_at) },
];

/**
 * A patch from `-f <file>` and/or `--set` pairs (applied after the file), shared by `update` and
 * `entities update`. Neither is a `UsageError`.
 */
export async function readPatch(
  context: CommandContext,
  values: OptionValues,
): Promise<Record<string, unknown>> {
  const file = stringOption(values, 'file');
  const sets = stringList(values, 'set');
  if (file === undefined && sets.length === 0) {
    throw new UsageError('nothing to change: give -f <patch.json> and/or --set key=value');
  }
  return {
    ...(file !== undefined && (await context.readJsonObject(file, '-f'))),
    ...parseAssignments(sets, '--set'),
  };
}

/** `-f` as `create` and `update` take it. */
const FILE_OPTION = {
  type: 'string',
  short: 'f',
  value: 'file',
  help: 'JSON file to send; - reads stdin',
} as const;
/** `--set` as `update` takes it. */
const SET_OPTION = {
  type: 'string',
  multiple: true,
  value: 'key=value',
  help: 'Set a top-level field (repeatable): key=text for a string, key:=<json> for anything else (key:=null clears it); applied after -f',
} as const;

function printJob(context: CommandContext, job: Job, headline: string): void {
  if (context.json) {
    context.printJson(job);
    return;
  }
  context.print(headline);
  context.print(formatRecord(job));
  if (job.webhook_secret !== undefined) {
    context.print(
      '\nwebhook_secret is shown only in this answer: keep it to sign deliveries ' +
        `(jobs webhook send ${job.webhook_path ?? '<path>'} --secret <webhook_secret> -d '{…}').`,
    );
  }
}

export const jobCommands: readonly CommandSpec[] = [
  {
    name: 'list',
    args: [],
    summary: 'List jobs, newest first',
    description:
      'Lists every job (all pages), optionally only enabled or disabled ones, or one trigger type.',
    options: {
      enabled: { type: 'string', value: 'true|false', help: 'Only enabled (true) or disabled (false) jobs' },
      'trigger-type': {
        type: 'string',
        value: 'cron|webhook|manual',
        help: 'Only jobs of this trigger type',
      },
    },
    examples: [
      'jobs list',
      'jobs list --enabled true --trigger-type cron',
      'jobs list --json | jq -r ".[].id"',
    ],
    async run(context, { values }) {
      const enabled = stringOption(values, 'enabled');
      const triggerType = stringOption(values, 'trigger-type');
      if (enabled !== undefined && enabled !== 'true' && enabled !== 'false') {
        throw new UsageError(`--enabled must be true or false (got "${enabled}")`);
      }
      if (triggerType !== undefined && !TRIGGER_TYPES.includes(triggerType as TriggerType)) {
        throw new UsageError(
          `--trigger-type must be one of ${TRIGGER_TYPES.join(', ')} (got "${triggerType}")`,
        );
      }
      const client = await context.client();
      const jobs = await client.jobs.list({
        ...(enabled !== undefined && { enabled: enabled === 'true' }),
        ...(triggerType !== undefined && { trigger_type: triggerType as TriggerType }),
      });
      if (context.json) context.printJson(jobs);
      else context.print(jobs.length === 0 ? 'No jobs.' : formatTable(jobs, JOB_COLUMNS));
      return 0;
    },
  },
  {
    name: 'get',
    args: ['<id>'],
    summary: 'Show one job',
    description:
      'Shows every field of a job; cron jobs include next_run_at and their EventBridge expression.',
    options: {},
    examples: ['jobs get job_550e8400-e29b-41d4-a716-446655440000'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const job = await client.jobs.get(id);
      context.printRecord(job);
      return 0;
    },
  },
  {
    name: 'create',
    args: [],
    requiredOptions: ['-f <file>'],
    summary: 'Create a job from a JSON file',
    description:
      'Creates a job from a JSON object with the fields of POST /jobs (name, trigger_type, prompt_template, …). ' +
      'A webhook job answers with its webhook_url and webhook_secret, shown this once.',
    options: { file: { ...FILE_OPTION, help: 'The job as JSON (required); - reads stdin' } },
    examples: [
      'jobs create -f job.json',
      `echo '{"name":"Ping","trigger_type":"manual","prompt_template":"Ping {{ host }}"}' | jobs create -f -`,
    ],
    async run(context, { values }) {
      const file = stringOption(values, 'file');
      if (file === undefined) throw new UsageError('-f <file> is required');
      const body = await context.readJsonObject(file, '-f');
      const client = await context.client();
      // The service validates the fields; its 422 names each wrong one.
      const job = await client.jobs.create(body as JobCreateInput);
      printJob(context, job, `Created job ${job.id}.`);
      return 0;
    },
  },
  {
    name: 'update',
    args: ['<id>'],
    summary: 'Change fields of a job',
    description:
      'Sends a partial update (PATCH): only the fields given change; null clears an optional field. Objects ' +
      'such as config are replaced whole, so give the complete object.',
    options: {
      file: { ...FILE_OPTION, help: 'Fields to change as a JSON object; - reads stdin' },
      set: SET_OPTION,
    },
    examples: [
      'jobs update job_123 --set cron_schedule="0 10 * * *" --set cron_timezone=Europe/Paris',
      'jobs update job_123 --set enabled:=false --set description:=null',
      'jobs update job_123 -f patch.json',
    ],
    async run(context, { positionals: [id = ''], values }) {
      const patch = await readPatch(context, values);
      const client = await context.client();
      const job = await client.jobs.update(id, patch as JobPatchInput);
      printJob(context, job, `Updated job ${job.id}.`);
      return 0;
    },
  },
  {
    name: 'delete',
    args: ['<id>'],
    summary: 'Delete a job',
    description: 'Deletes a job and its schedule. Its executions stay readable until they expire.',
    options: {},
    examples: ['jobs delete job_123'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      await client.jobs.delete(id);
      if (context.json) context.printJson({ id, deleted: true });
      else context.print(`Deleted job ${id}.`);
      return 0;
    },
  },
  {
    name: 'enable',
    args: ['<id>'],
    summary: 'Enable a job',
    description: 'Enables a job: a cron job fires again, a webhook job accepts deliveries again.',
    options: {},
    examples: ['jobs enable job_123'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const job = await client.jobs.enable(id);
      if (context.json) context.printJson(job);
      else context.print(`Enabled job ${job.id} (${job.name}).${nextRun(job)}`);
      return 0;
    },
  },
  {
    name: 'disable',
    args: ['<id>'],
    summary: 'Disable a job',
    description:
      'Disables a job: a cron job stops firing; triggers and webhook deliveries are refused (409).',
    options: {},
    examples: ['jobs disable job_123'],
    async run(context, { positionals: [id = ''] }) {
      const client = await context.client();
      const job = await client.jobs.disable(id);
      if (context.json) context.printJson(job);
      else context.print(`Disabled job ${job.id} (${job.name}).`);
      return 0;
    },
  },
];

function nextRun(job: Job): string {
  return job.next_run_at ? ` Next run: ${formatTime(job.next_run_at)}.` : '';
}
