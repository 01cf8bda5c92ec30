import * as z from 'zod/mini';
import '../domain/zod-locale.js';
import type { LogLevel } from '../adapters/logger.js';
import { AUTH_MODES } from '../domain/access.js';
import type { AwsTargetLists } from '../domain/aws-targets.js';
import { RUN_EVENT_SETTINGS } from '../domain/run-events.js';
import { TargetNetworkSchema } from '../domain/target-network.js';
import type { EnvironmentSpec } from '../ports.js';

/**
 * The environment contract between the stack and the Lambda functions. Each variable is defined here once,
 * with its name and how its value is written and read; each function's environment (shared/config/
 * environments/) names the variables that function reads. The stack writes a function's variables through
 * its environment ({@link FunctionEnvironment.write}) and the function reads them through the same one
 * ({@link FunctionEnvironment.read}), so neither side spells a variable name.
 */

/** Turns a value into JSON text: `JSON.stringify`, or the stack's `toJsonString` when the value holds tokens. */
export type JsonWriter = (value: unknown) => string;

/** A variable's environment is missing or malformed; names every problem found. */
export class EnvironmentError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid function environment: ${problems.join('; ')}`);
    this.name = 'EnvironmentError';
  }
}

/** One environment variable: its name, how the stack writes it and how the function reads it back. */
export interface Variable<Read, Write = Read> {
  readonly name: string;
  /** The variable's text for `value`. */
  encode(value: Write, json: JsonWriter): string;
  /**
   * The value of the variable's text.
   * @throws Error saying what is wrong (the caller names the variable)
   */
  decode(text: string): Read;
}

// Method syntax keeps `encode` bivariant, so every Variable<R, W> fits here.
type AnyVariable = Variable<unknown, unknown>;
type WriteOf<V> = V extends Variable<unknown, infer W> ? W : never;
type ReadOf<V> = V extends Variable<infer R, unknown> ? R : never;

/** What the stack passes to write a function's environment: one value per variable, by key. */
export type EnvironmentValues<V extends Record<string, AnyVariable>> = {
  readonly [K in keyof V]: WriteOf<V[K]>;
};

/** What a function reads from its environment: one parsed value per variable, by key. */
export type EnvironmentRead<V extends Record<string, AnyVariable>> = {
  readonly [K in keyof V]: ReadOf<V[K]>;
};

/** The variables one function reads, and the two ends of the contract over them. */
export interface FunctionEnvironment<V extends Record<string, AnyVariable>> {
  readonly variables: V;
  /** The names of the variables, sorted. */
  readonly names: readonly string[];
  /**
   * The function's environment for `values`: exactly its variables, whatever else `values` holds.
   * @param json writes the JSON variables; the stack passes its `toJsonString` so tokens resolve
   */
  write(values: EnvironmentValues<V>, json?: JsonWriter): Record<string, string>;
  /**
   * Every variable of the function, parsed; reads nothing else from `env`.
   * @throws EnvironmentError naming every variable that is missing or malformed
   */
  read(env: Readonly<Record<string, string | undefined>>): EnvironmentRead<V>;
}

/** Defines a function's environment from the variables it reads, keyed by what the code calls them. */
export function defineEnvironment<V extends Record<string, AnyVariable>>(
  variables: V,
): FunctionEnvironment<V> {
  const entries = Object.entries(variables);
  const names = entries.map(([, variable]) => variable.name).sort();
  if (new Set(names).size !== names.length) {
    throw new Error(`An environment names a variable twice: ${names.join(', ')}`);
  }
  return {
    variables,
    names,
    write(values, json = JSON.stringify) {
      const written: Record<string, string> = {};
      for (const [key, variable] of entries) {
        written[variable.name] = variable.encode(values[key as keyof V], json);
      }
      return written;
    },
    read(env) {
      const read: Record<string, unknown> = {};
      const problems: string[] = [];
      for (const [key, variable] of entries) {
        const text = env[variable.name];
        if (text === undefined || text === '') {
          problems.push(`${variable.name} is not set`);
          continue;
        }
        try {
          read[key] = variable.decode(text);
        } catch (error) {
          problems.push(`${variable.name} ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (problems.length > 0) throw new EnvironmentError(problems);
      return read as EnvironmentRead<V>;
    },
  };
}

// ── Kinds of variables ───────────────────────────────────────────────────────────────────────────────

/** A non-empty string, written as is (ARNs, names, URLs; CDK tokens included). */
export function text(name: string): Variable<string> {
  return { name, encode: (value) => value, decode: (value) => value };
}

/** A whole number from 1 up (the stack checks the ranges of its settings before writing them). */
export function positiveInteger(name: string): Variable<number> {
  return {
    name,
    encode: (value) => String(value),
    decode(value) {
      if (!/^[1-9]\d*$/.test(value))
        throw new Error(`must be a whole number from 1 up, got ${JSON.stringify(value)}`);
      return Number(value);
    },
  };
}

/** `true` or `false`. */
export function flag(name: string): Variable<boolean> {
  return {
    name,
    encode: (value) => String(value),
    decode(value) {
      if (value !== 'true' && value !== 'false') {
        throw new Error(`must be "true" or "false", got ${JSON.stringify(value)}`);
      }
      return value === 'true';
    },
  };
}

/** One of `choices`. */
export function oneOf<const T extends string>(name: string, choices: readonly T[]): Variable<T> {
  return {
    name,
    encode: (value) => value,
    decode(value) {
      if (!(choices as readonly string[]).includes(value)) {
        throw new Error(`must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value as T;
    },
  };
}

/** JSON text checked by `schema`; the stack writes `Write`, whose shape the schema reads. */
export function json<Read, Write>(name: string, schema: z.ZodMiniType<Read>): Variable<Read, Write> {
  return {
    name,
    encode: (value, writeJson) => writeJson(value),
    decode(value) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new Error('is not JSON');
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        const issues = result.error.issues.map(
          (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
        );
        throw new Error(`is not what the stack writes (${issues.join(', ')})`);
      }
      return result.data;
    },
  };
}

// ── The variables ────────────────────────────────────────────────────────────────────────────────────

// Keys of a record over LogLevel: the compiler checks that every level is listed, and no other.
const logLevels = Object.keys({
  debug: true,
  info: true,
  warn: true,
  error: true,
  silent: true,
} satisfies Record<LogLevel, true>) as LogLevel[];

const DeploymentSchema = z.object({
  defaultQueue: z.string(),
  queues: z.array(z.string()),
  environments: z.record(
    z.string(),
    z.object({ queue: z.string(), variables: z.record(z.string(), z.string()) }),
  ),
  // Required: a DEPLOYMENT_CONFIG without it was not written by this stack, and guessing would guess wide.
  allowedTargetNetworks: z.array(TargetNetworkSchema),
  /** The SNS topics `sns` notification channels may publish to. */
  notificationTopicArns: z._default(z.array(z.string()), []),
  /** The EventBridge bus run state changes and alert events go to (`default`: the account's). */
  eventBusName: z._default(z.string(), 'default'),
  // Required for the same reason: the entities the API accepts and the resources the workers may reach.
  awsTargets: z.object({
    stateMachineTargets: z.array(z.string()),
    sqsTargets: z.array(z.string()),
    eventBusTargets: z.array(z.string()),
  }),
});

/** The deployment's queues, environments, target networks and AWS targets, as the functions read them. */
export type DeploymentVariable = z.infer<typeof DeploymentSchema>;

/** The same, as the stack writes it (its settings are read-only). */
export interface DeploymentVariableValue {
  readonly defaultQueue: string;
  readonly queues: readonly string[];
  readonly environments: Readonly<Record<string, Readonly<EnvironmentSpec>>>;
  readonly allowedTargetNetworks: readonly z.infer<typeof TargetNetworkSchema>[];
  readonly notificationTopicArns: readonly string[];
  readonly eventBusName: string;
  readonly awsTargets: AwsTargetLists;
}

/** Every variable of the contract, by the key the code knows it by. */
export const variables = {
  /** The jobs table. */
  tableName: text('TABLE_NAME'),
  /** Every worker queue's URL by queue name, so any function can route a run (or a retry) to any queue. */
  queueUrls: json<Record<string, string>, Readonly<Record<string, string>>>(
    'QUEUE_URLS',
    z.record(z.string(), z.string()),
  ),
  /** Same shape as `DeploymentConfig` in shared/ports.ts, minus what each function knows from elsewhere. */
  deployment: json<DeploymentVariable, DeploymentVariableValue>('DEPLOYMENT_CONFIG', DeploymentSchema),
  logLevel: oneOf('LOG_LEVEL', logLevels),
  /**
   * Which run state changes go on the event bus (`all`, `ended`, `failed`): read where runs start, are
   * claimed and end, so each function knows whether it puts its changes on the bus.
   */
  runEvents: oneOf('RUN_EVENTS', RUN_EVENT_SETTINGS),
  /** The key that seals entity signing secrets and webhook secrets. */
  secretsKeyArn: text('KMS_KEY_ID'),
  /** The secret holding the API keys, one per line. */
  apiKeySecretArn: text('API_KEY_SECRET_ARN'),
  /** Which callers the control-plane routes take: API keys, IAM principals API Gateway authorized, or both. */
  authMode: oneOf('AUTH_MODE', AUTH_MODES),
  /** Base URL targets call back to (`<base>/executions/{id}/callback`); the worker's alone. */
  publicBaseUrl: text('PUBLIC_BASE_URL'),
  /** Days an execution record is kept (DynamoDB TTL); read by every function that starts runs. */
  executionRetentionDays: positiveInteger('EXECUTION_RETENTION_DAYS'),
  /** The queue's redrive count: the worker ends a run as failed on its message's last delivery. */
  maxReceiveCount: positiveInteger('MAX_RECEIVE_COUNT'),
  /** The EventBridge Scheduler group holding the cron jobs' schedules. */
  scheduleGroupName: text('SCHEDULE_GROUP_NAME'),
  /** The target of every schedule. */
  dispatchFunctionArn: text('DISPATCH_FUNCTION_ARN'),
  /** The role EventBridge Scheduler assumes for the schedules. */
  schedulerRoleArn: text('SCHEDULER_ROLE_ARN'),
  /** The dead-letter queue of the schedules. */
  schedulerDeadLetterArn: text('SCHEDULER_DLQ_ARN'),
  /** Powertools: the service every log line, metric and trace is attributed to. */
  serviceName: text('POWERTOOLS_SERVICE_NAME'),
  /** Powertools: the CloudWatch namespace of the metrics. */
  metricsNamespace: text('POWERTOOLS_METRICS_NAMESPACE'),
  /** Powertools: whether the tracer records (the function then runs with X-Ray active tracing). */
  tracingEnabled: flag('POWERTOOLS_TRACE_ENABLED'),
} as const;

/**
 * What every function reads: the table, the queues, the deployment, logging and observability, and which run
 * state changes go on the bus (every function starts, claims or ends runs).
 */
export const runVariables = {
  tableName: variables.tableName,
  queueUrls: variables.queueUrls,
  deployment: variables.deployment,
  logLevel: variables.logLevel,
  runEvents: variables.runEvents,
  serviceName: variables.serviceName,
  metricsNamespace: variables.metricsNamespace,
  tracingEnabled: variables.tracingEnabled,
} as const;

/** What the EventBridge Scheduler adapter is built from (the API and the sweeper write schedules). */
export const schedulingVariables = {
  scheduleGroupName: variables.scheduleGroupName,
  dispatchFunctionArn: variables.dispatchFunctionArn,
  schedulerRoleArn: variables.schedulerRoleArn,
  schedulerDeadLetterArn: variables.schedulerDeadLetterArn,
} as const;

/**
 * Variables every function is given that no code of ours reads: the Node.js runtime reads `NODE_OPTIONS`
 * (JobsFunction sets it to enable source maps).
 */
export const runtimeVariables = { nodeOptions: 'NODE_OPTIONS' } as const;
