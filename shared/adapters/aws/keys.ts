/**
 * Item keys of the single table, in one place so the stores that touch each other's items inside a
 * transaction (a job write adjusting its entity's reference count, a run bumping its job's counter)
 * agree on them.
 */
export const keys = {
  job: (id: string) => ({ pk: `JOB#${id}`, sk: 'JOB' }),
  entity: (id: string) => ({ pk: `ENTITY#${id}`, sk: 'ENTITY' }),
  /** Names the deployment's default entity. */
  defaultEntity: () => ({ pk: 'DEFAULT_ENTITY', sk: 'DEFAULT_ENTITY' }),
  execution: (jobId: string, executionId: string) => ({ pk: `JOB#${jobId}`, sk: `EXEC#${executionId}` }),
  /** Marks a trigger (webhook delivery, cron fire) as already started. */
  dedupe: (jobId: string, key: string) => ({ pk: `JOB#${jobId}`, sk: `DEDUPE#${key}` }),
  /** Maps a webhook path to its job and holds the sealed secrets; written in the job's transaction. */
  webhook: (path: string) => ({ pk: `WEBHOOK#${path}`, sk: 'WEBHOOK' }),
  /** A job's webhook rate-limit state. */
  webhookRate: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'WEBHOOK_RATE' }),
  /** Held by the one active run of a job whose overlap policy is `skip`. */
  runLock: (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'RUN_LOCK' }),
  /** A stored API key; every key is in one partition, so one Query reads them all. */
  apiKey: (name: string) => ({ pk: API_KEY_PARTITION, sk: `KEY#${name}` }),
  /**
   * An audit entry: a job's in the job's partition (so its history is one Query), anything else's in a
   * partition of its own. The sort key sorts by time; the suffix keeps entries of one instant apart.
   */
  audit: (resource: { type: string; id: string }, at: string, suffix: string) => ({
    pk: auditPartition(resource),
    sk: `${AUDIT_PREFIX}${at}#${suffix}`,
  }),
} as const;

export const API_KEY_PARTITION = 'API_KEYS';
export const AUDIT_PREFIX = 'AUDIT#';

/** Where a resource's audit entries live. */
export function auditPartition(resource: { type: string; id: string }): string {
  return resource.type === 'job' ? `JOB#${resource.id}` : `AUDIT#${resource.type}#${resource.id}`;
}

/** The sparse index partition listing non-terminal executions by when the sweeper must look at them. */
export const SWEEP_PARTITION = 'SWEEP';
/** Index partition listing entities, newest first. */
export const ENTITY_PARTITION = 'ENTITIES';
