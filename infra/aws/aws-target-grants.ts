import { Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';
import {
  type AwsTargetLists,
  parseEventBus,
  parseQueueUrl,
  parseStateMachineArn,
} from '../../shared/domain/aws-targets.js';
import { nagString } from './nag.js';

/** A queue `sqs` targets may send to: its URL, with the KMS key it is encrypted under when that is a customer managed key. */
export type SqsTargetSetting = string | { readonly queueUrl: string; readonly kmsKeyArn: string };

/** The deployment settings that list what the AWS target kinds may reach (infra/aws/config.ts). */
export interface AwsTargetSettings {
  readonly stateMachineTargets?: readonly string[];
  readonly sqsTargets?: readonly SqsTargetSetting[];
  readonly eventBusTargets?: readonly string[];
}

// A key by its key ARN (an alias ARN authorizes nothing in a policy), single- or multi-Region.
const kmsKeyArnPattern = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(?:mrk-)?[A-Za-z0-9-]{1,64}$/;

const queueUrlOf = (setting: SqsTargetSetting) => (typeof setting === 'string' ? setting : setting.queueUrl);

/** The lists as the functions read them (`DEPLOYMENT_CONFIG.awsTargets`): what entities may name. */
export function awsTargetLists(settings: AwsTargetSettings): AwsTargetLists {
  return {
    stateMachineTargets: [...(settings.stateMachineTargets ?? [])],
    sqsTargets: (settings.sqsTargets ?? []).map(queueUrlOf),
    eventBusTargets: [...(settings.eventBusTargets ?? [])],
  };
}

/** Every problem with the lists: entries that are not what the targets name, keys that are not key ARNs, repeats. */
export function awsTargetSettingProblems(settings: AwsTargetSettings): string[] {
  const problems: string[] = [];
  const each = (
    setting: string,
    values: readonly string[],
    valid: (value: string) => boolean,
    expected: string,
  ) => {
    const seen = new Set<string>();
    for (const value of values) {
      if (!valid(value)) problems.push(`${setting} entry ${JSON.stringify(value)} must be ${expected}`);
      else if (seen.has(value)) problems.push(`${setting} lists ${JSON.stringify(value)} twice`);
      seen.add(value);
    }
  };
  each(
    'stateMachineTargets',
    settings.stateMachineTargets ?? [],
    (value) => parseStateMachineArn(value) !== null,
    'a state machine ARN (optionally ":<version or alias>"), without wildcards',
  );
  each(
    'sqsTargets',
    (settings.sqsTargets ?? []).map(queueUrlOf),
    (value) => parseQueueUrl(value) !== null,
    'a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)',
  );
  for (const setting of settings.sqsTargets ?? []) {
    if (typeof setting !== 'string' && !kmsKeyArnPattern.test(setting.kmsKeyArn)) {
      problems.push(
        `sqsTargets entry ${JSON.stringify(setting.queueUrl)} has kmsKeyArn ${JSON.stringify(setting.kmsKeyArn)}, ` +
          'which must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>, not an alias)',
      );
    }
  }
  each(
    'eventBusTargets',
    settings.eventBusTargets ?? [],
    (value) => parseEventBus(value) !== null,
    'an event bus name or ARN, without wildcards',
  );
  return problems;
}

/** The partition of a queue URL's host (`amazonaws.com.cn` is China's; `us-gov-` regions GovCloud's). */
function queueArnOf(url: string): string {
  const queue = parseQueueUrl(url);
  if (!queue) throw new Error(`not a queue URL: ${url}`);
  const partition = url.includes('.amazonaws.com.cn/')
    ? 'aws-cn'
    : queue.region.startsWith('us-gov-')
      ? 'aws-us-gov'
      : 'aws';
  return `arn:${partition}:sqs:${queue.region}:${queue.account}:${queue.name}`;
}

/** The executions of a state machine (of any of its versions and aliases): `execution:<name>:*`. */
function executionsArnOf(stateMachineArn: string): string {
  const machine = parseStateMachineArn(stateMachineArn);
  if (!machine) throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return `arn:${machine.partition}:states:${machine.region}:${machine.account}:execution:${machine.name}:*`;
}

/**
 * Grants `principal` (a worker's role) exactly what the listed targets need and nothing else:
 * - `states:StartExecution`, `states:StartSyncExecution` on each listed state machine ARN, and
 *   `states:DescribeExecution`, `states:StopExecution` on its executions (`execution:<name>:*`: executions are
 *   named at run time, after the run; cdk-nag's finding on each is acknowledged with its reason);
 * - `sqs:SendMessage` on each listed queue, and for a queue under a customer managed key, `kms:GenerateDataKey`
 *   and `kms:Decrypt` on that key, only through SQS in the queue's region (`kms:ViaService`);
 * - `events:PutEvents` on each listed event bus.
 */
export function grantAwsTargets(scope: IConstruct, grantee: IGrantable, settings: AwsTargetSettings): void {
  const stack = Stack.of(scope);
  const principal = grantee.grantPrincipal;
  const machines = settings.stateMachineTargets ?? [];
  const queues = settings.sqsTargets ?? [];
  const buses = settings.eventBusTargets ?? [];

  if (machines.length > 0) {
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:StartExecution', 'states:StartSyncExecution'],
        resources: [...machines],
      }),
    );
    const executions = [...new Set(machines.map(executionsArnOf))];
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: executions,
      }),
    );
    for (const executionsArn of executions) {
      if (!Construct.isConstruct(principal)) break;
      // The finding names the resource as cdk-nag renders it; acknowledge exactly that one, nothing broader.
      Validations.of(principal).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagString(scope, executionsArn)}]`,
        reason:
          'A run names its state machine execution after its own execution id, so execution names are known only ' +
          'at run time: "execution:<name>:*" covers exactly the executions of one state machine the deployment lists ' +
          'in stateMachineTargets (checking on and stopping the executions the worker starts), and no other machine.',
      });
    }
  }

  if (queues.length > 0) {
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: queues.map(queueUrlOf).map(queueArnOf),
      }),
    );
    for (const queue of queues) {
      if (typeof queue === 'string') continue;
      const region = parseQueueUrl(queue.queueUrl)?.region as string;
      principal.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [queue.kmsKeyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sqs.${region}.amazonaws.com` } },
        }),
      );
    }
  }

  if (buses.length > 0) {
    principal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['events:PutEvents'],
        resources: buses.map((bus) =>
          bus.startsWith('arn:')
            ? bus
            : stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: bus }),
        ),
      }),
    );
  }
}
