import { isDeepStrictEqual } from 'node:util';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ExecutionAlreadyExists,
  ExecutionLimitExceeded,
  KmsThrottlingException,
  type SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { executionArnOf, regionOfStatesArn } from '../../domain/aws-targets.js';
import type { StepFunctionsTarget } from '../../domain/entity.js';
import type { ExecutionRequest } from '../../domain/execution.js';
import type { StartedWorkState, TargetOutcome } from '../../ports.js';
import { snippet } from '../http-target.js';
import {
  callWithin,
  describeError,
  failedCall,
  isRetryableAwsError,
  type RegionalClients,
  type RetryableError,
  withoutCallback,
} from './aws-target-calls.js';

const SERVICE = 'Step Functions';

/** Start errors another attempt may get past: too many open executions, KMS throttling. */
const retryableStartError: RetryableError = (error) =>
  error instanceof ExecutionLimitExceeded || error instanceof KmsThrottlingException;

/** The `error` StopExecution records on an execution the service stops (at most 256 characters). */
export const STOP_ERROR = 'ServerlessJobs.RunEnded';

function parseOutput(text: string | undefined): unknown {
  if (text === undefined || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describeFailure(verb: string, error: string | undefined, cause: string | undefined): string {
  const detail = [error, cause].filter((part) => part !== undefined && part !== '').join(': ');
  return snippet(`The state machine execution ${verb}${detail ? `: ${detail}` : ''}`);
}

/** The request as the run's every attempt sends it: `attempt` aside, an earlier attempt's input is the same. */
function sameRun(existingInput: string | undefined, input: string): boolean {
  if (existingInput === undefined) return false;
  try {
    const { attempt: _existing, ...existing } = JSON.parse(existingInput) as Record<string, unknown>;
    const { attempt: _ours, ...ours } = JSON.parse(input) as Record<string, unknown>;
    return isDeepStrictEqual(existing, ours);
  } catch {
    return false;
  }
}

/**
 * Runs `stepfunctions` targets. A standard workflow is started with `StartExecution`, the execution named
 * after the run's execution id and given the execution request (without `callback`) as input, and the run
 * waits on it: the worker checks on it with {@link check} until it ends, and stops it with {@link stop}
 * when the run times out or is cancelled. Naming it after the run makes a repeated start idempotent: Step
 * Functions answers a repeat with the same input with the first execution, and a repeat of a closed one (or
 * a later attempt's, whose input differs only in `attempt`) with `ExecutionAlreadyExists`, which is taken as
 * that execution after checking its input is this run's. So a run starts one execution, whatever its
 * retries: a state machine that fails fails the run (retries of the work belong in the state machine's own
 * `Retry`), while a start that did not happen (throttling, limits, a network error) is retried.
 *
 * An express workflow (`workflow_type: "express"`) is run with `StartSyncExecution`, whose answer ends the
 * run. Express executions cannot be stopped: one whose run times out runs on to its own timeout.
 */
export class StepFunctionsTargetInvoker {
  constructor(private readonly clients: RegionalClients<SFNClient>) {}

  async invoke(
    target: StepFunctionsTarget,
    request: ExecutionRequest,
    options: { timeoutMs: number },
  ): Promise<TargetOutcome> {
    const input = JSON.stringify(withoutCallback(request));
    const client = this.clients(regionOfStatesArn(target.state_machine_arn));
    const start = {
      stateMachineArn: target.state_machine_arn,
      name: request.execution_id,
      input,
    };
    if (target.workflow_type === 'express') return this.runExpress(client, start, options.timeoutMs);
    try {
      const started = await callWithin(SERVICE, options.timeoutMs, (abortSignal) =>
        client.send(new StartExecutionCommand(start), { abortSignal }),
      );
      return { kind: 'started', ref: started.executionArn as string };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) return this.attach(client, start, options.timeoutMs);
      return failedCall(`${SERVICE} StartExecution`, error, retryableStartError);
    }
  }

  /** The execution this run already started (an earlier attempt's, or this one's, repeated). */
  private async attach(
    client: SFNClient,
    start: { stateMachineArn: string; name: string; input: string },
    timeoutMs: number,
  ): Promise<TargetOutcome> {
    const executionArn = executionArnOf(start.stateMachineArn, start.name) as string;
    let existing: DescribeExecutionCommandOutput;
    try {
      existing = await callWithin(SERVICE, timeoutMs, (abortSignal) =>
        client.send(new DescribeExecutionCommand({ executionArn }), { abortSignal }),
      );
    } catch (error) {
      return failedCall(`${SERVICE} DescribeExecution`, error);
    }
    if (sameRun(existing.input, start.input)) return { kind: 'started', ref: executionArn };
    return {
      kind: 'failed',
      error: `An execution named "${start.name}" of ${start.stateMachineArn} already exists with another input; it was not started by this run.`,
      retryable: false,
      timedOut: false,
      ref: executionArn,
    };
  }

  private async runExpress(
    client: SFNClient,
    start: { stateMachineArn: string; name: string; input: string },
    timeoutMs: number,
  ): Promise<TargetOutcome> {
    try {
      const result = await callWithin(SERVICE, timeoutMs, (abortSignal) =>
        client.send(new StartSyncExecutionCommand(start), { abortSignal }),
      );
      const ref = result.executionArn as string;
      if (result.status === 'SUCCEEDED')
        return { kind: 'succeeded', output: parseOutput(result.output), ref };
      const verb = result.status === 'TIMED_OUT' ? 'timed out' : 'failed';
      return {
        kind: 'failed',
        error: describeFailure(verb, result.error, result.cause),
        retryable: false,
        timedOut: false,
        ref,
      };
    } catch (error) {
      return failedCall(`${SERVICE} StartSyncExecution`, error, retryableStartError);
    }
  }

  /** How the execution `executionArn` stands (DescribeExecution). */
  async check(executionArn: string, options: { timeoutMs: number }): Promise<StartedWorkState> {
    const client = this.clients(regionOfStatesArn(executionArn));
    let execution: DescribeExecutionCommandOutput;
    try {
      execution = await callWithin(SERVICE, options.timeoutMs, (abortSignal) =>
        client.send(new DescribeExecutionCommand({ executionArn }), { abortSignal }),
      );
    } catch (error) {
      return {
        kind: 'unknown',
        error: snippet(`${SERVICE} DescribeExecution failed: ${describeError(error)}`),
        retryable: isRetryableAwsError(error),
      };
    }
    switch (execution.status) {
      case 'SUCCEEDED':
        return { kind: 'succeeded', output: parseOutput(execution.output) };
      case 'FAILED':
        return { kind: 'failed', error: describeFailure('failed', execution.error, execution.cause) };
      case 'TIMED_OUT':
        return { kind: 'failed', error: describeFailure('timed out', execution.error, execution.cause) };
      case 'ABORTED':
        return { kind: 'failed', error: describeFailure('was aborted', execution.error, execution.cause) };
      default:
        // RUNNING, and PENDING_REDRIVE: a failed execution being redriven runs on.
        return { kind: 'running' };
    }
  }

  /**
   * Stops the execution (StopExecution), recording `reason` as its cause.
   * @throws the API's error when the call fails
   */
  async stop(executionArn: string, reason: string): Promise<void> {
    const client = this.clients(regionOfStatesArn(executionArn));
    await client.send(
      new StopExecutionCommand({ executionArn, error: STOP_ERROR, cause: reason.slice(0, 32_768) }),
    );
  }
}
