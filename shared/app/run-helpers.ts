import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Execution, MAX_OUTPUT_BYTES } from '../domain/execution.js';
import type { ExecutionChange, ExecutionStore } from '../ports.js';

/**
 * The execution id of a cron fire: the fire's time first (so it sorts with the job's other runs), then a
 * digest of the job and the time. Every delivery of one fire computes the same id, so the conditional
 * write of the run is its own dedupe and a fire needs no marker item.
 */
export function cronExecutionId(jobId: string, scheduledAt: string): string {
  const time = Date.parse(scheduledAt).toString(36).padStart(9, '0');
  const digest = createHash('sha256').update(`${jobId}\n${scheduledAt}`, 'utf8').digest('hex');
  return `exec_${time}${digest.slice(0, 20)}`;
}

/** A callback token names its job (so the callback needs no lookup item) and carries 256 random bits. */
export function newCallbackToken(jobId: string): string {
  return `${jobId}.${randomBytes(32).toString('base64url')}`;
}

export function jobIdOfCallbackToken(token: string): string | null {
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(0, dot) : null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token with a stored hash. */
export function tokenMatches(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Keeps `output` within MAX_OUTPUT_BYTES of JSON; a larger one is cut to that much of its JSON text. */
export function capOutput(output: unknown): Pick<Execution, 'output' | 'output_truncated'> {
  const value = output === undefined ? null : output;
  const text = JSON.stringify(value) ?? 'null';
  if (Buffer.byteLength(text, 'utf8') <= MAX_OUTPUT_BYTES) return { output: value, output_truncated: false };
  const cut = Buffer.from(text, 'utf8')
    .subarray(0, MAX_OUTPUT_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return { output: cut, output_truncated: true };
}

export const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

export function durationMs(startedAt: string | null, finishedAt: Date): number | null {
  return startedAt === null ? null : Math.max(0, finishedAt.getTime() - Date.parse(startedAt));
}

export function truncate(text: string, max = 4000): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Ends a running attempt as `status` with its result: when it finished, how long it ran, the lease
 * released. Written only while the run is still `running` on this attempt (a cancel or a newer attempt wins).
 */
export async function endRunningAttempt(
  executions: ExecutionStore,
  now: Date,
  execution: Execution,
  status: 'succeeded' | 'failed' | 'timed_out',
  fields: Pick<ExecutionChange, 'output' | 'output_truncated' | 'error_message' | 'target_execution_arn'>,
): Promise<void> {
  await executions.transition(
    execution.job_id,
    execution.execution_id,
    { from: ['running'], attempt: execution.attempt },
    {
      status,
      ...fields,
      finished_at: now.toISOString(),
      duration_ms: durationMs(execution.started_at, now),
      leaseUntil: null,
    },
  );
}
