import { ConflictError, NotFoundError } from '../domain/errors.js';
import { applyJobPatch, buildJobSpec, type Job, type JobListFilter, type JobSpec } from '../domain/job.js';
import type { Clock, IdGenerator, JobPage, JobStore, Logger } from '../ports.js';

export interface JobServiceDeps {
  jobs: JobStore;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}

/** How often a PATCH re-reads and re-applies itself when a concurrent write got in first. */
const MAX_WRITE_ATTEMPTS = 5;

const JOB_ID_PATTERN = /^job_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The jobs use cases: create, read, list, update, enable/disable, delete. */
export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  async create(body: unknown): Promise<Job> {
    const spec = buildJobSpec(body);
    const now = this.deps.clock.now().toISOString();
    const job: Job = { id: this.deps.ids.jobId(), ...spec, created_at: now, updated_at: now };
    await this.deps.jobs.create(job);
    this.deps.logger.info('job created', { jobId: job.id, triggerType: job.trigger_type });
    return job;
  }

  async get(id: string): Promise<Job> {
    return (await this.load(id)).job;
  }

  list(filter: JobListFilter): Promise<JobPage> {
    return this.deps.jobs.list(filter);
  }

  update(id: string, body: unknown): Promise<Job> {
    return this.modify(id, (spec) => applyJobPatch(spec, body));
  }

  setEnabled(id: string, enabled: boolean): Promise<Job> {
    return this.modify(id, (spec) => ({ ...spec, enabled }));
  }

  async delete(id: string): Promise<void> {
    if (!isJobId(id) || !(await this.deps.jobs.delete(id))) throw jobNotFound(id);
    this.deps.logger.info('job deleted', { jobId: id });
  }

  private async load(id: string) {
    const found = isJobId(id) ? await this.deps.jobs.get(id) : null;
    if (!found) throw jobNotFound(id);
    return found;
  }

  /**
   * Read, change, conditional write; on a version conflict, start again from a fresh read so no
   * concurrent update is lost. A job deleted in between stays deleted (404).
   */
  private async modify(id: string, change: (spec: JobSpec) => JobSpec): Promise<Job> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.load(id);
      const { id: _id, created_at, updated_at: _updated, ...spec } = current.job;
      const nextSpec = change(spec);
      if (sameSpec(spec, nextSpec)) return current.job;
      const next: Job = { id, ...nextSpec, created_at, updated_at: this.deps.clock.now().toISOString() };
      const written = await this.deps.jobs.replace(next, current.version);
      if (written) {
        this.deps.logger.info('job updated', { jobId: id, version: written.version });
        return written.job;
      }
      this.deps.logger.debug('job update conflicted; retrying', { jobId: id, attempt });
    }
    throw new ConflictError(`Job ${id} is being changed by other requests; try again.`);
  }
}

function sameSpec(a: JobSpec, b: JobSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function isJobId(id: string): boolean {
  return JOB_ID_PATTERN.test(id);
}

function jobNotFound(id: string): NotFoundError {
  return new NotFoundError(`No job with id "${id.slice(0, 100)}".`);
}
