import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import {
  awsApiDeps,
  awsDispatchDeps,
  awsSweeperDeps,
  awsWebhookDeps,
  awsWorkerDeps,
} from '../../functions/aws-deps.js';
import type { JobsFunction } from '../../infra/aws/jobs-function.js';
import type { JobsStack } from '../../infra/aws/stack.js';
import { EnvironmentError, runtimeVariables } from '../../shared/config/environment.js';
import { apiEnvironment } from '../../shared/config/environments/api-environment.js';
import { dispatchEnvironment } from '../../shared/config/environments/dispatch-environment.js';
import { sweeperEnvironment } from '../../shared/config/environments/sweeper-environment.js';
import { webhookEnvironment } from '../../shared/config/environments/webhook-environment.js';
import { workerEnvironment } from '../../shared/config/environments/worker-environment.js';
import { buildApp, logicalIdOf, removeOutdirs, renderCfnString, variablesOf } from './support.js';

afterAll(removeOutdirs);

type Env = Record<string, string>;

/** Each kind of function: how to find it in the stack, its environment contract, and its deps as the Lambda builds them. */
const functionKinds = [
  {
    kind: 'api',
    of: (stack: JobsStack) => [stack.controlPlane.apiFunction],
    contract: apiEnvironment,
    deps: (env: Env) => awsApiDeps(undefined, env),
  },
  {
    kind: 'webhook',
    of: (stack: JobsStack) => [stack.webhookIngress.webhookFunction],
    contract: webhookEnvironment,
    deps: (env: Env) => awsWebhookDeps(undefined, env),
  },
  {
    kind: 'worker',
    of: (stack: JobsStack) => [...stack.workerQueues.values()].map((queue) => queue.worker),
    contract: workerEnvironment,
    deps: (env: Env) => awsWorkerDeps(undefined, env),
  },
  {
    kind: 'sweeper',
    of: (stack: JobsStack) => [stack.sweeper.sweeperFunction],
    contract: sweeperEnvironment,
    deps: (env: Env) => awsSweeperDeps(undefined, env),
  },
  {
    kind: 'dispatch',
    of: (stack: JobsStack) => [stack.cronScheduling.dispatchFunction],
    contract: dispatchEnvironment,
    deps: (env: Env) => awsDispatchDeps(undefined, env),
  },
] as const;

/** The environment of a function of the template, each value rendered to text (`<LogicalId.Attr>` for tokens). */
function writtenEnvironment(stack: Stack, template: Template, fn: JobsFunction): Env {
  const variables = variablesOf(template, logicalIdOf(stack, fn));
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, renderCfnString(value)]));
}

/** The names `build` reads from `env` (the deps builder of a function, given exactly what the stack wrote). */
function namesRead(build: (env: Env) => unknown, env: Env): Set<string> {
  const read = new Set<string>();
  const recording = new Proxy(env, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  build(recording);
  return read;
}

/** What the stack writes that the function never reads, and what the function reads that the stack never writes. */
function mismatches(written: Env, read: Set<string>) {
  const platform = new Set<string>(Object.values(runtimeVariables));
  const ours = Object.keys(written).filter((name) => !platform.has(name));
  return {
    writtenNotRead: ours.filter((name) => !read.has(name)).sort(),
    readNotWritten: [...read].filter((name) => !(name in written)).sort(),
  };
}

describe.each([
  ['dev', {}],
  ['prod', { encryption: 'customer-managed', tracing: true, lambdaTargets: ['summarizer'] }],
] as const)('the environment contract in %s %j', (env, overrides) => {
  const { stack } = buildApp(env, overrides);
  const template = Template.fromStack(stack);

  it('covers every function of the template', () => {
    // Act
    // The console function reads no variable (its own test checks it has none but NODE_OPTIONS).
    const covered = [...functionKinds.flatMap(({ of }) => of(stack)), stack.consoleSite.consoleFunction].map(
      (fn) => logicalIdOf(stack, fn),
    );

    // Assess
    expect(covered.sort()).toEqual(Object.keys(template.findResources('AWS::Lambda::Function')).sort());
  });

  describe.each(functionKinds)('$kind', ({ of, contract, deps }) => {
    it('is written by the stack exactly as the function reads it: nothing written unread, nothing read unwritten', () => {
      for (const fn of of(stack)) {
        // Prepare
        const written = writtenEnvironment(stack, template, fn);

        // Act
        const read = namesRead(deps, written);

        // Assess
        expect(mismatches(written, read)).toEqual({ writtenNotRead: [], readNotWritten: [] });
        expect([...read].sort()).toEqual([...contract.names]);
        // NODE_OPTIONS is for Node itself, which reads it before any code of ours runs.
        expect(written[runtimeVariables.nodeOptions]).toBe('--enable-source-maps');
      }
    });

    it('reserves the Powertools variables, with the service, the namespace and the tracing switch', () => {
      for (const fn of of(stack)) {
        // Act
        const written = writtenEnvironment(stack, template, fn);

        // Assess
        expect(written).toMatchObject({
          POWERTOOLS_SERVICE_NAME: 'serverless-jobs',
          POWERTOOLS_METRICS_NAMESPACE: 'ServerlessJobs',
          POWERTOOLS_TRACE_ENABLED: String('tracing' in overrides),
        });
      }
    });
  });
});

describe('the contract check', () => {
  const { stack } = buildApp('dev');
  const template = Template.fromStack(stack);
  const worker = [...stack.workerQueues.values()][0]?.worker as JobsFunction;

  it('reports a variable written and not read (a schedule group, which the worker never uses)', () => {
    // Prepare
    const written = { ...writtenEnvironment(stack, template, worker), SCHEDULE_GROUP_NAME: 'jobs' };

    // Act
    const found = mismatches(
      written,
      namesRead((env) => awsWorkerDeps(undefined, env), written),
    );

    // Assess
    expect(found).toEqual({ writtenNotRead: ['SCHEDULE_GROUP_NAME'], readNotWritten: [] });
  });

  it('reports a variable read and not written: the function does not start, naming it', () => {
    // Prepare
    const { KMS_KEY_ID: _dropped, ...written } = writtenEnvironment(stack, template, worker);

    // Act
    const build = () => awsWorkerDeps(undefined, written);

    // Assess
    expect(build).toThrow(EnvironmentError);
    expect(build).toThrow('KMS_KEY_ID is not set');
  });
});
