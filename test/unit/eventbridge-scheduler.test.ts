import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeScheduler, scheduleName } from '../../shared/adapters/aws/eventbridge-scheduler.js';

const schedulerMock = mockClient(SchedulerClient);

afterEach(() => {
  schedulerMock.reset();
});

const GROUP = 'serverless-jobs';
const TARGET_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:dispatch';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/scheduler';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:schedule-dlq';
const JOB_ID = 'job_0b3f8a52-6c1e-4d2a-9f4b-7e1c2d3a4b5c';
const OTHER_JOB_ID = 'job_11111111-2222-4333-8444-555555555555';

function scheduler(): EventBridgeScheduler {
  return new EventBridgeScheduler(new SchedulerClient({ region: 'eu-west-1' }), {
    groupName: GROUP,
    targetArn: TARGET_ARN,
    roleArn: ROLE_ARN,
    deadLetterArn: DLQ_ARN,
  });
}

function notFound(): ResourceNotFoundException {
  return new ResourceNotFoundException({
    message: 'Schedule not found.',
    Message: 'Schedule not found.',
    $metadata: {},
  });
}

function expectedInput(name: string, expression: string, state: 'ENABLED' | 'DISABLED') {
  return {
    Name: name,
    GroupName: GROUP,
    ScheduleExpression: expression,
    ScheduleExpressionTimezone: 'Europe/London',
    State: state,
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: TARGET_ARN,
      RoleArn: ROLE_ARN,
      Input: `{"job_id":"${JOB_ID}","scheduled_time":"<aws.scheduler.scheduled-time>"}`,
      RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
      DeadLetterConfig: { Arn: DLQ_ARN },
    },
    ActionAfterCompletion: 'NONE',
  };
}

describe('EventBridgeScheduler.put', () => {
  it('creates the schedule when the update says it does not exist', async () => {
    // Prepare
    schedulerMock.on(UpdateScheduleCommand).rejects(notFound());
    schedulerMock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    schedulerMock.on(DeleteScheduleCommand).rejects(notFound());

    // Act
    await scheduler().put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(0 9 ? * MON-FRI *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    const expected = expectedInput(`${JOB_ID}-0`, 'cron(0 9 ? * MON-FRI *)', 'ENABLED');
    const updates = schedulerMock.commandCalls(UpdateScheduleCommand);
    const creates = schedulerMock.commandCalls(CreateScheduleCommand);
    expect(updates).toHaveLength(1);
    expect(updates[0]?.args[0].input).toEqual(expected);
    expect(creates).toHaveLength(1);
    expect(creates[0]?.args[0].input).toEqual(expected);
    expect(schedulerMock.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: `${JOB_ID}-1`, GroupName: GROUP },
    ]);
  });

  it('updates both schedules in place without deleting or creating', async () => {
    // Prepare
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });

    // Act
    await scheduler().put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(0 9 1 * ? *)', 'cron(0 9 ? * MON *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    expect(schedulerMock.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input)).toEqual([
      expectedInput(`${JOB_ID}-0`, 'cron(0 9 1 * ? *)', 'ENABLED'),
      expectedInput(`${JOB_ID}-1`, 'cron(0 9 ? * MON *)', 'ENABLED'),
    ]);
    expect(schedulerMock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(schedulerMock.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });

  it('puts a disabled job’s schedule in the DISABLED state', async () => {
    // Prepare
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    schedulerMock.on(DeleteScheduleCommand).resolves({});

    // Act
    await scheduler().put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(*/5 * * * ? *)'],
      timezone: 'Europe/London',
      enabled: false,
      catchup: 'none',
    });

    // Assess
    expect(schedulerMock.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input)).toEqual([
      expectedInput(`${JOB_ID}-0`, 'cron(*/5 * * * ? *)', 'DISABLED'),
    ]);
  });

  it('uses the configured retry policy', async () => {
    // Prepare
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    schedulerMock.on(DeleteScheduleCommand).resolves({});
    const custom = new EventBridgeScheduler(new SchedulerClient({ region: 'eu-west-1' }), {
      groupName: GROUP,
      targetArn: TARGET_ARN,
      roleArn: ROLE_ARN,
      deadLetterArn: DLQ_ARN,
      maxRetryAttempts: 3,
      maximumEventAgeSeconds: 600,
    });

    // Act
    await custom.put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(0 0 * * ? *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    expect(schedulerMock.commandCalls(UpdateScheduleCommand)[0]?.args[0].input.Target).toEqual({
      ...expectedInput(`${JOB_ID}-0`, 'cron(0 0 * * ? *)', 'ENABLED').Target,
      RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 600 },
    });
  });

  it('deletes the second schedule when a job goes from two expressions to one', async () => {
    // Prepare
    schedulerMock.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
    schedulerMock.on(DeleteScheduleCommand).resolves({});

    // Act
    await scheduler().put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(0 9 ? * MON *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    expect(schedulerMock.commandCalls(UpdateScheduleCommand).map((call) => call.args[0].input)).toEqual([
      expectedInput(`${JOB_ID}-0`, 'cron(0 9 ? * MON *)', 'ENABLED'),
    ]);
    expect(schedulerMock.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: `${JOB_ID}-1`, GroupName: GROUP },
    ]);
    expect(schedulerMock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  });

  it('passes on errors other than not found without creating', async () => {
    // Prepare
    const throttled = new ThrottlingException({
      message: 'Slow down.',
      Message: 'Slow down.',
      $metadata: {},
    });
    schedulerMock.on(UpdateScheduleCommand).rejects(throttled);

    // Act
    const result = scheduler().put({
      jobId: JOB_ID,
      cron: '0 9 * * 1-5',
      expressions: ['cron(0 9 * * ? *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    await expect(result).rejects.toBe(throttled);
    expect(schedulerMock.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(schedulerMock.commandCalls(DeleteScheduleCommand)).toHaveLength(0);
  });

  it('refuses a job id that does not make a valid schedule name', async () => {
    // Prepare
    const badJobId = `job_${'x'.repeat(70)}`;

    // Act
    const result = scheduler().put({
      jobId: badJobId,
      cron: '0 9 * * *',
      expressions: ['cron(0 9 * * ? *)'],
      timezone: 'Europe/London',
      enabled: true,
      catchup: 'none',
    });

    // Assess
    await expect(result).rejects.toThrow('does not make a valid schedule name');
    expect(schedulerMock.calls()).toHaveLength(0);
  });
});

describe('EventBridgeScheduler.remove', () => {
  it('deletes both schedules, ignoring ones that do not exist', async () => {
    // Prepare
    schedulerMock
      .on(DeleteScheduleCommand, { Name: `${JOB_ID}-0` })
      .resolves({})
      .on(DeleteScheduleCommand, { Name: `${JOB_ID}-1` })
      .rejects(notFound());

    // Act
    await scheduler().remove(JOB_ID);

    // Assess
    expect(schedulerMock.commandCalls(DeleteScheduleCommand).map((call) => call.args[0].input)).toEqual([
      { Name: `${JOB_ID}-0`, GroupName: GROUP },
      { Name: `${JOB_ID}-1`, GroupName: GROUP },
    ]);
  });

  it('passes on errors other than not found', async () => {
    // Prepare
    const throttled = new ThrottlingException({
      message: 'Slow down.',
      Message: 'Slow down.',
      $metadata: {},
    });
    schedulerMock.on(DeleteScheduleCommand).rejects(throttled);

    // Act
    const result = scheduler().remove(JOB_ID);

    // Assess
    await expect(result).rejects.toBe(throttled);
  });
});

describe('EventBridgeScheduler.list', () => {
  function stored(name: string, overrides: Record<string, unknown> = {}) {
    const jobId = name.replace(/-\d+$/, '');
    return {
      Name: name,
      GroupName: GROUP,
      ScheduleExpression: 'cron(0 9 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/London',
      State: 'ENABLED' as const,
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      Target: {
        Arn: TARGET_ARN,
        RoleArn: ROLE_ARN,
        Input: JSON.stringify({ job_id: jobId, scheduled_time: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: DLQ_ARN },
      },
      ...overrides,
    };
  }

  it('pages through the group and reads each schedule, grouped by job in index order', async () => {
    // Prepare
    schedulerMock
      .on(ListSchedulesCommand, { GroupName: GROUP, NextToken: undefined })
      .resolves({
        Schedules: [{ Name: `${JOB_ID}-1` }, { Name: `${OTHER_JOB_ID}-0` }, { Name: 'not-a-job-schedule' }],
        NextToken: 'page-2',
      })
      .on(ListSchedulesCommand, { GroupName: GROUP, NextToken: 'page-2' })
      .resolves({ Schedules: [{ Name: `${JOB_ID}-0` }] });
    schedulerMock
      .on(GetScheduleCommand, { Name: `${JOB_ID}-0`, GroupName: GROUP })
      .resolves(stored(`${JOB_ID}-0`, { ScheduleExpression: 'cron(0 9 1 * ? *)' }))
      .on(GetScheduleCommand, { Name: `${JOB_ID}-1`, GroupName: GROUP })
      .resolves(stored(`${JOB_ID}-1`, { ScheduleExpression: 'cron(0 9 ? * 2 *)' }))
      .on(GetScheduleCommand, { Name: `${OTHER_JOB_ID}-0`, GroupName: GROUP })
      .resolves(stored(`${OTHER_JOB_ID}-0`, { State: 'DISABLED', ScheduleExpressionTimezone: 'UTC' }));

    // Act
    const result = await scheduler().list();

    // Assess
    expect(schedulerMock.commandCalls(ListSchedulesCommand).map((call) => call.args[0].input)).toEqual([
      { GroupName: GROUP, NextToken: undefined },
      { GroupName: GROUP, NextToken: 'page-2' },
    ]);
    expect(
      schedulerMock
        .commandCalls(GetScheduleCommand)
        .map((call) => call.args[0].input.Name)
        .sort(),
    ).toEqual([`${JOB_ID}-0`, `${JOB_ID}-1`, `${OTHER_JOB_ID}-0`].sort());
    expect(result).toEqual([
      {
        jobId: JOB_ID,
        schedules: [
          {
            index: 0,
            expression: 'cron(0 9 1 * ? *)',
            timezone: 'Europe/London',
            enabled: true,
            stale: false,
          },
          {
            index: 1,
            expression: 'cron(0 9 ? * 2 *)',
            timezone: 'Europe/London',
            enabled: true,
            stale: false,
          },
        ],
      },
      {
        jobId: OTHER_JOB_ID,
        schedules: [
          { index: 0, expression: 'cron(0 9 * * ? *)', timezone: 'UTC', enabled: false, stale: false },
        ],
      },
    ]);
  });

  it('flags a schedule whose target is not what this deployment writes as stale', async () => {
    // Prepare
    schedulerMock.on(ListSchedulesCommand).resolves({ Schedules: [{ Name: `${JOB_ID}-0` }] });
    const old = stored(`${JOB_ID}-0`);
    schedulerMock
      .on(GetScheduleCommand)
      .resolves({ ...old, Target: { ...old.Target, Arn: `${TARGET_ARN}-previous` } });

    // Act
    const result = await scheduler().list();

    // Assess
    expect(result).toEqual([
      {
        jobId: JOB_ID,
        schedules: [
          {
            index: 0,
            expression: 'cron(0 9 * * ? *)',
            timezone: 'Europe/London',
            enabled: true,
            stale: true,
          },
        ],
      },
    ]);
  });

  it('leaves out a schedule deleted between the listing and its read', async () => {
    // Prepare
    schedulerMock.on(ListSchedulesCommand).resolves({ Schedules: [{ Name: `${JOB_ID}-0` }] });
    schedulerMock.on(GetScheduleCommand).rejects(notFound());

    // Act
    const result = await scheduler().list();

    // Assess
    expect(result).toEqual([]);
  });

  it('returns nothing for an empty group', async () => {
    // Prepare
    schedulerMock.on(ListSchedulesCommand).resolves({ Schedules: [] });

    // Act
    const result = await scheduler().list();

    // Assess
    expect(result).toEqual([]);
    expect(schedulerMock.commandCalls(ListSchedulesCommand)).toHaveLength(1);
    expect(schedulerMock.commandCalls(GetScheduleCommand)).toHaveLength(0);
  });
});

describe('scheduleName', () => {
  it('appends the index to the job id', () => {
    // Prepare
    const jobId = JOB_ID;

    // Act
    const name = scheduleName(jobId, 1);

    // Assess
    expect(name).toBe(`${JOB_ID}-1`);
    expect(name.length).toBeLessThanOrEqual(64);
  });
});
