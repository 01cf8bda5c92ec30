import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The reason for allowing actions on "*" (`AwsSolutions-IAM5[Resource::*]`). One text for every such statement a role
 * of the stack can hold, because a role gets one acknowledgement per finding id, and the first one given is the one
 * written: X-Ray's (JobsFunction, when tracing) comes before the sweeper's ListSchedules (CronScheduling).
 */
export const anyResourceReason =
  'Only actions for which the Service Authorization Reference lists no resource type are allowed on "*", so they ' +
  'cannot be scoped: xray:PutTraceSegments and xray:PutTelemetryRecords when the deployment enables tracing (they ' +
  "send this function's own trace segments), and for the sweeper's reconciliation scheduler:ListSchedules (it " +
  "returns schedule names and states only; the reconciliation passes this stack's GroupName, and reads and writes " +
  'are scoped to it).';

/**
 * How cdk-nag writes `value` in a finding's resource (`AwsSolutions-IAM5[Resource::<value>]`): a token as
 * `<LogicalId>` / `<LogicalId.Attr>`, pseudo parameters too. An acknowledgement must name exactly that resource,
 * nothing broader.
 */
export function nagString(scope: IConstruct, value: string): string {
  const render = (resolved: unknown): string => {
    if (typeof resolved === 'string') return resolved;
    const object = resolved as Record<string, unknown>;
    if ('Ref' in object) return `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    throw new Error(`cannot render ${JSON.stringify(resolved)} as cdk-nag does`);
  };
  return render(Stack.of(scope).resolve(value));
}
