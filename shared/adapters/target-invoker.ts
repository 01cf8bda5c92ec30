import type { LookupFunction } from 'node:net';
import type { LambdaTarget } from '../domain/entity.js';
import type { ExecutionRequest } from '../domain/execution.js';
import type { TargetNetwork } from '../domain/target-network.js';
import type { TargetInvoker, TargetOutcome } from '../ports.js';
import { invokeEchoTarget } from './echo-target.js';
import { invokeHttpTarget } from './http-target.js';

/** What invokes `lambda` targets (`LambdaTargetInvoker` on AWS); typed structurally so this module needs no AWS SDK. */
export interface LambdaInvoker {
  invoke(
    target: LambdaTarget,
    request: ExecutionRequest,
    options: { timeoutMs: number },
  ): Promise<TargetOutcome>;
}

export interface TargetInvokerDependencies {
  /** Absent where Lambda functions cannot be invoked (the local runtime without AWS credentials). */
  lambda?: LambdaInvoker;
  /**
   * Networks besides public addresses that `http` targets may be reached at: the deployment's
   * `allowedTargetNetworks`. @default [] (public addresses only)
   */
  allowedNetworks?: readonly TargetNetwork[];
  /** Resolves `http` targets' host names (tests inject one instead of DNS). @default dns.lookup */
  lookup?: LookupFunction;
  now?: () => Date;
}

/** The `TargetInvoker` port: dispatches each invocation to the adapter for its target's type. */
export function createTargetInvoker(dependencies: TargetInvokerDependencies = {}): TargetInvoker {
  const { lambda, allowedNetworks, lookup, now } = dependencies;
  return {
    async invoke(target, request, options) {
      switch (target.type) {
        case 'http':
          return invokeHttpTarget(target, request, {
            signingSecret: options.signingSecret,
            timeoutMs: options.timeoutMs,
            allowedNetworks,
            lookup,
            now,
          });
        case 'lambda':
          if (!lambda) {
            return {
              kind: 'failed',
              error: 'Lambda targets are not available in this runtime',
              retryable: false,
              timedOut: false,
            };
          }
          return lambda.invoke(target, request, { timeoutMs: options.timeoutMs });
        case 'echo':
          return invokeEchoTarget(request);
        default: {
          const unknown: never = target;
          return {
            kind: 'failed',
            error: `Unknown target type ${JSON.stringify((unknown as { type?: unknown }).type)}`,
            retryable: false,
            timedOut: false,
          };
        }
      }
    },
  };
}
