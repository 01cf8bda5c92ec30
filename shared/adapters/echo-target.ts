import type { ExecutionRequest } from '../domain/execution.js';
import type { TargetOutcome } from '../ports.js';

/**
 * The dry-run target: succeeds at once with the rendered request as its output. The callback (whose
 * token is a secret) is left out, since outputs are returned by GET.
 */
export function invokeEchoTarget(request: ExecutionRequest): TargetOutcome {
  const { callback: _callback, ...output } = request;
  return { kind: 'succeeded', output };
}
