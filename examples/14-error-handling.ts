/**
 * Reference: "Error Handling". Every failed call throws a `JobError` carrying the HTTP status and the
 * service's error code; a subclass per kind of failure (`NotFoundError`, `ValidationError`,
 * `ConflictError`, `AuthError`, `RateLimitedError`…) tells them apart, and a `ValidationError` names
 * each field to fix in `details`.
 *
 *   npx tsx examples/14-error-handling.ts
 */
import { ControlPlaneClient, JobError, NotFoundError, ValidationError } from 'serverless-jobs/client';
import { localConnection } from './support.js';

const client = new ControlPlaneClient(localConnection());

try {
  const job = await client.jobs.get('invalid-id');
  console.log(`Job: ${job.name}`);
} catch (error) {
  if (error instanceof JobError) {
    console.log(`Job error: ${error.message}`);
    console.log(`  status ${error.status}, code ${error.code}, not found: ${error instanceof NotFoundError}`);
  } else {
    console.log(`Unexpected error: ${error}`);
  }
}

// Invalid input: the details name each field to fix.
try {
  await client.jobs.create({
    name: 'Broken schedule',
    trigger_type: 'cron',
    cron_schedule: '0 25 * * *', // there is no hour 25
    prompt_template: 'Never runs',
  });
} catch (error) {
  if (!(error instanceof ValidationError)) throw error;
  console.log(`Job error: ${error.message}`);
  console.log(`  status ${error.status}, code ${error.code}`);
  for (const detail of error.details) {
    console.log(`  ${detail.path}: ${detail.message}`);
  }
}
