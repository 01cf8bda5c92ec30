import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { observability } from '../../shared/config/defaults.js';

/** A queue the dashboard shows, with the label of its widgets' lines. */
export interface DashboardQueue {
  readonly label: string;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
}

/** Props of {@link Alerting}. */
export interface AlertingProps {
  /** Names the dashboard (`<stack name>`) and the alarm's description. */
  readonly deploymentName: string;
  /** The bus run ends and alert events are put on; `default` is the account's default bus. */
  readonly eventBusName: string;
  /** The SNS topics `sns` channels may publish to; none: no `sns:Publish` at all. */
  readonly notificationTopicArns: readonly string[];
  /**
   * The functions that put events on the bus: wherever a run ends (workers, the API) and the sweeper, and with
   * `runEvents: 'all'` wherever a run starts (the webhook and dispatch functions).
   */
  readonly publishers: readonly IGrantable[];
  /** The functions that send notifications: the API (test sends) and the sweeper (the outbox). */
  readonly senders: readonly IGrantable[];
  /** The worker queues, for their age and their DLQs' depth. */
  readonly workerQueues: readonly DashboardQueue[];
  /** Other dead-letter queues whose depth the dashboard shows (the scheduler's, the sweeper rules'). */
  readonly otherDeadLetterQueues: readonly { readonly label: string; readonly queue: IQueue }[];
}

const metric = (name: string, dimensions: Record<string, string> = {}, label?: string) =>
  new Metric({
    namespace: observability.metricsNamespace,
    metricName: name,
    dimensionsMap: { service: observability.serviceName, ...dimensions },
    statistic: 'Sum',
    period: Duration.minutes(5),
    ...(label !== undefined && { label }),
  });

/**
 * Alerting on AWS: who may put events on the bus and publish to the SNS topics of `sns` channels (exactly those
 * resources), the alarm on failed notification deliveries, and the stack's dashboard: runs by status, cron
 * lateness (p50, p99), webhook rejections by reason, queue age and DLQ depth per queue, notification delivery failures.
 */
export class Alerting extends Construct {
  /** Fires when notifications keep failing (3 failed tries within 15 minutes); the stack gives it the alarm topic. */
  public readonly deliveryFailureAlarm: Alarm;
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);
    const busArn = Stack.of(this).formatArn({
      service: 'events',
      resource: 'event-bus',
      resourceName: props.eventBusName,
    });
    for (const publisher of props.publishers) {
      publisher.grantPrincipal.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] }),
      );
    }
    if (props.notificationTopicArns.length > 0) {
      for (const sender of props.senders) {
        sender.grantPrincipal.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['sns:Publish'], resources: [...props.notificationTopicArns] }),
        );
      }
    }

    this.deliveryFailureAlarm = new Alarm(this, 'NotificationDeliveryAlarm', {
      alarmDescription: `Serverless Jobs (${props.deploymentName}): notifications to a channel keep failing; see the channels' last_delivery_error`,
      metric: metric('NotificationDeliveryFailed').with({ period: Duration.minutes(15) }),
      threshold: 3,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No failure, no datapoint.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const statuses = ['succeeded', 'failed', 'timed_out', 'cancelled'];
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-jobs`,
      widgets: [
        [
          new GraphWidget({
            title: 'Runs by status',
            left: statuses.map((status) => metric('RunFinished', { Status: status }, status)),
            width: 8,
          }),
          new GraphWidget({
            title: 'Cron lateness (ms)',
            // From a fire's scheduled time to the start of its dispatch: the Scheduler's and Lambda's delay.
            left: ['p50', 'p99'].map((statistic) =>
              metric('CronFireLateness', {}, statistic).with({ statistic }),
            ),
            width: 8,
          }),
          new GraphWidget({
            title: 'Webhook rejections by reason',
            left: [
              new MathExpression({
                expression: `SEARCH('{${observability.metricsNamespace},Reason,service} MetricName="WebhookRejected"', 'Sum', 300)`,
                label: 'Rejected',
                period: Duration.minutes(5),
              }),
            ],
            width: 8,
          }),
        ],
        [
          new GraphWidget({
            title: 'Age of the oldest queued run (s)',
            left: props.workerQueues.map((each) =>
              each.queue.metricApproximateAgeOfOldestMessage({ label: each.label, statistic: 'Maximum' }),
            ),
            width: 8,
          }),
          new GraphWidget({
            title: 'Dead-letter queue depth',
            left: [
              ...props.workerQueues.map((each) => ({ label: each.label, queue: each.deadLetterQueue })),
              ...props.otherDeadLetterQueues,
            ].map((each) =>
              each.queue.metricApproximateNumberOfMessagesVisible({
                label: each.label,
                statistic: 'Maximum',
              }),
            ),
            width: 8,
          }),
          new GraphWidget({
            title: 'Notifications',
            left: [
              metric('NotificationDeliveryFailed', {}, 'failed tries'),
              metric('NotificationDropped', {}, 'given up'),
            ],
            leftAnnotations: [{ value: 3, label: 'alarm (per 15 min)' }],
            width: 8,
          }),
        ],
      ],
    });
  }
}
