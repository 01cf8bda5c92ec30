import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionLimitExceeded,
  InvalidExecutionInput,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { regionalClients } from '../../shared/adapters/aws/aws-target-calls.js';
import { STOP_ERROR, StepFunctionsTargetInvoker } from '../../shared/adapters/aws/step-functions-target.js';
import type { StepFunctionsTarget } from '../../shared/domain/entity.js';
import type { ExecutionRequest } from '../../shared/domain/execution.js';

const sfnMock = mockClient(SFNClient);

afterEach(() => {
  sfnMock.reset();
});

const MACHINE = 'arn:aws:states:eu-central-1:123456789012:stateMachine:orders';
const EXECUTION_ARN = 'arn:aws:states:eu-central-1:123456789012:execution:orders:exec_1';
const target: StepFunctionsTarget = { type: 'stepfunctions', state_machine_arn: MACHINE };

function executionRequest(attempt = 1): ExecutionRequest {
  return {
    execution_id: 'exec_1',
    workflow_id: 'wf_1',
    job_id: 'job_1',
    job_name: 'Nightly',
    entity: { id: 'orders', type: 'workflow', name: 'Orders' },
    trigger_type: 'manual',
    prompt: 'Résumé 🚀',
    system_prompt: null,
    parameters: { a: 1 },
    config: { timeout: 60 },
    metadata: {},
    environment: null,
    attempt,
    deadline_at: '2030-01-01T00:00:00.000Z',
    callback: { url: 'https://jobs.example.com/executions/exec_1/callback', token: 'job_1.secret-token' },
  };
}

/** The request as the state machine gets it: the callback (a secret) left out. */
function inputOf(request: ExecutionRequest): string {
  const { callback: _callback, ...rest } = request;
  return JSON.stringify(rest);
}

/** An invoker whose clients are built per region (recorded), every one of them mocked. */
function invoker() {
  const regions: (string | null)[] = [];
  const sfn = new StepFunctionsTargetInvoker(
    regionalClients((region) => {
      regions.push(region);
      return new SFNClient({ region: region ?? 'eu-west-1', maxAttempts: 1 });
    }),
  );
  return { sfn, regions };
}

const abortSignalOf = (call: { args: unknown[] } | undefined) =>
  (call?.args[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal;

describe('StepFunctionsTargetInvoker: standard workflows', () => {
  it('starts an execution named after the run, with the request without its callback as input, in the machine’s region', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date() });
    const { sfn, regions } = invoker();
    const request = executionRequest();

    // Act
    const outcome = await sfn.invoke(target, request, { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'started', ref: EXECUTION_ARN });
    const calls = sfnMock.commandCalls(StartExecutionCommand);
    expect(calls.map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, name: 'exec_1', input: inputOf(request) },
    ]);
    expect(JSON.parse(calls[0]?.args[0].input.input as string)).not.toHaveProperty('callback');
    expect(abortSignalOf(calls[0])).toBeInstanceOf(AbortSignal);
    expect(regions).toEqual(['eu-central-1']);
  });

  it('takes ExecutionAlreadyExists for this run’s own execution (an earlier attempt’s input) as started', async () => {
    // Prepare: the first attempt started it; this is the second, whose input differs only in `attempt`.
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      stateMachineArn: MACHINE,
      status: 'SUCCEEDED',
      input: inputOf(executionRequest(1)),
      startDate: new Date(),
    });
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(target, executionRequest(2), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'started', ref: EXECUTION_ARN });
    expect(sfnMock.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: EXECUTION_ARN },
    ]);
  });

  it('derives the execution ARN of a version- or alias-qualified machine from its unqualified name', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    sfnMock.on(DescribeExecutionCommand).resolves({ input: inputOf(executionRequest()) });
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(
      { ...target, state_machine_arn: `${MACHINE}:live` },
      executionRequest(),
      {
        timeoutMs: 5_000,
      },
    );

    // Assess
    expect(outcome).toEqual({ kind: 'started', ref: EXECUTION_ARN });
  });

  it('fails without retry when an execution of that name exists with another input', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    sfnMock.on(DescribeExecutionCommand).resolves({ input: '{"someone":"else"}' });
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(target, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: `An execution named "exec_1" of ${MACHINE} already exists with another input; it was not started by this run.`,
      retryable: false,
      timedOut: false,
      ref: EXECUTION_ARN,
    });
  });

  it.each([
    ['too many open executions', true, new ExecutionLimitExceeded({ message: 'limit', $metadata: {} })],
    [
      'throttling (a 400 the service does not model)',
      true,
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'a service fault',
      true,
      new SFNServiceException({
        name: 'InternalFailure',
        $fault: 'server',
        message: 'internal',
        $metadata: { httpStatusCode: 500 },
      }),
    ],
    ['a dropped connection', true, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a missing state machine', false, new StateMachineDoesNotExist({ message: 'gone', $metadata: {} })],
    ['an input it refuses', false, new InvalidExecutionInput({ message: 'too large', $metadata: {} })],
    [
      'denied access',
      false,
      new SFNServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform: states:StartExecution',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
  ])('maps %s at the start to a failure with retryable %s', async (_label, retryable, error) => {
    // Prepare
    sfnMock.on(StartExecutionCommand).rejects(error);
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(target, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable, timedOut: false });
    expect(outcome.kind === 'failed' ? outcome.error : '').toBe(
      `Step Functions StartExecution call failed: ${error.name}: ${error.message}`,
    );
  });

  it('times out a start that does not answer, aborting it (retryable: a repeat finds the same execution)', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).callsFake(() => new Promise(() => undefined));
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(target, executionRequest(), { timeoutMs: 50 });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'Step Functions did not answer within 50 ms.',
      retryable: true,
      timedOut: true,
    });
    expect(abortSignalOf(sfnMock.commandCalls(StartExecutionCommand)[0])?.aborted).toBe(true);
  });
});

describe('StepFunctionsTargetInvoker: express workflows', () => {
  const express: StepFunctionsTarget = { ...target, workflow_type: 'express' };
  const expressArn = 'arn:aws:states:eu-central-1:123456789012:express:orders:exec_1:abc';

  it('runs them synchronously and succeeds with the parsed output and the execution ARN', async () => {
    // Prepare
    sfnMock.on(StartSyncExecutionCommand).resolves({
      executionArn: expressArn,
      status: 'SUCCEEDED',
      output: '{"total":3}',
      startDate: new Date(),
      stopDate: new Date(),
    });
    const { sfn } = invoker();
    const request = executionRequest();

    // Act
    const outcome = await sfn.invoke(express, request, { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { total: 3 }, ref: expressArn });
    expect(sfnMock.commandCalls(StartSyncExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, name: 'exec_1', input: inputOf(request) },
    ]);
    expect(sfnMock.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    ['FAILED', 'The state machine execution failed: States.TaskFailed: boom'],
    ['TIMED_OUT', 'The state machine execution timed out: States.Timeout: boom'],
  ] as const)('fails without retry on %s, quoting the error and cause', async (status, message) => {
    // Prepare
    sfnMock.on(StartSyncExecutionCommand).resolves({
      executionArn: expressArn,
      status,
      error: status === 'FAILED' ? 'States.TaskFailed' : 'States.Timeout',
      cause: 'boom',
      startDate: new Date(),
      stopDate: new Date(),
    });
    const { sfn } = invoker();

    // Act
    const outcome = await sfn.invoke(express, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: message,
      retryable: false,
      timedOut: false,
      ref: expressArn,
    });
  });
});

describe('StepFunctionsTargetInvoker: following and stopping an execution', () => {
  it.each([
    ['RUNNING', { kind: 'running' }],
    ['PENDING_REDRIVE', { kind: 'running' }],
    ['SUCCEEDED', { kind: 'succeeded', output: { shipped: true } }],
    ['FAILED', { kind: 'failed', error: 'The state machine execution failed: Orders.Failed: no stock' }],
    [
      'TIMED_OUT',
      { kind: 'failed', error: 'The state machine execution timed out: States.Timeout: no stock' },
    ],
    [
      'ABORTED',
      { kind: 'failed', error: 'The state machine execution was aborted: Orders.Failed: no stock' },
    ],
  ] as const)('reads %s from DescribeExecution', async (status, expected) => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      status,
      ...(status === 'SUCCEEDED'
        ? { output: '{"shipped":true}' }
        : { error: 'Orders.Failed', cause: 'no stock' }),
      ...(status === 'TIMED_OUT' && { error: 'States.Timeout' }),
    });
    const { sfn, regions } = invoker();

    // Act
    const state = await sfn.check(EXECUTION_ARN, { timeoutMs: 5_000 });

    // Assess
    expect(state).toEqual(expected);
    expect(sfnMock.commandCalls(DescribeExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: EXECUTION_ARN },
    ]);
    expect(regions).toEqual(['eu-central-1']);
  });

  it.each([
    [
      'throttling',
      true,
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    ['a missing execution', false, new ExecutionDoesNotExist({ message: 'gone', $metadata: {} })],
  ])('reports %s as unknown, retryable %s', async (_label, retryable, error) => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).rejects(error);
    const { sfn } = invoker();

    // Act
    const state = await sfn.check(EXECUTION_ARN, { timeoutMs: 5_000 });

    // Assess
    expect(state).toEqual({
      kind: 'unknown',
      error: `Step Functions DescribeExecution failed: ${error.name}: ${error.message}`,
      retryable,
    });
  });

  it('stops an execution with StopExecution, giving the reason as its cause', async () => {
    // Prepare
    sfnMock.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    const { sfn } = invoker();

    // Act
    await sfn.stop(EXECUTION_ARN, 'No result within the 60 s timeout.');

    // Assess
    expect(sfnMock.commandCalls(StopExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: EXECUTION_ARN, error: STOP_ERROR, cause: 'No result within the 60 s timeout.' },
    ]);
  });
});
