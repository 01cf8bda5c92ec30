import { randomUUID } from 'node:crypto';
import { signWebhookPayload, standardWebhookHeaders, type TriggerResponse } from '../../sdk/index.js';
import { type CommandContext, type CommandSpec, stringOption, UsageError } from '../command.js';
import { sendRequest } from '../http.js';

export const WEBHOOK_SUMMARY = 'Sign a payload and deliver it to a webhook job';

const SCHEMES = ['hex', 'standard'] as const;
type Scheme = (typeof SCHEMES)[number];

/** `<path>` alone means `<api url>/webhooks/<path>`; an http(s) URL (a job's `webhook_url`) is used as is. */
function deliveryUrl(context: CommandContext, target: string): URL {
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target);
    } catch {
      throw new UsageError(`"${target}" is not a valid URL`);
    }
  }
  if (target === '' || target.includes('/')) {
    throw new UsageError(
      `"${target}" is neither a webhook path (the last part of webhook_url) nor an http(s) URL`,
    );
  }
  const base = context.apiUrl();
  return new URL(`webhooks/${encodeURIComponent(target)}`, base.endsWith('/') ? base : `${base}/`);
}

/** The exact bytes to send: `-d` as given, `@file` a file's text, `@-` stdin; `{}` when absent. */
async function deliveryBody(context: CommandContext, data: string | undefined): Promise<string> {
  if (data === undefined) return '{}';
  return data.startsWith('@') ? context.readText(data.slice(1), '-d') : data;
}

/** The signature headers of `body` in `scheme`. */
function signatureHeaders(
  context: CommandContext,
  scheme: Scheme,
  body: string,
  secret: string,
  id: string | undefined,
): Record<string, string> {
  if (scheme === 'hex') {
    const { signature } = signWebhookPayload(body, secret);
    // The service takes X-Webhook-Id as the delivery id: a redelivery with it returns the first run.
    return { 'x-webhook-signature': signature, ...(id !== undefined && { 'x-webhook-id': id }) };
  }
  try {
    return standardWebhookHeaders(body, secret, { id: id ?? `msg_${randomUUID()}`, timestamp: context.now() })
      .headers;
  } catch (error) {
    if (error instanceof Error && error.name === 'InvalidSigningSecretError') {
      throw new UsageError(`--secret: ${error.message} (--scheme standard needs a whsec_ secret)`);
    }
    throw error;
  }
}

export const webhookCommands: readonly CommandSpec[] = [
  {
    name: 'webhook send',
    args: ['<path-or-url>'],
    summary: 'Sign a payload and POST it to a webhook job',
    description:
      'Delivers to a webhook job as an external system would: signs the exact bytes of the body with the ' +
      "job's webhook secret and POSTs them, without the API key. <path-or-url> is the job's webhook_path " +
      '(sent to <api url>/webhooks/<path>) or its whole webhook_url. Schemes: hex (X-Webhook-Signature, ' +
      'hex HMAC-SHA256 of the body, the default) or standard (Standard Webhooks: webhook-id, ' +
      'webhook-timestamp, webhook-signature). A delivery id (--id) makes a redelivery return the first run.',
    options: {
      secret: {
        type: 'string',
        value: 'whsec_…',
        help: "The job's webhook_secret (or set JOBS_WEBHOOK_SECRET, which keeps it out of shell history)",
      },
      data: {
        type: 'string',
        short: 'd',
        value: 'json',
        help: 'The body, sent byte for byte: {"parameters": {…}, "metadata": {…}}; @file reads a file, @- stdin (default {})',
      },
      scheme: { type: 'string', value: 'hex|standard', help: 'Signature scheme (default hex)' },
      id: {
        type: 'string',
        value: 'delivery-id',
        help: 'Delivery id: webhook-id (standard; default a random one) or X-Webhook-Id (hex)',
      },
    },
    examples: [
      `jobs webhook send 3q2-7h_Xb0yLkz9dPqRs --secret whsec_… -d '{"parameters": {"branch_name": "main"}}'`,
      `jobs webhook send https://api.example.com/webhooks/3q2-7h_Xb0yLkz9dPqRs --scheme standard --id push-42 -d @payload.json`,
    ],
    async run(context, { positionals: [target = ''], values }) {
      const scheme = stringOption(values, 'scheme') ?? 'hex';
      if (!SCHEMES.includes(scheme as Scheme)) {
        throw new UsageError(`--scheme must be hex or standard (got "${scheme}")`);
      }
      const secret = stringOption(values, 'secret') ?? context.env('JOBS_WEBHOOK_SECRET');
      if (!secret) {
        throw new UsageError('--secret <webhook secret> is required (or set JOBS_WEBHOOK_SECRET)');
      }
      const url = deliveryUrl(context, target);
      const body = await deliveryBody(context, stringOption(values, 'data'));
      const headers = signatureHeaders(context, scheme as Scheme, body, secret, stringOption(values, 'id'));
      const answer = (await sendRequest(context.fetch, 'POST', url, {
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })) as TriggerResponse;
      context.printRecord(answer);
      return 0;
    },
  },
];
