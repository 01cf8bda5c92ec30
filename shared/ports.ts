import type { Job, JobListFilter, TriggerType } from './domain/job.js';

/** A page of jobs, newest first; `nextCursor` is null on the last page. */
export interface JobPage {
  jobs: Job[];
  nextCursor: string | null;
}

/** A stored job plus the version its next conditional write must match. */
export interface VersionedJob {
  job: Job;
  version: number;
}

/**
 * Persistence of jobs. Writes are conditional on `version`: a write against a stale version (or a job
 * deleted meanwhile) fails with `VersionConflictError` / returns false instead of overwriting.
 */
export interface JobStore {
  /** Writes a new job; fails if the id exists. */
  create(job: Job): Promise<VersionedJob>;
  get(id: string): Promise<VersionedJob | null>;
  /** Replaces the job if its stored version is still `expectedVersion`; returns the new version, or null on conflict or absence. */
  replace(job: Job, expectedVersion: number): Promise<VersionedJob | null>;
  /** Deletes the job; returns false if it did not exist. */
  delete(id: string): Promise<boolean>;
  list(filter: JobListFilter): Promise<JobPage>;
}

/** Checks presented API keys against the hashes of the valid ones. */
export interface ApiKeyVerifier {
  verify(presentedKey: string): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  jobId(): string;
}

export type LogFields = Record<string, unknown>;

/** Structured JSON logging; callers pass ids as fields, never interpolated into messages. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type { TriggerType };
