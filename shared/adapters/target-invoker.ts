import type { LookupFunction } from 'node:net';
import { isStateMachineExecutionArn } from '../domain/aws-targets.js';
import type {
  EntityTarget,
  EventBridgeTarget,
  LambdaTarget,
  SqsTarget,
  StepFunctionsTarget,
} from '../domain/entity.js';
import type { ExecutionRequest } from '../domain/execution.js';
import type { TargetNetwork } from '../domain/target-network.js';
import type { StartedWorkState, TargetInvoker, TargetOutcome } from '../ports.js';
import { invokeEchoTarget } from './echo-target.js';
import { invokeHttpTarget } from './http-target.js';

/**
 * What invokes one kind of AWS target (the adapters of shared/adapters/aws/ on AWS); typed structurally so
 * that this module, and every bundle that imports it, needs no AWS SDK client.
 */
export interface AwsTargetAdapter<T> {
  invoke(target: T, request: ExecutionRequest, options: { timeoutMs: number }): Promise<TargetOutcome>;
}

/** What invokes `lambda` targets (`LambdaTargetInvoker` on AWS). */
export type LambdaInvoker = AwsTargetAdapter<LambdaTarget>;

/** What runs `stepfunctions` targets and follows the executions they start (`StepFunctionsTargetInvoker`). */
export interface StepFunctionsInvoker extends AwsTargetAdapter<StepFunctionsTarget> {
  check(executionArn: string, options: { timeoutMs: number }): Promise<StartedWorkState>;
  stop(executionArn: string, reason: string): Promise<void>;
}

/** The adapters of the target kinds that call AWS. */
export interface AwsTargetAdapters {
  lambda?: LambdaInvoker;
  stepFunctions?: StepFunctionsInvoker;
  sqs?: AwsTargetAdapter<SqsTarget>;
  eventBridge?: AwsTargetAdapter<EventBridgeTarget>;
}

export interface TargetInvokerDependencies extends AwsTargetAdapters {
  /**
   * Networks besides public addresses that `http` targets may be reached at: the deployment's
   * `allowedTargetNetworks`. @default [] (public addresses only)
   */
  allowedNetworks?: readonly TargetNetwork[];
  /** Resolves `http` targets' host names (tests inject one instead of DNS). @default dns.lookup */
  lookup?: LookupFunction;
  now?: () => Date;
}

/** The services each AWS kind calls, as the error for a runtime without AWS names them. */
const AWS_SERVICES = {
  lambda: 'Lambda',
  stepfunctions: 'Step Functions',
  sqs: 'SQS',
  eventbridge: 'EventBridge',
} as const;

/**
 * The answer for an AWS kind in a runtime without AWS access: the local runtime started without AWS
 * credentials and a region. Not retryable: nothing changes until the runtime is restarted with them.
 */
export function needsAwsOutcome(type: keyof typeof AWS_SERVICES): TargetOutcome {
  return {
    kind: 'failed',
    error:
      `The ${type} target needs AWS: this runtime has no AWS credentials and region to call ` +
      `${AWS_SERVICES[type]} with. Start it with AWS_REGION and credentials (AWS_PROFILE, or ` +
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) to run it against your account.',
    retryable: false,
    timedOut: false,
  };
}

/** The `TargetInvoker` port: dispatches each invocation to the adapter for its target's type. */
export function createTargetInvoker(dependencies: TargetInvokerDependencies = {}): TargetInvoker {
  const { lambda, stepFunctions, sqs, eventBridge, allowedNetworks, lookup, now } = dependencies;
  return {
    async invoke(target: EntityTarget, request, options) {
      const aws = { timeoutMs: options.timeoutMs };
      switch (target.type) {
        case 'http':
          return invokeHttpTarget(target, request, {
            signingSecret: options.signingSecret,
            timeoutMs: options.timeoutMs,
            allowedNetworks,
            lookup,
            now,
          });
        case 'lambda':
          return lambda ? lambda.invoke(target, request, aws) : needsAwsOutcome('lambda');
        case 'stepfunctions':
          return stepFunctions
            ? stepFunctions.invoke(target, request, aws)
            : needsAwsOutcome('stepfunctions');
        case 'sqs':
          return sqs ? sqs.invoke(target, request, aws) : needsAwsOutcome('sqs');
        case 'eventbridge':
          return eventBridge ? eventBridge.invoke(target, request, aws) : needsAwsOutcome('eventbridge');
        case 'echo':
          return invokeEchoTarget(request);
        default: {
          const unknown: never = target;
          return {
            kind: 'failed',
            error: `Unknown target type ${JSON.stringify((unknown as { type?: unknown }).type)}`,
            retryable: false,
            timedOut: false,
          };
        }
      }
    },

    async check(ref, options) {
      if (!isStateMachineExecutionArn(ref)) {
        return { kind: 'unknown', error: `Nothing in this runtime can follow ${ref}.`, retryable: false };
      }
      if (!stepFunctions) {
        const needs = needsAwsOutcome('stepfunctions') as { error: string };
        return { kind: 'unknown', error: needs.error, retryable: false };
      }
      return stepFunctions.check(ref, options);
    },

    async stop(ref, reason) {
      if (!isStateMachineExecutionArn(ref)) throw new Error(`Nothing in this runtime can stop ${ref}.`);
      if (!stepFunctions) throw new Error((needsAwsOutcome('stepfunctions') as { error: string }).error);
      await stepFunctions.stop(ref, reason);
    },
  };
}
