import { App, Names } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { getDeploymentSettings } from '../../infra/aws/config.js';
import { JobsStack } from '../../infra/aws/stack.js';
import { reconcileSchedulesEvent, ruleRetryAttempts } from '../../infra/aws/sweeper-rules.js';
import {
  acknowledgedOn,
  buildApp,
  type CfnResource,
  logicalIdOf,
  propertiesOf,
  removeOutdirs,
  resourcesOf,
  statementsOf,
} from './support.js';

afterAll(removeOutdirs);

/** The ids a test needs to read the sweeper's rules and their DLQ in one app. */
function inspect(env: string, overrides?: Parameters<typeof buildApp>[1]) {
  const built = buildApp(env, overrides);
  const { stack } = built;
  const template = Template.fromStack(stack);
  const ids = {
    sweeper: logicalIdOf(stack, stack.sweeper.sweeperFunction),
    sweepRule: logicalIdOf(stack, stack.sweeper.rules.sweepRule),
    reconcileRule: logicalIdOf(stack, stack.sweeper.rules.reconcileRule),
    dlq: logicalIdOf(stack, stack.sweeper.rules.deadLetterQueue),
    topic: logicalIdOf(stack, stack.alarmTopic),
  };
  const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
  return { ...built, template, ids, arnOf };
}

describe('sweeper rules', () => {
  const { template, ids, arnOf } = inspect('dev');

  it('are the only rules, named after the stack', () => {
    // Assess: the names make their ARNs known to the data key's policy (test/infra/encryption.test.ts).
    expect(Object.keys(resourcesOf(template, 'AWS::Events::Rule')).sort()).toEqual(
      [ids.sweepRule, ids.reconcileRule].sort(),
    );
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.sweepRule).Name).toBe('ServerlessJobs-dev-sweep');
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.reconcileRule).Name).toBe(
      'ServerlessJobs-dev-reconcile-schedules',
    );
  });

  it('sweep every minute, retrying an undelivered event for one minute at most, then sending it to the DLQ', () => {
    // Assess: EventBridge's maximum retry count, so that the age (the interval) is what ends the retries.
    expect(ruleRetryAttempts).toBe(185);
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.sweepRule)).toMatchObject({
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
    });
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.sweepRule).Targets).toEqual([
      {
        Arn: arnOf(ids.sweeper),
        Id: 'Target0',
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 60 },
        DeadLetterConfig: { Arn: arnOf(ids.dlq) },
      },
    ]);
  });

  it('reconcile every 15 minutes, retrying an undelivered event for 15 minutes at most, then sending it to the DLQ', () => {
    // Assess
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.reconcileRule)).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
    });
    expect(propertiesOf(template, 'AWS::Events::Rule', ids.reconcileRule).Targets).toEqual([
      {
        Arn: arnOf(ids.sweeper),
        Id: 'Target0',
        Input: JSON.stringify(reconcileSchedulesEvent),
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 900 },
        DeadLetterConfig: { Arn: arnOf(ids.dlq) },
      },
    ]);
  });

  it.each([
    [5, 1440, 300, 86_400],
    [60, 1, 3600, 60],
  ])(
    'size the event age to configured intervals (sweep %i min, reconcile %i min)',
    (sweepIntervalMinutes, scheduleReconcileIntervalMinutes, sweepAge, reconcileAge) => {
      // Act
      const custom = inspect('dev', { sweepIntervalMinutes, scheduleReconcileIntervalMinutes });

      // Assess: both within EventBridge's 60 s to 24 h, at the ends of the ranges the config allows.
      const [sweepTarget] = propertiesOf(custom.template, 'AWS::Events::Rule', custom.ids.sweepRule)
        .Targets as { RetryPolicy: unknown }[];
      const [reconcileTarget] = propertiesOf(custom.template, 'AWS::Events::Rule', custom.ids.reconcileRule)
        .Targets as { RetryPolicy: unknown }[];
      expect(sweepTarget?.RetryPolicy).toEqual({
        MaximumRetryAttempts: 185,
        MaximumEventAgeInSeconds: sweepAge,
      });
      expect(reconcileTarget?.RetryPolicy).toEqual({
        MaximumRetryAttempts: 185,
        MaximumEventAgeInSeconds: reconcileAge,
      });
    },
  );

  it('fail synthesis when the stack name makes a rule name EventBridge rejects', () => {
    // Prepare: a valid schedule group name (55 characters), but "-reconcile-schedules" takes it past 64.
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act
    const build = () =>
      new JobsStack(app, `ServerlessJobs-${'x'.repeat(40)}`, { settings: getDeploymentSettings('dev') });

    // Assess
    expect(build).toThrow(
      `Rule name "ServerlessJobs-${'x'.repeat(40)}-reconcile-schedules" is not valid for EventBridge`,
    );
  });
});

describe('sweeper dead-letter queue', () => {
  const { stack, template, ids, arnOf } = inspect('dev');

  it('keeps messages 14 days, with SQS-managed encryption by default, and no redrive of its own', () => {
    // Prepare
    const queue = propertiesOf(template, 'AWS::SQS::Queue', ids.dlq);

    // Assess
    expect(queue).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    expect(queue.KmsMasterKeyId).toBeUndefined();
    expect(queue.RedrivePolicy).toBeUndefined();
  });

  it('denies requests without TLS and lets EventBridge send to it for these two rules only', () => {
    // Prepare: the statement ids the LambdaFunction target gives its rule's DLQ statement.
    const sid = (rule: typeof stack.sweeper.rules.sweepRule) =>
      `AllowEventRule${Names.nodeUniqueId(rule.node)}`;
    const policies = Object.values(resourcesOf(template, 'AWS::SQS::QueuePolicy')).filter(
      (policy) => JSON.stringify(policy.Properties?.Queues) === JSON.stringify([{ Ref: ids.dlq }]),
    );
    const sendFrom = (rule: typeof stack.sweeper.rules.sweepRule, ruleId: string) => ({
      Sid: sid(rule),
      Action: 'sqs:SendMessage',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Resource: arnOf(ids.dlq),
      Condition: { ArnEquals: { 'aws:SourceArn': arnOf(ruleId) } },
    });

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
      sendFrom(stack.sweeper.rules.sweepRule, ids.sweepRule),
      sendFrom(stack.sweeper.rules.reconcileRule, ids.reconcileRule),
    ]);
  });

  it('is sent to by nothing else: no role may send to it', () => {
    // Prepare
    const mentions = Object.values(resourcesOf(template, 'AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties?.PolicyDocument).includes(ids.dlq),
    );

    // Assess
    expect(mentions).toEqual([]);
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
    expect(alarms[0]?.[0]).toBe(logicalIdOf(stack, stack.sweeper.deadLetterAlarm));
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

  it('has its alarm among those the topic policy lets publish', () => {
    // Prepare
    const alarmId = logicalIdOf(stack, stack.sweeper.deadLetterAlarm);

    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowTheDeadLetterAlarmsToPublish',
            Condition: Match.objectLike({
              ArnLike: { 'aws:SourceArn': Match.arrayWith([arnOf(alarmId)]) },
            }),
          }),
        ]),
      },
    });
  });

  it('is output by URL', () => {
    // Assess
    template.hasOutput('SweeperDeadLetterQueueUrl', { Value: { Ref: ids.dlq } });
  });

  it('acknowledges SQS3 (no DLQ of its own) only, as the DLQ of the rules cdk-nag does not recognize', () => {
    // Prepare
    const acknowledged = acknowledgedOn(template, ids.dlq);

    // Assess
    expect(acknowledged.map((rule) => rule.id)).toEqual(['AwsSolutions-SQS3']);
    expect(acknowledged[0]?.reason).toMatch(/DeadLetterConfig of AWS::Events::Rule/);
    for (const ruleId of [ids.sweepRule, ids.reconcileRule])
      expect(acknowledgedOn(template, ruleId)).toEqual([]);
  });

  it('creates no role for the rules: they invoke the sweeper through its resource policy', () => {
    // Assess
    const roles = Object.values(resourcesOf(template, 'AWS::IAM::Role')) as CfnResource[];
    expect(
      roles.filter((role) => JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('events.')),
    ).toEqual([]);
  });
});
