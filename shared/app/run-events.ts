import type { Execution } from '../domain/execution.js';
import { consoleUrlOf, eventId, notificationExecution } from '../domain/notification.js';
import { RUN_DETAIL_TYPES, type RunEventSetting, runEventWanted } from '../domain/run-events.js';
import type { BusEvent, Clock, EventPublisher, ExecutionStore, Logger } from '../ports.js';
import { observeExecutionWrites } from './observed-execution-store.js';

export interface RunEventsDeps {
  /** The deployment's bus; none (locally): nothing is put anywhere. */
  events?: EventPublisher;
  /** Which changes go on the bus. */
  setting: RunEventSetting;
  clock: Clock;
  logger: Logger;
  /** The deployment's public base URL, for `console_url` (read when an event is built; empty: none). */
  readonly publicBaseUrl?: string;
}

/**
 * Puts run state changes on the deployment's event bus, those its `runEvents` setting asks for, with the
 * body of a notification (`type`: `run.<status>`). Best effort: the bus is a copy for the account's own
 * rules; the run is recorded already, so a refused put is logged, never thrown.
 */
export class RunEvents {
  constructor(private readonly deps: RunEventsDeps) {}

  /** Whether a change to `execution`'s status is put on the bus at all. */
  wants(execution: Pick<Execution, 'status'>): boolean {
    return this.deps.events !== undefined && runEventWanted(this.deps.setting, execution.status);
  }

  /** `execution` has just reached its status: on the bus if the setting wants it. */
  async changed(execution: Execution): Promise<void> {
    if (!this.deps.events || !this.wants(execution)) return;
    try {
      await this.deps.events.publish([this.event(execution)]);
    } catch (error) {
      this.deps.logger.error('run state change not put on the event bus', {
        jobId: execution.job_id,
        executionId: execution.execution_id,
        status: execution.status,
        error,
      });
    }
  }

  /**
   * The bus event of `execution` as it stands. Its id depends only on the run and the change, so a change
   * seen twice (a result delivered again) has the same id; a queued or started attempt counts in it, since
   * a retried run is queued and started again.
   */
  event(execution: Execution): BusEvent {
    const { status } = execution;
    const change = status === 'queued' || status === 'running' ? `:${execution.attempt}` : '';
    const now = this.deps.clock.now();
    return {
      detailType: RUN_DETAIL_TYPES[status],
      time: now,
      detail: {
        type: `run.${status}`,
        id: eventId(`${execution.execution_id}:run.${status}${change}`),
        occurred_at: occurredAt(execution) ?? now.toISOString(),
        job: { id: execution.job_id, name: execution.job_name },
        execution: notificationExecution(execution),
        consecutive_failures: null,
        message: `Run ${execution.execution_id} of "${execution.job_name}" ${describe(execution)}.`,
        console_url: consoleUrlOf(this.deps.publicBaseUrl, execution.job_id, execution.execution_id),
      },
    };
  }
}

function occurredAt(execution: Execution): string | null {
  if (execution.status === 'queued') return execution.attempt === 1 ? execution.created_at : null;
  if (execution.status === 'running') return execution.started_at;
  return execution.finished_at ?? (execution.status === 'skipped' ? execution.created_at : null);
}

function describe(execution: Execution): string {
  if (execution.status === 'queued') return `queued (attempt ${execution.attempt})`;
  if (execution.status === 'running') return `started (attempt ${execution.attempt})`;
  return execution.status.replace('_', ' ');
}

/**
 * `store`, putting on the bus the changes that happen where runs start and are claimed: a run written
 * (queued, or skipped by its overlap policy), queued again for a retry, and started by a worker. Ends are
 * not its business: alerting hears of every end (`observeRunOutcomes`) and puts it on the bus through the
 * same {@link RunEvents}, so each end is put once per time alerting hears of it.
 */
export function publishRunStarts(store: ExecutionStore, runEvents: RunEvents): ExecutionStore {
  return observeExecutionWrites(store, {
    async started(outcome) {
      if (outcome.kind !== 'duplicate') await runEvents.changed(outcome.execution);
    },
    async transitioned(result, change) {
      if (result.ok && (change.status === 'queued' || change.status === 'running')) {
        await runEvents.changed(result.execution);
      }
    },
    async claimed(result) {
      if (result.ok) await runEvents.changed(result.execution);
    },
  });
}
