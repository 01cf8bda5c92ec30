import type { Notification } from '../domain/notification.js';
import type {
  AlertStore,
  ChannelNotifier,
  ChannelStore,
  Clock,
  DeliveryOutcome,
  Logger,
  Metrics,
  OutboxEntry,
  SecretBox,
  StoredChannel,
} from '../ports.js';

export interface NotificationDeliveryDeps {
  alerts: AlertStore;
  channels: ChannelStore;
  secrets: SecretBox;
  notifier: ChannelNotifier;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}

/** How long a notification is retried after its event, before it is given up. */
export const RETRY_WINDOW_SECONDS = 86_400;
/** The first retry's delay; each next one doubles, up to `MAX_RETRY_DELAY_SECONDS`. */
const FIRST_RETRY_DELAY_SECONDS = 30;
const MAX_RETRY_DELAY_SECONDS = 4 * 3600;
/** Entries read per outbox query, and most sent by one drain. */
const PAGE = 25;
const MAX_PER_DRAIN = 200;
/** Channels sent to at once. */
const CONCURRENCY = 5;
/** How long a sender holds an entry it took: longer than a try may last. */
const CLAIM_MS = 120_000;

/** What the secret box binds a channel's signing secret to. */
export const channelSecretContext = (channelId: string) => ({
  purpose: 'notification-channel-secret',
  channel: channelId,
});

/** Delay before try `attempt + 1`: 30 s, 1 min, 2 min… doubling up to 4 h (about 14 tries in a day). */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, FIRST_RETRY_DELAY_SECONDS * 2 ** Math.max(0, attempt - 1));
}

/** What one drain of the outbox did. */
export interface DrainReport {
  delivered: number;
  retrying: number;
  dropped: number;
}

/** A one-line subject for SNS (email subjects): ASCII, at most 100 characters. */
function subjectOf(notification: Notification): string {
  const name = notification.job?.name ?? 'Serverless Jobs';
  return `[${notification.type}] ${name}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

/**
 * Sends the outbox: each entry due is taken (a conditional write, so two senders never send it at once),
 * sent, and removed; a try that fails with 5xx, 429 or no answer is moved to its next try, with backoff,
 * for `RETRY_WINDOW_SECONDS` after the event; any other failure, or the last try's, drops it (logged and
 * counted). Each try updates the channel's delivery counters. Receivers see a notification at least once
 * (a sender stopping between the send and the removal sends it again): `webhook-id` lets them drop repeats.
 */
export class NotificationDelivery {
  constructor(private readonly deps: NotificationDeliveryDeps) {}

  async drain(): Promise<DrainReport> {
    const report: DrainReport = { delivered: 0, retrying: 0, dropped: 0 };
    let handled = 0;
    const seen = new Set<string>();
    while (handled < MAX_PER_DRAIN) {
      const now = this.deps.clock.now();
      const due = (await this.deps.alerts.due(now, PAGE)).filter((entry) => !seen.has(keyOf(entry)));
      if (due.length === 0) break;
      // A channel's notifications go one after another, in the order they are due; channels in parallel.
      const byChannel = new Map<string, OutboxEntry[]>();
      for (const entry of due)
        byChannel.set(entry.channelId, [...(byChannel.get(entry.channelId) ?? []), entry]);
      const queues = [...byChannel.values()];
      for (let index = 0; index < queues.length; index += CONCURRENCY) {
        await Promise.all(
          queues.slice(index, index + CONCURRENCY).map(async (entries) => {
            for (const entry of entries) {
              seen.add(keyOf(entry));
              const taken = await this.deps.alerts.claim(entry, now, new Date(now.getTime() + CLAIM_MS));
              if (taken) report[await this.deliver(entry)]++;
            }
          }),
        );
      }
      handled += due.length;
    }
    return report;
  }

  /** One try of one channel, now, with no retry: the `test` event. Updates the channel's counters. */
  async sendNow(stored: StoredChannel, notification: Notification): Promise<DeliveryOutcome> {
    const outcome = await this.send(stored, notification);
    await this.record(stored.channel.id, outcome);
    return outcome;
  }

  private async deliver(entry: OutboxEntry): Promise<keyof DrainReport> {
    const fields = {
      channelId: entry.channelId,
      eventId: entry.notification.id,
      eventType: entry.notification.type,
      jobId: entry.notification.job?.id,
      attempt: entry.attempt + 1,
    };
    const stored = await this.deps.channels.get(entry.channelId);
    if (!stored) {
      this.deps.logger.info('notification for a deleted channel dropped', fields);
      await this.deps.alerts.remove(entry);
      return 'dropped';
    }
    const outcome = await this.send(stored, entry.notification);
    await this.record(stored.channel.id, outcome);
    if (outcome.ok) {
      await this.deps.alerts.remove(entry);
      this.deps.logger.info('notification delivered', fields);
      return 'delivered';
    }
    this.deps.metrics.count('NotificationDeliveryFailed');
    const attempt = entry.attempt + 1;
    const next = new Date(this.deps.clock.now().getTime() + retryDelaySeconds(attempt) * 1000);
    const windowEnd = Date.parse(entry.notification.occurred_at) + RETRY_WINDOW_SECONDS * 1000;
    if (outcome.retryable && next.getTime() <= windowEnd) {
      await this.deps.alerts.reschedule(entry, {
        dueAt: next.toISOString(),
        attempt,
        lastError: outcome.error,
      });
      this.deps.logger.warn('notification failed; will retry', {
        ...fields,
        error: outcome.error,
        retryAt: next.toISOString(),
      });
      return 'retrying';
    }
    await this.deps.alerts.remove(entry);
    this.deps.metrics.count('NotificationDropped');
    this.deps.logger.error('notification given up', {
      ...fields,
      error: outcome.error,
      retryable: outcome.retryable,
    });
    return 'dropped';
  }

  private async send(stored: StoredChannel, notification: Notification): Promise<DeliveryOutcome> {
    const secret =
      stored.sealedSecret === null
        ? null
        : await this.deps.secrets.open(stored.sealedSecret, channelSecretContext(stored.channel.id));
    return this.deps.notifier.send(
      stored.channel,
      {
        id: notification.id,
        body: JSON.stringify(notification),
        subject: subjectOf(notification),
      },
      secret,
    );
  }

  private record(channelId: string, outcome: DeliveryOutcome): Promise<void> {
    return this.deps.channels.recordDelivery(channelId, {
      at: this.deps.clock.now().toISOString(),
      ok: outcome.ok,
      error: outcome.ok ? null : outcome.error,
    });
  }
}

const keyOf = (entry: OutboxEntry) =>
  `${entry.dueAt}#${entry.sequence}#${entry.notification.id}#${entry.channelId}`;
