import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import type { JobSchedule, Scheduler } from '../../ports.js';

/** A job has at most two schedules (two expressions when both day fields are restricted). */
export const MAX_SCHEDULES_PER_JOB = 2;

/** The context attribute EventBridge Scheduler replaces with the fire time in the target input. */
export const SCHEDULED_TIME_ATTRIBUTE = '<aws.scheduler.scheduled-time>';

const SCHEDULE_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;
const NAME_PARTS = /^(.+)-(\d+)$/;

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

  /** Every schedule of the group, grouped by job; names not of the form `<jobId>-<index>` are left out. */
  async list(): Promise<{ jobId: string; names: string[] }[]> {
    const byJob = new Map<string, string[]>();
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListSchedulesCommand({ GroupName: this.config.groupName, NextToken: nextToken }),
      );
      for (const summary of page.Schedules ?? []) {
        const name = summary.Name;
        const jobId = name === undefined ? undefined : NAME_PARTS.exec(name)?.[1];
        if (name === undefined || jobId === undefined) continue;
        const names = byJob.get(jobId);
        if (names) names.push(name);
        else byJob.set(jobId, [name]);
      }
      nextToken = page.NextToken || undefined;
    } while (nextToken !== undefined);
    return [...byJob].map(([jobId, names]) => ({ jobId, names }));
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
