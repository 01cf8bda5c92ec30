import * as z from 'zod/mini';
import { type ErrorDetail, ValidationError } from './errors.js';
import { AlertEventTypeSchema } from './notification.js';

export const CHANNEL_TYPES = ['webhook', 'sns'] as const;
export const ChannelTypeSchema = z.enum(CHANNEL_TYPES).register(z.globalRegistry, {
  id: 'NotificationChannelType',
  description: '`webhook` (a signed JSON POST) or, on AWS, `sns` (a message on an SNS topic).',
});
export type ChannelType = z.infer<typeof ChannelTypeSchema>;

const NameSchema = z
  .string()
  .check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200, 'must be at most 200 characters'));

const UrlSchema = z.string().check(
  z.maxLength(2048, 'must be at most 2048 characters'),
  z.refine((value) => {
    try {
      const url = new URL(value);
      return (
        (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === ''
      );
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials'),
);

const TopicArnSchema = z
  .string()
  .check(
    z.regex(
      /^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
      'must be an SNS topic ARN',
    ),
  );

const EventsSchema = z.array(AlertEventTypeSchema).check(
  z.minLength(1, 'must name at least one event (omit it, or send null, for all)'),
  z.refine((types) => new Set(types).size === types.length, 'must not name an event twice'),
);

const channelFields = {
  name: NameSchema,
  type: ChannelTypeSchema,
  url: z
    .nullable(UrlSchema)
    .register(z.globalRegistry, { description: 'Webhook channels: where notifications are POSTed.' }),
  topic_arn: z.nullable(TopicArnSchema).register(z.globalRegistry, {
    description: 'SNS channels: the topic; one the deployment’s configuration allows.',
  }),
  events: z.nullable(EventsSchema).register(z.globalRegistry, {
    description: 'The event types this channel receives; null: all of them. `test` is always sent.',
  }),
  default: z.boolean().register(z.globalRegistry, {
    description: 'Receives the events of every job whose `config.alerts` names no channels. Default false.',
  }),
};

/** Body of `POST /notification-channels`. */
export const ChannelCreateSchema = z
  .strictObject({
    name: channelFields.name,
    type: channelFields.type,
    url: z.optional(channelFields.url),
    topic_arn: z.optional(channelFields.topic_arn),
    events: z.optional(channelFields.events),
    default: z.optional(channelFields.default),
  })
  .register(z.globalRegistry, {
    id: 'NotificationChannelCreate',
    description: 'Body of `POST /notification-channels`.',
  });
export type ChannelCreate = z.output<typeof ChannelCreateSchema>;
/** What a client sends to create a channel. */
export type ChannelCreateInput = z.input<typeof ChannelCreateSchema>;

/** Body of `PATCH /notification-channels/{id}`: any subset; `type` cannot change. */
export const ChannelPatchSchema = z
  .strictObject({
    name: z.optional(channelFields.name),
    url: z.optional(channelFields.url),
    topic_arn: z.optional(channelFields.topic_arn),
    events: z.optional(channelFields.events),
    default: z.optional(channelFields.default),
  })
  .register(z.globalRegistry, {
    id: 'NotificationChannelPatch',
    description: 'Body of `PATCH /notification-channels/{id}`: the fields to change (`type` cannot).',
  });
export type ChannelPatch = z.output<typeof ChannelPatchSchema>;
/** What a client sends to change a channel. */
export type ChannelPatchInput = z.input<typeof ChannelPatchSchema>;

/** What a caller controls about a channel. */
export const ChannelSpecSchema = z.object(channelFields);
export type ChannelSpec = z.infer<typeof ChannelSpecSchema>;

export const DELIVERY_STATUSES = ['delivered', 'failed'] as const;

/** A channel as the API returns it. */
export const ChannelSchema = z
  .extend(ChannelSpecSchema, {
    id: z.string().register(z.globalRegistry, { description: 'The channel id: `nch_…`.' }),
    created_at: z.string(),
    updated_at: z.string(),
    last_delivery_at: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'When a notification was last tried.',
    }),
    last_delivery_status: z.nullable(z.enum(DELIVERY_STATUSES)).register(z.globalRegistry, {
      description: 'How the last try went; null before the first.',
    }),
    last_delivery_error: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'Why the last try failed (`HTTP 503`, a network error…); null when it did not.',
    }),
    consecutive_delivery_failures: z.number().register(z.globalRegistry, {
      description: 'Tries in a row that failed; 0 after a delivery.',
    }),
  })
  .register(z.globalRegistry, { id: 'NotificationChannel', description: 'Where notifications go.' });
export type Channel = z.infer<typeof ChannelSchema>;

export const ChannelWithSecretSchema = z
  .extend(ChannelSchema, {
    signing_secret: z.optional(z.string()).register(z.globalRegistry, {
      description:
        'Webhook channels: the Standard Webhooks secret (`whsec_…`) notifications are signed with; only in the answer that created the channel.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'NotificationChannelWithSecret',
    description: 'A channel, with its signing secret in the answer that created it.',
  });
export type ChannelWithSecret = z.infer<typeof ChannelWithSecretSchema>;

export const ChannelListResponseSchema = z
  .object({ channels: z.array(ChannelSchema), next_cursor: z.nullable(z.string()) })
  .register(z.globalRegistry, {
    id: 'NotificationChannelList',
    description: 'A page of channels, newest first.',
  });
export type ChannelListResponse = z.infer<typeof ChannelListResponseSchema>;

/** The answer of `POST /notification-channels/{id}/test`. */
export const ChannelTestResultSchema = z
  .object({
    event_id: z.string(),
    delivered: z.boolean(),
    status: z.enum(DELIVERY_STATUSES),
    error: z.nullable(z.string()).register(z.globalRegistry, {
      description: 'Why the delivery failed; null when it did not.',
    }),
  })
  .register(z.globalRegistry, {
    id: 'NotificationChannelTestResult',
    description: 'How sending a `test` event went (sent once, not retried).',
  });
export type ChannelTestResult = z.infer<typeof ChannelTestResultSchema>;

/** Channel settings that are new, with defaults applied. */
export function buildChannelSpec(input: ChannelCreate): ChannelSpec {
  const spec: ChannelSpec = {
    name: input.name,
    type: input.type,
    url: input.url ?? null,
    topic_arn: input.topic_arn ?? null,
    events: input.events ?? null,
    default: input.default ?? false,
  };
  assertChannelRules(spec);
  return spec;
}

export function applyChannelPatch(current: ChannelSpec, patch: ChannelPatch): ChannelSpec {
  const next: ChannelSpec = {
    ...current,
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.url !== undefined && { url: patch.url }),
    ...(patch.topic_arn !== undefined && { topic_arn: patch.topic_arn }),
    ...(patch.events !== undefined && { events: patch.events }),
    ...(patch.default !== undefined && { default: patch.default }),
  };
  assertChannelRules(next);
  return next;
}

/** Which destination field each type needs, and that it has only that one. */
function assertChannelRules(spec: ChannelSpec): void {
  const problems: ErrorDetail[] = [];
  const needed = spec.type === 'webhook' ? 'url' : 'topic_arn';
  const other = spec.type === 'webhook' ? 'topic_arn' : 'url';
  if (spec[needed] === null) {
    problems.push({ path: needed, message: `is required for a ${spec.type} channel`, code: 'required' });
  }
  if (spec[other] !== null) {
    problems.push({ path: other, message: `is not used by a ${spec.type} channel`, code: 'not_allowed' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Whether a channel receives events of `type` (`test` always). */
export function channelWants(channel: Pick<ChannelSpec, 'events'>, type: string): boolean {
  return type === 'test' || channel.events === null || (channel.events as readonly string[]).includes(type);
}
