import { Duration } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { awsDefaults, runDefaults } from '../../shared/config/defaults.js';
import { sweeperEnvironment } from '../../shared/config/environments/sweeper-environment.js';
import { deadLetterAlarm } from './alarm-topic.js';
import type { CronScheduling } from './cron-scheduling.js';
import { functionEntry, JobsFunction } from './jobs-function.js';
import type { JobsTable } from './jobs-table.js';
import { integerProblem, limits, throwFirst } from './limits.js';
import type { RunEnvironment } from './run-environment.js';
import type { RunQueues } from './run-queues.js';
import { SweeperRules } from './sweeper-rules.js';

/** Props of {@link Sweeper}. */
export interface SweeperProps {
  /** Names the rules `<namePrefix>-sweep` and `<namePrefix>-reconcile-schedules` (the stack's name). */
  readonly namePrefix: string;
  /** Names the deployment in the DLQ alarm's description. */
  readonly deploymentName: string;
  /** The jobs table; the sweeper gets the stores' access to it. */
  readonly table: JobsTable;
  /** The worker queues stale queued runs are sent to again. */
  readonly runQueues: RunQueues;
  /** Seals notification channels' signing secrets: the sweeper opens them to sign the notifications it sends. */
  readonly secretsKey: IKey;
  /** The schedules the reconciliation reads, lists and repairs. */
  readonly scheduling: CronScheduling;
  /** The variables every function reads, and how to write them. */
  readonly runEnvironment: RunEnvironment;
  /**
   * Minutes between two sweeps (1-60).
   * @default 1
   */
  readonly sweepIntervalMinutes?: number;
  /**
   * Minutes between two reconciliations of the schedule group with the cron jobs (1-1440).
   * @default 15
   */
  readonly reconcileIntervalMinutes?: number;
  /**
   * Days the execution records of any run the sweeper starts are kept.
   * @default 90
   */
  readonly executionRetentionDays?: number;
  /**
   * Encrypts the rules' DLQ (see {@link SweeperRules}).
   * @default SQS-managed encryption
   */
  readonly encryptionKey?: IKey;
  /**
   * Retention of the sweeper's log group.
   * @default JobsFunction's (one month)
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray active tracing of the sweeper.
   * @default false
   */
  readonly tracing?: boolean;
}

/**
 * The sweeper: a function that times out overdue runs and re-enqueues stale queued ones on one rule, and
 * reconciles the schedule group with the cron jobs on another ({@link SweeperRules}), with the rules' DLQ and the
 * alarm on it. Of all functions, it alone may read and list schedules.
 */
export class Sweeper extends Construct {
  /** Sweeps runs, or reconciles schedules, as its event says. */
  public readonly sweeperFunction: JobsFunction;
  /** The sweep and reconciliation rules, and their DLQ. */
  public readonly rules: SweeperRules;
  /** Fires on the first message in the rules' DLQ. */
  public readonly deadLetterAlarm: Alarm;

  /** @throws Error when an interval or the retention is out of range, or a rule name invalid (SweeperRules). */
  constructor(scope: Construct, id: string, props: SweeperProps) {
    super(scope, id);
    const sweepIntervalMinutes = props.sweepIntervalMinutes ?? awsDefaults.sweepIntervalMinutes;
    const reconcileIntervalMinutes =
      props.reconcileIntervalMinutes ?? awsDefaults.scheduleReconcileIntervalMinutes;
    const executionRetentionDays = props.executionRetentionDays ?? runDefaults.executionRetentionDays;
    throwFirst('Sweeper', [
      integerProblem('sweepIntervalMinutes', sweepIntervalMinutes, limits.sweepIntervalMinutes),
      integerProblem(
        'reconcileIntervalMinutes',
        reconcileIntervalMinutes,
        limits.scheduleReconcileIntervalMinutes,
      ),
      integerProblem('executionRetentionDays', executionRetentionDays, limits.executionRetentionDays),
    ]);

    const { values, json } = props.runEnvironment;
    this.sweeperFunction = new JobsFunction(this, 'SweeperFunction', {
      entry: functionEntry('sweeper'),
      description:
        'Serverless Jobs sweeper: times out overdue runs, re-enqueues stale queued runs, reconciles schedules',
      logRetention: props.logRetention,
      // A reconciliation lists the group and then reads every schedule (GetSchedule, a few at a time, under the
      // Scheduler's per-account quota of tens of calls per second) before fixing the drifted ones: thousands of
      // cron jobs take minutes. A sweep pages through due executions and ends far sooner. Both are idempotent,
      // so a run overlapping the next is harmless.
      timeout: Duration.seconds(300),
      tracing: props.tracing,
      environment: sweeperEnvironment.write(
        {
          ...values,
          executionRetentionDays,
          secretsKeyArn: props.secretsKey.keyArn,
          ...props.scheduling.schedulingEnvironment,
        },
        json,
      ),
    });
    props.table.grantStoreAccess(this.sweeperFunction);
    props.runQueues.grantEnqueue(this.sweeperFunction);
    props.scheduling.grantManageSchedules(this.sweeperFunction, { reconcile: true });
    // Opens channels' signing secrets (sealed by the API); never seals one.
    props.secretsKey.grant(this.sweeperFunction, 'kms:Decrypt');

    this.rules = new SweeperRules(this, 'SweeperRules', {
      sweeper: this.sweeperFunction,
      namePrefix: props.namePrefix,
      sweepInterval: Duration.minutes(sweepIntervalMinutes),
      reconcileInterval: Duration.minutes(reconcileIntervalMinutes),
      encryptionKey: props.encryptionKey,
    });
    this.deadLetterAlarm = deadLetterAlarm(this, 'SweeperDeadLetterAlarm', {
      deadLetterQueue: this.rules.deadLetterQueue,
      description:
        'Sweep or reconciliation events EventBridge could not deliver to the sweeper within their interval, in ' +
        `the sweeper dead-letter queue (Serverless Jobs ${props.deploymentName})`,
    });
  }
}
