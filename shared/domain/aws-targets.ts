/**
 * The AWS resources `stepfunctions`, `sqs` and `eventbridge` targets name, and the deployment lists that
 * allow them. Pure: the entity schema, the entity service, the adapters and the stack all read these.
 */

/**
 * A state machine ARN, optionally qualified by a version or an alias (`:live`, `:3`), as StartExecution
 * takes it. Names are limited to what CloudWatch logging accepts, so an ARN never carries a wildcard.
 */
export const STATE_MACHINE_ARN_PATTERN =
  /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})(?::([A-Za-z0-9_-]{1,80}))?$/;

/** A queue URL as SQS returns it (`https://sqs.<region>.amazonaws.com/<account>/<name>`); FIFO names end `.fifo`. */
export const SQS_QUEUE_URL_PATTERN =
  /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(\d{12})\/([A-Za-z0-9_-]{1,75}\.fifo|[A-Za-z0-9_-]{1,80})$/;

/** An event bus name (`default`, a custom bus, a partner bus `aws.partner/…`) or an event bus ARN. */
export const EVENT_BUS_PATTERN =
  /^(?:arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/)?([A-Za-z0-9._\-/]{1,256})$/;

/** The deployment settings listing what each kind may reach, by target type (one name in AWS config and locally). */
export const AWS_TARGET_SETTINGS = {
  stepfunctions: 'stateMachineTargets',
  sqs: 'sqsTargets',
  eventbridge: 'eventBusTargets',
} as const;

export type AwsTargetType = keyof typeof AWS_TARGET_SETTINGS;

/** The state machines, queues and event buses this deployment's targets may reach (the runtime's view). */
export interface AwsTargetLists {
  /** State machine ARNs, as entities name them. */
  readonly stateMachineTargets: readonly string[];
  /** Queue URLs, as entities name them. */
  readonly sqsTargets: readonly string[];
  /** Event bus names or ARNs, as entities name them. */
  readonly eventBusTargets: readonly string[];
}

export interface StateMachineArnParts {
  partition: string;
  region: string;
  account: string;
  /** The state machine's name, without its qualifier. */
  name: string;
  /** Version or alias, when the ARN has one. */
  qualifier: string | null;
}

export function parseStateMachineArn(arn: string): StateMachineArnParts | null {
  const match = STATE_MACHINE_ARN_PATTERN.exec(arn);
  if (!match) return null;
  const [, partition, region, account, name, qualifier] = match;
  return {
    partition: partition as string,
    region: region as string,
    account: account as string,
    name: name as string,
    qualifier: qualifier ?? null,
  };
}

/**
 * The ARN of the execution named `executionName` of a state machine: executions of a version or an alias
 * are executions of the state machine itself.
 */
export function executionArnOf(stateMachineArn: string, executionName: string): string | null {
  const parts = parseStateMachineArn(stateMachineArn);
  if (!parts) return null;
  return `arn:${parts.partition}:states:${parts.region}:${parts.account}:execution:${parts.name}:${executionName}`;
}

/** The region of a Step Functions ARN (a state machine's or an execution's). */
export function regionOfStatesArn(arn: string): string | null {
  const match = /^arn:aws[a-z-]*:states:([a-z0-9-]+):/.exec(arn);
  return match ? (match[1] as string) : null;
}

/** True for the ARN of a Step Functions execution: the reference a started state machine run keeps. */
export function isStateMachineExecutionArn(ref: string): boolean {
  return /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_-]{1,80}:[^:]{1,80}$/.test(ref);
}

export interface QueueUrlParts {
  region: string;
  account: string;
  name: string;
  fifo: boolean;
}

export function parseQueueUrl(url: string): QueueUrlParts | null {
  const match = SQS_QUEUE_URL_PATTERN.exec(url);
  if (!match) return null;
  const [, region, account, name] = match;
  return {
    region: region as string,
    account: account as string,
    name: name as string,
    fifo: (name as string).endsWith('.fifo'),
  };
}

export interface EventBusParts {
  /** Null for a bus given by name: it is in the caller's own region and account. */
  region: string | null;
  account: string | null;
  name: string;
}

export function parseEventBus(bus: string): EventBusParts | null {
  const match = EVENT_BUS_PATTERN.exec(bus);
  if (!match) return null;
  const [, region, account, name] = match;
  return { region: region ?? null, account: account ?? null, name: name as string };
}

/** What an `aws`-kind target names, the field that names it and the list that must hold it. */
export function awsTargetResource(
  target:
    | { type: 'stepfunctions'; state_machine_arn: string }
    | { type: 'sqs'; queue_url: string }
    | { type: 'eventbridge'; event_bus_name: string },
): { field: string; value: string; setting: (typeof AWS_TARGET_SETTINGS)[AwsTargetType] } {
  switch (target.type) {
    case 'stepfunctions':
      return { field: 'state_machine_arn', value: target.state_machine_arn, setting: 'stateMachineTargets' };
    case 'sqs':
      return { field: 'queue_url', value: target.queue_url, setting: 'sqsTargets' };
    case 'eventbridge':
      return { field: 'event_bus_name', value: target.event_bus_name, setting: 'eventBusTargets' };
  }
}
