/**
 * Reference: "Cron Schedule Examples". Previews the next fire times of each common pattern with
 * `jobs.previewSchedule`, in the timezone given (default UTC): the check crontab.guru does, but with
 * the service's own reading of the expression, daylight saving included.
 *
 *   npx tsx examples/15-cron-patterns.ts [timezone]     e.g. America/New_York
 */
import { ControlPlaneClient } from 'serverless-jobs/client';
import { localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());
const timezone = process.argv[2] ?? 'UTC';

const patterns: [description: string, expression: string][] = [
  ['Every day at 9 AM', '0 9 * * *'],
  ['Every hour', '0 * * * *'],
  ['Every 15 minutes', '*/15 * * * *'],
  ['Every Monday at 8 AM', '0 8 * * 1'],
  ['First day of every month at midnight', '0 0 1 * *'],
  ['Every weekday at 5 PM', '0 17 * * 1-5'],
  ['Every Sunday at 2 AM', '0 2 * * 0'],
];

for (const [description, expression] of patterns) {
  const preview = await client.jobs.previewSchedule(expression, timezone, 3);
  console.log(`# ${description}`);
  console.log(`"${expression}"  (${preview.schedule_expression.join(' + ')} on EventBridge Scheduler)`);
  for (const fire of preview.fires) {
    console.log(`  ${fire.local} ${timezone}  =  ${fire.utc}`);
  }
}
