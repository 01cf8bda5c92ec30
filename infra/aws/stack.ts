import { type CfnElement, CfnOutput, Duration, Lazy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { observability } from '../../shared/config/defaults.js';
import { runEventsFromStarts } from '../../shared/domain/run-events.js';
import { AlarmTopic } from './alarm-topic.js';
import { Alerting } from './alerting.js';
import { ApiKeySecret } from './api-key-secret.js';
import { awsTargetLists } from './aws-target-grants.js';
import {
  type DeploymentSettings,
  defaultQueueName,
  type ResolvedDeploymentSettings,
  resolveDeploymentSettings,
} from './config.js';
import { ConsoleSite } from './console-site.js';
import { ControlPlaneApi } from './control-plane-api.js';
import { controlPlaneRoutes } from './control-plane-routes.js';
import { CronScheduling } from './cron-scheduling.js';
import { DataKey } from './data-key.js';
import { JobsTable } from './jobs-table.js';
import { logicalIdIgnoringGroups } from './logical-ids.js';
import type { RunEnvironment } from './run-environment.js';
import { RunQueues } from './run-queues.js';
import { Sweeper } from './sweeper.js';
import { WebhookIngress } from './webhook-ingress.js';
import { WorkerQueue } from './worker-queue.js';

/** Props of {@link JobsStack}. */
export interface JobsStackProps extends StackProps {
  /** Settings of the deployment this stack is for. */
  readonly settings: DeploymentSettings;
}

/**
 * The stack's constructs that group resources which were created at its top level before the constructs existed.
 * Their resources keep the logical IDs they had then (see {@link JobsStack.allocateLogicalId}); a construct added
 * from now on takes no part in this and gets CDK's IDs.
 */
const groupsKeepingTopLevelIds: ReadonlySet<string> = new Set([
  'ControlPlane',
  'WebhookIngress',
  'CronScheduling',
  'Sweeper',
]);

/**
 * The Serverless Jobs deployment, composed of its constructs: the jobs table, the API key secret, the secrets key
 * (and with `encryption: 'customer-managed'`, the {@link DataKey} of the data at rest); one {@link WorkerQueue} per
 * worker queue; {@link CronScheduling} (schedule group, scheduler role and DLQ, dispatch); the
 * {@link ControlPlaneApi} and the {@link WebhookIngress} mounted on it; the {@link Sweeper}; and the
 * {@link AlarmTopic} every DLQ alarm notifies. Who may do what is decided here, through the constructs' grants.
 */
export class JobsStack extends Stack {
  /** The settings this stack was built from, checked and with defaults filled in. */
  public readonly settings: ResolvedDeploymentSettings;
  /**
   * Encrypts the table, every queue and DLQ, and the alarm topic, when the deployment's `encryption` is
   * `customer-managed`; undefined otherwise (AWS owned keys, no KMS permission needed).
   */
  public readonly dataKey: DataKey | undefined;
  /** Jobs, entities, executions and their lookup items (same schema as the local runtime's table). */
  public readonly table: JobsTable;
  /** The API keys, one per line; created with one key generated at deploy time. */
  public readonly apiKeySecret: ApiKeySecret;
  /**
   * Seals entity signing secrets (and webhook secrets) stored in the table; encrypts the alarm topic unless the
   * deployment has a {@link dataKey}.
   */
  public readonly secretsKey: Key;
  /** The worker queues by name: `default` first, then the configured ones. */
  public readonly workerQueues: ReadonlyMap<string, WorkerQueue>;
  /** Cron: the schedule group, the scheduler role and DLQ, and dispatch. */
  public readonly cronScheduling: CronScheduling;
  /** The HTTP API and the API function. */
  public readonly controlPlane: ControlPlaneApi;
  /** `POST /webhooks/{path}` and the webhook function. */
  public readonly webhookIngress: WebhookIngress;
  /** The sweeper function, its two rules and their DLQ. */
  public readonly sweeper: Sweeper;
  /** `GET /console`: the browser console and its function. */
  public readonly consoleSite: ConsoleSite;
  /** Who may put events on the bus and publish to notification topics; the dashboard; the delivery alarm. */
  public readonly alerting: Alerting;
  /** Receives every DLQ alarm and the notification delivery alarm; operators subscribe to it (output `AlarmTopicArn`). */
  public readonly alarmTopic: AlarmTopic;

  /**
   * @throws Error when the deployment settings are invalid (unknown queue of an environment, bad names or
   *   Lambda targets, out-of-range settings; see {@link resolveDeploymentSettings}), or the stack's name is not a
   *   valid schedule group or rule name.
   */
  constructor(scope: Construct, id: string, props: JobsStackProps) {
    const { settings, ...stackProps } = props;
    super(scope, id, {
      description: `Serverless Jobs (${settings.name}): jobs API, worker queues and functions, DynamoDB table`,
      ...stackProps,
    });
    const s = resolveDeploymentSettings(settings);
    this.settings = s;
    Tags.of(this).add('service', observability.serviceName);
    Tags.of(this).add('stage', s.stageName);

    // A key of its own, not the secrets key: every function may decrypt with it to use the table, which holds
    // the secrets sealed under the secrets key, which only the API, the webhook function and the workers open.
    this.dataKey =
      s.encryption === 'customer-managed'
        ? new DataKey(this, 'DataKey', {
            stackName: this.stackName,
            deploymentName: s.name,
            // Follows the table: a retained table whose key is gone could never be read again.
            removalPolicy: s.tableRemovalPolicy,
          })
        : undefined;
    this.table = new JobsTable(this, 'JobsTable', {
      removalPolicy: s.tableRemovalPolicy,
      encryptionKey: this.dataKey,
    });
    this.apiKeySecret = new ApiKeySecret(this, 'ApiKeySecret');
    this.secretsKey = new Key(this, 'SecretsKey', {
      description:
        `Serverless Jobs (${s.name}): seals entity signing secrets and webhook secrets` +
        (this.dataKey ? '' : '; encrypts the alarm topic'),
      enableKeyRotation: true,
      // Follows the table: a retained table whose key is gone would hold secrets nobody can open.
      removalPolicy: s.tableRemovalPolicy,
      // The shortest wait KMS allows, for the throwaway deployments that delete their key at all.
      pendingWindow: Duration.days(7),
    });

    const runQueues = new RunQueues();
    const runEnvironment: RunEnvironment = {
      values: {
        tableName: this.table.tableName,
        // Every worker queue: the workers are built before their siblings, so the JSON is written lazily.
        queueUrls: runQueues.urls,
        deployment: {
          defaultQueue: defaultQueueName,
          queues: s.queues,
          environments: s.environments,
          // The API refuses entities pointing at other addresses; the worker refuses to connect to them.
          allowedTargetNetworks: s.allowedTargetNetworks,
          notificationTopicArns: s.notificationTopicArns,
          eventBusName: s.eventBusName,
          // The API refuses entities naming other state machines, queues or buses; the workers may reach only these.
          awsTargets: awsTargetLists(s),
        },
        logLevel: s.logLevel,
        runEvents: s.runEvents,
        serviceName: observability.serviceName,
        metricsNamespace: observability.metricsNamespace,
        tracingEnabled: s.tracing,
      },
      json: (value) => Lazy.string({ produce: () => this.toJsonString(value) }),
    };
    const common = { runEnvironment, logRetention: s.logRetention, tracing: s.tracing };

    for (const name of [defaultQueueName, ...s.queues]) {
      runQueues.add(
        new WorkerQueue(this, `Worker-${name}`, {
          ...common,
          name,
          deploymentName: s.name,
          table: this.table,
          secretsKey: this.secretsKey,
          // Targets call back to <API>/executions/{id}/callback; the API is built after the queues it sends to.
          publicBaseUrl: Lazy.string({ produce: () => this.controlPlane.url }),
          encryptionKey: this.dataKey,
          timeout: Duration.seconds(s.workerTimeoutSeconds),
          maxReceiveCount: s.maxReceiveCount,
          lambdaTargets: s.lambdaTargets,
          awsTargets: {
            stateMachineTargets: s.stateMachineTargets,
            sqsTargets: s.sqsTargets,
            eventBusTargets: s.eventBusTargets,
          },
        }),
      );
    }
    this.workerQueues = runQueues.asMap();
    // A worker sends retries to any queue, its siblings built after it included.
    for (const queue of runQueues.values()) runQueues.grantEnqueue(queue.worker);

    const runs = {
      ...common,
      table: this.table,
      runQueues,
      executionRetentionDays: s.executionRetentionDays,
    };
    this.cronScheduling = new CronScheduling(this, 'CronScheduling', {
      ...runs,
      groupName: this.stackName,
      deploymentName: s.name,
      encryptionKey: this.dataKey,
    });
    this.controlPlane = new ControlPlaneApi(this, 'ControlPlane', {
      ...runs,
      routes: controlPlaneRoutes,
      deploymentName: s.name,
      throttle: { rateLimit: s.apiThrottleRateLimit, burstLimit: s.apiThrottleBurstLimit },
      scheduling: this.cronScheduling,
      apiKeySecret: this.apiKeySecret,
      secretsKey: this.secretsKey,
      auth: s.auth,
    });
    this.webhookIngress = new WebhookIngress(this, 'WebhookIngress', {
      ...runs,
      api: this.controlPlane,
      secretsKey: this.secretsKey,
      throttle: { rateLimit: s.webhookThrottleRateLimit, burstLimit: s.webhookThrottleBurstLimit },
    });
    this.consoleSite = new ConsoleSite(this, 'Console', {
      api: this.controlPlane,
      logRetention: s.logRetention,
    });
    this.sweeper = new Sweeper(this, 'Sweeper', {
      ...runs,
      namePrefix: this.stackName,
      deploymentName: s.name,
      scheduling: this.cronScheduling,
      secretsKey: this.secretsKey,
      sweepIntervalMinutes: s.sweepIntervalMinutes,
      reconcileIntervalMinutes: s.scheduleReconcileIntervalMinutes,
      encryptionKey: this.dataKey,
    });
    const workers = [...runQueues.values()];
    this.alerting = new Alerting(this, 'Alerting', {
      deploymentName: s.name,
      eventBusName: s.eventBusName,
      notificationTopicArns: s.notificationTopicArns,
      publishers: [
        ...workers.map((queue) => queue.worker),
        this.controlPlane.apiFunction,
        this.sweeper.sweeperFunction,
        // They only start runs: on the bus with `runEvents: 'all'` alone.
        ...(runEventsFromStarts(s.runEvents)
          ? [this.webhookIngress.webhookFunction, this.cronScheduling.dispatchFunction]
          : []),
      ],
      senders: [this.controlPlane.apiFunction, this.sweeper.sweeperFunction],
      workerQueues: workers.map((queue) => ({
        label: queue.name,
        queue: queue.queue,
        deadLetterQueue: queue.deadLetterQueue,
      })),
      otherDeadLetterQueues: [
        { label: 'scheduler', queue: this.cronScheduling.deadLetterQueue },
        { label: 'sweeper rules', queue: this.sweeper.rules.deadLetterQueue },
      ],
    });
    // CloudWatch cannot publish to a topic under alias/aws/sns, so the topic is under a key of the stack.
    this.alarmTopic = new AlarmTopic(this, 'AlarmTopic', {
      encryptionKey: this.dataKey ?? this.secretsKey,
      deploymentName: s.name,
      alarms: [
        ...runQueues.values().map((queue) => queue.deadLetterAlarm),
        this.cronScheduling.deadLetterAlarm,
        this.sweeper.deadLetterAlarm,
        this.alerting.deliveryFailureAlarm,
      ],
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the jobs API',
      value: this.controlPlane.stage.url,
    });
    if (this.controlPlane.iamStage) {
      new CfnOutput(this, 'IamApiUrl', {
        description:
          'Base URL of the jobs API for SigV4-signed requests (IAM authorization; the SDK\'s auth: { type: "iam" })',
        value: this.controlPlane.iamStage.url,
      });
    }
    new CfnOutput(this, 'ApiKeySecretName', {
      description:
        'Secret holding the API keys (one per line): aws secretsmanager get-secret-value --secret-id <name>',
      value: this.apiKeySecret.secretName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description:
        'SNS topic of the DLQ alarms; subscribe to be notified: aws sns subscribe --topic-arn <arn> ' +
        '--protocol email --notification-endpoint <address>',
      value: this.alarmTopic.topicArn,
    });
    new CfnOutput(this, 'ScheduleGroupName', {
      description:
        'EventBridge Scheduler group of the cron jobs (one schedule per expression, named <job id>-<index>): ' +
        'aws scheduler list-schedules --group-name <name>',
      value: this.cronScheduling.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, 'SchedulerDeadLetterQueueUrl', {
      description:
        'Dead-letter queue of the cron fires that EventBridge Scheduler could not deliver to the dispatch ' +
        'function, or that dispatch failed on after its retries (the message attributes give the error)',
      value: this.cronScheduling.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'SweeperDeadLetterQueueUrl', {
      description:
        'Dead-letter queue of the sweep and reconciliation events EventBridge could not deliver to the sweeper ' +
        'within their interval (the message attributes give the rule and the error)',
      value: this.sweeper.rules.deadLetterQueue.queueUrl,
    });
  }

  /**
   * CDK's logical ID of `element`, except that the constructs named in {@link groupsKeepingTopLevelIds} do not
   * count in the path: their resources keep the IDs they had at the stack's top level, so that deploying this
   * stack over an existing deployment updates them instead of replacing them (a replaced table, key, secret or
   * queue loses what it holds; the schedule group, the rules, the stage and the routes have fixed names, so
   * replacing them fails).
   */
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdIgnoringGroups(this, element, groupsKeepingTopLevelIds);
  }
}
