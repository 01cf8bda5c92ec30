import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeploymentSettings,
  getDeploymentSettings,
  resolveDeploymentSettings,
} from '../../infra/aws/config.js';
import { Sweeper } from '../../infra/aws/sweeper.js';
import { reconcileSchedulesEvent } from '../../infra/aws/sweeper-rules.js';
import { awsDefaults } from '../../shared/config/defaults.js';
import {
  buildApp,
  constructFixture,
  hasTableStatements,
  logicalIdOf,
  propertiesOf,
  removeOutdirs,
  renderCfnString,
  resourcesOf,
  resourcesReachedBy,
  roleIdOf,
  ruleTargetsOf,
  schedulesArnOf,
  variablesOf,
} from './support.js';

afterAll(removeOutdirs);

const queueNames = ['default', 'production', 'security'];
const sendActions = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
// Exactly the calls of the DynamoDB stores; only Query reaches the indexes.
const tableActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const tableIndexActions = ['dynamodb:Query'];

/** The ids a test needs to read the sweeper of one app. */
function inspect(env: string, overrides?: Partial<DeploymentSettings>) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const tableId = logicalIdOf(stack, stack.table);
  const queueIds = new Map(
    [...stack.workerQueues].map(([name, { queue }]) => [name, logicalIdOf(stack, queue)] as const),
  );
  const sweeperId = logicalIdOf(stack, stack.sweeper.sweeperFunction);
  const schedulerRoleId = logicalIdOf(stack, stack.cronScheduling.schedulerRole);
  const schedulerDlqId = logicalIdOf(stack, stack.cronScheduling.deadLetterQueue);

  /** Names the resources of a function's policies, with the actions allowed on each. */
  const reachedBy = (functionId: string) =>
    resourcesReachedBy(stack, template, functionId, [
      [schedulesArnOf(stack.stackName), 'schedules'],
      [{ 'Fn::GetAtt': [schedulerRoleId, 'Arn'] }, 'scheduler role'],
      [{ 'Fn::GetAtt': [schedulerDlqId, 'Arn'] }, 'scheduler DLQ'],
      ['*', '*'],
    ]);

  return { ...built, template, tableId, queueIds, sweeperId, reachedBy };
}

describe('sweeper', () => {
  const { template, tableId, queueIds, sweeperId, reachedBy, settings } = inspect('dev');
  const rules = resourcesOf(template, 'AWS::Events::Rule');
  // The sweep rule sends EventBridge's scheduled event; the reconciliation rule (below) an input.
  const sweepRuleIds = Object.keys(rules).filter((id) =>
    ruleTargetsOf(rules[id]).every((target) => target.Input === undefined),
  );

  it('runs on a schedule every sweepIntervalMinutes', () => {
    // Assess
    expect(settings.sweepIntervalMinutes).toBe(1);
    expect(Object.keys(rules)).toHaveLength(2);
    expect(sweepRuleIds).toHaveLength(1);
    expect(rules[sweepRuleIds[0] as string]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [sweeperId, 'Arn'] } }],
    });
  });

  it('has a timeout of 300 s, for the reconciliation that reads every schedule', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::Lambda::Function', sweeperId).Timeout).toBe(300);
  });

  it('follows a configured interval', () => {
    // Act
    const custom = Template.fromStack(buildApp('dev', { sweepIntervalMinutes: 5 }).stack);

    // Assess
    custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
  });

  it('may be invoked by its two rules only', () => {
    // Prepare
    const permissions = Object.values(resourcesOf(template, 'AWS::Lambda::Permission')).filter((permission) =>
      JSON.stringify(permission.Properties?.FunctionName).includes(sweeperId),
    );

    // Assess
    expect(permissions.map((permission) => permission.Properties)).toEqual(
      expect.arrayContaining(
        Object.keys(rules).map((ruleId) =>
          expect.objectContaining({
            Action: 'lambda:InvokeFunction',
            Principal: 'events.amazonaws.com',
            SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
          }),
        ),
      ),
    );
    expect(permissions).toHaveLength(2);
  });

  it('gets the table, queues, deployment config, retention, log level, scheduling and the secrets key (it opens channels’ secrets)', () => {
    // Act
    const variables = variablesOf(template, sweeperId);

    // Assess
    expect(Object.keys(variables).sort()).toEqual(
      [
        'TABLE_NAME',
        'QUEUE_URLS',
        'DEPLOYMENT_CONFIG',
        'EXECUTION_RETENTION_DAYS',
        'RUN_EVENTS',
        'KMS_KEY_ID',
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_TRACE_ENABLED',
        'SCHEDULE_GROUP_NAME',
        'DISPATCH_FUNCTION_ARN',
        'SCHEDULER_ROLE_ARN',
        'SCHEDULER_DLQ_ARN',
      ].sort(),
    );
    expect(variables.TABLE_NAME).toEqual({ Ref: tableId });
    expect(variables.EXECUTION_RETENTION_DAYS).toBe(String(settings.executionRetentionDays));
    expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual(
      Object.fromEntries(queueNames.map((queue) => [queue, `<${queueIds.get(queue)}>`])),
    );
  });

  it('has the table statements, each with exactly its actions', () => {
    // Assess
    hasTableStatements(template, tableId, roleIdOf(template, sweeperId));
  });

  it("reaches exactly the table, the worker queues (send), its log group, the group's schedules, the key (decrypt) and the event bus", () => {
    // Act
    const reached = reachedBy(sweeperId);

    // Assess
    expect(new Set(reached.keys())).toEqual(
      new Set([
        'table',
        'table indexes',
        'log group',
        'key',
        'event bus',
        ...queueNames.map((queue) => `queue ${queue}`),
        'schedules',
        'scheduler role',
        '*',
      ]),
    );
    expect(reached.get('table')).toEqual(tableActions);
    expect(reached.get('table indexes')).toEqual(tableIndexActions);
    // The outbox opens channels' secrets; missed fires and overdue runs go on the bus (alerting.test.ts).
    expect(reached.get('key')).toEqual(['kms:Decrypt']);
    expect(reached.get('event bus')).toEqual(['events:PutEvents']);
    for (const queue of queueNames) expect(reached.get(`queue ${queue}`)).toEqual(sendActions);
    // Reconciliation reads each schedule and lists the group (statements in schedules.test.ts).
    expect(reached.get('schedules')).toEqual([
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
      'scheduler:UpdateSchedule',
    ]);
    expect(reached.get('scheduler role')).toEqual(['iam:PassRole']);
    expect(reached.get('*')).toEqual(['scheduler:ListSchedules']);
  });
});

describe('schedule reconciliation rule', () => {
  const { template, sweeperId } = inspect('dev');
  const rules = resourcesOf(template, 'AWS::Events::Rule');
  const reconcileRules = Object.entries(rules).filter(([, rule]) =>
    ruleTargetsOf(rule).some((target) => target.Input !== undefined),
  );

  it('invokes the sweeper every 15 minutes by default with {"task": "reconcile-schedules"}', () => {
    // Assess
    expect(awsDefaults.scheduleReconcileIntervalMinutes).toBe(15);
    expect(reconcileRules).toHaveLength(1);
    expect(reconcileRules[0]?.[1].Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [sweeperId, 'Arn'] },
          Id: 'Target0',
          Input: '{"task":"reconcile-schedules"}',
        },
      ],
    });
    expect(reconcileSchedulesEvent).toEqual({ task: 'reconcile-schedules' });
  });

  it('may invoke the sweeper (its own permission, scoped to the rule)', () => {
    // Prepare
    const [ruleId] = reconcileRules[0] ?? [];

    // Assess
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [sweeperId, 'Arn'] },
      SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] },
    });
  });

  it.each([
    [5, 'rate(5 minutes)'],
    [60, 'rate(1 hour)'],
    [1440, 'rate(1 day)'],
  ])('follows a configured interval of %i minutes', (minutes, expression) => {
    // Act
    const custom = Template.fromStack(buildApp('dev', { scheduleReconcileIntervalMinutes: minutes }).stack);

    // Assess
    custom.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: expression,
      Targets: [Match.objectLike({ Input: '{"task":"reconcile-schedules"}' })],
    });
  });

  it('is filled in by the config defaults', () => {
    // Act
    const resolved = resolveDeploymentSettings(getDeploymentSettings('prod'));

    // Assess
    expect(resolved.scheduleReconcileIntervalMinutes).toBe(15);
  });

  it.each([0, 1441, 2.5])('rejects an interval of %s minutes', (minutes) => {
    // Act
    const build = () => buildApp('dev', { scheduleReconcileIntervalMinutes: minutes });

    // Assess
    expect(build).toThrow(
      `scheduleReconcileIntervalMinutes must be an integer from 1 to 1440, got ${minutes}`,
    );
  });
});

describe('Sweeper in a stack of its own', () => {
  it('builds the function, its two rules and their DLQ alarm, with the default intervals', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const scheduling = fixture.addCron();

    // Act
    const sweeper = new Sweeper(fixture.stack, 'Sweeper', {
      ...fixture,
      namePrefix: 'fixture',
      deploymentName: 'fixture',
      scheduling,
    });
    const template = Template.fromStack(fixture.stack);

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'fixture-sweep',
      ScheduleExpression: 'rate(1 minute)',
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'fixture-reconcile-schedules',
      ScheduleExpression: `rate(${awsDefaults.scheduleReconcileIntervalMinutes} minutes)`,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(fixture.stack, sweeper.rules.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
    });
    expect(
      propertiesOf(template, 'AWS::Lambda::Function', logicalIdOf(fixture.stack, sweeper.sweeperFunction)),
    ).toMatchObject({ Timeout: 300 });
  });

  it.each([
    [{ sweepIntervalMinutes: 0 }, 'sweepIntervalMinutes must be an integer from 1 to 60, got 0'],
    [{ sweepIntervalMinutes: 61 }, 'sweepIntervalMinutes must be an integer from 1 to 60, got 61'],
    [
      { reconcileIntervalMinutes: 1441 },
      'reconcileIntervalMinutes must be an integer from 1 to 1440, got 1441',
    ],
    [{ executionRetentionDays: 2.5 }, 'executionRetentionDays must be an integer from 1 to 3650, got 2.5'],
    [{ namePrefix: 'has space' }, 'Rule name "has space-sweep" is not valid for EventBridge'],
  ] as [Record<string, unknown>, string][])('throws for bad props: %j', (overrides, message) => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();
    const scheduling = fixture.addCron();

    // Act
    const build = () =>
      new Sweeper(fixture.stack, 'Sweeper', {
        ...fixture,
        namePrefix: 'fixture',
        deploymentName: 'fixture',
        scheduling,
        ...overrides,
      });

    // Assess
    expect(build).toThrow(message);
  });
});
