import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { getDeploymentSettings, resolveDeploymentSettings } from '../../infra/aws/config.js';
import {
  actionsByResource,
  allPolicyDocuments,
  asArray,
  buildApp,
  constructFixture,
  logicalIdOf,
  removeOutdirs,
  renderCfnString,
  roleIdOf,
  roleStatements,
  statementsOf,
  variablesOf,
  workerFunctionsOf,
} from './support.js';

afterAll(removeOutdirs);

const MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:orders';
const MACHINE_ALIAS = 'arn:aws:states:eu-west-1:123456789012:stateMachine:billing:live';
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo';
const ENCRYPTED_QUEUE = 'https://sqs.us-east-2.amazonaws.com/210987654321/audit';
const QUEUE_KEY = 'arn:aws:kms:us-east-2:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/partner-events';

const targets = {
  stateMachineTargets: [MACHINE, MACHINE_ALIAS],
  sqsTargets: [QUEUE, { queueUrl: ENCRYPTED_QUEUE, kmsKeyArn: QUEUE_KEY }],
  eventBusTargets: ['orders', BUS_ARN],
};

/** The ARN of an event bus named by name, as the stack writes it (environment-agnostic). */
/** Whether every statement granting an EventBridge action grants it on the default (alert) bus alone. */
function alertBusOnly(statements: { Action?: unknown; Resource?: unknown }[]): boolean {
  return statements
    .filter((statement) => asArray(statement.Action as string | string[]).some((a) => /^events:/.test(a)))
    .every(
      (statement) =>
        JSON.stringify(asArray(statement.Action as string | string[])) ===
          JSON.stringify(['events:PutEvents']) &&
        JSON.stringify(statement.Resource) === JSON.stringify(busArnOf('default')),
    );
}

const busArnOf = (name: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':events:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:event-bus/${name}`,
    ],
  ],
});

describe('AWS targets in the stack', () => {
  const { app, stack } = buildApp('dev', targets);
  const template = Template.fromStack(stack);
  const workers = [...workerFunctionsOf(stack)].map(([name, fn]) => [name, logicalIdOf(stack, fn)] as const);

  it.each(workers)(
    '%s worker: may reach exactly the listed state machines, queues and buses',
    (_name, id) => {
      // Act: what the role reaches outside the stack's own resources (which are named by their logical ids).
      const statements = roleStatements(template, roleIdOf(template, id));
      const reached = [...actionsByResource(statements)].filter(
        ([resource]) => !resource.includes('Fn::GetAtt'),
      );

      // Assess
      expect(Object.fromEntries(reached)).toEqual({
        [JSON.stringify(MACHINE)]: ['states:StartExecution', 'states:StartSyncExecution'],
        [JSON.stringify(MACHINE_ALIAS)]: ['states:StartExecution', 'states:StartSyncExecution'],
        [JSON.stringify('arn:aws:states:eu-west-1:123456789012:execution:orders:*')]: [
          'states:DescribeExecution',
          'states:StopExecution',
        ],
        [JSON.stringify('arn:aws:states:eu-west-1:123456789012:execution:billing:*')]: [
          'states:DescribeExecution',
          'states:StopExecution',
        ],
        [JSON.stringify('arn:aws:sqs:eu-west-1:123456789012:orders.fifo')]: ['sqs:SendMessage'],
        [JSON.stringify('arn:aws:sqs:us-east-2:210987654321:audit')]: ['sqs:SendMessage'],
        [JSON.stringify(QUEUE_KEY)]: ['kms:Decrypt', 'kms:GenerateDataKey'],
        [JSON.stringify(busArnOf('orders'))]: ['events:PutEvents'],
        [JSON.stringify(BUS_ARN)]: ['events:PutEvents'],
        // Run ends and alert events, on the deployment's alert bus (test/infra/alerting.test.ts).
        [JSON.stringify(busArnOf('default'))]: ['events:PutEvents'],
      });
      // The target queue's key is usable only through SQS, in the queue's region.
      const keyStatement = statements.find(
        (statement) => JSON.stringify(statement.Resource) === JSON.stringify(QUEUE_KEY),
      );
      expect(keyStatement).toMatchObject({
        Condition: { StringEquals: { 'kms:ViaService': 'sqs.us-east-2.amazonaws.com' } },
      });
    },
  );

  it('gives no other function any of these actions', () => {
    // Prepare
    const others = [
      stack.controlPlane.apiFunction,
      stack.webhookIngress.webhookFunction,
      stack.sweeper.sweeperFunction,
      stack.cronScheduling.dispatchFunction,
    ].map((fn) => logicalIdOf(stack, fn));

    // Act
    const statements = others.flatMap((id) => roleStatements(template, roleIdOf(template, id)));

    // Assess: no Step Functions action; events only on the alert bus (test/infra/alerting.test.ts)
    expect(
      statements.flatMap((statement) => asArray(statement.Action)).filter((a) => /^states:/.test(a)),
    ).toEqual([]);
    expect(alertBusOnly(statements)).toBe(true);
  });

  it('tells every function which targets entities may name (queue URLs as entities give them)', () => {
    // Prepare
    const ids = [...workers.map(([, id]) => id), logicalIdOf(stack, stack.controlPlane.apiFunction)];

    // Act
    const configs = ids.map(
      (id) =>
        JSON.parse(renderCfnString(variablesOf(template, id).DEPLOYMENT_CONFIG)) as { awsTargets: unknown },
    );

    // Assess
    for (const config of configs) {
      expect(config.awsTargets).toEqual({
        stateMachineTargets: [MACHINE, MACHINE_ALIAS],
        sqsTargets: [QUEUE, ENCRYPTED_QUEUE],
        eventBusTargets: ['orders', BUS_ARN],
      });
    }
  });

  it('passes cdk-nag, the executions wildcard acknowledged with its reason for exactly those executions', () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(app);
    const acknowledged = Object.values(template.toJSON().Resources as Record<string, { Metadata?: unknown }>)
      .flatMap(
        (resource) =>
          (
            resource.Metadata as
              | { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } }
              | undefined
          )?.cdk_nag?.rules_to_suppress ?? [],
      )
      .filter((rule) => rule.id.includes(':execution:'));

    // Assess
    expect(report.violations.map((violation) => `${violation.severity} ${violation.ruleName}`)).toEqual([]);
    expect([...new Set(acknowledged.map((rule) => rule.id))].sort()).toEqual([
      'AwsSolutions-IAM5[Resource::arn:aws:states:eu-west-1:123456789012:execution:billing:*]',
      'AwsSolutions-IAM5[Resource::arn:aws:states:eu-west-1:123456789012:execution:orders:*]',
    ]);
    for (const rule of acknowledged) expect(rule.reason).toMatch(/stateMachineTargets/);
  });
});

describe('AWS targets by default', () => {
  it('grants no function any Step Functions, EventBridge or foreign SQS action, and lists nothing', () => {
    // Prepare
    const { stack } = buildApp('dev');
    const template = Template.fromStack(stack);

    // Act
    const actions = allPolicyDocuments(template)
      .flatMap(statementsOf)
      .flatMap((statement) => asArray(statement.Action));
    const config = JSON.parse(
      renderCfnString(
        variablesOf(template, logicalIdOf(stack, stack.controlPlane.apiFunction)).DEPLOYMENT_CONFIG,
      ),
    ) as { awsTargets: unknown };

    // Assess: events only on the alert bus (test/infra/alerting.test.ts)
    expect(actions.filter((action) => /^states:/.test(action))).toEqual([]);
    expect(alertBusOnly(allPolicyDocuments(template).flatMap(statementsOf))).toBe(true);
    expect(config.awsTargets).toEqual({ stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] });
  });
});

describe('AWS target settings', () => {
  const dev = getDeploymentSettings('dev');

  it.each([
    [
      { stateMachineTargets: ['arn:aws:states:eu-west-1:123456789012:stateMachine:*'] },
      'stateMachineTargets entry "arn:aws:states:eu-west-1:123456789012:stateMachine:*" must be a state machine ARN',
    ],
    [{ stateMachineTargets: [MACHINE, MACHINE] }, `stateMachineTargets lists "${MACHINE}" twice`],
    [{ sqsTargets: ['arn:aws:sqs:eu-west-1:123456789012:orders'] }, 'must be a queue URL'],
    [
      { sqsTargets: [{ queueUrl: QUEUE, kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/orders' }] },
      'which must be a KMS key ARN',
    ],
    [{ eventBusTargets: ['bus*'] }, 'eventBusTargets entry "bus*" must be an event bus name or ARN'],
  ])('refuses %j at synthesis, naming the entry', (overrides, message) => {
    // Act
    const resolve = () => resolveDeploymentSettings({ ...dev, ...overrides });

    // Assess
    expect(resolve).toThrow(message);
  });

  it('fills in empty lists', () => {
    // Act
    const resolved = resolveDeploymentSettings(dev);

    // Assess
    expect(resolved).toMatchObject({ stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] });
  });

  it('WorkerQueue refuses a bad entry when built on its own', () => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const build = () => fixture.addQueue({ awsTargets: { eventBusTargets: ['bus*'] } });

    // Assess
    expect(build).toThrow('WorkerQueue: eventBusTargets entry "bus*" must be an event bus name or ARN');
  });
});
