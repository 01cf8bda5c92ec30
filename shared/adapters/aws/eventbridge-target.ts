import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { parseEventBus } from '../../domain/aws-targets.js';
import type { EventBridgeTarget } from '../../domain/entity.js';
import type { ExecutionRequest } from '../../domain/execution.js';
import type { TargetOutcome } from '../../ports.js';
import { snippet } from '../http-target.js';
import { callWithin, failedCall, type RegionalClients, withoutCallback } from './aws-target-calls.js';

const SERVICE = 'EventBridge';

/** The event's `source` when the target names none. */
export const DEFAULT_EVENT_SOURCE = 'serverless-jobs';
/** The event's `detail-type` when the target names none. */
export const DEFAULT_DETAIL_TYPE = 'Serverless Jobs Execution Request';

/** Entry error codes EventBridge documents as worth retrying. */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

/**
 * Runs `eventbridge` targets: `PutEvents` of one entry whose `detail` is the execution request (without
 * `callback`), with the target's `source` and `detail_type` (or the defaults). The run succeeds when the
 * entry is accepted, with `{ event_id }` as its output; a failed entry fails the attempt with its error
 * code and message (retried, while attempts remain, for the codes EventBridge says to retry).
 */
export class EventBridgeTargetInvoker {
  constructor(private readonly clients: RegionalClients<EventBridgeClient>) {}

  async invoke(
    target: EventBridgeTarget,
    request: ExecutionRequest,
    options: { timeoutMs: number },
  ): Promise<TargetOutcome> {
    const command = new PutEventsCommand({
      Entries: [
        {
          EventBusName: target.event_bus_name,
          Source: target.source ?? DEFAULT_EVENT_SOURCE,
          DetailType: target.detail_type ?? DEFAULT_DETAIL_TYPE,
          Detail: JSON.stringify(withoutCallback(request)),
        },
      ],
    });
    try {
      // A bus named by ARN is put to in its own region; one named by name is this region's.
      const region = parseEventBus(target.event_bus_name)?.region ?? null;
      const result = await callWithin(SERVICE, options.timeoutMs, (abortSignal) =>
        this.clients(region).send(command, { abortSignal }),
      );
      const entry = result.Entries?.[0];
      if (entry?.EventId && !entry.ErrorCode)
        return { kind: 'succeeded', output: { event_id: entry.EventId } };
      const code = entry?.ErrorCode ?? 'UnknownError';
      return {
        kind: 'failed',
        error: snippet(
          `${SERVICE} refused the event: ${code}${entry?.ErrorMessage ? `: ${entry.ErrorMessage}` : ''}`,
        ),
        retryable: RETRYABLE_ENTRY_ERRORS.has(code),
        timedOut: false,
      };
    } catch (error) {
      return failedCall(`${SERVICE} PutEvents`, error);
    }
  }
}
