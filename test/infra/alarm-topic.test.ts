import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { AlarmTopic } from '../../infra/aws/alarm-topic.js';
import { buildApp, constructFixture, logicalIdOf, removeOutdirs } from './support.js';

afterAll(removeOutdirs);

describe('alarm topic', () => {
  const { stack } = buildApp('dev');
  const template = Template.fromStack(stack);
  const topicId = logicalIdOf(stack, stack.alarmTopic);
  const keyId = logicalIdOf(stack, stack.secretsKey);
  // In template order, which is the order the alarms were created in, as in the topic policy.
  const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm'));

  it("is the only topic, encrypted with the stack's (customer-managed) key", () => {
    // Assess: CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns key.
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', {
      DisplayName: 'Serverless Jobs (dev) alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('denies publishing without TLS and lets only the alarms of this stack and account publish', () => {
    // Assess: one alarm per worker DLQ, the scheduler DLQ's, the sweeper DLQ's, and notification deliveries'.
    expect(alarmIds).toHaveLength(6);
    expect(alarmIds).toContain(logicalIdOf(stack, stack.alerting.deliveryFailureAlarm));
    expect(alarmIds).toContain(logicalIdOf(stack, stack.cronScheduling.deadLetterAlarm));
    expect(alarmIds).toContain(logicalIdOf(stack, stack.sweeper.deadLetterAlarm));
    template.resourceCountIs('AWS::SNS::TopicPolicy', 1);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: Match.exact({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
          {
            Sid: 'AllowTheDeadLetterAlarmsToPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) },
            },
          },
        ],
      }),
    });
  });

  it('lets CloudWatch of this account use the key to publish to the encrypted topic, and nothing more', () => {
    // Assess
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.exact({
            Sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
  });

  it('is the alarm action, and the only action, of every DLQ alarm', () => {
    // Assess
    template.allResourcesProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: Match.exact([{ Ref: topicId }]),
      OKActions: Match.absent(),
      InsufficientDataActions: Match.absent(),
    });
  });
});

describe('AlarmTopic in a stack of its own', () => {
  it('notifies on every alarm given, and lets only those publish', () => {
    // Prepare
    const fixture = constructFixture();
    const queue = fixture.addQueue();

    // Act
    const topic = new AlarmTopic(fixture.stack, 'AlarmTopic', {
      encryptionKey: fixture.secretsKey,
      deploymentName: 'fixture',
      alarms: [queue.deadLetterAlarm],
    });
    const template = Template.fromStack(fixture.stack);

    // Assess
    const alarmId = logicalIdOf(fixture.stack, queue.deadLetterAlarm);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmActions: [{ Ref: logicalIdOf(fixture.stack, topic) }],
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowTheDeadLetterAlarmsToPublish',
            Condition: Match.objectLike({
              ArnLike: { 'aws:SourceArn': [{ 'Fn::GetAtt': [alarmId, 'Arn'] }] },
            }),
          }),
        ]),
      },
    });
  });

  it('throws when no alarm notifies it', () => {
    // Prepare
    const fixture = constructFixture();

    // Act
    const build = () =>
      new AlarmTopic(fixture.stack, 'AlarmTopic', {
        encryptionKey: fixture.secretsKey,
        deploymentName: 'fixture',
        alarms: [],
      });

    // Assess
    expect(build).toThrow('AlarmTopic: at least one alarm must notify the topic');
  });
});
