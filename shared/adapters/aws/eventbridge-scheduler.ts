import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  GetScheduleCommand,
  type GetScheduleCommandOutput,
  ListSchedulesCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { JobSchedule, Scheduler, ScheduleState } from '../../ports.js';

/** A job has at most two schedules (two expressions when both day fields are restricted). */
export const MAX_SCHEDULES_PER_JOB = 2;

/** The context attribute EventBridge Scheduler replaces with the fire time in the target input. */
export const SCHEDULED_TIME_ATTRIBUTE = '<aws.scheduler.scheduled-time>';

const SCHEDULE_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;
const NAME_PARTS = /^(.+)-(\d+)$/;

/** GetSchedule calls in flight while listing (the API's default quota is tens of calls per second). */
const LIST_READ_CONCURRENCY = 5;

export interface EventBridgeSchedulerConfig {
  /** The stack's schedule group: every job schedule lives there, and only there. */
  groupName: string;
  /** The dispatch function. */
  targetArn: string;
  /** The role the Scheduler assumes to invoke dispatch. */
  roleArn: string;
  /** Where the Scheduler sends fires it could not deliver. */
  deadLetterArn: string;
  /** Default 10. */
  maxRetryAttempts?: number;
  /** Default 3600. */
  maximumEventAgeSeconds?: number;
}

/** `Scheduler` over EventBridge Scheduler: schedule `<jobId>-<index>` per expression, in one group. */
export class EventBridgeScheduler implements Scheduler {
  private readonly maxRetryAttempts: number;
  private readonly maximumEventAgeSeconds: number;

  constructor(
    private readonly client: SchedulerClient,
    private readonly config: EventBridgeSchedulerConfig,
  ) {
    this.maxRetryAttempts = config.maxRetryAttempts ?? 10;
    this.maximumEventAgeSeconds = config.maximumEventAgeSeconds ?? 3600;
  }

  /**
   * Updates each schedule in place (no delete-and-recreate gap), creating it when absent, then removes
   * the job's schedules beyond its expressions (a job that went from two expressions to one).
   */
  async put(schedule: JobSchedule): Promise<void> {
    if (schedule.expressions.length > MAX_SCHEDULES_PER_JOB) {
      throw new Error(
        `A job has at most ${MAX_SCHEDULES_PER_JOB} schedule expressions, got ${schedule.expressions.length}.`,
      );
    }
    for (const [index, expression] of schedule.expressions.entries()) {
      const input = this.scheduleInput(schedule, index, expression);
      try {
        await this.client.send(new UpdateScheduleCommand(input));
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await this.client.send(new CreateScheduleCommand(input));
      }
    }
    for (let index = schedule.expressions.length; index < MAX_SCHEDULES_PER_JOB; index++) {
      await this.delete(scheduleName(schedule.jobId, index));
    }
  }

  async remove(jobId: string): Promise<void> {
    for (let index = 0; index < MAX_SCHEDULES_PER_JOB; index++) {
      await this.delete(scheduleName(jobId, index));
    }
  }

  /**
   * Every schedule of the group, grouped by job, each read in full (ListSchedules shows neither expression
   * nor zone): one GetSchedule per schedule, a few at a time. Names not of the form `<jobId>-<index>` are
   * left out; a schedule deleted between the listing and its read is too.
   */
  async list(): Promise<{ jobId: string; schedules: ScheduleState[] }[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSchedulesCommand({ GroupName: this.config.groupName, NextToken: nextToken }),
      );
      for (const summary of page.Schedules ?? []) {
        if (summary.Name !== undefined && NAME_PARTS.test(summary.Name)) names.push(summary.Name);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);

    const byJob = new Map<string, ScheduleState[]>();
    for (let start = 0; start < names.length; start += LIST_READ_CONCURRENCY) {
      const reads = await Promise.all(
        names.slice(start, start + LIST_READ_CONCURRENCY).map((name) => this.read(name)),
      );
      for (const read of reads) {
        if (!read) continue;
        const states = byJob.get(read.jobId);
        if (states) states.push(read.state);
        else byJob.set(read.jobId, [read.state]);
      }
    }
    return [...byJob].map(([jobId, schedules]) => ({
      jobId,
      schedules: schedules.sort((a, b) => a.index - b.index),
    }));
  }

  private async read(name: string): Promise<{ jobId: string; state: ScheduleState } | null> {
    const [, jobId, index] = NAME_PARTS.exec(name) ?? [];
    if (jobId === undefined || index === undefined) return null;
    let found: GetScheduleCommandOutput;
    try {
      found = await this.client.send(
        new GetScheduleCommand({ Name: name, GroupName: this.config.groupName }),
      );
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
    const expected = this.scheduleInput(
      { jobId, cron: '', expressions: [], timezone: '', enabled: true, catchup: 'none' },
      Number(index),
      '',
    ).Target;
    const target = found.Target;
    const stale =
      target?.Arn !== expected?.Arn ||
      target?.RoleArn !== expected?.RoleArn ||
      target?.Input !== expected?.Input ||
      target?.DeadLetterConfig?.Arn !== expected?.DeadLetterConfig?.Arn ||
      target?.RetryPolicy?.MaximumRetryAttempts !== expected?.RetryPolicy?.MaximumRetryAttempts ||
      target?.RetryPolicy?.MaximumEventAgeInSeconds !== expected?.RetryPolicy?.MaximumEventAgeInSeconds ||
      found.FlexibleTimeWindow?.Mode !== 'OFF';
    return {
      jobId,
      state: {
        index: Number(index),
        expression: found.ScheduleExpression ?? '',
        timezone: found.ScheduleExpressionTimezone ?? 'UTC',
        enabled: found.State === 'ENABLED',
        stale,
      },
    };
  }

  private scheduleInput(
    schedule: JobSchedule,
    index: number,
    expression: string,
  ): CreateScheduleCommandInput {
    return {
      Name: scheduleName(schedule.jobId, index),
      GroupName: this.config.groupName,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: schedule.timezone,
      State: schedule.enabled ? 'ENABLED' : 'DISABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: this.config.targetArn,
        RoleArn: this.config.roleArn,
        Input: JSON.stringify({ job_id: schedule.jobId, scheduled_time: SCHEDULED_TIME_ATTRIBUTE }),
        RetryPolicy: {
          MaximumRetryAttempts: this.maxRetryAttempts,
          MaximumEventAgeInSeconds: this.maximumEventAgeSeconds,
        },
        DeadLetterConfig: { Arn: this.config.deadLetterArn },
      },
      ActionAfterCompletion: 'NONE',
    };
  }

  /** Deletes one schedule; an absent one is fine. */
  private async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.config.groupName }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** `<jobId>-<index>`; throws when the result is not a valid schedule name (≤ 64 of `[0-9a-zA-Z-_.]`). */
export function scheduleName(jobId: string, index: number): string {
  const name = `${jobId}-${index}`;
  if (!SCHEDULE_NAME.test(name)) {
    throw new Error(`Job id ${JSON.stringify(jobId)} does not make a valid schedule name.`);
  }
  return name;
}

function isNotFound(error: unknown): boolean {
  return (
    error instanceof ResourceNotFoundException ||
    (error instanceof Error && error.name === 'ResourceNotFoundException')
  );
}
