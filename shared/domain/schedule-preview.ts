import * as z from 'zod/mini';

/** Most fire times one preview lists. */
export const MAX_PREVIEW_FIRES = 100;

/** The next fire times of a cron expression, as `GET /cron/preview` answers and `jobs cron` prints them. */
export const SchedulePreviewSchema = z
  .object({
    expression: z.string(),
    timezone: z.string(),
    schedule_expression: z.array(z.string()).register(z.globalRegistry, {
      description: 'The EventBridge Scheduler expression(s) the schedule maps to.',
    }),
    fires: z
      .array(z.object({ local: z.string(), utc: z.string(), repeated_local_time: z.boolean() }))
      .register(z.globalRegistry, {
        description:
          'The next fires: `local` wall-clock time in the zone (`YYYY-MM-DDTHH:mm`), `utc` instant, and whether the local time happened twice (clocks fell back; it fires at the first).',
      }),
    skipped: z
      .array(z.object({ local: z.string(), reason: z.literal('nonexistent_local_time') }))
      .register(z.globalRegistry, {
        description:
          'Local times the expression names that the zone skips (clocks sprang forward): no fire then.',
      }),
  })
  .register(z.globalRegistry, {
    id: 'SchedulePreview',
    description: 'The next fire times of a cron expression in a timezone and in UTC.',
  });
export type SchedulePreview = z.infer<typeof SchedulePreviewSchema>;

/** What a preview is asked for: an expression already known to be schedulable, a zone, how many fires. */
export interface SchedulePreviewRequest {
  expression: string;
  timezone: string;
  count: number;
}
