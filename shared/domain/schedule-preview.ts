import * as z from 'zod/mini';
import { withMeta } from './schema-meta.js';

/** Most fire times one preview lists. */
export const MAX_PREVIEW_FIRES = 100;

/** The next fire times of a cron expression, as `GET /cron/preview` answers and `jobs cron` prints them. */
export const SchedulePreviewSchema = withMeta(
  z.object({
    expression: z.string(),
    timezone: z.string(),
    schedule_expression: withMeta(z.array(z.string()), {
      description: 'The EventBridge Scheduler expression(s) the schedule maps to.',
    }),
    fires: withMeta(
      z.array(z.object({ local: z.string(), utc: z.string(), repeated_local_time: z.boolean() })),
      {
        description:
          'The next fires: `local` wall-clock time in the zone (`YYYY-MM-DDTHH:mm`), `utc` instant, and whether the local time happened twice (clocks fell back; it fires at the first).',
      },
    ),
    skipped: withMeta(z.array(z.object({ local: z.string(), reason: z.literal('nonexistent_local_time') })), {
      description:
        'Local times the expression names that the zone skips (clocks sprang forward): no fire then.',
    }),
  }),
  {
    id: 'SchedulePreview',
    description: 'The next fire times of a cron expression in a timezone and in UTC.',
  },
);
export type SchedulePreview = z.infer<typeof SchedulePreviewSchema>;

/** What a preview is asked for: an expression already known to be schedulable, a zone, how many fires. */
export interface SchedulePreviewRequest {
  expression: string;
  timezone: string;
  count: number;
}
