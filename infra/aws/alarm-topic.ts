import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * An alarm that fires as soon as a message lands in `deadLetterQueue`: a run could not be processed, a cron fire
 * could not start its run, or the sweeper missed a sweep or a reconciliation, and it needs a look. It has no
 * action of its own: an {@link AlarmTopic} is given it.
 */
export function deadLetterAlarm(
  scope: Construct,
  id: string,
  props: { readonly deadLetterQueue: IQueue; readonly description: string },
): Alarm {
  return new Alarm(scope, id, {
    alarmDescription: props.description,
    metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: 'Maximum',
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    // SQS publishes no datapoint for an idle queue; no data means no messages.
    treatMissingData: TreatMissingData.NOT_BREACHING,
  });
}

/** Props of {@link AlarmTopic}. */
export interface AlarmTopicProps {
  /**
   * Encrypts the topic. Must be customer managed: CloudWatch cannot publish to a topic under the AWS-managed
   * `alias/aws/sns` key, whose policy cannot grant it. The key policy gets a statement letting CloudWatch of this
   * account use it to publish.
   */
  readonly encryptionKey: IKey;
  /** Names the topic (`Serverless Jobs (<deploymentName>) alarms`). */
  readonly deploymentName: string;
  /** The alarms that notify the topic, each as its only alarm action; they alone may publish to it. */
  readonly alarms: readonly Alarm[];
}

/**
 * The topic every DLQ alarm notifies; operators subscribe to it. The topic policy denies publishing without TLS
 * and lets CloudWatch publish on behalf of the given alarms only; it replaces SNS's default policy, which is what
 * let CloudWatch publish before. The key policy names the account, not the alarms: under the data key, naming
 * them would make the key depend on the alarms, which depend on the queues, which depend on the key.
 */
export class AlarmTopic extends Topic {
  /** @throws Error when no alarm is given (a topic nothing notifies is a mistake). */
  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    if (props.alarms.length === 0) throw new Error('AlarmTopic: at least one alarm must notify the topic');
    super(scope, id, {
      displayName: `Serverless Jobs (${props.deploymentName}) alarms`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    const account = Stack.of(this).account;
    props.encryptionKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        // What SNS calls for a publisher to an encrypted topic; no GenerateDataKey* wildcard.
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
    for (const alarm of props.alarms) alarm.addAlarmAction(new SnsAction(this));
    this.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowTheDeadLetterAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': account },
          ArnLike: { 'aws:SourceArn': props.alarms.map((alarm) => alarm.alarmArn) },
        },
      }),
    );
  }
}
