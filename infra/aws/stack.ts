import { fileURLToPath } from 'node:url';
import {
  ArnFormat,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Token,
  Validations,
} from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  type HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import {
  AttributeType,
  Billing,
  type CfnGlobalTable,
  ProjectionType,
  TableEncryptionV2,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { JOBS_TABLE } from '../../shared/adapters/aws/jobs-table.js';
import {
  type DeploymentConfig,
  defaultQueueName,
  type ResolvedDeploymentConfig,
  resolveDeploymentConfig,
} from './config.js';
import { DataKey, queueEncryption, queueSendKeyActions } from './data-key.js';
import { JobsFunction } from './jobs-function.js';
import { SweeperRules } from './sweeper-rules.js';

export { reconcileSchedulesEvent } from './sweeper-rules.js';

/** Props of {@link JobsStack}. */
export interface JobsStackProps extends StackProps {
  /** Settings of the deployment this stack is for. */
  readonly config: DeploymentConfig;
}

/** Control-plane routes served by the API function (the catch-alls `ANY /` and `ANY /{proxy+}` follow them). */
const apiRoutes: ReadonlyArray<readonly [HttpMethod, string]> = [
  [HttpMethod.GET, '/health'],
  [HttpMethod.GET, '/jobs'],
  [HttpMethod.POST, '/jobs'],
  [HttpMethod.GET, '/jobs/{id}'],
  [HttpMethod.PATCH, '/jobs/{id}'],
  [HttpMethod.DELETE, '/jobs/{id}'],
  [HttpMethod.POST, '/jobs/{id}/enable'],
  [HttpMethod.POST, '/jobs/{id}/disable'],
  [HttpMethod.POST, '/jobs/{id}/trigger'],
  [HttpMethod.POST, '/jobs/{id}/webhook-secret/rotate'],
  [HttpMethod.GET, '/jobs/{id}/executions'],
  [HttpMethod.GET, '/jobs/{id}/executions/{eid}'],
  [HttpMethod.POST, '/jobs/{id}/executions/{eid}/cancel'],
  [HttpMethod.POST, '/executions/{id}/callback'],
  [HttpMethod.GET, '/entities'],
  [HttpMethod.POST, '/entities'],
  [HttpMethod.GET, '/entities/{id}'],
  [HttpMethod.PATCH, '/entities/{id}'],
  [HttpMethod.DELETE, '/entities/{id}'],
  [HttpMethod.GET, '/cron/preview'],
  [HttpMethod.GET, '/openapi.json'],
];

/**
 * DynamoDB actions on the table itself: exactly the calls of the stores (shared/adapters/aws/dynamo-*.ts),
 * which every function builds. TransactWriteItems has no IAM action of its own: each item of a transaction is
 * authorized as the standalone PutItem/UpdateItem/DeleteItem it performs (and a ConditionCheck item as
 * dynamodb:ConditionCheckItem, which the stores do not use). Queries without IndexName run on the table.
 */
const tableActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/** DynamoDB actions on the table's indexes (gsi1-4): the stores only query them. */
const tableIndexActions = ['dynamodb:Query'] as const;

/**
 * DynamoDB actions of the webhook function, on the table only: it resolves a path to its job, deduplicates
 * deliveries and starts runs with item reads and (transactional) item writes, and never lists anything.
 */
const webhookTableActions = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

/** The public ingress of webhook deliveries, served by the webhook function alone. */
export const webhookRoutePath = '/webhooks/{path}';

const entryOf = (name: string) => fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url));
const apiEntry = entryOf('api');
const workerEntry = entryOf('worker');
const sweeperEntry = entryOf('sweeper');
const webhookEntry = entryOf('webhook');
const dispatchEntry = entryOf('dispatch');

/**
 * Scheduler actions on the schedules of the stack's group: what EventBridgeScheduler
 * (shared/adapters/aws/eventbridge-scheduler.ts) calls to keep a cron job's schedules in step with it. put()
 * updates, or creates when absent; remove() deletes. Its list() (reconciliation, the sweeper's) also reads
 * each schedule, and lists the group: see {@link scheduleListActions}.
 */
const scheduleWriteActions = [
  'scheduler:CreateSchedule',
  'scheduler:DeleteSchedule',
  'scheduler:UpdateSchedule',
] as const;

/**
 * ListSchedules has no resource type in the Service Authorization Reference, so it can only be allowed on "*";
 * the adapter always passes its own GroupName.
 */
const scheduleListActions = ['scheduler:ListSchedules'] as const;

/** Schedule group names: what EventBridge Scheduler accepts. */
const scheduleGroupNamePattern = /^[0-9a-zA-Z\-_.]{1,64}$/;

/**
 * How long after the worker's timeout a received message becomes visible again. AWS advises 6× the
 * timeout so that a batch the poller retries is not delivered twice; here a second delivery is harmless
 * (the claim is conditional, and a message for a run under a live lease is handed back until the lease
 * ends), and a short timeout is what brings back the run of a worker that died or timed out mid-run.
 */
export const visibilityTimeoutMarginSeconds = 60;

/** One worker queue and what is built for it; its constructs live under the `Worker-<name>` scope. */
export interface WorkerQueue {
  /** Queue name as jobs and the deployment config use it (`default`, `production`, ...). */
  readonly name: string;
  readonly scope: Construct;
  readonly queue: Queue;
  /** Receives a message after `maxReceiveCount` deliveries; alarmed on. */
  readonly deadLetterQueue: Queue;
}

/**
 * The Serverless Jobs deployment: jobs table, initial API key, secrets key, API function and HTTP API, one
 * SQS queue + DLQ + worker function (+ DLQ alarm) per worker queue, the webhook ingress function, the
 * sweeper on two rules (sweeps, and reconciliation of the schedules) with a DLQ (+ alarm) for the events they
 * could not deliver, and cron: one EventBridge Scheduler schedule group whose schedules (written at run time by
 * the API and the sweeper) invoke the dispatch function through the scheduler role, with a DLQ (+ alarm) for
 * fires that could not be delivered or dispatched. With `encryption: 'customer-managed'`, a KMS key of the
 * stack ({@link DataKey}) encrypts the table, the queues and the alarm topic. Each concern is built by its own
 * method.
 */
export class JobsStack extends Stack {
  /**
   * Encrypts the table, every queue and DLQ, and the alarm topic, when the deployment's `encryption` is
   * `customer-managed`; undefined otherwise (AWS owned keys, no KMS permission needed).
   */
  public readonly dataKey: DataKey | undefined;
  /** Single table holding jobs, executions and their lookup items (same schema as the local runtime's). */
  public readonly table: TableV2;
  /** Secret holding the API keys (one per line); created with one key generated at deploy time. */
  public readonly apiKeySecret: Secret;
  /** Control-plane Lambda behind the HTTP API. */
  public readonly apiFunction: JobsFunction;
  /** Serves `POST /webhooks/{path}` only; the least privileged function of the stack. */
  public readonly webhookFunction: JobsFunction;
  /** The `POST /webhooks/{path}` route (throttled on its own by the stage's route settings). */
  public readonly webhookRoute: HttpRoute;
  /** The HTTP API: the control plane and the webhook ingress. */
  public readonly httpApi: HttpApi;
  /** The API's `$default` stage, throttled and access-logged. */
  public readonly apiStage: HttpStage;
  /**
   * Seals entity signing secrets (and webhook secrets) stored in the table; encrypts the alarm topic unless the
   * deployment has a {@link dataKey}.
   */
  public readonly secretsKey: Key;
  /** The worker queues by name: `default` first, then the configured ones. */
  public readonly workerQueues: ReadonlyMap<string, WorkerQueue>;
  /** One worker function per worker queue, by queue name. */
  public readonly workerFunctions: ReadonlyMap<string, JobsFunction>;
  /**
   * Times out overdue runs and re-enqueues stale queued ones, on a schedule; on a second one, reconciles the
   * schedule group with the cron jobs.
   */
  public readonly sweeperFunction: JobsFunction;
  /** The sweep and reconciliation rules of {@link sweeperFunction}, and their DLQ (alarmed on). */
  public readonly sweeperRules: SweeperRules;
  /** Starts the run of one cron fire; the target of every schedule of {@link scheduleGroup}. */
  public readonly dispatchFunction: JobsFunction;
  /** Holds the schedules of the cron jobs (`<jobId>-<index>`), and nothing else; named after the stack. */
  public readonly scheduleGroup: ScheduleGroup;
  /** Assumed by EventBridge Scheduler for this group's schedules: invokes dispatch, sends to the DLQ. */
  public readonly schedulerRole: Role;
  /**
   * Receives the fires the Scheduler could not deliver to dispatch, and those dispatch failed on after
   * Lambda's own retries (it is dispatch's function DLQ too); alarmed on.
   */
  public readonly schedulerDeadLetterQueue: Queue;
  /** Receives every DLQ alarm; operators subscribe to it (output `AlarmTopicArn`). */
  public readonly alarmTopic: Topic;
  /** The config this stack was built from, checked and with defaults filled in. */
  public readonly config: ResolvedDeploymentConfig;

  /**
   * @throws Error when the deployment config is invalid (unknown queue of an environment, bad names or
   *   Lambda targets, out-of-range settings); see {@link resolveDeploymentConfig}.
   */
  constructor(scope: Construct, id: string, props: JobsStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `Serverless Jobs (${config.name}): jobs API, worker queues and functions, DynamoDB table`,
      ...stackProps,
    });
    this.config = resolveDeploymentConfig(config);
    Tags.of(this).add('service', 'serverless-jobs');
    Tags.of(this).add('stage', this.config.stageName);

    this.dataKey = this.createDataKey();
    this.table = this.createTable();
    this.apiKeySecret = this.createApiKeySecret();
    this.secretsKey = this.createSecretsKey();
    this.workerQueues = this.createWorkerQueues();
    this.schedulerDeadLetterQueue = this.createSchedulerDeadLetterQueue();
    this.scheduleGroup = this.createScheduleGroup();
    this.dispatchFunction = this.createDispatchFunction();
    this.schedulerRole = this.createSchedulerRole();
    this.apiFunction = this.createApiFunction();
    this.webhookFunction = this.createWebhookFunction();
    [this.httpApi, this.apiStage, this.webhookRoute] = this.createHttpApi(
      this.apiFunction,
      this.webhookFunction,
    );
    this.workerFunctions = this.createWorkerFunctions();
    this.sweeperFunction = this.createSweeper();
    this.sweeperRules = this.createSweeperRules(this.sweeperFunction);
    this.alarmTopic = this.createAlarmTopic();
    this.createDeadLetterAlarms(this.alarmTopic);

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the jobs API',
      value: this.apiStage.url,
    });
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
      value: this.scheduleGroup.scheduleGroupName,
    });
    new CfnOutput(this, 'SchedulerDeadLetterQueueUrl', {
      description:
        'Dead-letter queue of the cron fires that EventBridge Scheduler could not deliver to the dispatch ' +
        'function, or that dispatch failed on after its retries (the message attributes give the error)',
      value: this.schedulerDeadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'SweeperDeadLetterQueueUrl', {
      description:
        'Dead-letter queue of the sweep and reconciliation events EventBridge could not deliver to the sweeper ' +
        'within their interval (the message attributes give the rule and the error)',
      value: this.sweeperRules.deadLetterQueue.queueUrl,
    });
  }

  /**
   * The key of the data at rest, when the deployment asks for a customer-managed one. A key of its own, not the
   * secrets key: every function may decrypt with it to use the table, which holds the secrets sealed under the
   * secrets key, which only the API, the webhook function and the workers may open.
   */
  private createDataKey(): DataKey | undefined {
    if (this.config.encryption !== 'customer-managed') return undefined;
    return new DataKey(this, 'DataKey', {
      stackName: this.stackName,
      deploymentName: this.config.name,
      // Follows the table: a retained table whose key is gone could never be read again.
      removalPolicy: this.config.tableRemovalPolicy,
    });
  }

  private createTable(): TableV2 {
    // Keys and index names must match jobsTableDefinition() in shared/adapters/aws/jobs-table.ts, the table
    // the local runtime and integration tests create; test/infra/stack.test.ts compares the two.
    const stringKey = (name: string) => ({ name, type: AttributeType.STRING });
    const table = new TableV2(this, 'JobsTable', {
      partitionKey: stringKey('pk'),
      sortKey: stringKey('sk'),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      removalPolicy: this.config.tableRemovalPolicy,
      // Unset: DynamoDB's default encryption, under an AWS owned key. With the data key, see below.
      ...(this.dataKey && { encryption: TableEncryptionV2.awsManagedKey() }),
      // The same indexes the local runtime creates (shared/adapters/aws/jobs-table.ts).
      globalSecondaryIndexes: Object.values(JOBS_TABLE.indexes).map((index) => ({
        indexName: index.name,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        ...(index.projected.length === 0
          ? { projectionType: ProjectionType.KEYS_ONLY }
          : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.projected] }),
      })),
    });
    if (this.dataKey) {
      // What TableEncryptionV2.customerManagedKey renders (KMS at the table, the key on its one replica), which it
      // refuses to do in a region-agnostic stack, as this one is when synthesized without credentials.
      const cfnTable = table.node.defaultChild as CfnGlobalTable;
      cfnTable.addPropertyOverride('Replicas.0.SSESpecification.KMSMasterKeyId', this.dataKey.keyArn);
    }
    return table;
  }

  private createApiKeySecret(): Secret {
    const secret = new Secret(this, 'ApiKeySecret', {
      description:
        'API keys of the Serverless Jobs control plane, one per line (Authorization: Bearer <key>); ' +
        'created with one generated key',
      generateSecretString: { excludePunctuation: true, passwordLength: 48 },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret holds the API keys clients send as bearer tokens; a scheduled rotation would cut every ' +
        'client off at once with no way to hand them the new key. Rotation is manual and overlapping: add a ' +
        'new key as a new line of the secret (the API accepts several, re-read every 5 minutes), move clients, ' +
        'then remove the old line.',
    });
    return secret;
  }

  private createSecretsKey(): Key {
    return new Key(this, 'SecretsKey', {
      description:
        `Serverless Jobs (${this.config.name}): seals entity signing secrets and webhook secrets` +
        (this.dataKey ? '' : '; encrypts the alarm topic'),
      enableKeyRotation: true,
      // Follows the table: a retained table whose key is gone would hold secrets nobody can open.
      removalPolicy: this.config.tableRemovalPolicy,
      // The shortest wait KMS allows, for the throwaway deployments that delete their key at all.
      pendingWindow: Duration.days(7),
    });
  }

  private createWorkerQueues(): ReadonlyMap<string, WorkerQueue> {
    // At least the function timeout (Lambda requires it); see visibilityTimeoutMarginSeconds for the rest.
    const visibilityTimeout = Duration.seconds(
      this.config.workerTimeoutSeconds + visibilityTimeoutMarginSeconds,
    );
    const queues = new Map<string, WorkerQueue>();
    for (const name of [defaultQueueName, ...this.config.queues]) {
      const scope = new Construct(this, `Worker-${name}`);
      const deadLetterQueue = new Queue(scope, 'DeadLetterQueue', {
        ...queueEncryption(this.dataKey),
        enforceSSL: true,
        // The maximum SQS allows: time to read a poison message before it is gone.
        retentionPeriod: Duration.days(14),
      });
      const queue = new Queue(scope, 'Queue', {
        ...queueEncryption(this.dataKey),
        enforceSSL: true,
        visibilityTimeout,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: this.config.maxReceiveCount },
      });
      queues.set(name, { name, scope, queue, deadLetterQueue });
    }
    return queues;
  }

  /**
   * The DLQ of the schedule group's fires, encrypted like the worker queues: the scheduler role and dispatch get
   * the KMS actions of a producer when it is under the data key.
   */
  private createSchedulerDeadLetterQueue(): Queue {
    return new Queue(this, 'SchedulerDeadLetterQueue', {
      ...queueEncryption(this.dataKey),
      enforceSSL: true,
      // The maximum SQS allows: time to look at a lost fire before it is gone.
      retentionPeriod: Duration.days(14),
    });
  }

  /**
   * The group every cron schedule lives in, named after the stack: the functions learn it from
   * SCHEDULE_GROUP_NAME, and their scheduler permissions reach this group's schedules only.
   */
  private createScheduleGroup(): ScheduleGroup {
    const name = this.stackName;
    if (!Token.isUnresolved(name) && !scheduleGroupNamePattern.test(name)) {
      throw new Error(
        `Stack name "${name}" is not a valid schedule group name (1-64 letters, digits, "-", "_" or ".")`,
      );
    }
    return new ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: name,
      // Deleting the group deletes its schedules, which is right: they are derived from the cron jobs of the
      // table (the reconciliation rebuilds them) and target this stack's dispatch function and role. A
      // retained group would keep firing into deleted resources, and block redeploying the stack (same name).
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /**
   * The target of every schedule. EventBridge Scheduler invokes it asynchronously, so a fire it throws on is
   * retried by Lambda (twice by default) and then sent to the scheduler DLQ, its function DLQ; the Scheduler's
   * own retry policy and DLQ cover only delivery (throttling, a missing function). Starting a run is deduplicated
   * on the job and the fire time, so retries never run a fire twice.
   */
  private createDispatchFunction(): JobsFunction {
    const fn = new JobsFunction(this, 'DispatchFunction', {
      entry: dispatchEntry,
      description: 'Serverless Jobs dispatch: starts the run of a cron fire (EventBridge Scheduler target)',
      logRetention: this.config.logRetention,
      // Reads the job and its entity and writes a few items, like the webhook function.
      memorySize: 256,
      // Nobody waits on an asynchronous invocation: room for the SDK's retries of throttled calls.
      timeout: Duration.seconds(30),
      // Adds sqs:SendMessage on this queue to the function's role, which Lambda sends with (KMS actions below).
      deadLetterQueue: this.schedulerDeadLetterQueue,
      environment: {
        ...this.runEnvironment(),
        EXECUTION_RETENTION_DAYS: String(this.config.executionRetentionDays),
      },
    });
    // RunService.dispatchCron: jobs.get and entities.get/getDefault (GetItem), executions.start (a transaction of
    // Put/Update items; GetItem of the dedupe marker or lock, DeleteItem of a stale lock). Never lists anything.
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [...webhookTableActions], resources: [this.table.tableArn] }),
    );
    this.grantTableKey(fn);
    this.grantEnqueue(fn);
    this.grantQueueKey(fn, this.schedulerDeadLetterQueue);
    this.suppressFunctionFindings(fn);
    return fn;
  }

  /**
   * The role EventBridge Scheduler assumes for this group's schedules (the adapter names it as every schedule's
   * Target.RoleArn). Its trust policy admits the Scheduler only on behalf of this group in this account (the
   * confused-deputy guard AWS documents: aws:SourceArn is the schedule group's ARN, never a schedule's), and
   * it may only invoke dispatch and send to the scheduler DLQ.
   */
  private createSchedulerRole(): Role {
    const role = new Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler: invokes the dispatch function for the cron jobs (${this.config.name})`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnEquals: { 'aws:SourceArn': this.scheduleGroup.scheduleGroupArn },
        },
      }),
    });
    // The exact (unqualified) function ARN the schedules target; no version or alias.
    role.addToPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.dispatchFunction.functionArn],
      }),
    );
    // The Scheduler sends undeliverable fires to the DLQ with this role, so the role is the producer SQS checks.
    const queue = this.schedulerDeadLetterQueue;
    role.addToPolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    this.grantQueueKey(role, queue);
    return role;
  }

  /** What EventBridgeScheduler needs to write schedules (functions/aws-deps.ts, scheduler()). */
  private schedulingEnvironment(): Record<string, string> {
    return {
      SCHEDULE_GROUP_NAME: this.scheduleGroup.scheduleGroupName,
      DISPATCH_FUNCTION_ARN: this.dispatchFunction.functionArn,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      SCHEDULER_DLQ_ARN: this.schedulerDeadLetterQueue.queueArn,
    };
  }

  /**
   * Lets `fn` write the schedules of the stack's group and hand them the scheduler role (PassRole, to the
   * Scheduler only). With `reconcile`, also read them and list the group, as the reconciliation does.
   */
  private grantScheduleManagement(fn: JobsFunction, { reconcile }: { reconcile: boolean }): void {
    const schedulesArn = this.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
    });
    const actions = reconcile
      ? [...scheduleWriteActions, 'scheduler:GetSchedule']
      : [...scheduleWriteActions];
    fn.addToRolePolicy(new PolicyStatement({ actions: actions.sort(), resources: [schedulesArn] }));
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    if (reconcile) {
      fn.addToRolePolicy(new PolicyStatement({ actions: [...scheduleListActions], resources: ['*'] }));
    }
    if (!fn.role) return;
    // The findings name the resources as cdk-nag renders them; acknowledge exactly those, nothing broader.
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.nagString(schedulesArn)}]`,
      reason:
        'Schedule names are job ids, created at run time: "<group>/*" covers exactly the schedules of this ' +
        "stack's own group (a schedule ARN is schedule/<group>/<name>), which holds the cron jobs' schedules only.",
    });
    if (reconcile) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only scheduler:ListSchedules is allowed on "*": the Service Authorization Reference lists no resource ' +
          'type for it, so it cannot be scoped to a group. It returns schedule names and ' +
          "states only; the reconciliation passes this stack's GroupName, and reads and writes are scoped to it.",
      });
    }
  }

  /** How cdk-nag writes `value` in a finding: a token as `<LogicalId>` / `<LogicalId.Attr>`, pseudo params too. */
  private nagString(value: string): string {
    const render = (resolved: unknown): string => {
      if (typeof resolved === 'string') return resolved;
      const object = resolved as Record<string, unknown>;
      if ('Ref' in object) return `<${String(object.Ref)}>`;
      if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
      if ('Fn::Join' in object) {
        const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
        return parts.map(render).join(separator);
      }
      throw new Error(`cannot render ${JSON.stringify(resolved)} as cdk-nag does`);
    };
    return render(this.resolve(value));
  }

  /** Environment shared by every function that runs or enqueues executions. */
  private runEnvironment(): Record<string, string> {
    const queueUrls = Object.fromEntries(
      [...this.workerQueues.values()].map(({ name, queue }) => [name, queue.queueUrl]),
    );
    return {
      TABLE_NAME: this.table.tableName,
      // Every worker queue, so any function can route a run (or a retry) to any queue.
      QUEUE_URLS: this.toJsonString(queueUrls),
      // Same shape as DeploymentConfig in shared/ports.ts, minus what each function knows from elsewhere.
      DEPLOYMENT_CONFIG: JSON.stringify({
        defaultQueue: defaultQueueName,
        queues: this.config.queues,
        environments: this.config.environments,
        // The API refuses entities pointing at other addresses; the worker refuses to connect to them.
        allowedTargetNetworks: this.config.allowedTargetNetworks,
      }),
      LOG_LEVEL: this.config.logLevel,
    };
  }

  /**
   * Lets `fn` make exactly the DynamoDB calls of the stores: item reads and writes and queries on the table,
   * queries on its indexes. No Scan, Batch*, DescribeTable or stream actions (grantReadWriteData's extras).
   */
  private grantTableAccess(fn: JobsFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ actions: [...tableActions], resources: [this.table.tableArn] }));
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [...tableIndexActions], resources: [`${this.table.tableArn}/index/*`] }),
    );
    this.grantTableKey(fn);
    // The finding names the table by logical id, so acknowledge exactly that resource, not any "/index/*".
    const tableArn = `<${this.resolve((this.table.node.defaultChild as CfnElement).logicalId)}.Arn>`;
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${tableArn}/index/*]`,
        reason:
          'Only dynamodb:Query is allowed on "index/*", and only under this one table: it covers the gsi1-4 ' +
          'indexes the stores query (the table has no other index); item reads and writes are on the table ARN.',
      });
    }
  }

  /**
   * Lets `grantee` use the table's key, if it has one, as DynamoDB does on its behalf: DynamoDB decrypts the
   * table key with the caller's credentials (cached for a few minutes), whatever the item call. The rest of what
   * the documentation lists for a customer-managed key (Encrypt, GenerateDataKey*, CreateGrant, ...) is for the
   * principal creating the table, the deployment's, which the key's default policy (the account) covers.
   */
  private grantTableKey(grantee: IGrantable): void {
    this.dataKey?.grantDecrypt(grantee);
  }

  /** Lets `grantee` produce to `queue` if it is under a KMS key: the key actions only, SendMessage is granted apart. */
  private grantQueueKey(grantee: IGrantable, queue: Queue): void {
    queue.encryptionMasterKey?.grant(grantee, ...queueSendKeyActions);
  }

  /**
   * Lets `fn` send to every worker queue (runs, retries, re-enqueues): the actions of grantSendMessages, and on a
   * KMS-encrypted queue the key actions of a producer only, not its kms:Encrypt and kms:ReEncrypt* /
   * kms:GenerateDataKey* wildcards (identical statements are rendered once).
   */
  private grantEnqueue(fn: JobsFunction): void {
    for (const { queue } of this.workerQueues.values()) {
      queue.grants.actions(fn, ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], {
        keyActions: [...queueSendKeyActions],
      });
    }
  }

  private createApiFunction(): JobsFunction {
    // No PUBLIC_BASE_URL: the API's URL depends on the API, which depends on this function. The API function
    // derives its base URL from each request instead (requestContext.domainName).
    const fn = new JobsFunction(this, 'ApiFunction', {
      entry: apiEntry,
      description: 'Serverless Jobs control-plane API',
      logRetention: this.config.logRetention,
      environment: {
        ...this.runEnvironment(),
        API_KEY_SECRET_ARN: this.apiKeySecret.secretArn,
        KMS_KEY_ID: this.secretsKey.keyArn,
        EXECUTION_RETENTION_DAYS: String(this.config.executionRetentionDays),
        ...this.schedulingEnvironment(),
      },
    });
    this.grantTableAccess(fn);
    // Job writes put or remove the job's schedules; it never lists or reads them (that is reconciliation's).
    this.grantScheduleManagement(fn, { reconcile: false });
    this.apiKeySecret.grantRead(fn);
    // Seals the signing secrets of the entities it creates (KmsSecretBox: Encrypt/Decrypt directly with the
    // key). Named actions rather than grantEncryptDecrypt, whose kms:ReEncrypt* and kms:GenerateDataKey*
    // wildcards the API has no use for (and cdk-nag IAM5 flags).
    this.secretsKey.grant(fn, 'kms:Encrypt', 'kms:Decrypt');
    this.grantEnqueue(fn);
    this.suppressFunctionFindings(fn);
    return fn;
  }

  /**
   * The webhook ingress: verifies a delivery's signature against the job's sealed secret and starts a run.
   * Public and unauthenticated at API Gateway, so it gets the least of all: item reads and writes on the table
   * (no Query, no index), kms:Decrypt only (it opens webhook secrets, never seals one: rotation is the API's),
   * sqs:SendMessage only, and no API key secret.
   */
  private createWebhookFunction(): JobsFunction {
    const fn = new JobsFunction(this, 'WebhookFunction', {
      entry: webhookEntry,
      description: 'Serverless Jobs webhook ingress (POST /webhooks/{path})',
      logRetention: this.config.logRetention,
      // Verifies one HMAC over at most 256 KiB and writes a few items: no need for the API's 512 MB.
      memorySize: 256,
      timeout: Duration.seconds(10),
      environment: {
        ...this.runEnvironment(),
        KMS_KEY_ID: this.secretsKey.keyArn,
        EXECUTION_RETENTION_DAYS: String(this.config.executionRetentionDays),
      },
    });
    fn.addToRolePolicy(
      new PolicyStatement({ actions: [...webhookTableActions], resources: [this.table.tableArn] }),
    );
    this.grantTableKey(fn);
    this.secretsKey.grantDecrypt(fn);
    // SqsRunQueue only calls SendMessage, on the URLs of QUEUE_URLS: grantSendMessages' GetQueueAttributes and
    // GetQueueUrl are not needed. SQS-managed encryption needs no KMS permission; under the data key, SendMessage
    // needs a producer's key actions.
    const queues = [...this.workerQueues.values()].map(({ queue }) => queue);
    fn.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: queues.map((queue) => queue.queueArn) }),
    );
    for (const queue of queues) this.grantQueueKey(fn, queue);
    this.suppressFunctionFindings(fn);
    return fn;
  }

  private createHttpApi(
    handler: JobsFunction,
    webhookHandler: JobsFunction,
  ): [HttpApi, HttpStage, HttpRoute] {
    const api = new HttpApi(this, 'HttpApi', {
      description: `Serverless Jobs control plane (${this.config.name})`,
      // The default stage is added below with throttling and access logs, which HttpApi's own lacks.
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: this.config.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stage = api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: this.config.apiThrottleRateLimit,
        burstLimit: this.config.apiThrottleBurstLimit,
      },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // HTTP API context variables only; no headers, so the Authorization header is never logged.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            requestTime: '$context.requestTime',
            httpMethod: '$context.httpMethod',
            routeKey: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            responseLatency: '$context.responseLatency',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('ApiIntegration', handler, {
      payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      // One invoke permission for the whole API rather than one per route: every route targets this
      // function, and per-route permissions would grow its resource policy with each route added.
      scopePermissionToRoute: false,
    });
    // Declared before the catch-alls, on its own integration: API Gateway picks the most specific route, so
    // `POST /webhooks/{path}` wins over `ANY /{proxy+}` and never reaches the API function. Its invoke
    // permission is scoped to this route (the integration's default).
    const [webhookRoute] = api.addRoutes({
      path: webhookRoutePath,
      methods: [HttpMethod.POST],
      integration: new HttpLambdaIntegration('WebhookIntegration', webhookHandler, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      }),
    });
    if (!webhookRoute) throw new Error('addRoutes returned no route for the webhook ingress');
    Validations.of(webhookRoute).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'POST /webhooks/{path} is called by external systems (CI, Git hosts, payment providers) that cannot ' +
        'hold an API key or sign AWS requests. The webhook function authenticates every delivery by its ' +
        "HMAC-SHA256 signature over the raw body with the job's secret (constant-time compare; Standard " +
        'Webhooks timestamps and replay protection) and answers 401, storing nothing, when the signature is ' +
        'missing or wrong; the path is unguessable (>=128 bits) and the route has its own API Gateway throttle.',
    });
    // A route setting of the stage: this route's own throttle, in place of the stage-wide one. The stage must
    // be created after the route, or API Gateway rejects the setting ("Unable to find Route by key").
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = {
      [`POST ${webhookRoutePath}`]: {
        ThrottlingRateLimit: this.config.webhookThrottleRateLimit,
        ThrottlingBurstLimit: this.config.webhookThrottleBurstLimit,
      },
    };
    stage.node.addDependency(webhookRoute);

    const routes = [
      ...apiRoutes.flatMap(([method, path]) => api.addRoutes({ path, methods: [method], integration })),
      // Unknown paths and methods reach the app too, so they get its JSON 404/405 instead of API Gateway's.
      // `/{proxy+}` needs at least one segment, so the root has a route of its own.
      ...api.addRoutes({ path: '/', methods: [HttpMethod.ANY], integration }),
      ...api.addRoutes({ path: '/{proxy+}', methods: [HttpMethod.ANY], integration }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Authorization is done by the API function, not API Gateway: control-plane routes require ' +
          '"Authorization: Bearer <api key>", compared in constant time with the keys from the API key ' +
          'secret; /executions/{id}/callback is authenticated by the per-execution callback token sent to ' +
          'the target; /health is public by design; the catch-alls ANY / and ANY /{proxy+} only reach the ' +
          "app's JSON 404/405 (or its auth check).",
      });
    }
    return [api, stage, webhookRoute];
  }

  private createWorkerFunctions(): ReadonlyMap<string, JobsFunction> {
    const lambdaTargetArns = this.config.lambdaTargets.map((target) =>
      target.startsWith('arn:')
        ? target
        : this.formatArn({
            service: 'lambda',
            resource: 'function',
            resourceName: target,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
    );
    const functions = new Map<string, JobsFunction>();
    for (const { name, scope, queue } of this.workerQueues.values()) {
      const fn = new JobsFunction(scope, 'Function', {
        entry: workerEntry,
        description: `Serverless Jobs worker of queue "${name}"`,
        logRetention: this.config.logRetention,
        timeout: Duration.seconds(this.config.workerTimeoutSeconds),
        environment: {
          ...this.runEnvironment(),
          KMS_KEY_ID: this.secretsKey.keyArn,
          // Targets call back to <PUBLIC_BASE_URL>/executions/{id}/callback.
          PUBLIC_BASE_URL: this.httpApi.apiEndpoint,
          EXECUTION_RETENTION_DAYS: String(this.config.executionRetentionDays),
          // The worker ends a run as failed on its message's last delivery, before the DLQ takes it.
          MAX_RECEIVE_COUNT: String(this.config.maxReceiveCount),
        },
      });
      fn.addEventSource(
        new SqsEventSource(queue, {
          // The handler reports the records that failed; the rest of the batch is deleted, not redelivered.
          reportBatchItemFailures: true,
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(1),
        }),
      );
      this.grantTableAccess(fn);
      // Opens signing secrets; never seals one.
      this.secretsKey.grantDecrypt(fn);
      this.grantEnqueue(fn);
      if (lambdaTargetArns.length > 0) {
        // Only the functions the deployment config names: an entity cannot make the worker invoke anything else.
        fn.addToRolePolicy(
          new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: lambdaTargetArns }),
        );
      }
      this.suppressFunctionFindings(fn);
      functions.set(name, fn);
    }
    return functions;
  }

  private createSweeper(): JobsFunction {
    const fn = new JobsFunction(this, 'SweeperFunction', {
      entry: sweeperEntry,
      description:
        'Serverless Jobs sweeper: times out overdue runs, re-enqueues stale queued runs, reconciles schedules',
      logRetention: this.config.logRetention,
      // A reconciliation lists the group and then reads every schedule (GetSchedule, a few at a time, under the
      // Scheduler's per-account quota of tens of calls per second) before fixing the drifted ones: thousands of
      // cron jobs take minutes. A sweep pages through due executions and ends far sooner. Both are idempotent,
      // so a run overlapping the next is harmless.
      timeout: Duration.seconds(300),
      environment: {
        ...this.runEnvironment(),
        // Not needed by today's sweep, but its deps build the same run service as the API: any run it ever
        // starts must expire like the others rather than on the service's built-in default.
        EXECUTION_RETENTION_DAYS: String(this.config.executionRetentionDays),
        ...this.schedulingEnvironment(),
      },
    });
    this.grantTableAccess(fn);
    this.grantEnqueue(fn);
    this.grantScheduleManagement(fn, { reconcile: true });
    this.suppressFunctionFindings(fn);
    return fn;
  }

  /** The sweeper's two rules, named after the stack, with their retry policy and DLQ (see {@link SweeperRules}). */
  private createSweeperRules(sweeper: JobsFunction): SweeperRules {
    return new SweeperRules(this, 'SweeperRules', {
      sweeper,
      namePrefix: this.stackName,
      sweepInterval: Duration.minutes(this.config.sweepIntervalMinutes),
      reconcileInterval: Duration.minutes(this.config.scheduleReconcileIntervalMinutes),
      encryptionKey: this.dataKey,
    });
  }

  /**
   * The topic the DLQ alarms notify. Encrypted with the data key if the deployment has one, else with the
   * secrets key: CloudWatch cannot publish to a topic encrypted with the AWS-managed alias/aws/sns key (its key
   * policy cannot grant CloudWatch), so the key must be customer managed and grant CloudWatch
   * kms:GenerateDataKey and kms:Decrypt. The topic policy denies publishing without TLS and lets CloudWatch
   * publish on behalf of this stack's DLQ alarms only (added with the alarms); it replaces SNS's default policy,
   * which is what let CloudWatch publish before. The key policy names the account, not the alarms: under the data
   * key, naming them would make the key depend on the alarms, which depend on the queues, which depend on the key.
   */
  private createAlarmTopic(): Topic {
    const key = this.dataKey ?? this.secretsKey;
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: `Serverless Jobs (${this.config.name}) alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedAlarmTopic',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        // What SNS calls for a publisher to an encrypted topic; no GenerateDataKey* wildcard.
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    return topic;
  }

  /**
   * Alarms as soon as a message lands in any DLQ: a run could not be processed, a cron fire could not start
   * its run, or the sweeper missed a sweep or a reconciliation, and it needs a look.
   */
  private createDeadLetterAlarms(topic: Topic): void {
    const deadLetterQueues = [
      ...[...this.workerQueues.values()].map(({ name, scope, deadLetterQueue }) => ({
        scope,
        id: 'DeadLetterAlarm',
        deadLetterQueue,
        description: `Messages in the dead-letter queue of worker queue "${name}" (Serverless Jobs ${this.config.name})`,
      })),
      {
        scope: this,
        id: 'SchedulerDeadLetterAlarm',
        deadLetterQueue: this.schedulerDeadLetterQueue,
        description:
          'Cron fires that could not be delivered to the dispatch function or that it failed on, in the ' +
          `scheduler dead-letter queue (Serverless Jobs ${this.config.name})`,
      },
      {
        scope: this,
        id: 'SweeperDeadLetterAlarm',
        deadLetterQueue: this.sweeperRules.deadLetterQueue,
        description:
          'Sweep or reconciliation events EventBridge could not deliver to the sweeper within their interval, in ' +
          `the sweeper dead-letter queue (Serverless Jobs ${this.config.name})`,
      },
    ];
    const alarms: Alarm[] = [];
    for (const { scope, id, deadLetterQueue, description } of deadLetterQueues) {
      const alarm = new Alarm(scope, id, {
        alarmDescription: description,
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // SQS publishes no datapoint for an idle queue; no data means no messages.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new SnsAction(topic));
      alarms.push(alarm);
    }
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowTheDeadLetterAlarmsToPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': alarms.map((alarm) => alarm.alarmArn) },
        },
      }),
    );
  }

  /** Findings on every JobsFunction that are justified by design rather than fixable. */
  private suppressFunctionFindings(fn: JobsFunction): void {
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the esbuild target (node22) and the bundle-load test match it; moving ' +
        'to a newer runtime is a deliberate upgrade of both together.',
    });
  }
}
