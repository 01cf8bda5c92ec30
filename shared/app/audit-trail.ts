import type { Caller } from '../domain/access.js';
import type { AuditAction, AuditActor, AuditEntry, AuditedResource } from '../domain/audit.js';
import type { DisabledReason } from '../domain/job.js';
import type { AuditLog, AuditPage, Clock, Logger, Metrics } from '../ports.js';
import { currentCaller } from './request-context.js';

/** One change to record: what was changed, how, and which fields (names only). */
export interface Change {
  resource: { type: AuditedResource; id: string };
  action: AuditAction;
  changedFields?: readonly string[];
  /**
   * Who made it, when not the caller of the request being served: the service itself (`system`) acting on
   * its own, even while serving a request (a callback's failed run that pauses its job).
   */
  actor?: AuditActor;
  /** Why the service made the change itself. */
  reason?: DisabledReason;
}

/** What services record their changes with. */
export interface ChangeRecorder {
  record(change: Change): Promise<void>;
}

export interface AuditTrailDeps {
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** Counts `AuditWriteFailed`. */
  metrics: Metrics;
  /** Entries are kept as long as execution records. */
  retentionDays: number;
}

const DAY_SECONDS = 24 * 60 * 60;

/** The actor an entry names for `caller`: a key by name, an IAM principal by ARN, else the service. */
export function actorOf(caller: Caller | undefined): AuditActor {
  if (!caller) return { type: 'system' };
  return caller.type === 'iam' ? { type: 'iam', arn: caller.arn } : { type: 'api_key', name: caller.name };
}

/**
 * Records every change with its actor, the caller of the request being served (see request-context.ts),
 * and reads a job's trail back. An entry is written after the change it describes has been written:
 * should that second write fail, the change stands (it cannot be taken back) and the failure is logged
 * with the entry and counted as `AuditWriteFailed`, so an alarm can catch a gap in the trail.
 */
export class AuditTrail implements ChangeRecorder {
  constructor(private readonly deps: AuditTrailDeps) {}

  async record(change: Change): Promise<void> {
    const now = this.deps.clock.now();
    const entry: AuditEntry = {
      at: now.toISOString(),
      action: change.action,
      resource: change.resource,
      actor: change.actor ?? actorOf(currentCaller()),
      changed_fields: [...(change.changedFields ?? [])],
      ...(change.reason !== undefined && { reason: change.reason }),
    };
    const expiresAt = Math.floor(now.getTime() / 1000) + this.deps.retentionDays * DAY_SECONDS;
    try {
      await this.deps.audit.append(entry, expiresAt);
    } catch (error) {
      this.deps.logger.error('audit entry not written', { auditEntry: entry, error });
      this.deps.metrics.count('AuditWriteFailed');
    }
  }

  /** A job's changes, newest first. */
  jobHistory(jobId: string, page: { limit: number; cursor?: string }): Promise<AuditPage> {
    return this.deps.audit.listForJob(jobId, page);
  }
}
