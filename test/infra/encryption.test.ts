import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type DeploymentSettings,
  deploymentNames,
  getDeploymentSettings,
  resolveDeploymentSettings,
} from '../../infra/aws/config.js';
import { JobsStack } from '../../infra/aws/stack.js';
import {
  acknowledgedOn,
  allPolicyDocuments,
  asArray,
  buildApp,
  isWildcardStatement,
  listSchedulesStatement,
  logicalIdOf,
  type PolicyStatement,
  propertiesOf,
  removeOutdirs,
  resourcesOf,
  roleIdOf,
  roleStatements,
  statementsOf,
  workerFunctionsOf,
} from './support.js';

afterAll(removeOutdirs);

const customerManaged: Partial<DeploymentSettings> = { encryption: 'customer-managed' };

/** The ids a test needs to read the keys, the encrypted resources and the roles of one app. */
function inspect(env: string, overrides?: Partial<DeploymentSettings>) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const roleOf = (fn: Parameters<typeof logicalIdOf>[1]) => roleIdOf(template, logicalIdOf(stack, fn));
  const roles = new Map<string, string>([
    ['api', roleOf(stack.controlPlane.apiFunction)],
    ['webhook', roleOf(stack.webhookIngress.webhookFunction)],
    ...[...workerFunctionsOf(stack)].map(([name, fn]) => [`worker ${name}`, roleOf(fn)] as [string, string]),
    ['sweeper', roleOf(stack.sweeper.sweeperFunction)],
    ['dispatch', roleOf(stack.cronScheduling.dispatchFunction)],
    ['scheduler', logicalIdOf(stack, stack.cronScheduling.schedulerRole)],
  ]);
  const ids = {
    table: logicalIdOf(stack, stack.table),
    secretsKey: logicalIdOf(stack, stack.secretsKey),
    dataKey: stack.dataKey && logicalIdOf(stack, stack.dataKey),
    topic: logicalIdOf(stack, stack.alarmTopic),
    queues: [
      ...[...stack.workerQueues.values()].flatMap(({ queue, deadLetterQueue }) => [queue, deadLetterQueue]),
      stack.cronScheduling.deadLetterQueue,
      stack.sweeper.rules.deadLetterQueue,
    ].map((queue) => logicalIdOf(stack, queue)),
  };
  const arnOf = (id: string | undefined) => ({ 'Fn::GetAtt': [id, 'Arn'] });

  /** The KMS statements of each role that has any, by role name (as in `roles`), each sorted by its JSON. */
  const kmsStatementsByRole = () => {
    const byRole = new Map<string, PolicyStatement[]>();
    for (const [name, roleId] of roles) {
      const statements = roleStatements(template, roleId).filter((statement) =>
        asArray(statement.Action).some((action) => action.startsWith('kms:')),
      );
      if (statements.length > 0) byRole.set(name, sortByJson(statements));
    }
    return byRole;
  };

  return { ...built, template, roles, ids, arnOf, kmsStatementsByRole };
}

const sortByJson = <T>(values: T[]): T[] =>
  [...values].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Every role in the template with a KMS action in one of its policies (the functions', the scheduler's, any other). */
function rolesWithKmsActions(template: Template): string[] {
  return Object.keys(resourcesOf(template, 'AWS::IAM::Role')).filter((roleId) =>
    roleStatements(template, roleId).some((statement) =>
      asArray(statement.Action).some((action) => action.startsWith('kms:')),
    ),
  );
}

describe('encryption setting of the deployment config', () => {
  it('defaults to AWS owned keys, and every named deployment keeps the default', () => {
    // Act
    const resolved = deploymentNames.map((name) => resolveDeploymentSettings(getDeploymentSettings(name)));

    // Assess: the customer-managed key is opted into per deployment (a KMS key costs money and needs care).
    expect(resolved.map((settings) => settings.encryption)).toEqual(deploymentNames.map(() => 'aws-owned'));
  });

  it('fails synthesis, naming the field and the choices, for an unknown mode', () => {
    // Act
    const build = () => buildApp('dev', { encryption: 'kms' as unknown as DeploymentSettings['encryption'] });

    // Assess
    expect(build).toThrow('Invalid config of deployment "dev"');
    expect(build).toThrow('encryption must be one of "aws-owned", "customer-managed", got "kms"');
  });
});

describe('aws-owned encryption (the default)', () => {
  const { template, ids, arnOf, kmsStatementsByRole, stack } = inspect('dev');

  it('creates no key but the secrets key, and no alias', () => {
    // Assess
    expect(stack.dataKey).toBeUndefined();
    expect(Object.keys(resourcesOf(template, 'AWS::KMS::Key'))).toEqual([ids.secretsKey]);
    template.resourceCountIs('AWS::KMS::Alias', 0);
  });

  it("keeps the table under DynamoDB's own key: no SSE specification on the table or its replica", () => {
    // Prepare
    const table = propertiesOf(template, 'AWS::DynamoDB::GlobalTable', ids.table);

    // Assess
    expect(table.SSESpecification).toBeUndefined();
    for (const replica of table.Replicas as Record<string, unknown>[]) {
      expect(replica.SSESpecification).toBeUndefined();
    }
  });

  it('keeps every queue and DLQ on SQS-managed encryption, with no KMS key', () => {
    // Prepare
    const queueIds = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));

    // Assess: the three worker queues and DLQs, the scheduler DLQ and the sweeper DLQ.
    expect(queueIds.sort()).toEqual([...ids.queues].sort());
    expect(queueIds).toHaveLength(8);
    for (const id of queueIds) {
      const queue = propertiesOf(template, 'AWS::SQS::Queue', id);
      expect(queue.SqsManagedSseEnabled, id).toBe(true);
      expect(queue.KmsMasterKeyId, id).toBeUndefined();
    }
  });

  it('keeps the alarm topic under the secrets key', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::SNS::Topic', ids.topic).KmsMasterKeyId).toEqual(
      arnOf(ids.secretsKey),
    );
  });

  it('grants KMS actions on the secrets key only, to the functions that seal or open secrets', () => {
    // Act
    const byRole = kmsStatementsByRole();

    // Assess
    expect([...byRole.keys()].sort()).toEqual(
      ['api', 'webhook', 'sweeper', 'worker default', 'worker production', 'worker security'].sort(),
    );
    expect(byRole.get('api')).toEqual([
      { Action: ['kms:Encrypt', 'kms:Decrypt'], Effect: 'Allow', Resource: arnOf(ids.secretsKey) },
    ]);
    // The sweeper opens notification channels' secrets to sign what the outbox sends.
    for (const name of ['webhook', 'sweeper', 'worker default', 'worker production', 'worker security']) {
      expect(byRole.get(name), name).toEqual([
        { Action: 'kms:Decrypt', Effect: 'Allow', Resource: arnOf(ids.secretsKey) },
      ]);
    }
    expect(rolesWithKmsActions(template)).toHaveLength(byRole.size);
  });
});

describe('customer-managed encryption', () => {
  const { template, ids, arnOf, kmsStatementsByRole, stack, app } = inspect('test', customerManaged);
  const dataKeyArn = arnOf(ids.dataKey);
  const decrypt = { Action: 'kms:Decrypt', Effect: 'Allow', Resource: dataKeyArn };
  const produce = { Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Effect: 'Allow', Resource: dataKeyArn };
  const openSecrets = { Action: 'kms:Decrypt', Effect: 'Allow', Resource: arnOf(ids.secretsKey) };
  /** A rule's ARN as the stack writes it without an environment: from its name, not a reference. */
  const ruleArn = (name: string) => ({
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':events:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:rule/${name}`,
      ],
    ],
  });

  it('creates one data key beside the secrets key: rotated, deleted with the throwaway table, aliased after the stack', () => {
    // Assess
    expect(Object.keys(resourcesOf(template, 'AWS::KMS::Key')).sort()).toEqual(
      [ids.secretsKey, ids.dataKey].sort(),
    );
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: Match.objectLike({
        Description: Match.stringLikeRegexp('encrypts the jobs table, the queues'),
        EnableKeyRotation: true,
        PendingWindowInDays: 7,
      }),
    });
    template.resourceCountIs('AWS::KMS::Alias', 1);
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/ServerlessJobs-test/data',
      TargetKeyId: dataKeyArn,
    });
  });

  it.each(['dev', 'prod'])('retains the data key with the table in %s', (env) => {
    // Act
    const real = inspect(env, customerManaged);

    // Assess
    expect(real.template.toJSON().Resources[real.ids.dataKey as string]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    real.template.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Retain' });
  });

  it('has a key policy of exactly: the account administers it, EventBridge for the two rules, CloudWatch of the account', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::KMS::Key', ids.dataKey as string).KeyPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'kms:*',
          Effect: 'Allow',
          Principal: {
            AWS: {
              'Fn::Join': [
                '',
                ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root'],
              ],
            },
          },
          Resource: '*',
        },
        {
          Sid: 'AllowTheSweeperRulesToSendToTheirEncryptedDeadLetterQueue',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Effect: 'Allow',
          Principal: { Service: 'events.amazonaws.com' },
          Resource: '*',
          Condition: {
            ArnEquals: {
              'aws:SourceArn': [
                ruleArn('ServerlessJobs-test-sweep'),
                ruleArn('ServerlessJobs-test-reconcile-schedules'),
              ],
            },
          },
        },
        {
          Sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Resource: '*',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });

  it("names in the key policy exactly the stack's two rules", () => {
    // Assess: the names the key policy's ARNs are built from are those of the rules.
    const rules = resourcesOf(template, 'AWS::Events::Rule');
    expect(
      Object.values(rules)
        .map((rule) => rule.Properties?.Name)
        .sort(),
    ).toEqual(['ServerlessJobs-test-reconcile-schedules', 'ServerlessJobs-test-sweep']);
    expect(Object.keys(rules).sort()).toEqual(
      [
        logicalIdOf(stack, stack.sweeper.rules.sweepRule),
        logicalIdOf(stack, stack.sweeper.rules.reconcileRule),
      ].sort(),
    );
  });

  it('leaves the secrets key to the secrets: only the account in its policy, and no mention of the topic', () => {
    // Prepare
    const secretsKey = propertiesOf(template, 'AWS::KMS::Key', ids.secretsKey);

    // Assess
    expect(statementsOf(secretsKey.KeyPolicy)).toHaveLength(1);
    expect(statementsOf(secretsKey.KeyPolicy)[0]).toMatchObject({ Action: 'kms:*', Resource: '*' });
    expect(secretsKey.Description).toBe(
      'Serverless Jobs (test): seals entity signing secrets and webhook secrets',
    );
  });

  it('encrypts the table with the data key (KMS at the table, the key on its replica)', () => {
    // Prepare
    const table = propertiesOf(template, 'AWS::DynamoDB::GlobalTable', ids.table);

    // Assess
    expect(table.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(table.Replicas).toHaveLength(1);
    expect((table.Replicas as unknown[])[0]).toMatchObject({
      Region: { Ref: 'AWS::Region' },
      SSESpecification: { KMSMasterKeyId: dataKeyArn },
    });
  });

  it('renders the same table encryption in a stack bound to a region (what cdk deploy synthesizes)', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const settings = { ...getDeploymentSettings('test'), ...customerManaged };

    // Act
    const bound = new JobsStack(app, 'ServerlessJobs-test', {
      settings,
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    const table = Template.fromStack(bound).findResources('AWS::DynamoDB::GlobalTable');

    // Assess
    if (!bound.dataKey) throw new Error('no data key in a customer-managed deployment');
    expect(Object.values(table)[0]?.Properties).toMatchObject({
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        {
          Region: 'eu-west-1',
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [logicalIdOf(bound, bound.dataKey), 'Arn'] } },
        },
      ],
    });
  });

  it('encrypts every queue and DLQ with the data key', () => {
    // Prepare
    const queueIds = Object.keys(resourcesOf(template, 'AWS::SQS::Queue'));

    // Assess: the three worker queues and DLQs, the scheduler DLQ and the sweeper DLQ.
    expect(queueIds.sort()).toEqual([...ids.queues].sort());
    expect(queueIds).toHaveLength(8);
    for (const id of queueIds) {
      const queue = propertiesOf(template, 'AWS::SQS::Queue', id);
      expect(queue.KmsMasterKeyId, id).toEqual(dataKeyArn);
      expect(queue.SqsManagedSseEnabled, id).toBeUndefined();
    }
  });

  it('encrypts the alarm topic with the data key', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::SNS::Topic', ids.topic).KmsMasterKeyId).toEqual(dataKeyArn);
  });

  it('grants each role exactly the KMS actions it needs, on exactly the key it needs them on', () => {
    // Act
    const byRole = kmsStatementsByRole();

    // Assess: Decrypt for the table (and a worker's own queue), a producer's GenerateDataKey + Decrypt for the
    // queues it sends to (dispatch: also its function DLQ; the scheduler: its DLQ), the secrets key as before.
    expect(Object.fromEntries(byRole)).toEqual({
      api: sortByJson([
        decrypt,
        produce,
        { Action: ['kms:Encrypt', 'kms:Decrypt'], Effect: 'Allow', Resource: arnOf(ids.secretsKey) },
      ]),
      webhook: sortByJson([decrypt, produce, openSecrets]),
      'worker default': sortByJson([decrypt, produce, openSecrets]),
      'worker production': sortByJson([decrypt, produce, openSecrets]),
      'worker security': sortByJson([decrypt, produce, openSecrets]),
      sweeper: sortByJson([decrypt, produce, openSecrets]),
      dispatch: sortByJson([decrypt, produce]),
      scheduler: [produce],
    });
    // No other role (none is created for the rules, which invoke the sweeper through its resource policy).
    expect(rolesWithKmsActions(template)).toHaveLength(byRole.size);
  });

  it('keeps every policy free of wildcard actions, and of "*" resources but ListSchedules', () => {
    // Act
    const statements = allPolicyDocuments(template).flatMap(statementsOf);

    // Assess: a producer gets kms:GenerateDataKey, not grantSendMessages' kms:GenerateDataKey* and kms:ReEncrypt*.
    expect(statements.filter(isWildcardStatement)).toEqual([listSchedulesStatement]);
  });

  it('leaves the SQS actions of the senders as they were', () => {
    // Prepare
    const sweeperRole = roleIdOf(template, logicalIdOf(stack, stack.sweeper.sweeperFunction));
    const queueArns = [...stack.workerQueues.values()].map(({ queue }) => arnOf(logicalIdOf(stack, queue)));

    // Assess
    const sqsStatements = roleStatements(template, sweeperRole).filter((statement) =>
      asArray(statement.Action).some((action) => action.startsWith('sqs:')),
    );
    expect(sqsStatements).toEqual(
      queueArns.map((resource) => ({
        Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        Effect: 'Allow',
        Resource: resource,
      })),
    );
  });

  it('passes cdk-nag, acknowledging nothing on the data key', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(app);

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect(acknowledgedOn(template, ids.dataKey as string)).toEqual([]);
  });
});
