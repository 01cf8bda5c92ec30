import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Channel } from '../domain/notification-channel.js';
import { InvalidSigningSecretError, signStandardWebhook } from '../domain/signature.js';
import { ipLiteralHost, refuseAddress, type TargetNetwork } from '../domain/target-network.js';
import type { ChannelNotifier, DeliveryOutcome } from '../ports.js';
import {
  describeNetworkError,
  isRetryableStatus,
  post,
  readLimited,
  refusalIn,
  snippet,
} from './http-target.js';
import { guardedLookup } from './target-address-guard.js';

/** Longest one notification POST may take. */
export const NOTIFICATION_TIMEOUT_MS = 10_000;
/** Most of an error answer read to quote from. */
const ERROR_BODY_BYTES = 1024;

/** Publishes to an SNS topic (AWS only); see `SnsTopicPublisher`. */
export interface TopicPublisher {
  publish(
    topicArn: string,
    message: { id: string; subject: string; body: string; type: string },
  ): Promise<DeliveryOutcome>;
}

export interface ChannelNotifierOptions {
  /**
   * Networks besides public addresses that webhook channels may point at: the deployment's
   * `allowedTargetNetworks`, the same rule as `http` targets. @default [] (public addresses only)
   */
  allowedNetworks?: readonly TargetNetwork[];
  /** `sns` channels; without it they fail without retry (the local runtime has no SNS). */
  topics?: TopicPublisher;
  /** @default dns.lookup */
  lookup?: LookupFunction;
  /** @default NOTIFICATION_TIMEOUT_MS */
  timeoutMs?: number;
  /**
   * The time a POST is signed at (`webhook-timestamp`): when it is sent, so the system's, as for `http`
   * targets, whatever clock decided the event. @default the system clock
   */
  now?: () => Date;
}

const final = (error: string): DeliveryOutcome => ({ ok: false, retryable: false, error });

/**
 * Sends notifications: a webhook channel gets a JSON POST signed with Standard Webhooks headers
 * (`webhook-id` = the event id), through the same connection code and address guard as `http` targets
 * (no redirects, no pooled connection, every resolved address checked); an `sns` channel a message on its
 * topic. 2xx is delivered; 408, 429, 5xx, a timeout or no answer may be retried; anything else is final.
 */
export function createChannelNotifier(options: ChannelNotifierOptions = {}): ChannelNotifier {
  const allowedNetworks = options.allowedNetworks ?? [];
  const timeoutMs = options.timeoutMs ?? NOTIFICATION_TIMEOUT_MS;
  const now = options.now ?? (() => new Date());
  return {
    async send(channel, message, signingSecret) {
      if (channel.type === 'sns') {
        if (!options.topics || channel.topic_arn === null) {
          return final('SNS channels need the AWS deployment; this one cannot publish to SNS.');
        }
        const type = (JSON.parse(message.body) as { type?: string }).type ?? 'test';
        return options.topics.publish(channel.topic_arn, { ...message, type });
      }
      const timestamp = Math.floor(now().getTime() / 1000);
      return postWebhook(channel, { ...message, timestamp }, signingSecret, {
        allowedNetworks,
        timeoutMs,
        lookup: options.lookup,
      });
    },
  };
}

async function postWebhook(
  channel: Channel,
  message: { id: string; timestamp: number; body: string },
  signingSecret: string | null,
  options: {
    allowedNetworks: readonly TargetNetwork[];
    timeoutMs: number;
    lookup: LookupFunction | undefined;
  },
): Promise<DeliveryOutcome> {
  let url: URL;
  try {
    url = new URL(channel.url ?? '');
  } catch {
    return final('The channel URL is not a valid URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return final('The channel URL must be http or https.');
  const literal = ipLiteralHost(url);
  const literalRefusal = literal === null ? null : refuseAddress(literal, options.allowedNetworks);
  if (literalRefusal) return final(`Refused to call the channel at ${literalRefusal.reason}.`);

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'serverless-jobs',
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
  };
  if (signingSecret !== null) {
    try {
      headers['webhook-signature'] = signStandardWebhook({
        id: message.id,
        timestamp: message.timestamp,
        body: message.body,
        secret: signingSecret,
      });
    } catch (error) {
      if (!(error instanceof InvalidSigningSecretError)) throw error;
      return final("The channel's signing secret is not valid.");
    }
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  const lookup = guardedLookup(options.allowedNetworks, options.lookup);
  try {
    let response: IncomingMessage;
    try {
      response = await post(url, headers, message.body, controller.signal, lookup);
    } catch (error) {
      const refusal = refusalIn(error);
      if (refusal) return final(`Refused to call the channel: ${refusal.message}.`);
      if (controller.signal.aborted) {
        return { ok: false, retryable: true, error: `No answer within ${options.timeoutMs} ms.` };
      }
      return { ok: false, retryable: true, error: describeNetworkError(error) };
    }
    const status = response.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      response.destroy();
      return { ok: true };
    }
    const text = await readLimited(response, ERROR_BODY_BYTES).catch(() => '');
    const quoted = snippet(text, 200);
    return {
      ok: false,
      retryable: isRetryableStatus(status),
      error: `HTTP ${status}${quoted ? `: ${quoted}` : ''}`,
    };
  } finally {
    clearTimeout(timer);
  }
}
