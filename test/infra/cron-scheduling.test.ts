import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { type DeploymentSettings, getDeploymentSettings } from '../../infra/aws/config.js';
import { CronScheduling } from '../../infra/aws/cron-scheduling.js';
import { JobsStack } from '../../infra/aws/stack.js';
import {
  acknowledgedOn,
  allPolicyDocuments,
  asArray,
  buildApp,
  constructFixture,
  isWildcardStatement,
  listSchedulesStatement,
  logGroupIdOf,
  logicalIdOf,
  onlyLogicalId,
  propertiesOf,
  removeOutdirs,
  resourcesOf,
  resourcesReachedBy,
  roleIdOf,
  roleStatements,
  schedulesArnOf,
  statementsOf,
  variablesOf,
  workerFunctionsOf,
} from './support.js';

afterAll(removeOutdirs);

const queueNames = ['default', 'production', 'security'];
const sendActions = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
const passRoleCondition = { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } };

/** The ids a test needs to read the cron infrastructure of one app. */
function inspect(env: string, overrides?: Partial<DeploymentSettings>) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const groupName = `ServerlessJobs-${env}`;
  const ids = {
    group: logicalIdOf(stack, stack.cronScheduling.scheduleGroup),
    role: logicalIdOf(stack, stack.cronScheduling.schedulerRole),
    dlq: logicalIdOf(stack, stack.cronScheduling.deadLetterQueue),
    dispatch: logicalIdOf(stack, stack.cronScheduling.dispatchFunction),
    api: logicalIdOf(stack, stack.controlPlane.apiFunction),
    sweeper: logicalIdOf(stack, stack.sweeper.sweeperFunction),
    webhook: logicalIdOf(stack, stack.webhookIngress.webhookFunction),
    table: logicalIdOf(stack, stack.table),
    topic: logicalIdOf(stack, stack.alarmTopic),
  };
  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

  /** Names the resources of a function's policies (the cron ones included), with the actions allowed on each. */
  const reachedBy = (functionId: string) =>
    resourcesReachedBy(stack, template, functionId, [
      [schedulesArnOf(groupName), 'schedules'],
      [arnOf(ids.role), 'scheduler role'],
      [arnOf(ids.dlq), 'scheduler DLQ'],
      ['*', '*'],
    ]);

  return { ...built, template, groupName, ids, arnOf, reachedBy };
}

describe('schedule group', () => {
  const { template, groupName, ids } = inspect('dev');

  it('is the only group, named after the stack, and deleted with it', () => {
    // Assess: its schedules are rebuilt from the jobs table; a retained group would block a redeploy (same name).
    expect(onlyLogicalId(template, 'AWS::Scheduler::ScheduleGroup')).toBe(ids.group);
    template.hasResource('AWS::Scheduler::ScheduleGroup', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({ Name: 'ServerlessJobs-dev' }),
    });
    expect(groupName).toBe('ServerlessJobs-dev');
  });

  it('creates no schedule itself: the API and the sweeper write them at run time', () => {
    // Assess
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('is output by name, with the DLQ URL', () => {
    // Assess
    template.hasOutput('ScheduleGroupName', { Value: 'ServerlessJobs-dev' });
    template.hasOutput('SchedulerDeadLetterQueueUrl', { Value: { Ref: ids.dlq } });
  });

  it.each(['test', 'prod'])('follows the stack name in %s', (env) => {
    // Act
    const other = Template.fromStack(buildApp(env).stack);

    // Assess
    other.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: `ServerlessJobs-${env}` });
  });

  it('fails synthesis when the stack name is not a valid group name', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act
    const build = () =>
      new JobsStack(app, `ServerlessJobs-${'x'.repeat(60)}`, { settings: getDeploymentSettings('dev') });

    // Assess
    expect(build).toThrow('is not a valid schedule group name');
  });
});

describe('scheduler role', () => {
  const { template, ids, arnOf } = inspect('dev');

  it('may be assumed by EventBridge Scheduler only, for this group of this account', () => {
    // Assess: aws:SourceArn is the group's ARN, as AWS documents for Scheduler (never a schedule's ARN).
    expect(propertiesOf(template, 'AWS::IAM::Role', ids.role).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnEquals: { 'aws:SourceArn': arnOf(ids.group) },
          },
        },
      ],
    });
  });

  it('may only invoke the dispatch function (exact ARN) and send to the scheduler DLQ', () => {
    // Assess
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: ids.role }],
      PolicyDocument: Match.exact({
        Version: '2012-10-17',
        Statement: [
          { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: arnOf(ids.dispatch) },
          { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: arnOf(ids.dlq) },
        ],
      }),
    });
    expect(roleStatements(template, ids.role)).toHaveLength(2);
  });

  it('has no managed policy, no inline policy of its own and nothing acknowledged', () => {
    // Prepare
    const role = propertiesOf(template, 'AWS::IAM::Role', ids.role);

    // Assess
    expect(role.ManagedPolicyArns).toBeUndefined();
    expect(role.Policies).toBeUndefined();
    expect(acknowledgedOn(template, ids.role)).toEqual([]);
  });
});

describe('scheduler dead-letter queue', () => {
  const { template, ids, arnOf } = inspect('dev');

  it('keeps messages 14 days, with SQS-managed encryption (no KMS grant needed) and no redrive of its own', () => {
    // Prepare
    const queue = propertiesOf(template, 'AWS::SQS::Queue', ids.dlq);

    // Assess
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(queue.KmsMasterKeyId).toBeUndefined();
    expect(queue.RedrivePolicy).toBeUndefined();
  });

  it('denies every request not made over TLS', () => {
    // Prepare
    const policies = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).filter(
      (policy) => JSON.stringify(policy.Properties?.Queues) === JSON.stringify([{ Ref: ids.dlq }]),
    );

    // Assess
    expect(policies).toHaveLength(1);
    expect(statementsOf(policies[0]?.Properties?.PolicyDocument)).toEqual([
      {
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Resource: arnOf(ids.dlq),
      },
    ]);
  });

  it('is alarmed on from its first message, notifying the alarm topic', () => {
    // Prepare
    const alarms = Object.entries(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter(
      ([, alarm]) =>
        JSON.stringify(alarm.Properties?.Dimensions) ===
        JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [ids.dlq, 'QueueName'] } }]),
    );

    // Assess
    expect(alarms).toHaveLength(1);
    expect(alarms[0]?.[1].Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: ids.topic }],
    });
  });

  it('is one of the alarms the topic policy lets publish', () => {
    // Prepare
    const alarmIds = Object.keys(resourcesOf(template, 'AWS::CloudWatch::Alarm'));
    const [topicPolicy] = Object.values(resourcesOf(template, 'AWS::SNS::TopicPolicy'));

    // Act
    const publish = statementsOf(topicPolicy?.Properties?.PolicyDocument).find(
      (statement) => (statement as { Sid?: string }).Sid === 'AllowTheDeadLetterAlarmsToPublish',
    ) as unknown as { Condition: { ArnLike: { 'aws:SourceArn': unknown[] } } };

    // Assess: the worker DLQs', this one's, the sweeper DLQ's and notification deliveries'.
    expect(alarmIds).toHaveLength(queueNames.length + 3);
    expect(publish.Condition.ArnLike['aws:SourceArn']).toEqual(alarmIds.map(arnOf));
  });
});

describe('dispatch function', () => {
  const { settings, template, ids, arnOf, reachedBy } = inspect('dev');

  it('runs Node.js 22 on arm64 with 256 MB, a 30 s timeout, its own log group and the scheduler DLQ', () => {
    // Prepare
    const fn = propertiesOf(template, 'AWS::Lambda::Function', ids.dispatch);

    // Assess: invoked asynchronously, so a fire it fails on goes to its function DLQ after Lambda's retries.
    expect(fn).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 30,
      DeadLetterConfig: { TargetArn: arnOf(ids.dlq) },
    });
    expect(
      propertiesOf(template, 'AWS::Logs::LogGroup', logGroupIdOf(template, ids.dispatch)).RetentionInDays,
    ).toBe(settings.logRetention);
  });

  it('gets exactly the run environment and the retention (no key, no scheduling)', () => {
    // Act
    const variables = variablesOf(template, ids.dispatch);

    // Assess
    expect(Object.keys(variables).sort()).toEqual(
      [
        'TABLE_NAME',
        'QUEUE_URLS',
        'DEPLOYMENT_CONFIG',
        'EXECUTION_RETENTION_DAYS',
        'RUN_EVENTS',
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_TRACE_ENABLED',
      ].sort(),
    );
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: ids.table },
      EXECUTION_RETENTION_DAYS: String(settings.executionRetentionDays),
      LOG_LEVEL: settings.logLevel,
    });
  });

  it('reaches exactly the table (item calls, no Query), the worker queues, the scheduler DLQ and its log group', () => {
    // Act
    const reached = reachedBy(ids.dispatch);

    // Assess
    expect(new Set(reached.keys())).toEqual(
      new Set(['table', 'log group', 'scheduler DLQ', ...queueNames.map((queue) => `queue ${queue}`)]),
    );
    expect(reached.get('table')).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect(reached.get('scheduler DLQ')).toEqual(['sqs:SendMessage']);
    expect(reached.get('log group')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const queue of queueNames) expect(reached.get(`queue ${queue}`), queue).toEqual(sendActions);
  });

  it('has its table statement on the table only, with exactly the item actions', () => {
    // Prepare
    const statements = roleStatements(template, roleIdOf(template, ids.dispatch));

    // Assess
    expect(
      statements.filter((statement) => asArray(statement.Action).some((a) => a.startsWith('dynamodb:'))),
    ).toEqual([
      {
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Effect: 'Allow',
        Resource: arnOf(ids.table),
      },
    ]);
  });

  it('is invoked through the scheduler role only: no resource policy, event source, rule or route', () => {
    // Prepare
    const mentions = (type: string) =>
      Object.values(resourcesOf(template, type)).filter((resource) =>
        JSON.stringify(resource.Properties).includes(ids.dispatch),
      );

    // Assess
    expect(mentions('AWS::Lambda::Permission')).toEqual([]);
    expect(mentions('AWS::Lambda::EventSourceMapping')).toEqual([]);
    expect(mentions('AWS::Events::Rule')).toEqual([]);
    expect(mentions('AWS::ApiGatewayV2::Integration')).toEqual([]);
  });

  it('acknowledges only the pinned runtime, and nothing on its role', () => {
    // Assess
    expect(acknowledgedOn(template, ids.dispatch).map((rule) => rule.id)).toEqual(['AwsSolutions-L1']);
    expect(acknowledgedOn(template, roleIdOf(template, ids.dispatch))).toEqual([]);
  });
});

describe('schedule management permissions', () => {
  const { stack, template, groupName, ids, arnOf, reachedBy } = inspect('dev');
  const schedulesArn = schedulesArnOf(groupName);
  const passRole = {
    Action: 'iam:PassRole',
    Condition: passRoleCondition,
    Effect: 'Allow',
    Resource: arnOf(ids.role),
  };

  /** The statements of a function's role that name a scheduler or PassRole action. */
  const schedulingStatements = (functionId: string) =>
    roleStatements(template, roleIdOf(template, functionId)).filter((statement) =>
      asArray(statement.Action).some(
        (action) => action.startsWith('scheduler:') || action === 'iam:PassRole',
      ),
    );

  it("lets the API write and delete the group's schedules and pass the scheduler role to the Scheduler only", () => {
    // Assess: no GetSchedule and no ListSchedules: only the sweeper's reconciliation reads them.
    expect(schedulingStatements(ids.api)).toEqual([
      {
        Action: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule'],
        Effect: 'Allow',
        Resource: schedulesArn,
      },
      passRole,
    ]);
  });

  it('lets the sweeper also read the schedules, and list them on "*" (ListSchedules has no resource type)', () => {
    // Assess
    expect(schedulingStatements(ids.sweeper)).toEqual([
      {
        Action: [
          'scheduler:CreateSchedule',
          'scheduler:DeleteSchedule',
          'scheduler:GetSchedule',
          'scheduler:UpdateSchedule',
        ],
        Effect: 'Allow',
        Resource: schedulesArn,
      },
      passRole,
      listSchedulesStatement,
    ]);
  });

  it('grants no scheduler or PassRole action to any other role (workers, webhook, dispatch, scheduler)', () => {
    // Act
    const roles = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter((policy) =>
        statementsOf(policy.Properties?.PolicyDocument).some((statement) =>
          asArray(statement.Action).some(
            (action) => action.startsWith('scheduler:') || action.startsWith('iam:'),
          ),
        ),
      )
      .flatMap((policy) => policy.Properties?.Roles as unknown[]);

    // Assess
    expect(roles).toEqual(
      expect.arrayContaining([
        { Ref: roleIdOf(template, ids.api) },
        { Ref: roleIdOf(template, ids.sweeper) },
      ]),
    );
    expect(roles).toHaveLength(2);
    for (const fn of [
      ...workerFunctionsOf(stack).values(),
      stack.webhookIngress.webhookFunction,
      stack.cronScheduling.dispatchFunction,
    ]) {
      const actions = [...reachedBy(logicalIdOf(stack, fn)).values()].flat();
      expect(
        actions.filter((action) => action.startsWith('scheduler:') || action.startsWith('iam:')),
      ).toEqual([]);
    }
  });

  it('has no "*" resource in the stack but the sweeper\'s ListSchedules', () => {
    // Act
    const statements = allPolicyDocuments(template).flatMap(statementsOf);

    // Assess
    expect(statements.filter(isWildcardStatement)).toEqual([listSchedulesStatement]);
    expect(schedulingStatements(ids.sweeper)).toContainEqual(listSchedulesStatement);
  });

  it.each([
    ['API', 'api'],
    ['sweeper', 'sweeper'],
  ] as const)('gives the %s function what the EventBridge Scheduler adapter is built from', (_name, key) => {
    // Act
    const variables = variablesOf(template, ids[key]);

    // Assess
    expect(variables).toMatchObject({
      SCHEDULE_GROUP_NAME: groupName,
      DISPATCH_FUNCTION_ARN: arnOf(ids.dispatch),
      SCHEDULER_ROLE_ARN: arnOf(ids.role),
      SCHEDULER_DLQ_ARN: arnOf(ids.dlq),
    });
  });

  it('acknowledges IAM5 exactly for the group\'s schedules (API, sweeper) and for "*" (sweeper only)', () => {
    // Prepare
    const schedulesFinding = `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${groupName}/*]`;
    const idsOn = (functionId: string) =>
      acknowledgedOn(template, roleIdOf(template, functionId)).map((rule) => rule.id);
    const listReason = acknowledgedOn(template, roleIdOf(template, ids.sweeper)).find(
      (rule) => rule.id === 'AwsSolutions-IAM5[Resource::*]',
    )?.reason;

    // Assess
    expect(idsOn(ids.api)).toContain(schedulesFinding);
    expect(idsOn(ids.api)).not.toContain('AwsSolutions-IAM5[Resource::*]');
    expect(idsOn(ids.sweeper)).toEqual(
      expect.arrayContaining([schedulesFinding, 'AwsSolutions-IAM5[Resource::*]']),
    );
    expect(listReason).toMatch(/scheduler:ListSchedules/);
    expect(listReason).toMatch(/Service Authorization Reference/);
  });

  it.each(['dev', 'prod'])('%s: leaves no unacknowledged cdk-nag finding', (env) => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(buildApp(env).app);

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('CronScheduling in a stack of its own', () => {
  it('builds the group, the role, dispatch with the scheduler DLQ as its function DLQ, and the DLQ alarm', () => {
    // Prepare
    const fixture = constructFixture();
    fixture.addQueue();

    // Act
    const cron = fixture.addCron();
    const template = Template.fromStack(fixture.stack);

    // Assess
    const id = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(fixture.stack, construct);
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'fixture' });
    expect(propertiesOf(template, 'AWS::Lambda::Function', id(cron.dispatchFunction))).toMatchObject({
      MemorySize: 256,
      Timeout: 30,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [id(cron.deadLetterQueue), 'Arn'] } },
      Environment: { Variables: expect.objectContaining({ EXECUTION_RETENTION_DAYS: '90' }) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(cron.deadLetterQueue), 'QueueName'] } }],
    });
    expect(cron.schedulingEnvironment).toEqual({
      scheduleGroupName: cron.scheduleGroup.scheduleGroupName,
      dispatchFunctionArn: cron.dispatchFunction.functionArn,
      schedulerRoleArn: cron.schedulerRole.roleArn,
      schedulerDeadLetterArn: cron.deadLetterQueue.queueArn,
    });
  });

  it("grants a schedule writer the group's schedules and PassRole, and a reconciler also reads and lists", () => {
    // Prepare
    const fixture = constructFixture();
    const cron = fixture.addCron();
    const writer = fixture.addQueue({ name: 'writer' }).worker;
    const reconciler = fixture.addQueue({ name: 'reconciler' }).worker;

    // Act
    cron.grantManageSchedules(writer);
    cron.grantManageSchedules(reconciler, { reconcile: true });
    const template = Template.fromStack(fixture.stack);

    // Assess
    const scheduling = (fn: Parameters<typeof logicalIdOf>[1]) =>
      roleStatements(template, roleIdOf(template, logicalIdOf(fixture.stack, fn)))
        .flatMap((statement) => asArray(statement.Action))
        .filter((action) => action.startsWith('scheduler:') || action === 'iam:PassRole')
        .sort();
    expect(scheduling(writer)).toEqual([
      'iam:PassRole',
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:UpdateSchedule',
    ]);
    expect(scheduling(reconciler)).toEqual([
      'iam:PassRole',
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:GetSchedule',
      'scheduler:ListSchedules',
      'scheduler:UpdateSchedule',
    ]);
  });

  it.each([
    [{ groupName: 'has space' }, '"has space" is not a valid schedule group name'],
    [{ groupName: 'x'.repeat(65) }, `"${'x'.repeat(65)}" is not a valid schedule group name`],
    [{ executionRetentionDays: 3651 }, 'executionRetentionDays must be an integer from 1 to 3650, got 3651'],
  ] as [Record<string, unknown>, string][])('throws for bad props: %j', (overrides, message) => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const build = () =>
      new CronScheduling(fixture.stack, 'CronScheduling', {
        ...fixture,
        groupName: 'fixture',
        deploymentName: 'fixture',
        ...overrides,
      });

    // Assess
    expect(build).toThrow(`CronScheduling: ${message}`);
  });
});
