import type { previewSchedule as PreviewSchedule } from '../../shared/app/schedule-preview.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { type CommandSpec, stringOption, UsageError } from '../command.js';
import { type Column, formatRecord, formatTable, formatTime } from '../format.js';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** How the preview's fields are given on the command line. */
const ARGUMENT_NAMES: Record<string, string> = {
  expression: '<expression>',
  timezone: '--tz',
  count: '-n/--count',
};

/** A row of the preview: a fire, or a local time the zone skips that day. */
interface PreviewRow {
  local: string;
  utc: string | null;
  note: string;
}

/** `2027-03-14T02:30` as `Sun 2027-03-14 02:30`: the weekday matters for expressions such as `MON-FRI`. */
function localWithWeekday(local: string): string {
  const [date = '', time = ''] = local.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const weekday = WEEKDAYS[new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 1)).getUTCDay()] ?? '';
  return `${weekday} ${date} ${time}`;
}

const PREVIEW_COLUMNS: readonly Column<PreviewRow>[] = [
  { header: 'local time', value: (row) => localWithWeekday(row.local) },
  { header: 'utc', value: (row) => (row.utc === null ? '-' : formatTime(row.utc)) },
  { header: 'note', value: (row) => row.note },
];

const REPEATED_NOTE = 'repeated local time (clocks fall back): fires once, at the first';
const SKIPPED_NOTE = 'skipped: this local time does not exist that day (clocks spring forward)';

export const cronCommands: readonly CommandSpec[] = [
  {
    name: 'cron',
    args: ['<expression>'],
    summary: 'Next fire times of a cron expression (computed locally)',
    description:
      'Shows when a 5-field cron expression fires next in a timezone and in UTC, as the service schedules it: ' +
      'a local time that does not exist that day (spring forward) is listed as skipped, a local time that ' +
      'happens twice (fall back) fires once and is flagged. Also prints the EventBridge Scheduler ' +
      'expression(s) it runs as on AWS. Needs no server. Quote the expression.',
    options: {
      tz: { type: 'string', value: 'zone', help: 'IANA timezone the expression is read in (default UTC)' },
      count: { type: 'string', short: 'n', value: 'n', help: 'How many fire times, 1-100 (default 10)' },
      from: {
        type: 'string',
        value: 'date-time',
        help: 'Start after this instant (ISO 8601, e.g. 2027-03-13T00:00Z; default now)',
      },
    },
    examples: [
      'jobs cron "0 9 * * MON-FRI" --tz Europe/Paris',
      'jobs cron "30 2 * * *" --tz America/New_York --from 2027-03-13T00:00Z -n 3',
      'jobs cron "*/15 * * * *" --tz Australia/Lord_Howe --from 2027-10-02T15:00Z -n 4 --json',
    ],
    async run(context, { positionals, values }) {
      if (positionals.length > 1) {
        throw new UsageError(
          `cron takes one argument, the whole expression in quotes (got ${positionals.length}): jobs cron "0 9 * * *"`,
        );
      }
      const from = stringOption(values, 'from');
      const after = from === undefined ? context.now() : new Date(from);
      if (Number.isNaN(after.getTime())) {
        throw new UsageError(`--from "${from}" is not an ISO 8601 date-time (e.g. 2027-03-13T00:00Z)`);
      }
      const timezone = stringOption(values, 'tz');
      const count = stringOption(values, 'count');
      // The service's own preview, run here: the same rules. Nothing was sent, so a bad input is a usage
      // error (exit 2), named by the argument or flag the user typed.
      // Loaded here, not at start-up: the preview brings the domain's schemas (zod), which every other
      // command would otherwise pay for on each run.
      const [{ previewSchedule }, { parseQuery }, routes] = await Promise.all([
        import('../../shared/app/schedule-preview.js'),
        import('../../shared/http/query.js'),
        import('../../shared/http/routes/schedules.js'),
      ]);
      let preview: ReturnType<typeof PreviewSchedule>;
      try {
        // Read as the route reads its query string, so the CLI refuses what the service refuses.
        const request = parseQuery(routes.previewSchedule.query, {
          expression: positionals[0],
          ...(timezone !== undefined && { timezone }),
          ...(count !== undefined && { count }),
        });
        preview = previewSchedule(request, after);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const problems = error.details.map(
          (detail) => `${ARGUMENT_NAMES[detail.path] ?? detail.path}: ${detail.message}`,
        );
        throw new UsageError(problems.join('; '), { showUsage: false });
      }
      if (context.json) {
        context.printJson(preview);
        return 0;
      }
      const rows: PreviewRow[] = [
        ...preview.fires.map((fire) => ({
          local: fire.local,
          utc: fire.utc,
          note: fire.repeated_local_time ? REPEATED_NOTE : '',
        })),
        ...preview.skipped.map((skip) => ({ local: skip.local, utc: null, note: SKIPPED_NOTE })),
      ].sort((a, b) => a.local.localeCompare(b.local));
      context.print(
        formatRecord({
          expression: preview.expression,
          timezone: preview.timezone,
          eventbridge: preview.schedule_expression.join('\n'),
        }),
      );
      context.print('');
      context.print(formatTable(rows, PREVIEW_COLUMNS));
      return 0;
    },
  },
];
