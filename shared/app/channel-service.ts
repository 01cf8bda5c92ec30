import { randomBytes } from 'node:crypto';
import { CHANNEL_ID_PATTERN } from '../domain/alert-policy.js';
import { ConflictError, type ErrorDetail, NotFoundError, ValidationError } from '../domain/errors.js';
import { randomEventId } from '../domain/notification.js';
import {
  applyChannelPatch,
  buildChannelSpec,
  type Channel,
  type ChannelCreate,
  type ChannelPatch,
  type ChannelSpec,
  type ChannelTestResult,
  type ChannelWithSecret,
} from '../domain/notification-channel.js';
import { generateSigningSecret } from '../domain/signature.js';
import { ipLiteralHost, refuseAddress } from '../domain/target-network.js';
import type { ChannelPage, ChannelStore, Clock, DeploymentConfig, Logger, SecretBox } from '../ports.js';
import { type Deferred, readDeferred } from './deferred.js';
import { channelSecretContext, type NotificationDelivery } from './notification-delivery.js';

export interface ChannelServiceDeps {
  channels: ChannelStore;
  secrets: SecretBox;
  /** Which networks webhook channels may point at, and which SNS topics `sns` channels may name. */
  deployment: Pick<DeploymentConfig, 'allowedTargetNetworks' | 'notificationTopicArns'>;
  /** Sends the `test` event. */
  delivery: Pick<NotificationDelivery, 'sendNow'>;
  clock: Clock;
  logger: Logger;
}

const MAX_WRITE_ATTEMPTS = 5;

/**
 * Notification channels: webhook endpoints (each with a `whsec_` signing secret, returned once and kept
 * sealed by the secret box) and, on AWS, SNS topics the deployment allows.
 */
export class ChannelService {
  constructor(private readonly deps: ChannelServiceDeps) {}

  async create(input: ChannelCreate): Promise<ChannelWithSecret> {
    const spec = buildChannelSpec(input);
    this.checkDestination(spec);
    const now = this.deps.clock.now();
    const channel: Channel = {
      id: `nch_${now.getTime().toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`,
      ...spec,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      last_delivery_at: null,
      last_delivery_status: null,
      last_delivery_error: null,
      consecutive_delivery_failures: 0,
    };
    const secret = channel.type === 'webhook' ? generateSigningSecret() : null;
    const sealed =
      secret === null ? null : await this.deps.secrets.seal(secret, channelSecretContext(channel.id));
    if (!(await this.deps.channels.create(channel, sealed))) {
      throw new ConflictError('A channel with this id exists; try again.');
    }
    this.deps.logger.info('notification channel created', {
      channelId: channel.id,
      channelType: channel.type,
    });
    return secret === null ? channel : { ...channel, signing_secret: secret };
  }

  async get(id: string): Promise<Channel> {
    return (await this.load(id)).channel;
  }

  list(options: { limit: number; cursor?: string }): Promise<ChannelPage> {
    return this.deps.channels.list(options);
  }

  /** Partial update; read once the channel is known to exist (an unknown id is a 404 whatever the body). */
  async update(id: string, input: Deferred<ChannelPatch>): Promise<Channel> {
    let patch: ChannelPatch | undefined;
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const stored = await this.load(id);
      patch ??= readDeferred(input);
      const spec = applyChannelPatch(specOf(stored.channel), patch);
      this.checkDestination(spec);
      const next: Channel = { ...stored.channel, ...spec, updated_at: this.deps.clock.now().toISOString() };
      const written = await this.deps.channels.replace(next, stored.sealedSecret, stored.version);
      if (written) {
        this.deps.logger.info('notification channel updated', { channelId: id });
        return written.channel;
      }
    }
    throw new ConflictError(`Channel ${id} is being changed by other requests; try again.`);
  }

  async delete(id: string): Promise<void> {
    if (!CHANNEL_ID_PATTERN.test(id) || !(await this.deps.channels.delete(id))) throw channelNotFound(id);
    this.deps.logger.info('notification channel deleted', { channelId: id });
  }

  /** Sends a `test` event now, once (no retry), and answers how it went. */
  async test(id: string): Promise<ChannelTestResult> {
    const stored = await this.load(id);
    const notification = {
      type: 'test' as const,
      id: randomEventId(),
      occurred_at: this.deps.clock.now().toISOString(),
      job: null,
      execution: null,
      consecutive_failures: 0,
      message: `A test notification for channel "${stored.channel.name}".`,
      console_url: null,
    };
    const outcome = await this.deps.delivery.sendNow(stored, notification);
    this.deps.logger.info('test notification sent', { channelId: id, delivered: outcome.ok });
    return {
      event_id: notification.id,
      delivered: outcome.ok,
      status: outcome.ok ? 'delivered' : 'failed',
      error: outcome.ok ? null : outcome.error,
    };
  }

  private async load(id: string) {
    const stored = CHANNEL_ID_PATTERN.test(id) ? await this.deps.channels.get(id) : null;
    if (!stored) throw channelNotFound(id);
    return stored;
  }

  /**
   * A webhook URL whose host is an IP address it may not reach is refused (a name is checked when it is
   * called, as for `http` targets); an SNS topic must be one the deployment allows.
   */
  private checkDestination(spec: ChannelSpec): void {
    const problems: ErrorDetail[] = [];
    if (spec.url !== null) {
      const host = ipLiteralHost(new URL(spec.url));
      const refusal =
        host === null ? null : refuseAddress(host, this.deps.deployment.allowedTargetNetworks ?? []);
      if (refusal) {
        problems.push({
          path: 'url',
          message: `points at ${refusal.reason}`,
          code: 'target_address_not_allowed',
        });
      }
    }
    if (spec.topic_arn !== null) {
      const allowed = this.deps.deployment.notificationTopicArns ?? [];
      if (!allowed.includes(spec.topic_arn)) {
        problems.push({
          path: 'topic_arn',
          message:
            allowed.length === 0
              ? 'is not allowed: this deployment allows no SNS topics (notificationTopicArns in its configuration)'
              : `is not a topic this deployment allows (allowed: ${allowed.join(', ')})`,
          code: 'topic_not_allowed',
        });
      }
    }
    if (problems.length > 0) throw new ValidationError(problems);
  }
}

function specOf(channel: Channel): ChannelSpec {
  return {
    name: channel.name,
    type: channel.type,
    url: channel.url,
    topic_arn: channel.topic_arn,
    events: channel.events,
    default: channel.default,
  };
}

function channelNotFound(id: string): NotFoundError {
  return new NotFoundError(`No notification channel with id "${id.slice(0, 100)}".`);
}
