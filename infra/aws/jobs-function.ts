import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { BuildOptions } from 'esbuild';
import { tracingDefine } from '../../functions/tracing.js';
import { awsDefaults } from '../../shared/config/defaults.js';
import { runtimeVariables } from '../../shared/config/environment.js';
import { anyResourceReason } from './nag.js';

/** The Lambda entry points, one file each under functions/. */
export type FunctionName = 'api' | 'webhook' | 'worker' | 'sweeper' | 'dispatch' | 'console';

/** The path of the entry point `functions/<name>.ts`, exporting `handler`. */
export function functionEntry(name: FunctionName): string {
  return fileURLToPath(new URL(`../../functions/${name}.ts`, import.meta.url));
}

/**
 * Prepended to every bundle: esbuild's ESM output turns the AWS SDK's CommonJS `require('node:https')`
 * into a `__require` shim that throws "Dynamic require of node:https is not supported" unless a real
 * `require` is in scope.
 */
export const esmRequireBanner =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * The esbuild options every {@link JobsFunction} is bundled with. Exported so the bundle-load test builds
 * exactly what is deployed; {@link JobsFunction} maps each field onto CDK's bundling options.
 */
export const jobsEsbuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Matches the Lambda runtime below (NODEJS_22_X).
  target: 'node22',
  // Prefer the SDK's ES module builds: they tree-shake better than the CommonJS ones.
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  // Stack traces only need the mappings; the sources would double the asset size.
  sourcesContent: false,
  banner: { js: esmRequireBanner },
} satisfies BuildOptions;

/** Props of {@link JobsFunction}: those of `NodejsFunction` minus the ones it fixes. */
export interface JobsFunctionProps
  extends Omit<
    NodejsFunctionProps,
    | 'entry'
    | 'runtime'
    | 'architecture'
    | 'bundling'
    | 'code'
    | 'role'
    | 'logGroup'
    | 'logRetention'
    | 'memorySize'
    | 'timeout'
    | 'tracing'
  > {
  /** Path of the TypeScript file exporting `handler` (absolute, or relative to the working directory). */
  readonly entry: string;
  /**
   * Retention of the function's log group, created explicitly by this construct (so no log-retention
   * custom resource and no `logs:CreateLogGroup` permission are needed).
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Memory in MB (Lambda allocates CPU in proportion).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Maximum run time of one invocation. The default suits API handlers, which API Gateway cuts off at 30 s.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * X-Ray active tracing: Lambda samples and records each invocation, and the role may send segments to X-Ray.
   * The bundle carries Powertools' Tracer only when it is on (see `tracingDefine`).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Files or directories of the repository shipped beside the bundle (`from` relative to the repository
   * root, `to` relative to the bundle), for what the function reads at run time rather than imports.
   * @default none
   */
  readonly files?: readonly { readonly from: string; readonly to: string }[];
}

/**
 * A `NodejsFunction` with the project's Lambda defaults: arm64, Node.js 22, ESM bundle (minified, source
 * maps enabled at run time, AWS SDK bundled), an explicit log group with retention, and its own role
 * allowed only to write to that log group (callers add grants for what the function uses).
 */
export class JobsFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: JobsFunctionProps) {
    const { entry, logRetention, memorySize, timeout, environment, tracing, files, ...rest } = props;
    const traced = tracing ?? awsDefaults.tracing;

    // Created before `super` (which needs them), so they are siblings named after the function.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      retention: logRetention ?? RetentionDays.ONE_MONTH,
      // Retention already bounds what is kept; retaining the group on stack deletion would only orphan it.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the default one, which carries the AWSLambdaBasicExecutionRole managed
    // policy (logs:* on every log group of the account).
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      ...rest,
      entry,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: memorySize ?? 512,
      timeout: timeout ?? Duration.seconds(10),
      role,
      logGroup,
      // Unset rather than PassThrough when off: the template then has no TracingConfig, as before the option.
      ...(traced && { tracing: Tracing.ACTIVE }),
      environment: {
        ...environment,
        // The bundle ships a .map file; without this flag Node ignores it and stack traces point into
        // minified code.
        [runtimeVariables.nodeOptions]: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: jobsEsbuildOptions.target,
        mainFields: jobsEsbuildOptions.mainFields,
        minify: jobsEsbuildOptions.minify,
        sourceMap: jobsEsbuildOptions.sourcemap,
        sourcesContent: jobsEsbuildOptions.sourcesContent,
        banner: jobsEsbuildOptions.banner.js,
        // Bundle the AWS SDK too: pinned versions, and faster cold starts than loading the runtime's copy.
        externalModules: [],
        // Bundle with the esbuild in node_modules: no Docker, works offline.
        forceDockerBundling: false,
        // Tracing decided at bundle time: off, the Tracer and the X-Ray SDK are not in the bundle at all.
        define: tracingDefine(traced),
        ...(files &&
          files.length > 0 && {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (inputDir: string, outputDir: string) =>
                files.map(({ from, to }) => `cp -R "${inputDir}/${from}" "${outputDir}/${to}"`),
            },
          }),
      },
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the esbuild target (node22) and the bundle-load test match it; moving ' +
        'to a newer runtime is a deliberate upgrade of both together.',
    });
    if (traced) {
      // Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords on "*".
      Validations.of(role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: anyResourceReason });
    }
  }
}
