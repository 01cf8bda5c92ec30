import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RECONCILE_TASK } from '../../shared/handlers/sweeper-handler.js';
import { queueEncryption, queueSendKeyActions } from './data-key.js';

/** The event the reconciliation rule sends the sweeper (read by shared/handlers/sweeper-handler.ts). */
export const reconcileSchedulesEvent = { task: RECONCILE_TASK } as const;

/**
 * Retries of an undelivered event: the most EventBridge allows, so that the event's age, not a count, ends them
 * (see {@link SweeperRules}).
 */
export const ruleRetryAttempts = 185;

/** Rule names: what EventBridge accepts. */
const ruleNamePattern = /^[.\-_A-Za-z0-9]{1,64}$/;

/** Props of {@link SweeperRules}. */
export interface SweeperRulesProps {
  /** The function both rules invoke. */
  readonly sweeper: IFunction;
  /** Names the rules `<namePrefix>-sweep` and `<namePrefix>-reconcile-schedules`. */
  readonly namePrefix: string;
  /** Between two sweeps (1-60 minutes); also the age at which an undelivered sweep event is given up. */
  readonly sweepInterval: Duration;
  /** Between two reconciliations (1-1440 minutes); also the age at which its undelivered event is given up. */
  readonly reconcileInterval: Duration;
  /**
   * Encrypts the DLQ; EventBridge is then allowed, in the key's policy, to use it for these two rules only.
   * @default SQS-managed encryption
   */
  readonly encryptionKey?: IKey;
}

/**
 * The two EventBridge rules that invoke the sweeper (sweeps, and reconciliation of the schedules) and the DLQ of
 * their target. Each target retries an event it could not deliver to Lambda (throttling, a service error) for at
 * most one interval: by then the next event has been sent, and a sweep or a reconciliation that comes late only
 * repeats what the next one does. An event given up on, or one that cannot be delivered at all (a missing function
 * or permission), goes to the DLQ, with the error in its message attributes; there is nothing to redrive, the
 * message tells why the sweeper did not run. The retry policy covers delivery only: the sweeper's own failures are
 * retried by Lambda's asynchronous invocation and logged, and the next event runs it again.
 */
export class SweeperRules extends Construct {
  /** Invokes the sweeper every sweep interval with EventBridge's scheduled event. */
  public readonly sweepRule: Rule;
  /** Invokes the sweeper every reconciliation interval with {@link reconcileSchedulesEvent}. */
  public readonly reconcileRule: Rule;
  /** Receives the events neither rule could deliver to the sweeper; alarmed on by the stack. */
  public readonly deadLetterQueue: Queue;

  /** @throws Error when `namePrefix` makes a rule name EventBridge rejects. */
  constructor(scope: Construct, id: string, props: SweeperRulesProps) {
    super(scope, id);
    const sweepRuleName = this.ruleName(props.namePrefix, 'sweep');
    const reconcileRuleName = this.ruleName(props.namePrefix, 'reconcile-schedules');

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      // The maximum SQS allows: time to look at why a sweep was missed before the message is gone.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "This queue is a DLQ: that of both rules' Lambda targets (DeadLetterConfig of AWS::Events::Rule), which " +
        'the rule only recognizes for SQS redrive policies and Lambda functions. Nothing consumes it, so it needs ' +
        'no DLQ of its own; its alarm fires on the first message.',
    });
    // The LambdaFunction target adds the DLQ's policy statement for its rule (events.amazonaws.com, SendMessage,
    // aws:SourceArn of that rule), and the rule's permission to invoke the sweeper.
    const target = (interval: Duration, event?: RuleTargetInput) =>
      new LambdaFunction(props.sweeper, {
        event,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: ruleRetryAttempts,
        // Within EventBridge's 60 s to 24 h: the config allows intervals of 1 to 60 and 1 to 1440 minutes.
        maxEventAge: interval,
      });
    this.sweepRule = new Rule(this, 'SweepSchedule', {
      ruleName: sweepRuleName,
      description: 'Runs the Serverless Jobs sweeper',
      schedule: Schedule.rate(props.sweepInterval),
      targets: [target(props.sweepInterval)],
    });
    this.reconcileRule = new Rule(this, 'ReconcileSchedulesSchedule', {
      ruleName: reconcileRuleName,
      description: 'Runs the Serverless Jobs sweeper to reconcile the schedule group with the cron jobs',
      schedule: Schedule.rate(props.reconcileInterval),
      targets: [target(props.reconcileInterval, RuleTargetInput.fromObject(reconcileSchedulesEvent))],
    });

    if (props.encryptionKey) {
      // EventBridge sends to the encrypted DLQ as itself, so only the key policy can let it use the key. The rules
      // are named so that their ARNs are known here: a reference to them would make the key depend on the rules,
      // which depend on the DLQ, which depends on the key.
      const stack = Stack.of(this);
      const ruleArn = (name: string) =>
        stack.formatArn({ service: 'events', resource: 'rule', resourceName: name });
      props.encryptionKey.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowTheSweeperRulesToSendToTheirEncryptedDeadLetterQueue',
          principals: [new ServicePrincipal('events.amazonaws.com')],
          actions: [...queueSendKeyActions],
          resources: ['*'],
          conditions: { ArnEquals: { 'aws:SourceArn': [sweepRuleName, reconcileRuleName].map(ruleArn) } },
        }),
      );
    }
  }

  private ruleName(prefix: string, suffix: string): string {
    const name = `${prefix}-${suffix}`;
    if (!Token.isUnresolved(prefix) && !ruleNamePattern.test(name)) {
      throw new Error(
        `Rule name "${name}" is not valid for EventBridge (1-64 letters, digits, ".", "-" or "_")`,
      );
    }
    return name;
  }
}
