import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as z from 'zod/mini';
import {
  EVENT_BUS_PATTERN,
  SQS_QUEUE_URL_PATTERN,
  STATE_MACHINE_ARN_PATTERN,
} from '../../shared/domain/aws-targets.js';
import type { ErrorDetail } from '../../shared/domain/errors.js';
import { type TargetNetwork, TargetNetworkSchema } from '../../shared/domain/target-network.js';
import { issuesToDetails } from '../../shared/domain/validation.js';
import type { DeploymentConfig, EnvironmentSpec } from '../../shared/ports.js';

export const DEFAULT_QUEUE = 'default';
export const DEFAULT_CONFIG_FILE = 'jobs.config.json';
/**
 * Locally, agents under development listen on this machine: `http` targets may be on loopback unless the
 * config file says otherwise. Private networks stay closed until listed.
 */
export const DEFAULT_LOCAL_TARGET_NETWORKS: readonly TargetNetwork[] = ['loopback'];

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const NAME_RULE = 'must be 1 to 64 letters, digits, "_" or "-"';
const name = z.string().check(z.regex(NAME_PATTERN, NAME_RULE));

/** A list of what one AWS target kind may name, as on AWS (`stateMachineTargets`…); each entry once. */
const awsTargetList = (pattern: RegExp, rule: string) =>
  z._default(
    z
      .array(z.string().check(z.regex(pattern, rule)))
      .check(z.refine((entries) => new Set(entries).size === entries.length, 'must not list an entry twice')),
    [],
  );

/**
 * The local deployment config file. Example:
 * `{ "queues": ["production"], "environments": { "production": { "queue": "production", "variables": { "STAGE": "prod" } } },
 *    "allowedTargetNetworks": ["loopback", "private"] }`
 */
const localConfigFileSchema = z
  .strictObject({
    /** Worker queues besides `default` (which always exists; listing it is allowed and changes nothing). */
    queues: z._default(z.array(name), []),
    environments: z._default(
      z.record(
        name,
        z.strictObject({
          /** @default 'default' */
          queue: z._default(name, DEFAULT_QUEUE),
          variables: z._default(z.record(z.string().check(z.minLength(1)), z.string()), {}),
        }),
      ),
      {},
    ),
    /** Networks besides public addresses `http` targets may point at. @default ['loopback'] */
    allowedTargetNetworks: z._default(
      z
        .array(TargetNetworkSchema)
        .check(
          z.refine((networks) => new Set(networks).size === networks.length, 'must not list a network twice'),
        ),
      [...DEFAULT_LOCAL_TARGET_NETWORKS],
    ),
    /** State machines `stepfunctions` targets may name. @default [] */
    stateMachineTargets: awsTargetList(STATE_MACHINE_ARN_PATTERN, 'must be a state machine ARN'),
    /** Queue URLs `sqs` targets may name. @default [] */
    sqsTargets: awsTargetList(SQS_QUEUE_URL_PATTERN, 'must be an SQS queue URL'),
    /** Event bus names or ARNs `eventbridge` targets may name. @default [] */
    eventBusTargets: awsTargetList(EVENT_BUS_PATTERN, 'must be an event bus name or ARN'),
  })
  .check(
    z.superRefine((config, ctx) => {
      const seen = new Set<string>();
      config.queues.forEach((queue, index) => {
        if (seen.has(queue))
          ctx.addIssue({ code: 'custom', path: ['queues', index], message: 'is listed twice' });
        seen.add(queue);
      });
      for (const [environment, spec] of Object.entries(config.environments)) {
        if (spec.queue === DEFAULT_QUEUE || seen.has(spec.queue)) continue;
        ctx.addIssue({
          code: 'custom',
          path: ['environments', environment, 'queue'],
          message: `must be "${DEFAULT_QUEUE}" or a queue listed in "queues" ("${spec.queue}" is not)`,
        });
      }
    }),
  );

export type LocalConfigFile = z.output<typeof localConfigFileSchema>;

/** The local deployment config file is missing (when named explicitly), unreadable or invalid. */
export class LocalDeploymentConfigError extends Error {
  /** The file, as resolved. */
  readonly file: string;
  /** One entry per invalid field (empty for read and JSON errors). */
  readonly details: ErrorDetail[];
  constructor(file: string, message: string, details: ErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalDeploymentConfigError';
    this.file = file;
    this.details = details;
  }
}

export interface LoadLocalDeploymentConfigOptions {
  /** The config file. @default `$JOBS_CONFIG`, else `<cwd>/jobs.config.json` if it exists */
  path?: string;
  /** Base URL targets call back to. */
  publicBaseUrl: string;
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where relative paths and the default file are looked up. @default process.cwd() */
  cwd?: string;
}

/**
 * The local runtime's queues and environments. Locally there is no deploy step to fix them, so the file
 * is optional:
 * - Without one the config is `open`: any queue name is accepted and its queue created on first use,
 *   and an environment not listed means queue = the environment's name, variables = {} (so the
 *   reference's examples run as written); entities may name any state machine, queue or event bus.
 * - With one, only what it declares exists (`open: false`), as on AWS: entities may name only the state
 *   machines, queues and buses its `stateMachineTargets`, `sqsTargets` and `eventBusTargets` list.
 * Either way `http` targets may point at loopback addresses unless the file's `allowedTargetNetworks` says
 * otherwise (`[]`: public addresses only, as on AWS).
 * A file named explicitly (option or `JOBS_CONFIG`) must exist; the default `jobs.config.json` need not.
 */
export async function loadLocalDeploymentConfig(
  options: LoadLocalDeploymentConfigOptions,
): Promise<DeploymentConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? (env.JOBS_CONFIG || undefined);
  const file = resolve(cwd, explicit ?? DEFAULT_CONFIG_FILE);

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNotFound(error) && explicit === undefined) {
      return {
        defaultQueue: DEFAULT_QUEUE,
        queues: [],
        environments: {},
        open: true,
        publicBaseUrl: options.publicBaseUrl,
        allowedTargetNetworks: DEFAULT_LOCAL_TARGET_NETWORKS,
      };
    }
    const source = options.path !== undefined ? 'the given path' : 'JOBS_CONFIG';
    const reason = isNotFound(error) ? `does not exist (named by ${source})` : 'cannot be read';
    throw new LocalDeploymentConfigError(file, `The local deployment config ${file} ${reason}.`, [], {
      cause: error,
    });
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalDeploymentConfigError(
      file,
      `The local deployment config ${file} is not valid JSON: ${reason}`,
      [],
      {
        cause: error,
      },
    );
  }

  const parsed = localConfigFileSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) {
    const details = issuesToDetails(parsed.error.issues).map((detail) =>
      // zod reports a bad record key as "Invalid key in record"; say what a name must be instead.
      detail.code === 'invalid_key' ? { ...detail, message: NAME_RULE } : detail,
    );
    const problems = details.map((detail) => `${detail.path || '(the file)'}: ${detail.message}`).join('; ');
    throw new LocalDeploymentConfigError(
      file,
      `The local deployment config ${file} is invalid: ${problems}.`,
      details,
    );
  }

  const environments: Record<string, EnvironmentSpec> = {};
  for (const [environment, spec] of Object.entries(parsed.data.environments)) {
    environments[environment] = { queue: spec.queue, variables: { ...spec.variables } };
  }
  return {
    defaultQueue: DEFAULT_QUEUE,
    queues: parsed.data.queues.filter((queue) => queue !== DEFAULT_QUEUE),
    environments,
    open: false,
    publicBaseUrl: options.publicBaseUrl,
    allowedTargetNetworks: parsed.data.allowedTargetNetworks,
    awsTargets: {
      stateMachineTargets: parsed.data.stateMachineTargets,
      sqsTargets: parsed.data.sqsTargets,
      eventBusTargets: parsed.data.eventBusTargets,
    },
  };
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
