import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import { workerEnvironment } from '../../shared/config/environments/worker-environment.js';
import { deadLetterAlarm } from './alarm-topic.js';
import { type AwsTargetSettings, awsTargetSettingProblems, grantAwsTargets } from './aws-target-grants.js';
import { queueEncryption, queueSendKeyActions } from './data-key.js';
import { functionEntry, JobsFunction } from './jobs-function.js';
import type { JobsTable } from './jobs-table.js';
import { integerProblem, isLambdaTarget, limits, resourceNamePattern, throwFirst } from './limits.js';
import type { RunEnvironment } from './run-environment.js';

/** Props of {@link WorkerQueue}. */
export interface WorkerQueueProps {
  /** The queue's name as jobs and the deployment settings use it (`default`, `production`, ...). */
  readonly name: string;
  /** Names the deployment in the DLQ alarm's description. */
  readonly deploymentName: string;
  /** The jobs table; the worker gets the stores' access to it. */
  readonly table: JobsTable;
  /** Seals signing secrets; the worker may decrypt with it (it opens them, never seals one). */
  readonly secretsKey: IKey;
  /** The variables every function reads, and how to write them. */
  readonly runEnvironment: RunEnvironment;
  /** Base URL targets call back to (`<base>/executions/{id}/callback`): the control-plane API's. */
  readonly publicBaseUrl: string;
  /**
   * Encrypts the queue and its DLQ; the worker then gets the KMS actions of a consumer and of a producer on it.
   * @default SQS-managed encryption (SSE-SQS), which needs no KMS permission from anyone
   */
  readonly encryptionKey?: IKey;
  /**
   * The worker function's timeout: a synchronous target's longest run. At most 15 minutes.
   * @default Duration.seconds(300)
   */
  readonly timeout?: Duration;
  /**
   * Deliveries of a message before it moves to the DLQ; the worker ends the run as failed on the last (1-1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long after the worker's timeout a received message becomes visible again (see `runDefaults` in
   * shared/config/defaults.ts for why it is short).
   * @default Duration.seconds(60)
   */
  readonly visibilityTimeoutMargin?: Duration;
  /**
   * Lambda functions (names, optionally `:<alias>`, or full ARNs; no wildcards) that `lambda` targets may invoke:
   * the worker may invoke these and nothing else.
   * @default [] (no Lambda target can run)
   */
  readonly lambdaTargets?: readonly string[];
  /**
   * The state machines, queues and event buses that `stepfunctions`, `sqs` and `eventbridge` targets may reach:
   * the worker may call exactly these (see `grantAwsTargets`).
   * @default none of each
   */
  readonly awsTargets?: AwsTargetSettings;
  /**
   * Days the audit entries the worker writes are kept (it records the jobs alerting pauses), as long as
   * execution records (1-3650).
   * @default runDefaults.executionRetentionDays
   */
  readonly executionRetentionDays?: number;
  /**
   * Retention of the worker's log group.
   * @default JobsFunction's (one month)
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing of the worker.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * One worker queue and what runs it: the SQS queue (encrypted, TLS only), its dead-letter queue (14 days) and the
 * alarm on it, and the worker function consuming the queue in batches of 10 with partial batch responses. A
 * construct of the stack's scope `Worker-<name>`. Producers get {@link grantEnqueue} (or RunQueues' grants);
 * the alarm is left for an AlarmTopic to notify.
 */
export class WorkerQueue extends Construct {
  /** The queue's name as jobs use it. */
  public readonly name: string;
  /** Where runs are sent. */
  public readonly queue: Queue;
  /** Receives a message after `maxReceiveCount` deliveries. */
  public readonly deadLetterQueue: Queue;
  /** Fires on the first message in {@link deadLetterQueue}. */
  public readonly deadLetterAlarm: Alarm;
  /** Consumes {@link queue}: one attempt of one execution per message. */
  public readonly worker: JobsFunction;

  /**
   * @throws Error when the name is not a valid queue name, the timeout is over 15 minutes, `maxReceiveCount` is
   *   not an integer from 1 to 1000, or a Lambda target, state machine, queue or event bus is not one a target
   *   can name.
   */
  constructor(scope: Construct, id: string, props: WorkerQueueProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(awsDefaults.workerTimeoutSeconds);
    const maxReceiveCount = props.maxReceiveCount ?? runDefaults.maxReceiveCount;
    const margin =
      props.visibilityTimeoutMargin ?? Duration.seconds(runDefaults.visibilityTimeoutMarginSeconds);
    const lambdaTargets = props.lambdaTargets ?? [];
    const executionRetentionDays = props.executionRetentionDays ?? runDefaults.executionRetentionDays;
    throwFirst('WorkerQueue', [
      resourceNamePattern.test(props.name)
        ? undefined
        : `name ${JSON.stringify(props.name)} must be 1-64 letters, digits, "-" or "_"`,
      integerProblem('timeout (seconds)', timeout.toSeconds(), limits.workerTimeoutSeconds),
      integerProblem('maxReceiveCount', maxReceiveCount, limits.maxReceiveCount),
      integerProblem('executionRetentionDays', executionRetentionDays, limits.executionRetentionDays),
      ...lambdaTargets.map((target) =>
        isLambdaTarget(target)
          ? undefined
          : `lambdaTargets entry ${JSON.stringify(target)} must be a function name or a full function ARN`,
      ),
      ...awsTargetSettingProblems(props.awsTargets ?? {}),
    ]);
    this.name = props.name;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      // The maximum SQS allows: time to read a poison message before it is gone.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      // At least the function timeout (Lambda requires it), plus the margin.
      visibilityTimeout: timeout.plus(margin),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    const { values, json } = props.runEnvironment;
    this.worker = new JobsFunction(this, 'Function', {
      entry: functionEntry('worker'),
      description: `Serverless Jobs worker of queue "${props.name}"`,
      logRetention: props.logRetention,
      timeout,
      tracing: props.tracing,
      environment: workerEnvironment.write(
        {
          ...values,
          secretsKeyArn: props.secretsKey.keyArn,
          publicBaseUrl: props.publicBaseUrl,
          maxReceiveCount,
          executionRetentionDays,
        },
        json,
      ),
    });
    this.worker.addEventSource(
      new SqsEventSource(this.queue, {
        // The handler reports the records that failed; the rest of the batch is deleted, not redelivered.
        reportBatchItemFailures: true,
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(1),
      }),
    );
    props.table.grantStoreAccess(this.worker);
    // Opens signing secrets; never seals one.
    props.secretsKey.grantDecrypt(this.worker);
    if (lambdaTargets.length > 0) {
      // Only the functions the deployment names: an entity cannot make the worker invoke anything else.
      this.worker.addToRolePolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: lambdaTargets.map((target) => this.lambdaArn(target)),
        }),
      );
    }

    // Only the state machines, queues and buses the deployment lists.
    grantAwsTargets(this, this.worker, props.awsTargets ?? {});

    this.deadLetterAlarm = deadLetterAlarm(this, 'DeadLetterAlarm', {
      deadLetterQueue: this.deadLetterQueue,
      description: `Messages in the dead-letter queue of worker queue "${props.name}" (Serverless Jobs ${props.deploymentName})`,
    });
  }

  /**
   * Lets `grantee` send runs to this queue (runs, retries, re-enqueues): the actions of `grantSendMessages`, and
   * on a KMS-encrypted queue the key actions of a producer only, not its kms:Encrypt and kms:ReEncrypt* /
   * kms:GenerateDataKey* wildcards.
   */
  public grantEnqueue(grantee: IGrantable): void {
    this.queue.grants.actions(grantee, ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], {
      keyActions: [...queueSendKeyActions],
    });
  }

  private lambdaArn(target: string): string {
    return target.startsWith('arn:')
      ? target
      : Stack.of(this).formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: target,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  }
}
