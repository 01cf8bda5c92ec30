import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ClientTracing, lazyHandler, tracingDefine } from '../../functions/tracing.js';
import { lambdaContext } from '../support/api-events.js';

const TRACING_ENV = ['POWERTOOLS_TRACE_ENABLED', 'AWS_EXECUTION_ENV', 'AWS_XRAY_CONTEXT_MISSING'] as const;
const saved = Object.fromEntries(TRACING_ENV.map((name) => [name, process.env[name]]));

afterEach(() => {
  for (const name of TRACING_ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  vi.restoreAllMocks();
});

const echo = async (event: unknown, context: Context) => ({ event, requestId: context.awsRequestId });

describe('a Lambda entry point', () => {
  it('builds its handler on the first invocation only, without tracing by default', async () => {
    // Prepare
    delete process.env.POWERTOOLS_TRACE_ENABLED;
    const builds: (ClientTracing | undefined)[] = [];
    const handler = lazyHandler((tracing) => {
      builds.push(tracing);
      return echo;
    });

    // Act
    const first = await handler({ n: 1 }, lambdaContext());
    const second = await handler({ n: 2 }, lambdaContext());

    // Assess
    expect(builds).toEqual([undefined]);
    expect([first.event, second.event]).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('builds again on the next invocation when a build throws', async () => {
    // Prepare
    let attempts = 0;
    const handler = lazyHandler(() => {
      attempts++;
      if (attempts === 1) throw new Error('Environment variable TABLE_NAME is not set');
      return echo;
    });

    // Act
    const failed = await handler({}, lambdaContext()).catch((error: Error) => error.message);
    const answered = await handler({ n: 1 }, lambdaContext());

    // Assess
    expect(failed).toBe('Environment variable TABLE_NAME is not set');
    expect(answered.event).toEqual({ n: 1 });
    expect(attempts).toBe(2);
  });

  it('with tracing on, records its AWS SDK clients with X-Ray and runs under the Tracer', async () => {
    // Prepare: as in Lambda, except that no X-Ray segment exists here (the Tracer says so on console.warn).
    process.env.POWERTOOLS_TRACE_ENABLED = 'true';
    process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
    process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    let traced: DynamoDBClient | undefined;
    const handler = lazyHandler((tracing) => {
      traced = tracing?.captureClient(new DynamoDBClient({ region: 'eu-west-1' }));
      return echo;
    });

    // Act
    const answer = await handler({ n: 1 }, lambdaContext());

    // Assess
    expect(answer.event).toEqual({ n: 1 });
    const added = traced?.middlewareStack
      .identify()
      .filter((name) => !plain.middlewareStack.identify().includes(name));
    expect(added).toContain('XRaySDKInstrumentation - build');
  });

  it('is told at bundle time whether the deployment traces', () => {
    expect(tracingDefine(false)).toEqual({ 'process.env.POWERTOOLS_TRACE_ENABLED': '"false"' });
    expect(tracingDefine(true)).toEqual({ 'process.env.POWERTOOLS_TRACE_ENABLED': '"true"' });
  });
});
