import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { BusEvent, EventPublisher } from '../../ports.js';

/** The `source` of every event the service puts on the bus: what a team's rules match on. */
export const EVENT_SOURCE = 'serverless-jobs';
/** PutEvents takes at most ten entries per call. */
const ENTRIES_PER_CALL = 10;

/** An entry EventBridge refused (it says why per entry, with the call itself succeeding). */
export class EventsNotPutError extends Error {
  constructor(readonly failures: readonly { detailType: string; code: string; message: string }[]) {
    super(`EventBridge refused ${failures.length} event(s): ${failures.map((each) => each.code).join(', ')}`);
    this.name = 'EventsNotPutError';
  }
}

/**
 * Puts run state changes and alert events on an EventBridge bus (the account's default bus, or the one
 * the deployment names), source `serverless-jobs`, the notification body as `detail`, ten entries a call.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    /** @default the account's default bus */
    private readonly busName?: string,
  ) {}

  async publish(events: readonly BusEvent[]): Promise<void> {
    const failures: { detailType: string; code: string; message: string }[] = [];
    for (let start = 0; start < events.length; start += ENTRIES_PER_CALL) {
      const batch = events.slice(start, start + ENTRIES_PER_CALL);
      const result = await this.client.send(
        new PutEventsCommand({
          Entries: batch.map((event) => ({
            Source: EVENT_SOURCE,
            DetailType: event.detailType,
            Detail: JSON.stringify(event.detail),
            Time: event.time,
            ...(this.busName !== undefined && { EventBusName: this.busName }),
          })),
        }),
      );
      (result.Entries ?? []).forEach((entry, index) => {
        if (entry.ErrorCode) {
          failures.push({
            detailType: batch[index]?.detailType ?? '',
            code: entry.ErrorCode,
            message: entry.ErrorMessage ?? '',
          });
        }
      });
    }
    if (failures.length > 0) throw new EventsNotPutError(failures);
  }
}
