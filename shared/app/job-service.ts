import { randomBytes } from 'node:crypto';
import { changedFields } from '../domain/audit.js';
import { ConflictError, type ErrorDetail, NotFoundError, ValidationError } from '../domain/errors.js';
import {
  applyJobPatch,
  buildJobSpec,
  type Job,
  type JobCreate,
  type JobListFilter,
  type JobPatch,
  type JobSpec,
} from '../domain/job.js';
import { generateSigningSecret } from '../domain/signature.js';
import type {
  ChannelStore,
  Clock,
  DeploymentConfig,
  EntityStore,
  IdGenerator,
  JobPage,
  JobStore,
  Logger,
  Metrics,
  NewWebhook,
  SecretBox,
  VersionedJob,
} from '../ports.js';
import { unknownAlertChannels } from './alert-channel-check.js';
import type { ChangeRecorder } from './audit-trail.js';
import { type Deferred, readDeferred } from './deferred.js';
import { noEntityError } from './entity-service.js';
import { type ScheduleSync, scheduleChanged } from './schedule-sync.js';

export interface JobServiceDeps {
  jobs: JobStore;
  secrets: SecretBox;
  entities: EntityStore;
  deployment: DeploymentConfig;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Counts `ScheduleSyncFailed`. */
  metrics: Metrics;
  /** Keeps cron jobs' schedules in line after each write. */
  schedules: ScheduleSync;
  /** Records every change: who, when, which fields. */
  audit: ChangeRecorder;
  /**
   * Where the runtime has alerting: the channels `config.alerts.channels` names must exist. Without it the
   * ids are checked by their form only.
   */
  channelStore?: Pick<ChannelStore, 'get'>;
}

/** How often a write re-reads and re-applies itself when a concurrent write got in first. */
const MAX_WRITE_ATTEMPTS = 5;

const JOB_ID_PATTERN = /^job_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The jobs use cases: create, read, list, update, enable/disable, delete. */
export class JobService {
  constructor(private readonly deps: JobServiceDeps) {}

  /** Creates a job; a webhook job's answer carries `webhook_secret`, the only time it is shown. */
  async create(input: JobCreate): Promise<Job> {
    const spec = buildJobSpec(input);
    await this.checkDeployment(spec, null);
    const now = this.deps.clock.now().toISOString();
    const job: Job = {
      id: this.deps.ids.jobId(),
      ...spec,
      created_at: now,
      updated_at: now,
      webhook_path: null,
    };
    const webhook = spec.trigger_type === 'webhook' ? await this.newWebhook(job) : undefined;
    await this.deps.jobs.create(job, webhook?.stored);
    this.deps.logger.info('job created', { jobId: job.id, triggerType: job.trigger_type });
    await this.deps.audit.record({
      resource: { type: 'job', id: job.id },
      action: 'created',
      changedFields: [...Object.keys(input), ...(webhook ? ['webhook_secret'] : [])].sort(),
    });
    await this.syncSchedule(null, job);
    return webhook ? { ...job, webhook_secret: webhook.secret } : job;
  }

  /** A fresh unguessable path (192 random bits) and secret for a webhook job; sets `job.webhook_path`. */
  private async newWebhook(job: Job): Promise<{ secret: string; stored: NewWebhook }> {
    job.webhook_path = randomBytes(24).toString('base64url');
    const secret = generateSigningSecret();
    return {
      secret,
      stored: { sealedSecret: await this.deps.secrets.seal(secret, webhookSecretContext(job.id)) },
    };
  }

  async get(id: string): Promise<Job> {
    return (await this.load(id)).job;
  }

  async load(id: string): Promise<VersionedJob> {
    const found = isJobId(id) ? await this.deps.jobs.get(id) : null;
    if (!found) throw jobNotFound(id);
    return found;
  }

  list(filter: JobListFilter): Promise<JobPage> {
    return this.deps.jobs.list(filter);
  }

  /**
   * Applies a patch. Given as a reader, it is read once the job is known to exist, so an unknown job is
   * a 404 whatever the patch holds.
   */
  update(id: string, patch: Deferred<JobPatch>): Promise<Job> {
    let read: JobPatch | undefined;
    return this.modify(
      id,
      (spec) => {
        // Once, however many times a lost race makes the write start again.
        read ??= readDeferred(patch);
        return applyJobPatch(spec, read);
      },
      true,
      'updated',
    );
  }

  setEnabled(id: string, enabled: boolean): Promise<Job> {
    return this.modify(id, (spec) => ({ ...spec, enabled }), false, enabled ? 'enabled' : 'disabled');
  }

  async delete(id: string): Promise<void> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.load(id);
      if (await this.deps.jobs.delete(current.job, current.version)) {
        this.deps.logger.info('job deleted', { jobId: id });
        await this.deps.audit.record({ resource: { type: 'job', id }, action: 'deleted' });
        await this.syncSchedule(current.job, null);
        return;
      }
      await conflictPause(attempt);
    }
    throw new ConflictError(`Job ${id} is being changed by other requests; try again.`);
  }

  /**
   * Read, change, conditional write; on a version conflict, start again from a fresh read so no
   * concurrent update is lost. A job deleted in between stays deleted (404).
   */
  private async modify(
    id: string,
    change: (spec: JobSpec) => JobSpec,
    recheck: boolean,
    action: 'updated' | 'enabled' | 'disabled',
  ): Promise<Job> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.load(id);
      const {
        id: _id,
        created_at,
        updated_at: _updated,
        webhook_path: _path,
        disabled_reason: reason,
        ...spec
      } = current.job;
      const nextSpec = change(spec);
      if (sameSpec(spec, nextSpec)) {
        // Enabling or disabling again also repairs the job's schedule, as a user retrying would expect.
        if (!recheck && current.job.trigger_type === 'cron') await this.syncSchedule(null, current.job, true);
        return current.job;
      }
      if (recheck) await this.checkDeployment(nextSpec, spec);
      const next: Job = {
        id,
        ...nextSpec,
        created_at,
        updated_at: this.deps.clock.now().toISOString(),
        webhook_path: nextSpec.trigger_type === 'webhook' ? (current.job.webhook_path ?? null) : null,
        // Why the service paused the job holds until the job is enabled again (absent when there is none).
        ...(!nextSpec.enabled && reason && { disabled_reason: reason }),
      };
      // Becoming a webhook job creates its path and secret, shown in this answer only.
      const webhook =
        next.trigger_type === 'webhook' && next.webhook_path === null
          ? await this.newWebhook(next)
          : undefined;
      const written = await this.deps.jobs.replace(next, current.version, current.job, webhook?.stored);
      if (written) {
        this.deps.logger.info('job updated', { jobId: id, version: written.version });
        await this.deps.audit.record({
          resource: { type: 'job', id },
          action,
          changedFields: [
            ...changedFields(spec, nextSpec),
            // Enabling a job the service paused clears why it was paused.
            ...(reason && !next.disabled_reason ? ['disabled_reason'] : []),
            ...(webhook ? ['webhook_secret'] : []),
          ].sort(),
        });
        await this.syncSchedule(current.job, written.job);
        return webhook ? { ...written.job, webhook_secret: webhook.secret } : written.job;
      }
      this.deps.logger.debug('job update conflicted; retrying', { jobId: id, attempt });
      await conflictPause(attempt);
    }
    throw new ConflictError(`Job ${id} is being changed by other requests; try again.`);
  }

  /**
   * After a job write, when it changed what the job's schedules must be: brings them in line. The job is
   * already written and stays so; if the Scheduler cannot be reached, the failure is logged (and counted as
   * the `ScheduleSyncFailed` metric) and the reconciliation run of the sweeper repairs the schedule within
   * its interval. Meanwhile a stale schedule can do no harm beyond a missed fire: dispatch starts runs only
   * for enabled cron jobs and at fire times of their current expression.
   */
  private async syncSchedule(before: Job | null, after: Job | null, always = false): Promise<void> {
    if (!always && !scheduleChanged(before, after)) return;
    const jobId = (after ?? before)?.id ?? '';
    try {
      await this.deps.schedules.sync(jobId);
    } catch (error) {
      this.deps.logger.error('schedule sync failed; reconciliation will repair it', { jobId, error });
      this.deps.metrics.count('ScheduleSyncFailed');
    }
  }

  /**
   * What only the deployment knows: the named queue or environment exists (unless the local runtime
   * accepts any name), the notification channels `config.alerts` adds exist (see `unknownAlertChannels`),
   * and a job without an entity has a default entity to run on. A named entity's existence and type are
   * checked by the store, atomically with the write.
   */
  private async checkDeployment(spec: JobSpec, before: JobSpec | null): Promise<void> {
    const { deployment } = this.deps;
    const problems: ErrorDetail[] = [];
    if (!deployment.open) {
      const knownQueues = [deployment.defaultQueue, ...deployment.queues];
      if (spec.worker_queue_name !== null && !knownQueues.includes(spec.worker_queue_name)) {
        problems.push({
          path: 'worker_queue_name',
          message: `is not a queue of this deployment (known: ${knownQueues.join(', ')})`,
          code: 'unknown_queue',
        });
      }
      const environments = Object.keys(deployment.environments);
      if (spec.environment_name !== null && !environments.includes(spec.environment_name)) {
        problems.push({
          path: 'environment_name',
          message: `is not an environment of this deployment (known: ${environments.join(', ') || 'none'})`,
          code: 'unknown_environment',
        });
      }
    }
    if (this.deps.channelStore) {
      problems.push(
        ...(await unknownAlertChannels(spec.config, before?.config ?? null, this.deps.channelStore)),
      );
    }
    if (problems.length > 0) throw new ValidationError(problems);
    if (spec.entity_id === null && !(await this.deps.entities.getDefault())) throw noEntityError();
  }
}

/** A short random pause before retrying a lost race, so racing writers stop colliding in lockstep. */
function conflictPause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
}

function sameSpec(a: JobSpec, b: JobSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function isJobId(id: string): boolean {
  return JOB_ID_PATTERN.test(id);
}

export function jobNotFound(id: string): NotFoundError {
  return new NotFoundError(`No job with id "${id.slice(0, 100)}".`);
}

/** What the secret box binds a webhook secret to. */
export const webhookSecretContext = (jobId: string) => ({ purpose: 'webhook-secret', job: jobId });

/** Reads jobs straight from the store, for processes that only run jobs (the sweeper). */
export function jobReader(store: JobStore) {
  return {
    async get(id: string): Promise<Job> {
      const found = isJobId(id) ? await store.get(id) : null;
      if (!found) throw jobNotFound(id);
      return found.job;
    },
  };
}
