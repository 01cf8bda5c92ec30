import * as z from 'zod/mini';
import {
  ChannelCreateSchema,
  ChannelListResponseSchema,
  ChannelPatchSchema,
  ChannelSchema,
  ChannelTestResultSchema,
  ChannelWithSecretSchema,
} from '../../domain/notification-channel.js';
import { queryParameters } from '../query.js';
import { defineRoute } from '../route-definition.js';
import { example } from './examples.js';
import { locationHeader } from './jobs.js';
import { CursorParam, LimitParam } from './parameters.js';

export const CHANNEL_ID = 'nch_0m5xy3k0w0123456789abcdef';

const ChannelIdParam = z.string().register(z.globalRegistry, {
  param: { id: 'ChannelId', description: 'The notification channel id (`nch_…`).', example: CHANNEL_ID },
});
const channelId = z.object({ id: ChannelIdParam });
const NO_CHANNEL = 'No notification channel with this id.';

const ONCALL_CHANNEL = {
  id: CHANNEL_ID,
  name: 'On-call webhook',
  type: 'webhook',
  url: 'https://hooks.example.com/jobs-alerts',
  topic_arn: null,
  events: ['job.failing', 'job.paused', 'job.recovered', 'fire.missed'],
  default: true,
  created_at: '2025-01-15T09:00:00.000Z',
  updated_at: '2025-01-15T09:00:00.000Z',
  last_delivery_at: '2025-01-16T02:05:12.000Z',
  last_delivery_status: 'delivered',
  last_delivery_error: null,
  consecutive_delivery_failures: 0,
};

export const listNotificationChannels = defineRoute({
  operationId: 'listNotificationChannels',
  method: 'GET',
  path: '/notification-channels',
  auth: 'api-key',
  scope: 'read',
  tags: ['Alerts'],
  summary: 'List notification channels',
  description: 'One page of notification channels, newest first, with their delivery counters.',
  query: queryParameters({ limit: LimitParam, cursor: CursorParam }, { once: ['limit', 'cursor'] }),
  response: {
    status: 200,
    description: 'A page of channels.',
    schema: ChannelListResponseSchema,
    examples: { page: example('The last page', { channels: [ONCALL_CHANNEL], next_cursor: null }) },
  },
  errors: {
    400: '`cursor` was not issued by this service.',
    401: true,
    422: 'An unknown, repeated or invalid query parameter.',
    500: true,
  },
});

export const createNotificationChannel = defineRoute({
  operationId: 'createNotificationChannel',
  method: 'POST',
  path: '/notification-channels',
  auth: 'api-key',
  scope: 'admin',
  tags: ['Alerts'],
  summary: 'Create a notification channel',
  description:
    'A webhook channel gets a signing secret (`whsec_…`) for the Standard Webhooks signature of every notification, shown in this answer only. `sns` channels publish to a topic the deployment allows (AWS only).',
  body: {
    schema: ChannelCreateSchema,
    required: true,
    description: 'The channel.',
    examples: {
      webhook: example('A webhook for failures and missed fires, the default channel', {
        name: 'On-call webhook',
        type: 'webhook',
        url: 'https://hooks.example.com/jobs-alerts',
        events: ['job.failing', 'job.paused', 'job.recovered', 'fire.missed'],
        default: true,
      }),
      sns: example('An SNS topic (AWS)', {
        name: 'Ops topic',
        type: 'sns',
        topic_arn: 'arn:aws:sns:us-east-1:123456789012:jobs-alerts',
      }),
    },
  },
  response: {
    status: 201,
    description: 'The channel as created.',
    schema: ChannelWithSecretSchema,
    headers: locationHeader(`/notification-channels/${CHANNEL_ID}`),
    examples: {
      webhook: example('With its signing secret', {
        ...ONCALL_CHANNEL,
        last_delivery_at: null,
        last_delivery_status: null,
        signing_secret: 'whsec_q2Lm9XvB7c4T0ePz1KdR6yWn3HsJ8aFu5GiO2kQbV1E=',
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    413: true,
    415: true,
    422: 'An invalid field: a URL it may not reach, a topic the deployment does not allow, an unknown event.',
    500: true,
  },
});

export const getNotificationChannel = defineRoute({
  operationId: 'getNotificationChannel',
  method: 'GET',
  path: '/notification-channels/{id}',
  auth: 'api-key',
  scope: 'read',
  tags: ['Alerts'],
  summary: 'Get a notification channel',
  description: 'One channel, with its delivery counters.',
  params: channelId,
  response: {
    status: 200,
    description: 'The channel.',
    schema: ChannelSchema,
    examples: { webhook: example('A webhook channel', ONCALL_CHANNEL) },
  },
  errors: { 401: true, 404: NO_CHANNEL, 500: true },
});

export const updateNotificationChannel = defineRoute({
  operationId: 'updateNotificationChannel',
  method: 'PATCH',
  path: '/notification-channels/{id}',
  auth: 'api-key',
  scope: 'admin',
  tags: ['Alerts'],
  summary: 'Update a notification channel',
  description: 'Changes the given fields; `type` cannot change, and the signing secret stays.',
  params: channelId,
  body: {
    schema: ChannelPatchSchema,
    required: true,
    read: 'after-lookup',
    description: 'The fields to change.',
    examples: { events: example('Every event', { events: null }) },
  },
  response: {
    status: 200,
    description: 'The channel as updated.',
    schema: ChannelSchema,
    examples: {
      updated: example('Every event', {
        ...ONCALL_CHANNEL,
        events: null,
        updated_at: '2025-01-17T10:00:00.000Z',
      }),
    },
  },
  errors: {
    400: true,
    401: true,
    403: true,
    404: NO_CHANNEL,
    409: 'Other requests kept changing the channel; try again.',
    413: true,
    415: true,
    422: 'An invalid field.',
    500: true,
  },
});

export const deleteNotificationChannel = defineRoute({
  operationId: 'deleteNotificationChannel',
  method: 'DELETE',
  path: '/notification-channels/{id}',
  auth: 'api-key',
  scope: 'admin',
  tags: ['Alerts'],
  summary: 'Delete a notification channel',
  description:
    'Deletes the channel, even while jobs name it in `config.alerts.channels`; notifications waiting for it are dropped. The events of a job naming it go to the job’s other channels, or, when none of them is left, to the default channels. A job write that adds a channel id that does not exist is a 422.',
  params: channelId,
  response: { status: 204, description: 'Deleted.' },
  errors: { 401: true, 403: true, 404: NO_CHANNEL, 500: true },
});

export const testNotificationChannel = defineRoute({
  operationId: 'testNotificationChannel',
  method: 'POST',
  path: '/notification-channels/{id}/test',
  auth: 'api-key',
  scope: 'admin',
  tags: ['Alerts'],
  summary: 'Send a test notification',
  description:
    'Sends a `test` event to the channel now, once (no retry), and answers how it went; the channel’s delivery counters record it. No body.',
  params: channelId,
  response: {
    status: 200,
    description: 'How the delivery went.',
    schema: ChannelTestResultSchema,
    examples: {
      delivered: example('Delivered', {
        event_id: 'evt_6f1c2d3e4a5b69788796a5b4c3d2e1f0',
        delivered: true,
        status: 'delivered',
        error: null,
      }),
      failed: example('The receiver answered 503', {
        event_id: 'evt_0a1b2c3d4e5f60718293a4b5c6d7e8f9',
        delivered: false,
        status: 'failed',
        error: 'HTTP 503: Service Unavailable',
      }),
    },
  },
  errors: { 401: true, 403: true, 404: NO_CHANNEL, 413: true, 500: true },
});
