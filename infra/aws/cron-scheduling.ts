import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { runDefaults } from '../../shared/config/defaults.js';
import type { EnvironmentValues, schedulingVariables } from '../../shared/config/environment.js';
import { dispatchEnvironment } from '../../shared/config/environments/dispatch-environment.js';
import { deadLetterAlarm } from './alarm-topic.js';
import { queueEncryption, queueSendKeyActions } from './data-key.js';
import { functionEntry, JobsFunction } from './jobs-function.js';
import type { JobsTable } from './jobs-table.js';
import { integerProblem, limits, throwFirst } from './limits.js';
import { anyResourceReason, nagString } from './nag.js';
import type { RunEnvironment } from './run-environment.js';
import type { RunQueues } from './run-queues.js';

/**
 * Scheduler actions on the schedules of the group: what EventBridgeScheduler (shared/adapters/aws/
 * eventbridge-scheduler.ts) calls to keep a cron job's schedules in step with it. put() updates, or creates when
 * absent; remove() deletes. Its list() (reconciliation, the sweeper's) also reads each schedule, and lists the
 * group: see {@link scheduleListActions}.
 */
const scheduleWriteActions = [
  'scheduler:CreateSchedule',
  'scheduler:DeleteSchedule',
  'scheduler:UpdateSchedule',
];

/**
 * ListSchedules has no resource type in the Service Authorization Reference, so it can only be allowed on "*";
 * the adapter always passes its own GroupName.
 */
const scheduleListActions = ['scheduler:ListSchedules'];

/** Schedule group names: what EventBridge Scheduler accepts. */
const scheduleGroupNamePattern = /^[0-9a-zA-Z\-_.]{1,64}$/;

/** Props of {@link CronScheduling}. */
export interface CronSchedulingProps {
  /** Name of the schedule group (the stack's name): 1-64 letters, digits, "-", "_" or ".". */
  readonly groupName: string;
  /** Names the deployment in descriptions. */
  readonly deploymentName: string;
  /** The jobs table; dispatch reads a job and writes its run's items. */
  readonly table: JobsTable;
  /** The worker queues dispatch sends runs to. */
  readonly runQueues: RunQueues;
  /** The variables every function reads, and how to write them. */
  readonly runEnvironment: RunEnvironment;
  /**
   * Days the execution records of the runs dispatch starts are kept.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * Encrypts the scheduler DLQ; the scheduler role and dispatch then get a producer's KMS actions on it.
   * @default SQS-managed encryption
   */
  readonly encryptionKey?: IKey;
  /**
   * Retention of dispatch's log group.
   * @default JobsFunction's (one month)
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing of dispatch.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * Cron: the EventBridge Scheduler group that holds one schedule per cron expression of each job (written at run
 * time by the API and the sweeper, which get {@link grantManageSchedules}), the role the Scheduler assumes for
 * them, the dispatch function every schedule invokes, and the scheduler DLQ with its alarm. EventBridge Scheduler
 * invokes dispatch asynchronously, so a fire dispatch throws on is retried by Lambda (twice by default) and then
 * sent to the scheduler DLQ, its function DLQ; the Scheduler's own retry policy and DLQ cover only delivery
 * (throttling, a missing function). Starting a run is deduplicated on the job and the fire time, so retries never
 * run a fire twice.
 */
export class CronScheduling extends Construct {
  /** Holds the schedules of the cron jobs (`<jobId>-<index>`), and nothing else. */
  public readonly scheduleGroup: ScheduleGroup;
  /** Assumed by EventBridge Scheduler for the group's schedules: invokes dispatch, sends to the DLQ. */
  public readonly schedulerRole: Role;
  /** Starts the run of one cron fire; the target of every schedule of the group. */
  public readonly dispatchFunction: JobsFunction;
  /**
   * Receives the fires the Scheduler could not deliver to dispatch, and those dispatch failed on after Lambda's
   * own retries (it is dispatch's function DLQ too).
   */
  public readonly deadLetterQueue: Queue;
  /** Fires on the first message in {@link deadLetterQueue}. */
  public readonly deadLetterAlarm: Alarm;

  /**
   * @throws Error when the group name is not one EventBridge Scheduler accepts, or the retention is not an integer
   *   from 1 to 3650 days.
   */
  constructor(scope: Construct, id: string, props: CronSchedulingProps) {
    super(scope, id);
    const executionRetentionDays = props.executionRetentionDays ?? runDefaults.executionRetentionDays;
    throwFirst('CronScheduling', [
      Token.isUnresolved(props.groupName) || scheduleGroupNamePattern.test(props.groupName)
        ? undefined
        : `"${props.groupName}" is not a valid schedule group name (1-64 letters, digits, "-", "_" or ".")`,
      integerProblem('executionRetentionDays', executionRetentionDays, limits.executionRetentionDays),
    ]);

    // Encrypted like the worker queues: the scheduler role and dispatch get a producer's KMS actions on it.
    this.deadLetterQueue = new Queue(this, 'SchedulerDeadLetterQueue', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      // The maximum SQS allows: time to look at a lost fire before it is gone.
      retentionPeriod: Duration.days(14),
    });
    this.scheduleGroup = new ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: props.groupName,
      // Deleting the group deletes its schedules, which is right: they are derived from the cron jobs of the
      // table (the reconciliation rebuilds them) and target this stack's dispatch function and role. A
      // retained group would keep firing into deleted resources, and block redeploying the stack (same name).
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const { values, json } = props.runEnvironment;
    this.dispatchFunction = new JobsFunction(this, 'DispatchFunction', {
      entry: functionEntry('dispatch'),
      description: 'Serverless Jobs dispatch: starts the run of a cron fire (EventBridge Scheduler target)',
      logRetention: props.logRetention,
      // Reads the job and its entity and writes a few items, like the webhook function.
      memorySize: 256,
      // Nobody waits on an asynchronous invocation: room for the SDK's retries of throttled calls.
      timeout: Duration.seconds(30),
      tracing: props.tracing,
      // Adds sqs:SendMessage on this queue to the function's role, which Lambda sends with (KMS actions below).
      deadLetterQueue: this.deadLetterQueue,
      environment: dispatchEnvironment.write({ ...values, executionRetentionDays }, json),
    });
    // RunService.dispatchCron: jobs.get and entities.get/getDefault (GetItem), executions.start (a transaction of
    // Put/Update items; GetItem of the dedupe marker or lock, DeleteItem of a stale lock). Never lists anything.
    props.table.grantItemAccess(this.dispatchFunction);
    props.runQueues.grantEnqueue(this.dispatchFunction);
    this.grantQueueKey(this.dispatchFunction);

    // Its trust policy admits the Scheduler only on behalf of this group in this account (the confused-deputy
    // guard AWS documents: aws:SourceArn is the schedule group's ARN, never a schedule's).
    this.schedulerRole = new Role(this, 'SchedulerRole', {
      description: `EventBridge Scheduler: invokes the dispatch function for the cron jobs (${props.deploymentName})`,
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnEquals: { 'aws:SourceArn': this.scheduleGroup.scheduleGroupArn },
        },
      }),
    });
    // The exact (unqualified) function ARN the schedules target; no version or alias.
    this.schedulerRole.addToPolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.dispatchFunction.functionArn],
      }),
    );
    // The Scheduler sends undeliverable fires to the DLQ with this role, so the role is the producer SQS checks.
    this.schedulerRole.addToPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );
    this.grantQueueKey(this.schedulerRole);

    this.deadLetterAlarm = deadLetterAlarm(this, 'SchedulerDeadLetterAlarm', {
      deadLetterQueue: this.deadLetterQueue,
      description:
        'Cron fires that could not be delivered to the dispatch function or that it failed on, in the ' +
        `scheduler dead-letter queue (Serverless Jobs ${props.deploymentName})`,
    });
  }

  /** What EventBridgeScheduler needs to write schedules into this group (`schedulingVariables`). */
  public get schedulingEnvironment(): EnvironmentValues<typeof schedulingVariables> {
    return {
      scheduleGroupName: this.scheduleGroup.scheduleGroupName,
      dispatchFunctionArn: this.dispatchFunction.functionArn,
      schedulerRoleArn: this.schedulerRole.roleArn,
      schedulerDeadLetterArn: this.deadLetterQueue.queueArn,
    };
  }

  /**
   * Lets `grantee` write the schedules of the group and hand them the scheduler role (PassRole, to the Scheduler
   * only). With `reconcile`, also read them and list the group, as the reconciliation does.
   */
  public grantManageSchedules(grantee: IGrantable, options: { readonly reconcile?: boolean } = {}): void {
    const reconcile = options.reconcile ?? false;
    const principal = grantee.grantPrincipal;
    const schedulesArn = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
    });
    const actions = reconcile ? [...scheduleWriteActions, 'scheduler:GetSchedule'] : scheduleWriteActions;
    principal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...actions].sort(), resources: [schedulesArn] }),
    );
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    if (reconcile) {
      principal.addToPrincipalPolicy(new PolicyStatement({ actions: scheduleListActions, resources: ['*'] }));
    }
    if (!Construct.isConstruct(principal)) return;
    // The findings name the resources as cdk-nag renders them; acknowledge exactly those, nothing broader.
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagString(this, schedulesArn)}]`,
      reason:
        'Schedule names are job ids, created at run time: "<group>/*" covers exactly the schedules of this ' +
        "stack's own group (a schedule ARN is schedule/<group>/<name>), which holds the cron jobs' schedules only.",
    });
    if (reconcile) {
      Validations.of(principal).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: anyResourceReason,
      });
    }
  }

  /** Lets `grantee` produce to the DLQ if it is under a KMS key: the key actions only, SendMessage is granted apart. */
  private grantQueueKey(grantee: IGrantable): void {
    this.deadLetterQueue.encryptionMasterKey?.grant(grantee, ...queueSendKeyActions);
  }
}
