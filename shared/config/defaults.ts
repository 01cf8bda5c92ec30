/**
 * Every default of Serverless Jobs, written once. The AWS deployment settings (infra/aws/config.ts) and
 * the props of the stack's constructs fill their unset fields from here, the handlers fall back to these
 * values when their caller passes none, and the local runtime (infra/local) takes its own from
 * {@link localDefaults}. This module imports nothing, so every Lambda bundle can include it for free.
 */

/** Defaults that hold wherever runs are executed (in AWS and in the local runtime). */
export const runDefaults = {
  /** Days an execution record is kept before DynamoDB's TTL deletes it. */
  executionRetentionDays: 90,
  /**
   * Deliveries of one run message before it moves to its queue's dead-letter queue. The worker ends the run
   * as failed on the last of them, before the queue gives the message up.
   */
  maxReceiveCount: 5,
  /**
   * Seconds after a worker's timeout before a message it received becomes visible again. AWS advises 6× the
   * timeout so that a batch the poller retries is not delivered twice; here a second delivery is harmless (the
   * claim is conditional, and a message for a run under a live lease is handed back until the lease ends),
   * and a short delay is what brings back the run of a worker that died or timed out mid-run.
   */
  visibilityTimeoutMarginSeconds: 60,
} as const;

/** Defaults of an AWS deployment: the optional fields of `DeploymentSettings` (infra/aws/config.ts). */
export const awsDefaults = {
  /** Timeout of each worker function, in seconds: a synchronous target's longest run. */
  workerTimeoutSeconds: 300,
  /** Minutes between two sweeps (timing out overdue runs, re-enqueuing stale queued ones). */
  sweepIntervalMinutes: 1,
  /** Minutes between two reconciliations of the schedule group with the cron jobs of the table. */
  scheduleReconcileIntervalMinutes: 15,
  /** Steady-state requests per second accepted on `POST /webhooks/{path}`. */
  webhookThrottleRateLimit: 100,
  /** Burst of requests accepted on `POST /webhooks/{path}` above its steady-state rate. */
  webhookThrottleBurstLimit: 200,
  /** Keys of the data at rest: AWS owned, so nothing to manage, pay for or audit. */
  encryption: 'aws-owned',
  /** Networks besides public addresses that `http` targets may reach: none. */
  allowedTargetNetworks: [],
  /** X-Ray active tracing of every function: off (it is billed per trace). */
  tracing: false,
  /** How callers of the control-plane routes authenticate: API keys. */
  auth: 'api-key',
  /** State machines `stepfunctions` targets may run: none. */
  stateMachineTargets: [],
  /** Queues `sqs` targets may send to: none. */
  sqsTargets: [],
  /** Event buses `eventbridge` targets may put events on: none. */
  eventBusTargets: [],
  /**
   * Run state changes put on the deployment's bus: failures and time-outs only, so a run that ends well adds no
   * PutEvents charge ($1.00 per million events; every end would add $1.00 per million runs).
   */
  runEvents: 'failed',
} as const;

/** Defaults of the local runtime (`npm start`, infra/local). */
export const localDefaults = {
  /** A worker's budget in seconds: a run whose worker died is taken over this long after its claim. */
  workerTimeoutSeconds: 60,
  /** Milliseconds between two sweeps. */
  sweepIntervalMs: 5_000,
  /** On stop, milliseconds the workers may take to finish what is queued. */
  drainTimeoutMs: 15_000,
} as const;

/**
 * Names that group the service's logs, metrics and traces: the Powertools service name (also the `service`
 * tag of every AWS resource) and the CloudWatch metrics namespace.
 */
export const observability = {
  serviceName: 'serverless-jobs',
  metricsNamespace: 'ServerlessJobs',
} as const;
