import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeploymentConfig,
  deploymentNames,
  getDeploymentConfig,
  resolveDeploymentConfig,
  runDefaults,
} from '../../infra/aws/config.js';
import { visibilityTimeoutMarginSeconds } from '../../infra/aws/stack.js';
import {
  allPolicyDocuments,
  asArray,
  buildApp,
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
  ruleTargetsOf,
  schedulesArnOf,
  statementsOf,
  variablesOf,
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
function inspect(env: string, overrides?: Partial<DeploymentConfig>) {
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
  const workerIds = new Map([...stack.workerFunctions].map(([name, fn]) => [name, logicalIdOf(stack, fn)]));
  const sweeperId = logicalIdOf(stack, stack.sweeperFunction);
  const httpApiId = logicalIdOf(stack, stack.httpApi);
  const schedulerDlqId = logicalIdOf(stack, stack.schedulerDeadLetterQueue);
  const sweeperDlqId = logicalIdOf(stack, stack.sweeperRules.deadLetterQueue);
  const schedulerRoleId = logicalIdOf(stack, stack.schedulerRole);

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
  const { config, template, queueIds, dlqIds, workerIds, schedulerDlqId, sweeperDlqId, stack } =
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
        maxReceiveCount: config.maxReceiveCount,
      },
    });
    expect(config.maxReceiveCount).toBe(runDefaults.maxReceiveCount);
    expect(dlq).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(dlq.RedrivePolicy).toBeUndefined();
  });

  it.each(queueNames)('%s: a message comes back a minute after its worker timed out or died', (name) => {
    // Prepare
    const queue = propertiesOf(template, 'AWS::SQS::Queue', queueIds.get(name) as string);
    const worker = propertiesOf(template, 'AWS::Lambda::Function', workerIds.get(name) as string);

    // Assess
    expect(visibilityTimeoutMarginSeconds).toBe(60);
    expect(worker.Timeout).toBe(config.workerTimeoutSeconds);
    expect(queue.VisibilityTimeout).toBe(config.workerTimeoutSeconds + 60);
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
    const alarmedQueues = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map(
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
  const { config, stack, template, tableId, keyId, queueIds, workerIds, httpApiId, reachedBy } =
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

  it.each(queueNames)('%s: gets the run environment, the key and the public API URL', (name) => {
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
        'EXECUTION_RETENTION_DAYS',
        'MAX_RECEIVE_COUNT',
        'LOG_LEVEL',
        'NODE_OPTIONS',
      ].sort(),
    );
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: tableId },
      KMS_KEY_ID: { 'Fn::GetAtt': [keyId, 'Arn'] },
      PUBLIC_BASE_URL: { 'Fn::GetAtt': [httpApiId, 'ApiEndpoint'] },
      EXECUTION_RETENTION_DAYS: String(config.executionRetentionDays),
      MAX_RECEIVE_COUNT: String(config.maxReceiveCount),
      LOG_LEVEL: config.logLevel,
    });
    // Every worker queue, so a retry can be sent to any queue.
    expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual(
      Object.fromEntries(queueNames.map((queue) => [queue, `<${queueIds.get(queue)}>`])),
    );
    expect(JSON.parse(variables.DEPLOYMENT_CONFIG as string)).toEqual({
      defaultQueue: 'default',
      queues: config.queues,
      environments: config.environments,
      // Public addresses only unless the deployment opens more (test/infra/target-networks.test.ts).
      allowedTargetNetworks: [],
    });
  });

  it.each(queueNames)(
    '%s: reaches exactly the table, key (decrypt), worker queues and its log group',
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
          ...queueNames.map((queue) => `queue ${queue}`),
        ]),
      );
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
    expect(config.lambdaTargets).toEqual([]);
    expect(actions).not.toContain('lambda:InvokeFunction');
    expect(invokers).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.dispatchFunction), 'Arn'] },
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
      const others = [targetsStack.sweeperFunction, targetsStack.apiFunction, targetsStack.dispatchFunction];

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

describe('sweeper', () => {
  const { template, tableId, queueIds, sweeperId, reachedBy, config } = inspect('dev');
  const rules = resourcesOf(template, 'AWS::Events::Rule');
  // The sweep rule sends EventBridge's scheduled event; the reconciliation rule (schedules.test.ts) an input.
  const sweepRuleIds = Object.keys(rules).filter((id) =>
    ruleTargetsOf(rules[id]).every((target) => target.Input === undefined),
  );

  it('runs on a schedule every sweepIntervalMinutes', () => {
    // Assess
    expect(config.sweepIntervalMinutes).toBe(1);
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

  it('gets the table, queues, deployment config, retention, log level and scheduling (no key: it opens no secret)', () => {
    // Act
    const variables = variablesOf(template, sweeperId);

    // Assess
    expect(Object.keys(variables).sort()).toEqual(
      [
        'TABLE_NAME',
        'QUEUE_URLS',
        'DEPLOYMENT_CONFIG',
        'EXECUTION_RETENTION_DAYS',
        'LOG_LEVEL',
        'NODE_OPTIONS',
        'SCHEDULE_GROUP_NAME',
        'DISPATCH_FUNCTION_ARN',
        'SCHEDULER_ROLE_ARN',
        'SCHEDULER_DLQ_ARN',
      ].sort(),
    );
    expect(variables.TABLE_NAME).toEqual({ Ref: tableId });
    expect(variables.EXECUTION_RETENTION_DAYS).toBe(String(config.executionRetentionDays));
    expect(JSON.parse(renderCfnString(variables.QUEUE_URLS))).toEqual(
      Object.fromEntries(queueNames.map((queue) => [queue, `<${queueIds.get(queue)}>`])),
    );
  });

  it('has the table statements, each with exactly its actions', () => {
    // Assess
    hasTableStatements(template, tableId, roleIdOf(template, sweeperId));
  });

  it("reaches exactly the table, the worker queues (send), its log group and the group's schedules", () => {
    // Act
    const reached = reachedBy(sweeperId);

    // Assess
    expect(new Set(reached.keys())).toEqual(
      new Set([
        'table',
        'table indexes',
        'log group',
        ...queueNames.map((queue) => `queue ${queue}`),
        'schedules',
        'scheduler role',
        '*',
      ]),
    );
    expect(reached.get('table')).toEqual(tableActions);
    expect(reached.get('table indexes')).toEqual(tableIndexActions);
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

describe('secrets key', () => {
  it.each(['dev', 'prod'])('rotates and is retained with the table in %s', (env) => {
    // Act
    const template = Template.fromStack(buildApp(env).stack);

    // Assess
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });

  it('is deleted with the throwaway test deployment', () => {
    // Act
    const template = Template.fromStack(buildApp('test').stack);

    // Assess
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      Properties: { EnableKeyRotation: true },
    });
  });
});

describe('run settings of the deployment config', () => {
  const dev = getDeploymentConfig('dev');

  it('fills in the defaults', () => {
    // Act
    const resolved = resolveDeploymentConfig(dev);

    // Assess
    expect(resolved).toMatchObject({
      workerTimeoutSeconds: 300,
      maxReceiveCount: 5,
      executionRetentionDays: 90,
      sweepIntervalMinutes: 1,
      scheduleReconcileIntervalMinutes: 15,
      queues: ['production', 'security'],
      environments: { production: { queue: 'production', variables: { STAGE: 'production' } } },
      lambdaTargets: [],
    });
  });

  it.each(deploymentNames)('accepts the %s deployment as written', (name) => {
    // Act
    const resolve = () => resolveDeploymentConfig(getDeploymentConfig(name));

    // Assess
    expect(resolve).not.toThrow();
  });

  it('fails synthesis, naming the queue, when an environment uses an undeclared queue', () => {
    // Act
    const build = () => buildApp('dev', { environments: { staging: { queue: 'staging', variables: {} } } });

    // Assess
    expect(build).toThrow(
      'environment "staging" uses unknown queue "staging"; expected one of: default, production, security',
    );
  });

  it('accepts an environment on the default queue', () => {
    // Act
    const build = () => buildApp('dev', { environments: { sandbox: { queue: 'default', variables: {} } } });

    // Assess
    expect(build).not.toThrow();
  });

  it.each([
    [{ queues: ['has space'] }, 'queue name "has space" must be 1-64 letters, digits, "-" or "_"'],
    [{ queues: ['x'.repeat(65)] }, 'must be 1-64 letters'],
    [{ queues: ['default'] }, 'queue "default" always exists'],
    [{ queues: ['a', 'a'] }, 'queue "a" is listed twice'],
    [
      { environments: { 'prod/eu': { queue: 'default', variables: {} } } },
      'environment name "prod/eu" must be 1-64 letters',
    ],
    [{ lambdaTargets: ['*'] }, 'lambdaTargets entry "*" must be a function name'],
    [{ lambdaTargets: ['arn:aws:lambda:eu-west-1:123456789012:function:*'] }, 'without wildcards'],
    [{ workerTimeoutSeconds: 901 }, 'workerTimeoutSeconds must be an integer from 1 to 900, got 901'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount must be an integer from 1 to 1000, got 0'],
    [{ executionRetentionDays: 1.5 }, 'executionRetentionDays must be an integer'],
    [{ sweepIntervalMinutes: 0 }, 'sweepIntervalMinutes must be an integer'],
    [
      { scheduleReconcileIntervalMinutes: 0 },
      'scheduleReconcileIntervalMinutes must be an integer from 1 to 1440, got 0',
    ],
    [{ scheduleReconcileIntervalMinutes: 1441 }, 'scheduleReconcileIntervalMinutes must be an integer'],
    [{ scheduleReconcileIntervalMinutes: 7.5 }, 'scheduleReconcileIntervalMinutes must be an integer'],
  ] satisfies [Partial<DeploymentConfig>, string][])('rejects %j', (overrides, message) => {
    // Act
    const build = () => buildApp('dev', overrides);

    // Assess
    expect(build).toThrow('Invalid config of deployment "dev"');
    expect(build).toThrow(message);
  });

  it('lists every problem at once', () => {
    // Act
    const resolve = () =>
      resolveDeploymentConfig({ ...dev, queues: ['bad name'], maxReceiveCount: 0, lambdaTargets: ['*'] });

    // Assess
    expect(resolve).toThrow(/bad name[\s\S]*lambdaTargets[\s\S]*maxReceiveCount/);
  });
});
