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
} as const;

/** The sparse index partition listing non-terminal executions by when the sweeper must look at them. */
export const SWEEP_PARTITION = 'SWEEP';
/** Index partition listing entities, newest first. */
export const ENTITY_PARTITION = 'ENTITIES';
