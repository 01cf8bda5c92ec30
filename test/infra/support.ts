import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Lazy, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IConstruct } from 'constructs';
import { expect } from 'vitest';
import type { DeploymentSettings } from '../../infra/aws/config.js';
import { ControlPlaneApi } from '../../infra/aws/control-plane-api.js';
import { CronScheduling } from '../../infra/aws/cron-scheduling.js';
import { createJobsApp, type JobsApp } from '../../infra/aws/jobs-app.js';
import type { JobsFunction } from '../../infra/aws/jobs-function.js';
import { JobsTable } from '../../infra/aws/jobs-table.js';
import type { RunEnvironment } from '../../infra/aws/run-environment.js';
import { RunQueues } from '../../infra/aws/run-queues.js';
import type { JobsStack } from '../../infra/aws/stack.js';
import { WorkerQueue, type WorkerQueueProps } from '../../infra/aws/worker-queue.js';

// No asset bundling: these tests look at the template only (bundle-load.test.ts covers the bundles).
const noBundling = { 'aws:cdk:bundling-stacks': [] };

// Each app synthesizes into its own temporary directory, removed by removeOutdirs().
const outdirs: string[] = [];

/** Removes the output directories of every app built by {@link buildApp}; call it from `afterAll`. */
export function removeOutdirs(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/**
 * Builds the app for the `env` deployment (the `env` context; none: the default) without bundling, with
 * `overrides` replacing fields of that deployment's settings.
 */
export function buildApp(env?: string, overrides?: Partial<DeploymentSettings>): JobsApp {
  const outdir = mkdtempSync(join(tmpdir(), 'jobs-stack-test-'));
  outdirs.push(outdir);
  return createJobsApp(
    { outdir, context: env === undefined ? noBundling : { ...noBundling, env } },
    overrides,
  );
}

/**
 * A bare stack holding what the stack's constructs are built on (the table, the secrets key, the worker queues
 * and the run environment), for testing one construct on its own; add a queue, cron or the control plane when
 * the construct under test needs them.
 */
export function constructFixture() {
  const outdir = mkdtempSync(join(tmpdir(), 'jobs-construct-test-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: noBundling });
  const stack = new Stack(app, 'Fixture');
  const table = new JobsTable(stack, 'JobsTable');
  const secretsKey = new Key(stack, 'SecretsKey');
  const runQueues = new RunQueues();
  const runEnvironment: RunEnvironment = {
    values: {
      tableName: table.tableName,
      queueUrls: runQueues.urls,
      deployment: {
        defaultQueue: 'default',
        queues: [],
        environments: {},
        allowedTargetNetworks: [],
        notificationTopicArns: [],
        eventBusName: 'default',
        awsTargets: { stateMachineTargets: [], sqsTargets: [], eventBusTargets: [] },
      },
      logLevel: 'info',
      runEvents: 'failed',
      serviceName: 'serverless-jobs',
      metricsNamespace: 'ServerlessJobs',
      tracingEnabled: false,
    },
    json: (value) => Lazy.string({ produce: () => stack.toJsonString(value) }),
  };
  const base = { table, secretsKey, runQueues, runEnvironment };
  const addQueue = (overrides: Partial<WorkerQueueProps> = {}) => {
    const name = overrides.name ?? 'default';
    const queue = new WorkerQueue(stack, `Worker-${name}`, {
      ...base,
      name,
      deploymentName: 'fixture',
      publicBaseUrl: 'https://api.example.com',
      ...overrides,
    });
    runQueues.add(queue);
    return queue;
  };
  const addCron = () =>
    new CronScheduling(stack, 'CronScheduling', { ...base, groupName: 'fixture', deploymentName: 'fixture' });
  const addControlPlane = (scheduling: CronScheduling = addCron()) =>
    new ControlPlaneApi(stack, 'ControlPlane', {
      ...base,
      routes: [{ method: 'GET', path: '/health' }],
      deploymentName: 'fixture',
      throttle: { rateLimit: 10, burstLimit: 20 },
      scheduling,
      apiKeySecret: new Secret(stack, 'ApiKeySecret'),
    });
  return { app, stack, ...base, addQueue, addCron, addControlPlane };
}

/** The worker function of each worker queue of `stack`, by queue name. */
export function workerFunctionsOf(stack: JobsStack): Map<string, JobsFunction> {
  return new Map([...stack.workerQueues].map(([name, queue]) => [name, queue.worker]));
}

export type CfnResource = {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
};

export function resourcesOf(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

export function propertiesOf(template: Template, type: string, logicalId: string): Record<string, unknown> {
  const resource = resourcesOf(template, type)[logicalId];
  if (!resource) throw new Error(`no ${type} ${logicalId} in the template`);
  return resource.Properties ?? {};
}

export function onlyLogicalId(template: Template, type: string): string {
  const ids = Object.keys(template.findResources(type));
  expect(ids, `exactly one ${type}`).toHaveLength(1);
  return ids[0] as string;
}

/** Logical id of the CloudFormation resource behind an L2 construct. */
export function logicalIdOf(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

export type PolicyStatement = { Effect: string; Action: string | string[]; Resource: unknown };

export function statementsOf(document: unknown): PolicyStatement[] {
  return (document as { Statement: PolicyStatement[] }).Statement;
}

/** Every policy document of the stack: inline and attached policies, role inline policies, managed policies. */
export function allPolicyDocuments(template: Template): unknown[] {
  const documents: unknown[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const policy of Object.values(resourcesOf(template, type))) {
      documents.push(policy.Properties?.PolicyDocument);
    }
  }
  for (const role of Object.values(resourcesOf(template, 'AWS::IAM::Role'))) {
    for (const policy of (role.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
      documents.push(policy.PolicyDocument);
    }
  }
  return documents;
}

export const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Logical id of the execution role of the function `functionId`. */
/** The environment variables of a function of the template. */
export function variablesOf(template: Template, functionId: string): Record<string, unknown> {
  const fn = propertiesOf(template, 'AWS::Lambda::Function', functionId);
  return (fn.Environment as { Variables: Record<string, unknown> }).Variables;
}

export function roleIdOf(template: Template, functionId: string): string {
  const fn = propertiesOf(template, 'AWS::Lambda::Function', functionId);
  return (fn.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
}

/** Logical id of the log group of the function `functionId`. */
export function logGroupIdOf(template: Template, functionId: string): string {
  const fn = propertiesOf(template, 'AWS::Lambda::Function', functionId);
  return (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
}

/** Logical id of the only HTTP API integration proxying to the function `functionId`. */
export function integrationIdOf(template: Template, functionId: string): string {
  const ids = Object.entries(resourcesOf(template, 'AWS::ApiGatewayV2::Integration'))
    .filter(
      ([, integration]) =>
        JSON.stringify(integration.Properties?.IntegrationUri) ===
        JSON.stringify({ 'Fn::GetAtt': [functionId, 'Arn'] }),
    )
    .map(([id]) => id);
  expect(ids, `integrations of ${functionId}`).toHaveLength(1);
  return ids[0] as string;
}

/** The statements of every IAM policy attached to the role `roleId`. */
export function roleStatements(template: Template, roleId: string): PolicyStatement[] {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      ((policy.Properties?.Roles ?? []) as unknown[]).some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap((policy) => statementsOf(policy.Properties?.PolicyDocument));
}

/** Each resource the statements reach, with the actions allowed on it (keyed by its JSON). */
export function actionsByResource(statements: PolicyStatement[]): Map<string, string[]> {
  const byResource = new Map<string, string[]>();
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    for (const resource of asArray(statement.Resource)) {
      const key = JSON.stringify(resource);
      byResource.set(key, [...(byResource.get(key) ?? []), ...asArray(statement.Action)].sort());
    }
  }
  return byResource;
}

/**
 * The resources the policies of the function `functionId` reach, with the actions allowed on each, named
 * where the stack has a name for them (`table`, `table indexes`, `key`, `log group`, `queue <name>`, `event bus`, and
 * the `more` resources as named there); any other resource keeps its JSON.
 */
export function resourcesReachedBy(
  stack: JobsStack,
  template: Template,
  functionId: string,
  more: readonly (readonly [resource: unknown, name: string])[] = [],
): Map<string, string[]> {
  const tableArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.table), 'Arn'] };
  const names = new Map<string, string>([
    [JSON.stringify(tableArn), 'table'],
    [JSON.stringify({ 'Fn::Join': ['', [tableArn, '/index/*']] }), 'table indexes'],
    [JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, stack.secretsKey), 'Arn'] }), 'key'],
    [JSON.stringify({ 'Fn::GetAtt': [logGroupIdOf(template, functionId), 'Arn'] }), 'log group'],
    ...[...stack.workerQueues].map(
      ([name, { queue }]) =>
        [JSON.stringify({ 'Fn::GetAtt': [logicalIdOf(stack, queue), 'Arn'] }), `queue ${name}`] as const,
    ),
    [JSON.stringify(eventBusArn('default')), 'event bus'],
    ...more.map(([resource, name]) => [JSON.stringify(resource), name] as const),
  ]);
  const byResource = actionsByResource(roleStatements(template, roleIdOf(template, functionId)));
  return new Map([...byResource].map(([resource, actions]) => [names.get(resource) ?? resource, actions]));
}

/** The ARN of the EventBridge bus `name` of the stack's account and region, as the template writes it. */
export function eventBusArn(name: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':events:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:event-bus/${name}`,
      ],
    ],
  };
}

/**
 * Renders a CloudFormation string value, turning `{"Ref": "X"}` into `<X>` and `Fn::GetAtt` into `<X.Attr>`
 * inside an `Fn::Join`, so JSON built from tokens (QUEUE_URLS) can be parsed and compared.
 */
export function renderCfnString(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `<${String(object.Ref)}>`;
  if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map(renderCfnString).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/**
 * Asserts that the role `roleId` has the table statements, each exactly: item reads/writes and queries on the
 * table ARN, queries only on `<table>/index/*` (the calls of the DynamoDB stores; no item action on indexes).
 */
export function hasTableStatements(template: Template, tableId: string, roleId: string): void {
  const tableArn = { 'Fn::GetAtt': [tableId, 'Arn'] };
  template.hasResourceProperties('AWS::IAM::Policy', {
    Roles: [{ Ref: roleId }],
    PolicyDocument: {
      Statement: Match.arrayWith([
        Match.exact({
          Action: [
            'dynamodb:DeleteItem',
            'dynamodb:GetItem',
            'dynamodb:PutItem',
            'dynamodb:Query',
            'dynamodb:UpdateItem',
          ],
          Effect: 'Allow',
          Resource: tableArn,
        }),
        Match.exact({
          Action: 'dynamodb:Query',
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', [tableArn, '/index/*']] },
        }),
      ]),
    },
  });
}

/**
 * The one statement of the stack allowed on "*" (the sweeper's): ListSchedules has no resource type in the
 * Service Authorization Reference, so it cannot be scoped to the schedule group.
 */
export const listSchedulesStatement = {
  Action: 'scheduler:ListSchedules',
  Effect: 'Allow',
  Resource: '*',
} as const;

/** True for a statement that reaches "*" or allows a wildcard action. */
export function isWildcardStatement(statement: PolicyStatement): boolean {
  return (
    asArray(statement.Resource).includes('*') ||
    asArray(statement.Action).some((action) => action.includes('*'))
  );
}

/** The ARN pattern of every schedule of the group `groupName`, as the stack writes it (env-agnostic). */
export function schedulesArnOf(groupName: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'arn:',
        { Ref: 'AWS::Partition' },
        ':scheduler:',
        { Ref: 'AWS::Region' },
        ':',
        { Ref: 'AWS::AccountId' },
        `:schedule/${groupName}/*`,
      ],
    ],
  };
}

/** The cdk-nag rules acknowledged on the resource `logicalId` (empty when none), with their reasons. */
export function acknowledgedOn(template: Template, logicalId: string): { id: string; reason: string }[] {
  const resource = (template.toJSON().Resources as Record<string, CfnResource>)[logicalId];
  const nag = resource?.Metadata?.cdk_nag as
    | { rules_to_suppress: { id: string; reason: string }[] }
    | undefined;
  return nag?.rules_to_suppress ?? [];
}

/** The targets of an `AWS::Events::Rule` resource (`Input` is set when the rule sends its own event). */
export function ruleTargetsOf(rule: CfnResource | undefined): { Arn: unknown; Id: string; Input?: string }[] {
  return (rule?.Properties?.Targets ?? []) as { Arn: unknown; Id: string; Input?: string }[];
}
