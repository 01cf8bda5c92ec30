import type {
  Channel,
  ChannelCreateInput,
  ChannelListResponse,
  ChannelPatchInput,
  ChannelTestResult,
  ChannelWithSecret,
} from '../shared/domain/notification-channel.js';
import type { Transport } from './http.js';
import { type IterateOptions, paginate, path } from './paging.js';

/** Options of `notificationChannels.listPage`. */
export interface NotificationChannelPageOptions {
  /** Page size, 1–100. @default 50 */
  limit?: number;
  /** `next_cursor` of the previous page. */
  cursor?: string;
}

/**
 * `client.notificationChannels`: where alert events go (signed webhooks; SNS topics on AWS). Reads need
 * a `read` key, changes and test sends an `admin` one. Errors as for `client.jobs`.
 */
export class NotificationChannelsResource {
  /** @internal Built by `ControlPlaneClient`. */
  constructor(private readonly transport: Transport) {}

  /**
   * Creates a channel: `POST /notification-channels`. A webhook channel's answer carries
   * `signing_secret` (`whsec_…`), shown only this once: the receiver verifies every notification with it.
   * Never retried (a retry could create a second channel).
   * @throws ValidationError naming the field: a URL the deployment may not reach, a topic it does not
   *   allow, an unknown event type.
   * @example
   * const channel = await client.notificationChannels.create({
   *   name: 'On-call webhook',
   *   type: 'webhook',
   *   url: 'https://hooks.example.com/jobs-alerts',
   *   events: ['job.failing', 'job.paused', 'fire.missed'],
   *   default: true, // hears of every job whose config.alerts names no channels
   * });
   * // Store the secret now: it is shown in this answer only
   * console.log(channel.id, channel.signing_secret);
   */
  create(channel: ChannelCreateInput): Promise<ChannelWithSecret> {
    return this.transport.request('POST', '/notification-channels', { body: channel });
  }

  /**
   * Every channel, newest first: `GET /notification-channels`, following `next_cursor`. Retried.
   * @example
   * const channels = await client.notificationChannels.list();
   * for (const channel of channels) console.log(channel.name, channel.last_delivery_status);
   */
  async list(): Promise<Channel[]> {
    const channels: Channel[] = [];
    for await (const channel of this.iterate()) channels.push(channel);
    return channels;
  }

  /**
   * Every channel, newest first, a page at a time as the loop asks: `GET /notification-channels`. Retried.
   * @example
   * for await (const channel of client.notificationChannels.iterate({ pageSize: 50 })) {
   *   if (channel.consecutive_delivery_failures > 0) console.log(channel.id, channel.last_delivery_error);
   * }
   */
  iterate(options: IterateOptions = {}): AsyncGenerator<Channel, void, undefined> {
    const limit = options.pageSize ?? 100;
    return paginate(async (cursor) => {
      const page = await this.listPage({ limit, ...(cursor !== undefined && { cursor }) });
      return { items: page.channels, next: page.next_cursor };
    });
  }

  /**
   * One page of channels (`GET /notification-channels`); pass `next_cursor` back as `cursor`. Retried.
   * @example
   * const { channels, next_cursor } = await client.notificationChannels.listPage({ limit: 20 });
   */
  listPage(options: NotificationChannelPageOptions = {}): Promise<ChannelListResponse> {
    return this.transport.request('GET', '/notification-channels', { query: { ...options } });
  }

  /**
   * One channel with its delivery counters (never its secret): `GET /notification-channels/{id}`.
   * Retried. @throws NotFoundError.
   * @example
   * const channel = await client.notificationChannels.get('nch_0m5xy3k0w0123456789abcdef');
   * console.log(channel.last_delivery_at, channel.consecutive_delivery_failures);
   */
  get(channelId: string): Promise<Channel> {
    return this.transport.request('GET', path('notification-channels', channelId));
  }

  /**
   * Partial update: `PATCH /notification-channels/{id}`; `type` cannot change and the signing secret
   * stays. Retried (the same patch twice leaves the channel as once).
   * @throws NotFoundError, ValidationError, ConflictError (concurrent writers).
   * @example
   * // Every event type again, and no longer a default channel
   * const channel = await client.notificationChannels.update(channelId, { events: null, default: false });
   */
  update(channelId: string, patch: ChannelPatchInput): Promise<Channel> {
    return this.transport.request('PATCH', path('notification-channels', channelId), {
      body: patch,
      idempotent: true,
    });
  }

  /**
   * Deletes a channel: `DELETE /notification-channels/{id}`. Notifications waiting for it are dropped;
   * a job that named it falls back to the default channels once none of its channels is left. Retried;
   * a 404 on a retry counts as done. @throws NotFoundError.
   * @example
   * await client.notificationChannels.delete(channelId);
   */
  delete(channelId: string): Promise<void> {
    return this.transport.request('DELETE', path('notification-channels', channelId), {
      idempotent: true,
      notFoundOnRetryIsDone: true,
    });
  }

  /**
   * Sends a signed `test` event to the channel now, once, and answers how it went:
   * `POST /notification-channels/{id}/test`. Never retried (each call sends a notification).
   * @throws NotFoundError.
   * @example
   * const result = await client.notificationChannels.test(channelId);
   * if (!result.delivered) console.log(`the receiver refused it: ${result.error}`);
   */
  test(channelId: string): Promise<ChannelTestResult> {
    return this.transport.request('POST', path('notification-channels', channelId, 'test'));
  }
}
