import { type ControlPlaneClient, type Execution, type ExecutionStatus, JobError } from '../../sdk/index.js';
import {
  booleanOption,
  type CommandContext,
  type CommandSpec,
  integerOption,
  stringList,
  stringOption,
  UsageError,
} from '../command.js';
import {
  type Column,
  columnWidths,
  formatDuration,
  formatRecord,
  formatTable,
  formatTime,
} from '../format.js';
import { parseAssignments } from '../input.js';

/** Statuses a run never leaves. */
const TERMINAL: readonly ExecutionStatus[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

/** `--wait` polls quickly first (an echo run is done in milliseconds), then every 2 s. */
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 2000;
/** `--watch` re-reads the history this often. */
export const WATCH_INTERVAL_MS = 2000;
/** Exit code after Ctrl+C stopped `--wait`, as shells report a SIGINT. */
const INTERRUPTED = 130;

const EXECUTION_COLUMNS: readonly Column<Execution>[] = [
  { header: 'execution', value: (execution) => execution.execution_id },
  { header: 'status', value: (execution) => execution.status },
  { header: 'trigger', value: (execution) => execution.trigger_type },
  { header: 'created', value: (execution) => formatTime(execution.created_at) },
  { header: 'duration', value: (execution) => formatDuration(execution.duration_ms) },
  { header: 'scheduled at', value: (execution) => formatTime(execution.scheduled_at) },
];
/** Widths `--watch` starts with, so rows printed later line up: execution ids, `timed_out`, `webhook`, ISO times. */
const WATCH_MIN_WIDTHS = [34, 9, 7, 20, 8, 20];

/** The outcome lines of a finished (or still running) execution. */
function outcome(execution: Execution): Record<string, unknown> {
  return {
    workflow_id: execution.workflow_id,
    execution_id: execution.execution_id,
    status: execution.status,
    duration: formatDuration(execution.duration_ms),
    ...(execution.max_attempts > 1 && { attempt: `${execution.attempt} of ${execution.max_attempts}` }),
    ...(execution.error_message !== null && { error_message: execution.error_message }),
    ...(execution.output !== undefined && execution.output !== null && { output: execution.output }),
  };
}

/**
 * Polls an execution until it finishes, `timeoutMs` passes or Ctrl+C; prints each status change to
 * stderr (human output only). Returns the last execution seen and why it stopped.
 */
async function waitForExecution(
  context: CommandContext,
  client: ControlPlaneClient,
  jobId: string,
  executionId: string,
  timeoutMs: number,
): Promise<{ execution: Execution; reason: 'finished' | 'timeout' | 'interrupted' }> {
  const deadline = context.now().getTime() + timeoutMs;
  let delay = FIRST_POLL_MS;
  let lastStatus: ExecutionStatus | undefined;
  for (;;) {
    const execution = await client.jobs.getExecution(jobId, executionId);
    if (execution.status !== lastStatus && !context.json) context.note(`${executionId}: ${execution.status}`);
    lastStatus = execution.status;
    if (TERMINAL.includes(execution.status)) return { execution, reason: 'finished' };
    const remaining = deadline - context.now().getTime();
    if (remaining <= 0) return { execution, reason: 'timeout' };
    await context.sleep(Math.min(delay, remaining), context.signal);
    if (context.signal?.aborted) return { execution, reason: 'interrupted' };
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}

/** What tells a row has changed since `--watch` printed it. */
const fingerprint = (execution: Execution) =>
  `${execution.status}|${execution.finished_at ?? ''}|${execution.attempt}`;

export const runCommands: readonly CommandSpec[] = [
  {
    name: 'trigger',
    args: ['<id>'],
    summary: 'Run a job now; --wait for its outcome',
    description:
      'Starts a run of the job and prints its workflow_id, execution_id and status. With --wait it polls the ' +
      'execution until it finishes (succeeded, failed, timed_out, cancelled or skipped) and prints the outcome: ' +
      'status, duration and output or error_message. The exit code is then 0 only if the run succeeded.',
    options: {
      param: {
        type: 'string',
        short: 'p',
        multiple: true,
        value: 'key=value',
        help: 'A template parameter (repeatable): key=text for a string, key:=<json> for a number, boolean, list or object',
      },
      'config-override-file': {
        type: 'string',
        value: 'file',
        help: 'JSON object overriding the job\'s config for this run only (e.g. {"timeout": 7200}); - reads stdin',
      },
      'idempotency-key': {
        type: 'string',
        value: 'key',
        help: 'Sent as Idempotency-Key: repeating the trigger with the same key returns the first execution',
      },
      wait: { type: 'boolean', help: 'Wait for the run to finish; exit 0 only if it succeeded' },
      timeout: {
        type: 'string',
        value: 'seconds',
        help: 'With --wait: give up waiting after this long (default 300)',
      },
    },
    examples: [
      'jobs trigger job_123 -p service=api',
      'jobs trigger job_123 -p branch_name=main -p replicas:=3 --wait --timeout 600',
      'jobs trigger job_123 --config-override-file override.json --idempotency-key deploy-42',
    ],
    async run(context, { positionals: [jobId = ''], values }) {
      const parameters = parseAssignments(stringList(values, 'param'), '-p');
      const wait = booleanOption(values, 'wait');
      if (!wait && stringOption(values, 'timeout') !== undefined) {
        throw new UsageError('--timeout only applies with --wait');
      }
      const timeoutSeconds = integerOption(values, 'timeout', { min: 1, max: 86_400, fallback: 300 });
      const overrideFile = stringOption(values, 'config-override-file');
      const configOverride =
        overrideFile === undefined
          ? undefined
          : await context.readJsonObject(overrideFile, '--config-override-file');
      const idempotencyKey = stringOption(values, 'idempotency-key');

      const client = await context.client();
      const started = await client.jobs.trigger(jobId, {
        parameters,
        ...(configOverride !== undefined && { config_override: configOverride }),
        ...(idempotencyKey !== undefined && { idempotency_key: idempotencyKey }),
      });
      if (!wait) {
        context.printRecord(started);
        return 0;
      }

      const { execution, reason } = await waitForExecution(
        context,
        client,
        jobId,
        started.execution_id,
        timeoutSeconds * 1000,
      );
      if (reason !== 'finished') {
        const why =
          reason === 'timeout'
            ? `error: execution ${execution.execution_id} is still ${execution.status} after ${timeoutSeconds} s`
            : `stopped waiting for execution ${execution.execution_id} (${execution.status})`;
        context.note(`${why}; the run goes on. Follow it with: jobs executions ${jobId} --watch`);
        if (context.json) context.printJson(execution);
        return reason === 'interrupted' ? INTERRUPTED : 1;
      }
      if (context.json) context.printJson(execution);
      else context.print(formatRecord(outcome(execution)));
      return execution.status === 'succeeded' ? 0 : 1;
    },
  },
  {
    name: 'executions',
    args: ['<id>'],
    summary: 'Recent executions of a job; --watch to follow',
    description:
      'Shows the most recent executions of a job, newest first. With --watch it re-reads them every 2 s and ' +
      'prints each new or changed execution as a line, until Ctrl+C. With --json --watch, one JSON object a line.',
    options: {
      limit: { type: 'string', value: 'n', help: 'How many executions, 1-100 (default 20)' },
      watch: { type: 'boolean', help: 'Keep watching for new and changed executions until Ctrl+C' },
    },
    examples: [
      'jobs executions job_123',
      'jobs executions job_123 --limit 50',
      'jobs executions job_123 --watch',
    ],
    async run(context, { positionals: [jobId = ''], values }) {
      const limit = integerOption(values, 'limit', { min: 1, max: 100, fallback: 20 });
      const watch = booleanOption(values, 'watch');
      const client = await context.client();
      const history = await client.jobs.getExecutions(jobId, { limit });
      if (!watch) {
        if (context.json) context.printJson(history);
        else if (history.executions.length === 0) context.print('No executions yet.');
        else {
          context.print(formatTable(history.executions, EXECUTION_COLUMNS));
          context.print(`\n${history.executions.length} of ${history.total_count} executions.`);
        }
        return 0;
      }

      const widths = columnWidths(history.executions, EXECUTION_COLUMNS, WATCH_MIN_WIDTHS);
      const seen = new Map<string, string>();
      const show = (executions: readonly Execution[]) => {
        // The service lists newest first; a log reads oldest first.
        const changed = [...executions].reverse().filter((execution) => {
          const now = fingerprint(execution);
          if (seen.get(execution.execution_id) === now) return false;
          seen.set(execution.execution_id, now);
          return true;
        });
        if (changed.length === 0) return;
        if (context.json) {
          for (const execution of changed) context.print(JSON.stringify(execution));
        } else {
          context.print(formatTable(changed, EXECUTION_COLUMNS, { widths, header: false }));
        }
      };
      if (!context.json) {
        context.note(`Watching executions of ${jobId} every ${WATCH_INTERVAL_MS / 1000} s; Ctrl+C to stop.`);
        context.print(formatTable([], EXECUTION_COLUMNS, { widths }));
      }
      show(history.executions);
      for (;;) {
        await context.sleep(WATCH_INTERVAL_MS, context.signal);
        if (context.signal?.aborted) return 0;
        try {
          show((await client.jobs.getExecutions(jobId, { limit })).executions);
        } catch (error) {
          // A service restarting or a network blip should not end a watch; anything else (the job is gone) does.
          if (!(error instanceof JobError && (error.status === 0 || error.status >= 500))) throw error;
          if (context.signal?.aborted) return 0;
          context.note(`warning: ${error.message}; retrying`);
        }
      }
    },
  },
];
