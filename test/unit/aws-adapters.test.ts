import {
  DecryptCommand,
  EncryptCommand,
  InvalidCiphertextException,
  KMSClient,
  KMSInternalException,
} from '@aws-sdk/client-kms';
import {
  InvalidParameterValueException,
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  LambdaServiceException,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { KmsSecretBox } from '../../shared/adapters/aws/kms-secret-box.js';
import { LambdaTargetInvoker } from '../../shared/adapters/aws/lambda-target.js';
import { queueUrlOfArn, SqsRunQueue } from '../../shared/adapters/aws/sqs-run-queue.js';
import { SecretBoxError } from '../../shared/adapters/local-secret-box.js';
import { UnknownQueueError } from '../../shared/adapters/run-queue.js';
import type { ExecutionRequest } from '../../shared/domain/execution.js';

const kmsMock = mockClient(KMSClient);
const lambdaMock = mockClient(LambdaClient);
const sqsMock = mockClient(SQSClient);

afterEach(() => {
  kmsMock.reset();
  lambdaMock.reset();
  sqsMock.reset();
});

const KEY_ID = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CONTEXT = { entity: 'agent-1' };

function payload(value: unknown): InvokeCommandOutput['Payload'] {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return new TextEncoder().encode(text) as InvokeCommandOutput['Payload'];
}

function executionRequest(): ExecutionRequest {
  return {
    execution_id: 'exec_1',
    workflow_id: 'wf_1',
    job_id: 'job_1',
    job_name: 'Nightly',
    entity: { id: 'agent-1', type: 'agent', name: 'Agent' },
    trigger_type: 'manual',
    prompt: 'Résumé 🚀',
    system_prompt: null,
    parameters: { a: 1 },
    config: { timeout: 60 },
    metadata: {},
    environment: { name: 'staging', variables: { REGION: 'eu-west-1' } },
    attempt: 2,
    deadline_at: '2030-01-01T00:00:00.000Z',
    callback: { url: 'https://jobs.example.com/executions/exec_1/callback', token: 'cbt_token' },
  };
}

describe('KmsSecretBox', () => {
  it('encrypts with the key and the context as encryption context, and prefixes the blob', async () => {
    // Prepare
    const blob = Uint8Array.from([1, 2, 3, 250, 251, 252]);
    kmsMock.on(EncryptCommand).resolves({ CiphertextBlob: blob, KeyId: KEY_ID });
    const box = new KmsSecretBox(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    // Act
    const sealed = await box.seal('whsec_clé', CONTEXT);

    // Assess
    expect(sealed).toBe(`kms1.${Buffer.from(blob).toString('base64')}`);
    const calls = kmsMock.commandCalls(EncryptCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.KeyId).toBe(KEY_ID);
    expect(input?.EncryptionContext).toEqual(CONTEXT);
    expect(Buffer.from(input?.Plaintext ?? new Uint8Array()).toString('utf8')).toBe('whsec_clé');
    expect(Object.keys(input ?? {}).sort()).toEqual(['EncryptionContext', 'KeyId', 'Plaintext']);
  });

  it('decrypts the blob with the same key and encryption context', async () => {
    // Prepare
    const blob = Uint8Array.from([9, 8, 7, 6, 5]);
    kmsMock.on(DecryptCommand).resolves({ Plaintext: new TextEncoder().encode('whsec_clé'), KeyId: KEY_ID });
    const box = new KmsSecretBox(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    // Act
    const opened = await box.open(`kms1.${Buffer.from(blob).toString('base64')}`, CONTEXT);

    // Assess
    expect(opened).toBe('whsec_clé');
    const calls = kmsMock.commandCalls(DecryptCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(Buffer.from(input?.CiphertextBlob ?? new Uint8Array()).equals(Buffer.from(blob))).toBe(true);
    expect(input?.EncryptionContext).toEqual(CONTEXT);
    expect(input?.KeyId).toBe(KEY_ID);
  });

  it('turns a ciphertext KMS refuses (wrong context, altered) into SecretBoxError', async () => {
    // Prepare
    kmsMock
      .on(DecryptCommand)
      .rejects(new InvalidCiphertextException({ message: 'refused', $metadata: { httpStatusCode: 400 } }));
    const box = new KmsSecretBox(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    // Act
    const opening = box.open('kms1.AQID', { entity: 'agent-2' });

    // Assess
    await expect(opening).rejects.toBeInstanceOf(SecretBoxError);
  });

  it('passes transient KMS errors on unchanged', async () => {
    // Prepare
    const failure = new KMSInternalException({ message: 'internal', $metadata: { httpStatusCode: 500 } });
    kmsMock.on(DecryptCommand).rejects(failure);
    const box = new KmsSecretBox(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    // Act
    const opening = box.open('kms1.AQID', CONTEXT);

    // Assess
    await expect(opening).rejects.toBe(failure);
  });

  it.each([
    ['no prefix', 'AQID'],
    ['a local value', 'v1.AAAA.AAAA.AAAA'],
    ['invalid base64', 'kms1.***'],
    ['an empty blob', 'kms1.'],
  ])('refuses a sealed value with %s without calling KMS', async (_label, sealed) => {
    // Prepare
    const box = new KmsSecretBox(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    // Act
    const opening = box.open(sealed, CONTEXT);

    // Assess
    await expect(opening).rejects.toBeInstanceOf(SecretBoxError);
    expect(kmsMock.commandCalls(DecryptCommand)).toHaveLength(0);
  });
});

describe('LambdaTargetInvoker', () => {
  const target = { type: 'lambda', function_name: 'agent-fn:live' } as const;

  it('invokes the function synchronously with the whole request as the UTF-8 JSON payload', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ summary: 'ok' }) });
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));
    const request = executionRequest();

    // Act
    const outcome = await invoker.invoke(target, request, { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: { summary: 'ok' } });
    const calls = lambdaMock.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input?.FunctionName).toBe('agent-fn:live');
    expect(input?.InvocationType).toBe('RequestResponse');
    const sent = new TextDecoder().decode(input?.Payload as Uint8Array);
    expect(sent).toBe(JSON.stringify(request));
    expect(JSON.parse(sent)).toEqual(request);
    const options = (calls[0]?.args as unknown[] | undefined)?.[1] as { abortSignal?: unknown } | undefined;
    expect(options?.abortSignal).toBeInstanceOf(AbortSignal);
  });

  it.each([
    ['text', 'plain words', 'plain words'],
    ['an empty payload', '', null],
    ['JSON null', 'null', null],
    ['a JSON string', '"done"', 'done'],
  ])('maps a result that is %s to its output', async (_label, text, expected) => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(text) });
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));

    // Act
    const outcome = await invoker.invoke(target, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'succeeded', output: expected });
  });

  it('maps a { statusCode: 202 } result to accepted', async () => {
    // Prepare
    lambdaMock
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ statusCode: 202, body: '' }) });
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));

    // Act
    const outcome = await invoker.invoke(target, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toEqual({ kind: 'accepted' });
  });

  it.each([
    ['Handled', { errorType: 'ValidationError', errorMessage: 'bad input' }, 'ValidationError: bad input'],
    [
      'Unhandled',
      { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' },
      'Sandbox.Timedout: Task timed out after 3.00 seconds',
    ],
  ])(
    'maps FunctionError %s to a retryable failure quoting the error',
    async (functionError, body, quoted) => {
      // Prepare
      lambdaMock
        .on(InvokeCommand)
        .resolves({ StatusCode: 200, FunctionError: functionError, Payload: payload(body) });
      const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));

      // Act
      const outcome = await invoker.invoke(target, executionRequest(), { timeoutMs: 5_000 });

      // Assess
      expect(outcome).toEqual({
        kind: 'failed',
        error: `Lambda function error (${functionError}): ${quoted}`,
        retryable: true,
        timedOut: false,
      });
    },
  );

  it.each([
    [
      'throttling',
      true,
      new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } }),
    ],
    [
      'a Lambda service fault',
      true,
      new ServiceException({ message: 'internal', $metadata: { httpStatusCode: 500 } }),
    ],
    ['a dropped connection', true, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    [
      'a missing function',
      false,
      new ResourceNotFoundException({ message: 'Function not found', $metadata: { httpStatusCode: 404 } }),
    ],
    [
      'denied access',
      false,
      new LambdaServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        message: 'not authorized to perform: lambda:InvokeFunction',
        $metadata: { httpStatusCode: 403 },
      }),
    ],
    [
      'an invalid parameter',
      false,
      new InvalidParameterValueException({ message: 'bad', $metadata: { httpStatusCode: 400 } }),
    ],
  ])('maps %s to a failure with retryable %s', async (_label, retryable, error) => {
    // Prepare
    lambdaMock.on(InvokeCommand).rejects(error);
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1', maxAttempts: 1 }));

    // Act
    const outcome = await invoker.invoke(target, executionRequest(), { timeoutMs: 5_000 });

    // Assess
    expect(outcome).toMatchObject({ kind: 'failed', retryable, timedOut: false });
    expect(outcome.kind === 'failed' ? outcome.error : '').toContain(error.message);
  });

  it('times out an invocation that does not answer in time, and aborts the request', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).callsFake(() => new Promise(() => undefined));
    const invoker = new LambdaTargetInvoker(new LambdaClient({ region: 'eu-west-1' }));

    // Act
    const outcome = await invoker.invoke(target, executionRequest(), { timeoutMs: 50 });

    // Assess
    expect(outcome).toEqual({
      kind: 'failed',
      error: 'The Lambda function did not answer within 50 ms.',
      retryable: true,
      timedOut: true,
    });
    const options = (lambdaMock.commandCalls(InvokeCommand)[0]?.args as unknown[] | undefined)?.[1] as
      | { abortSignal?: AbortSignal }
      | undefined;
    expect(options?.abortSignal?.aborted).toBe(true);
  });
});

describe('SqsRunQueue.delay', () => {
  it('changes the visibility of the received message on the queue its event names', async () => {
    // Prepare
    sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
    const queue = new SqsRunQueue(new SQSClient({ region: 'eu-west-1' }), {});

    // Act
    await queue.delay(
      {
        eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:ServerlessJobs-dev-Worker-abc',
        receiptHandle: 'rh-1',
      },
      41.2,
    );
    await queue.delay(
      { eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:q', receiptHandle: 'rh-2' },
      99_999,
    );

    // Assess
    expect(sqsMock.commandCalls(ChangeMessageVisibilityCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ServerlessJobs-dev-Worker-abc',
        ReceiptHandle: 'rh-1',
        VisibilityTimeout: 42,
      },
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q',
        ReceiptHandle: 'rh-2',
        VisibilityTimeout: 43_200,
      },
    ]);
  });

  it('maps queue ARNs of other partitions to their endpoints and refuses anything else', () => {
    expect(queueUrlOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q',
    );
    expect(() => queueUrlOfArn('arn:aws:sns:eu-west-1:123456789012:q')).toThrow('Not an SQS queue ARN');
  });
});

describe('SqsRunQueue', () => {
  const queueUrls = {
    default: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-default',
    security: 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-security',
  };
  const message = { job_id: 'job_1', execution_id: 'exec_1', attempt: 3 };

  it('sends the message as JSON to the named queue with no delay by default', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const queue = new SqsRunQueue(new SQSClient({ region: 'eu-west-1' }), queueUrls);

    // Act
    await queue.send('security', message);

    // Assess
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      QueueUrl: queueUrls.security,
      MessageBody: JSON.stringify(message),
      DelaySeconds: 0,
    });
    expect(JSON.parse(calls[0]?.args[0].input.MessageBody ?? '')).toEqual(message);
  });

  it.each([
    [30, 30],
    [0, 0],
    [-5, 0],
    [2.2, 3],
    [900, 900],
    [1_000, 900],
    [Number.POSITIVE_INFINITY, 900],
    [Number.NaN, 0],
  ])('sends a delay of %s seconds as DelaySeconds %i', async (delay, expected) => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    const queue = new SqsRunQueue(new SQSClient({ region: 'eu-west-1' }), queueUrls);

    // Act
    await queue.send('default', message, delay);

    // Assess
    expect(sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.DelaySeconds).toBe(expected);
  });

  it.each([['unknown'], ['constructor'], ['']])(
    'throws UnknownQueueError for the queue name %j and sends nothing',
    async (name) => {
      // Prepare
      const queue = new SqsRunQueue(new SQSClient({ region: 'eu-west-1' }), queueUrls);

      // Act
      const sending = queue.send(name, message);

      // Assess
      await expect(sending).rejects.toBeInstanceOf(UnknownQueueError);
      await expect(sending).rejects.toThrow(`No worker queue named ${JSON.stringify(name)} is deployed`);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    },
  );

  it('passes SQS failures on to the caller', async () => {
    // Prepare
    const failure = new Error('SQS unavailable');
    sqsMock.on(SendMessageCommand).rejects(failure);
    const queue = new SqsRunQueue(new SQSClient({ region: 'eu-west-1' }), queueUrls);

    // Act
    const sending = queue.send('default', message);

    // Assess
    await expect(sending).rejects.toThrow('SQS unavailable');
  });
});
