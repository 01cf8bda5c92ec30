import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeploymentSettings } from '../../infra/aws/config.js';
import type { WorkerQueueProps } from '../../infra/aws/worker-queue.js';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import {
  allPolicyDocuments,
  asArray,
  buildApp,
  constructFixture,
  hasTableStatements,
  isWildcardStatement,
  listSchedulesStatement,
  logicalIdOf,
  propertiesOf,
  removeOutdirs,
  renderCfnString,
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
const consumeActions = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];
// Exactly the calls of the DynamoDB stores, which every function builds (TransactWriteItems is authorized
// per item as PutItem/UpdateItem/DeleteItem); only Query reaches the indexes.
const tableActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const tableIndexActions = ['dynamodb:Query'];

/** The ids and names a test needs to read the template of one app. */
function inspect(env: string, overrides?: Partial<DeploymentSettings>) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const tableId = logicalIdOf(stack, stack.table);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  const queueIds = new Map(
    [...stack.workerQueues].map(([name, { queue }]) => [name, logicalIdOf(stack, queue)] as const),
  );
  const dlqIds = new Map(
    [...stack.workerQueues].map(
      ([name, { deadLetterQueue }]) => [name, logicalIdOf(stack, deadLetterQueue)] as const,
    ),
  );
  const workerIds = new Map(
    [...workerFunctionsOf(stack)].map(([name, fn]) => [name, logicalIdOf(stack, fn)]),
  );
  const sweeperId = logicalIdOf(stack, stack.sweeper.sweeperFunction);
  const httpApiId = logicalIdOf(stack, stack.controlPlane.httpApi);
  const schedulerDlqId = logicalIdOf(stack, stack.cronScheduling.deadLetterQueue);
  const sweeperDlqId = logicalIdOf(stack, stack.sweeper.rules.deadLetterQueue);
  const schedulerRoleId = logicalIdOf(stack, stack.cronScheduling.schedulerRole);

  /** Names the resources of a function's policies, with the actions allowed on each. */
  const reachedBy = (functionId: string) =>
    resourcesReachedBy(stack, template, functionId, [
      [schedulesArnOf(stack.stackName), 'schedules'],
      [{ 'Fn::GetAtt': [schedulerRoleId, 'Arn'] }, 'scheduler role'],
      [{ 'Fn::GetAtt': [schedulerDlqId, 'Arn'] }, 'scheduler DLQ'],
      ['*', '*'],
    ]);

  return {
    ...built,
    template,
    tableId,
    keyId,
    queueIds,
    dlqIds,
    workerIds,
    sweeperId,
    httpApiId,
    schedulerDlqId,
    sweeperDlqId,
    schedulerRoleId,
    reachedBy,
  };
}

describe('worker queues', () => {
  const { settings, template, queueIds, dlqIds, workerIds, schedulerDlqId, sweeperDlqId, stack } =
    inspect('dev');

  it('are the default queue plus the configured ones', () => {
    // Assess: a queue and a DLQ each, the scheduler DLQ (test/infra/schedules.test.ts) and the sweeper rules' DLQ
    // (test/infra/sweeper-rules.test.ts).
    expect([...stack.workerQueues.keys()]).toEqual(queueNames);
    expect(Object.keys(resourcesOf(template, 'AWS::SQS::Queue')).sort()).toEqual(
      [...queueIds.values(), ...dlqIds.values(), schedulerDlqId, sweeperDlqId].sort(),
    );
  });

  it.each(queueNames)('%s: encrypted queue redriving to its DLQ after maxReceiveCount', (name) => {
    // Prepare
    const queue = propertiesOf(template, 'AWS::SQS::Queue', queueIds.get(name) as string);
    const dlq = propertiesOf(template, 'AWS::SQS::Queue', dlqIds.get(name) as string);

    // Assess
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqIds.get(name), 'Arn'] },
        maxReceiveCount: settings.maxReceiveCount,
      },
    });
    expect(settings.maxReceiveCount).toBe(runDefaults.maxReceiveCount);
    expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(dlq.RedrivePolicy).toBeUndefined();
  });

  it.each(queueNames)('%s: a message comes back a minute after its worker timed out or died', (name) => {
    // Prepare
    const queue = propertiesOf(template, 'AWS::SQS::Queue', queueIds.get(name) as string);
    const worker = propertiesOf(template, 'AWS::Lambda::Function', workerIds.get(name) as string);

    // Assess
    expect(runDefaults.visibilityTimeoutMarginSeconds).toBe(60);
    expect(worker.Timeout).toBe(settings.workerTimeoutSeconds);
    expect(queue.VisibilityTimeout).toBe(settings.workerTimeoutSeconds + 60);
  });

  it.each(queueNames)('%s: queue and DLQ deny every request not made over TLS', (name) => {
    // Prepare
    const policies = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy'));

    // Assess
    for (const id of [queueIds.get(name), dlqIds.get(name)]) {
      const policy = policies.find(
        (candidate) => JSON.stringify(candidate.Properties?.Queues) === JSON.stringify([{ Ref: id }]),
      );
      expect(policy, `SSL policy of ${id}`).toBeDefined();
      expect(statementsOf(policy?.Properties?.PolicyDocument)).toEqual([
        {
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        },
      ]);
    }
  });

  it('use the configured worker timeout and maxReceiveCount', () => {
    // Act
    const custom = Template.fromStack(
      buildApp('dev', { workerTimeoutSeconds: 120, maxReceiveCount: 3 }).stack,
    );

    // Assess
    const queues = Object.values(resourcesOf(custom, 'AWS::SQS::Queue')).filter(
      (queue) => queue.Properties?.RedrivePolicy !== undefined,
    );
    expect(queues).toHaveLength(queueNames.length);
    for (const queue of queues) {
      expect(queue.Properties).toMatchObject({
        VisibilityTimeout: 180,
        RedrivePolicy: { maxReceiveCount: 3 },
      });
    }
  });

  it.each(queueNames)(
    '%s: an alarm fires on the first message in the DLQ and notifies the alarm topic',
    (name) => {
      // Prepare
      const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).filter(
        (alarm) =>
          JSON.stringify(alarm.Properties?.Dimensions) ===
          JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqIds.get(name), 'QueueName'] } }]),
      );

      // Assess
      expect(alarms).toHaveLength(1);
      expect(alarms[0]?.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalIdOf(stack, stack.alarmTopic) }],
      });
    },
  );

  it("has one DLQ alarm per queue (and the scheduler DLQ's and the sweeper's) and none on the work queues", () => {
    // Act
    const alarmedQueues = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))
      // The other alarm is on notification deliveries (test/infra/alerting.test.ts).
      .filter((alarm) => alarm.Properties?.Namespace === 'AWS/SQS')
      .map(
        (alarm) =>
          (alarm.Properties?.Dimensions as { Value: { 'Fn::GetAtt': [string, string] } }[] | undefined)?.[0]
            ?.Value,
      );

    // Assess
    expect(alarmedQueues.map((value) => value?.['Fn::GetAtt'][0]).sort()).toEqual(
      [...dlqIds.values(), schedulerDlqId, sweeperDlqId].sort(),
    );
  });
});

describe('worker functions', () => {
  const { settings, stack, template, tableId, keyId, queueIds, workerIds, httpApiId, reachedBy } =
    inspect('dev');

  it.each(queueNames)('%s: consumes its queue in batches of 10, reporting partial batch failures', (name) => {
    // Prepare
    const mappings = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping')).filter(
      (mapping) =>
        JSON.stringify(mapping.Properties?.FunctionName) === JSON.stringify({ Ref: workerIds.get(name) }),
    );

    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toEqual(
      expect.objectContaining({
        EventSourceArn: { 'Fn::GetAtt': [queueIds.get(name), 'Arn'] },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
      }),
    );
  });

  it.each(queueNames)(
    '%s: gets the run environment, the key, the public API URL and the receive count',
    (name) => {
      // Act
      const variables = variablesOf(template, workerIds.get(name) as string);

      // Assess
      expect(Object.keys(variables).sort()).toEqual(
        [
          'TABLE_NAME',
          'QUEUE_URLS',
          'KMS_KEY_ID',
          'PUBLIC_BASE_URL',
          'DEPLOYMENT_CONFIG',
          'MAX_RECEIVE_COUNT',
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
        TABLE_NAME: { Ref: tableId },
        KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
        PUBLIC_BASE_URL: { 'Fn::GetAtt': [httpApiId, 'ApiEndpoint'] },
        MAX_RECEIVE_COUNT: String(settings.maxReceiveCount),
        LOG_LEVEL: settings.logLevel,
      });
      // It starts no run, but its audit entries (the jobs alerting pauses) are kept as long as runs.
      expect(variables.EXECUTION_RETENTION_DAYS).toBe(String(settings.executionRetentionDays));
      // Every worker queue, so a retry can be sent to any queue.
      expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual(
        Object.fromEntries(queueNames.map((queue) => [queue, `<${queueIds.get(queue)}>`])),
      );
      expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string)).toEqual({
        defaultQueue: 'default',
        queues: settings.queues,
        environments: settings.environments,
        // Public addresses only unless the deployment opens more (test/infra/target-networks.test.ts).
        allowedTargetNetworks: [],
        notificationTopicArns: [],
        eventBusName: 'default',
        // No state machine, queue or bus unless the deployment lists them (test/infra/aws-targets.test.ts).
        awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
      });
    },
  );

  it.each(queueNames)(
    '%s: reaches exactly the table, key (decrypt), worker queues, its log group and the event bus',
    (name) => {
      // Act
      const reached = reachedBy(workerIds.get(name) as string);

      // Assess
      expect(new Set(reached.keys())).toEqual(
        new Set([
          'table',
          'table indexes',
          'key',
          'log group',
          'event bus',
          ...queueNames.map((queue) => `queue ${queue}`),
        ]),
      );
      // Each end of a run goes on the bus (test/infra/alerting.test.ts).
      expect(reached.get('event bus')).toEqual(['events:PutEvents']);
      expect(reached.get('table')).toEqual(tableActions);
      expect(reached.get('table indexes')).toEqual(tableIndexActions);
      expect(reached.get('key')).toEqual(['kms:Decrypt']);
      expect(reached.get('log group')).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      for (const queue of queueNames) {
        // Its own queue: consumed by the event source mapping, and sent to for retries.
        const expected = queue === name ? [...consumeActions, ...sendActions].sort() : sendActions;
        expect(reached.get(`queue ${queue}`), queue).toEqual(expected);
      }
    },
  );

  it.each(queueNames)('%s: has the table statements, each with exactly its actions', (name) => {
    // Assess
    hasTableStatements(template, tableId, roleIdOf(template, workerIds.get(name) as string));
  });

  it('may invoke no Lambda function when lambdaTargets is empty', () => {
    // Prepare
    const actions = [...workerIds.values()].flatMap((id) => [...reachedBy(id).values()].flat());
    const invokers = allPolicyDocuments(template)
      .flatMap(statementsOf)
      .filter((statement) => asArray(statement.Action).includes('lambda:InvokeFunction'));

    // Assess: the scheduler role's invoke of dispatch is the only one in the stack.
    expect(settings.lambdaTargets).toEqual([]);
    expect(actions).not.toContain('lambda:InvokeFunction');
    expect(invokers).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.cronScheduling.dispatchFunction), 'Arn'] },
      },
    ]);
  });

  describe('with lambdaTargets configured', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:reviewer:live';
    const withTargets = inspect('dev', { lambdaTargets: ['summarizer', arn] });
    const summarizerArn = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':lambda:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':function:summarizer',
        ],
      ],
    };

    it.each(queueNames)('%s: may invoke exactly the configured functions', (name) => {
      // Act
      const reached = withTargets.reachedBy(withTargets.workerIds.get(name) as string);
      const invocable = [...reached]
        .filter(([, actions]) => actions.includes('lambda:InvokeFunction'))
        .map(([resource, actions]) => {
          expect(actions).toEqual(['lambda:InvokeFunction']);
          return JSON.parse(resource) as unknown;
        });

      // Assess
      expect(invocable).toEqual([summarizerArn, arn]);
    });

    it('lets no other function invoke them, and still has no "*" resource but ListSchedules', () => {
      // Prepare
      const { stack: targetsStack } = withTargets;
      const others = [
        targetsStack.sweeper.sweeperFunction,
        targetsStack.controlPlane.apiFunction,
        targetsStack.cronScheduling.dispatchFunction,
      ];

      // Act
      const statements = allPolicyDocuments(withTargets.template).flatMap(statementsOf);

      // Assess
      for (const fn of others) {
        const actions = [...withTargets.reachedBy(logicalIdOf(targetsStack, fn)).values()].flat();
        expect(actions).not.toContain('lambda:InvokeFunction');
      }
      expect(statements.filter(isWildcardStatement)).toEqual([listSchedulesStatement]);
    });

    it('still passes cdk-nag', () => {
      // Act
      const report = new AwsSolutionsChecks().validateScope(withTargets.app);

      // Assess
      expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    });
  });
});

describe('WorkerQueue in a stack of its own', () => {
  it('uses the defaults: a 300 s worker, a message back 60 s after it, 5 receives, SSE-SQS, batches of 10', () => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const worker = fixture.addQueue();
    const template = Template.fromStack(fixture.stack);

    // Assess
    const id = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(fixture.stack, construct);
    expect(propertiesOf(template, 'AWS::SQS::Queue', id(worker.queue))).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: awsDefaults.workerTimeoutSeconds + runDefaults.visibilityTimeoutMarginSeconds,
      RedrivePolicy: { maxReceiveCount: runDefaults.maxReceiveCount },
    });
    expect(propertiesOf(template, 'AWS::SQS::Queue', id(worker.deadLetterQueue))).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    expect(propertiesOf(template, 'AWS::Lambda::Function', id(worker.worker))).toMatchObject({
      Timeout: 300,
      Environment: {
        Variables: expect.objectContaining({
          MAX_RECEIVE_COUNT: '5',
          EXECUTION_RETENTION_DAYS: String(runDefaults.executionRetentionDays),
          PUBLIC_BASE_URL: 'https://api.example.com',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(worker.queue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(worker.deadLetterQueue), 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: Match.absent(),
    });
  });

  it('lets a producer send, and read the queue attributes SendMessage needs, on that queue only', () => {
    // Prepare
    const fixture = constructFixture();
    const worker = fixture.addQueue();
    const producer = fixture.addQueue({ name: 'other' }).worker;

    // Act
    worker.grantEnqueue(producer);
    const template = Template.fromStack(fixture.stack);

    // Assess
    expect(
      roleStatements(template, roleIdOf(template, logicalIdOf(fixture.stack, producer))).filter(
        (statement) =>
          JSON.stringify(statement.Resource) ===
          JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(fixture.stack, worker.queue), 'Arn'] }),
      ),
    ).toEqual([
      {
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalIdOf(fixture.stack, worker.queue), 'Arn'] },
      },
    ]);
  });

  it.each([
    [{ name: 'has space' }, 'name "has space" must be 1-64 letters, digits, "-" or "_"'],
    [{ timeout: Duration.minutes(16) }, 'timeout (seconds) must be an integer from 1 to 900, got 960'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount must be an integer from 1 to 1000, got 0'],
    [{ maxReceiveCount: 1001 }, 'maxReceiveCount must be an integer from 1 to 1000, got 1001'],
    [{ executionRetentionDays: 0 }, 'executionRetentionDays must be an integer from 1 to 3650, got 0'],
    [{ lambdaTargets: ['*'] }, 'lambdaTargets entry "*" must be a function name or a full function ARN'],
  ] as [Partial<WorkerQueueProps>, string][])('throws for bad props: %j', (overrides, message) => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const build = () => fixture.addQueue(overrides);

    // Assess
    expect(build).toThrow(`WorkerQueue: ${message}`);
  });

  it('refuses a second queue of the same name among the run queues', () => {
    // Prepare
    const fixture = constructFixture();
    const queue = fixture.addQueue();

    // Act
    const addAgain = () => fixture.runQueues.add(queue);

    // Assess
    expect(addAgain).toThrow('Worker queue "default" is added twice');
  });
});
